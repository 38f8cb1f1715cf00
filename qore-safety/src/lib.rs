//! The safety net's judgement of statements before they run: what a
//! statement does, what it touches, and which rules of [`RULES`] it matches
//! (a DELETE without a restricting WHERE, a TRUNCATE, a DROP, ...).
//!
//! SQL is read by a real parser (sqlparser, with the PostgreSQL, MySQL,
//! SQLite and DuckDB dialects), statement by statement, so that a keyword in
//! a string, a dollar-quoted body or a comment is not mistaken for one, and
//! `WITH x AS (DELETE ...) SELECT ...` is not mistaken for a read. A
//! statement the parser cannot read is never silently safe: its keywords
//! are checked and a finding says it was not parsed. MongoDB commands are
//! judged on the command document they become, Redis lines on their words.
//!
//! # Example
//!
//! ```
//! use qore_core::Engine;
//! use qore_safety::{Verdict, classify};
//!
//! let c = classify(Engine::Postgres, "DELETE FROM orders WHERE 1 = 1");
//! assert_eq!(c.verdict, Verdict::Destructive);
//! assert_eq!(c.findings[0].rule.name, "delete-where-always-true");
//!
//! let c = classify(Engine::Postgres, "DELETE FROM orders WHERE id = $1");
//! assert_eq!(c.verdict, Verdict::Safe);
//! ```

mod audit;
mod classify;
mod guard;
mod mongo;
mod net;
mod redis;
mod rules;
mod sql;
mod truth;

pub use audit::{
    AuditLog, COLUMNS as AUDIT_COLUMNS, DEFAULT_MAX_BYTES, SYNC_DELAY as AUDIT_SYNC_DELAY,
    default_path as audit_default_path, flush_all as flush_audit_logs, mask_secrets,
    read as read_audit,
};
pub use classify::{Classification, Finding, Kind, StatementReport, Verdict};
pub use guard::Guard;
pub use net::{SafetyNet, Warn};
pub use rules::{RULES, Rule, Severity, rule_named};

use std::sync::{Arc, Mutex};

use qore_core::Engine;

/// Classifies `text` for `engine`: SQL (one or more statements), a MongoDB
/// command (a command document or the mongosh shorthand), a redis-cli line.
/// Input that cannot be read is classified too (conservatively), so this
/// never fails.
pub fn classify(engine: Engine, text: &str) -> Classification {
    match engine {
        Engine::MongoDb => mongo::classify(text),
        Engine::Redis => redis::classify(text),
        _ => sql::classify(engine, text),
    }
}

/// For one SQL statement that only changes rows (INSERT, UPDATE, DELETE,
/// MERGE, REPLACE) and returns none (no RETURNING): its verb, so a client
/// can run it as a command and report its count the way psql does
/// (`UPDATE 9`); `""` for such a write that starts otherwise (`WITH ...
/// DELETE`). `None` for anything else, and for MongoDB and Redis.
pub fn row_write_verb(engine: Engine, sql: &str) -> Option<&'static str> {
    if matches!(engine, Engine::MongoDb | Engine::Redis) {
        return None;
    }
    let c = classify(engine, sql);
    if c.kind != Kind::Write || c.statements.len() != 1 {
        return None;
    }
    let upper = sql.to_ascii_uppercase();
    let returns = upper
        .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .any(|w| w == "RETURNING");
    if returns {
        return None;
    }
    Some(
        ["INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE"]
            .into_iter()
            .find(|v| upper.split_whitespace().next() == Some(v))
            .unwrap_or(""),
    )
}

/// A statement classified recently: its engine, text and classification.
type Recent = (Engine, Arc<str>, Arc<Classification>);

/// The last few classifications. The safety net classifies a statement
/// before it runs and the audit log after: the second finds the first's
/// here instead of classifying again.
static RECENT: Mutex<Vec<Recent>> = Mutex::new(Vec::new());

/// How many classifications [`RECENT`] keeps, and the longest text it
/// keeps one for.
const RECENT_LEN: usize = 8;
const RECENT_MAX_TEXT: usize = 64 << 10;

/// [`classify`], shared with the other hooks of the same statement.
pub(crate) fn classify_shared(engine: Engine, text: &str) -> Arc<Classification> {
    if let Ok(recent) = RECENT.lock()
        && let Some((_, _, c)) = recent.iter().find(|(e, t, _)| *e == engine && **t == *text)
    {
        return c.clone();
    }
    let c = Arc::new(classify(engine, text));
    if text.len() <= RECENT_MAX_TEXT
        && let Ok(mut recent) = RECENT.lock()
    {
        if recent.len() == RECENT_LEN {
            recent.remove(0);
        }
        recent.push((engine, Arc::from(text), c.clone()));
    }
    c
}

#[cfg(test)]
mod write_verb_tests {
    use super::*;

    #[test]
    fn writes_without_returning_have_a_verb() {
        let v = |sql| row_write_verb(Engine::Postgres, sql);
        assert_eq!(v("update t set a = 1"), Some("UPDATE"));
        assert_eq!(v("INSERT INTO t VALUES (1)"), Some("INSERT"));
        assert_eq!(v("WITH x AS (SELECT 1) DELETE FROM t"), Some(""));
        assert_eq!(v("DELETE FROM t RETURNING id"), None);
        assert_eq!(v("SELECT 1"), None);
        assert_eq!(v("CREATE TABLE t (a int)"), None);
        assert_eq!(v("UPDATE t SET a = 1; UPDATE t SET a = 2"), None);
        assert_eq!(row_write_verb(Engine::MongoDb, "db.t.deleteMany({})"), None);
    }
}
