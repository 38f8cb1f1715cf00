//! [`SafetyNet`]: the interceptor that applies the classification by the
//! session's environment label.
//!
//! | environment | destructive | catastrophic |
//! |---|---|---|
//! | dev (and a bare URL) | runs, with a warning | runs, with a warning |
//! | staging | asks for a confirmation | asks for a confirmation |
//! | prod | asks for a confirmation | denied |
//!
//! `allow_destructive` lets everything through for the calls it is set on
//! (one CLI invocation). A read-only profile denies every write, whatever
//! the environment. For UPDATE and DELETE on staging and prod, the
//! confirmation says how many rows the engine estimates they touch.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use qore_core::intercept::{Call, Decision, Interceptor, Request};
use qore_core::{Connection, Engine, Environment, Result};

use crate::classify::{Classification, Kind, Verdict};

/// Receives the warnings of statements that run despite findings (dev).
pub trait Warn: Send + Sync + Debug {
    /// `classification` of `request` has findings; it runs anyway.
    fn warn(&self, request: &Request, classification: &Classification);
}

/// The safety net's settings.
#[derive(Debug, Clone, Default)]
pub struct SafetyNet {
    /// The profile is read-only: deny every write.
    pub read_only: bool,
    /// Let destructive and catastrophic statements through (one invocation's
    /// explicit override).
    pub allow_destructive: bool,
    /// Where warnings go (dev); none: nowhere.
    pub warn: Option<Arc<dyn Warn>>,
}

impl SafetyNet {
    /// A safety net with the default policy.
    pub fn new() -> Self {
        SafetyNet::default()
    }

    /// The decision for a classified statement in `environment` (without
    /// the row estimate): what the policy table says.
    pub fn decide(&self, environment: Environment, c: &Classification) -> Decision {
        if self.read_only && matches!(c.kind, Kind::Write | Kind::Ddl) {
            return Decision::Deny(format!(
                "the connection is read-only and this statement {}",
                if c.kind == Kind::Ddl {
                    "changes structure"
                } else {
                    "writes"
                }
            ));
        }
        if !c.is_destructive() || self.allow_destructive {
            return Decision::Allow;
        }
        let what = summary(c);
        match environment {
            Environment::Dev => Decision::Allow,
            Environment::Staging => Decision::Confirm(format!("{what} on staging")),
            Environment::Prod if c.verdict == Verdict::Catastrophic => Decision::Deny(format!(
                "{what} on prod is refused (--allow-destructive overrides it for one invocation)"
            )),
            Environment::Prod => Decision::Confirm(format!("{what} on prod")),
        }
    }
}

/// `DELETE FROM t has no WHERE [delete-without-where]; ...`
fn summary(c: &Classification) -> String {
    c.findings
        .iter()
        .filter(|f| f.rule.severity >= crate::rules::Severity::Destructive)
        .map(|f| format!("{} [{}]", f.message, f.rule.name))
        .collect::<Vec<_>>()
        .join("; ")
}

#[async_trait]
impl Interceptor for SafetyNet {
    async fn before(&self, request: &Request, conn: &dyn Connection) -> Result<Decision> {
        if !matches!(request.call, Call::Query | Call::Execute) {
            return Ok(Decision::Allow);
        }
        let c = crate::classify_shared(request.engine, &request.text);
        let environment = request.environment.unwrap_or(Environment::Dev);
        let decision = self.decide(environment, &c);
        Ok(match decision {
            Decision::Allow => {
                if !c.findings.is_empty()
                    && let Some(w) = &self.warn
                {
                    w.warn(request, &c);
                }
                Decision::Allow
            }
            Decision::Confirm(message) => match estimate(conn, request, &c).await {
                Some(rows) => Decision::Confirm(format!(
                    "{message} (the engine estimates {rows} row{})",
                    if rows == 1 { "" } else { "s" }
                )),
                None => Decision::Confirm(message),
            },
            deny => deny,
        })
    }
}

/// The rows an UPDATE or DELETE would touch, as the planner estimates them
/// (PostgreSQL `EXPLAIN (FORMAT JSON)`, MySQL/MariaDB `EXPLAIN`); None when
/// it cannot tell (other engines, several statements, parameters, an error).
async fn estimate(conn: &dyn Connection, request: &Request, c: &Classification) -> Option<u64> {
    if c.statements.len() != 1 || c.kind != Kind::Write || !request.params.is_empty() {
        return None;
    }
    let text = c.statements[0].text.trim();
    let head = text.get(..6)?.to_ascii_uppercase();
    if head != "UPDATE" && head != "DELETE" {
        return None;
    }
    match request.engine {
        Engine::Postgres => {
            let b = first_batch(conn, &format!("EXPLAIN (FORMAT JSON) {text}")).await?;
            let plan = arrow_text(&b, 0)?;
            let json: serde_json::Value = serde_json::from_str(&plan).ok()?;
            let mut node = json.get(0)?.get("Plan")?;
            // ModifyTable returns no rows itself: its input is what it changes.
            if node.get("Node Type").and_then(|t| t.as_str()) == Some("ModifyTable") {
                node = node.get("Plans")?.get(0)?;
            }
            node.get("Plan Rows")?.as_f64().map(|r| r.round() as u64)
        }
        Engine::MySql => {
            let b = first_batch(conn, &format!("EXPLAIN {text}")).await?;
            let col = b.schema().index_of("rows").ok()?;
            arrow_text(&b, col)?.parse().ok()
        }
        _ => None,
    }
}

async fn first_batch(
    conn: &dyn Connection,
    sql: &str,
) -> Option<qore_core::arrow::array::RecordBatch> {
    use futures::StreamExt;
    let mut s = conn.query(sql, &[]).await.ok()?;
    let mut first = None;
    while let Some(b) = s.next().await {
        let b = b.ok()?;
        if first.is_none() && b.num_rows() > 0 {
            first = Some(b);
        }
    }
    first
}

fn arrow_text(b: &qore_core::arrow::array::RecordBatch, col: usize) -> Option<String> {
    let f = qore_core::arrow::util::display::ArrayFormatter::try_new(
        b.column(col).as_ref(),
        &Default::default(),
    )
    .ok()?;
    Some(f.value(0).to_string())
}
