//! [`Profiler`]: an interceptor that keeps each statement's figures (time
//! to the first batch, total time, rows, bytes, batches) and reports them
//! through `tracing` under OpenTelemetry's database attribute names, so that
//! any subscriber (an OpenTelemetry exporter among them) can ship them.

use std::sync::Mutex;
use std::time::Duration;

use super::{Call, Interceptor, Outcome, Request};
use crate::url::Engine;

/// One statement's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The call it came through.
    pub call: Call,
    /// The operation: the statement's first word, upper-cased (`SELECT`,
    /// `UPDATE`, `HGETALL`), or the call's name for facet calls.
    pub operation: String,
    /// What happened.
    pub outcome: Outcome,
}

impl std::fmt::Display for Profile {
    /// One line: `SELECT: 1,204 rows in 3 batches, 96.0 KiB; first batch 4.1 ms, total 12.7 ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = &self.outcome;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(f, "{}: ", self.operation)?;
        match self.call {
            Call::Execute => match o.rows_affected {
                Some(n) => write!(f, "{} affected", thousands(n))?,
                None => write!(f, "no result")?,
            },
            _ => write!(
                f,
                "{} row{} in {} batch{}, {}",
                thousands(o.rows),
                if o.rows == 1 { "" } else { "s" },
                o.batches,
                if o.batches == 1 { "" } else { "es" },
                bytes(o.bytes)
            )?,
        }
        if let Some(first) = o.first_batch {
            write!(f, "; first batch {:.1} ms", ms(first))?;
        }
        write!(f, ", total {:.1} ms", ms(o.elapsed))?;
        if !o.complete {
            write!(f, " (stopped before the end)")?;
        }
        if let Some(kind) = o.error {
            write!(f, " — failed: {}", kind.name())?;
        }
        Ok(())
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The `db.system.name` of an engine, as OpenTelemetry's registry spells it.
pub fn otel_system(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "postgresql",
        Engine::MySql => "mysql",
        Engine::Sqlite => "sqlite",
        Engine::DuckDb => "duckdb",
        Engine::MongoDb => "mongodb",
        Engine::Redis => "redis",
    }
}

/// The first word of a statement, upper-cased, after comments and spaces.
fn operation(request: &Request) -> String {
    if !matches!(request.call, Call::Query | Call::Execute) {
        return request.call.name().to_ascii_uppercase();
    }
    let mut s = request.text.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |x| x.1).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |x| x.1).trim_start();
        } else {
            break;
        }
    }
    let word: String = s
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .take(32)
        .collect();
    if word.is_empty() {
        "STATEMENT".into()
    } else {
        word.to_ascii_uppercase()
    }
}

/// Keeps every statement's [`Profile`] until [`Profiler::take`].
#[derive(Debug, Default)]
pub struct Profiler {
    seen: Mutex<Vec<Profile>>,
}

impl Profiler {
    /// An empty profiler.
    pub fn new() -> Self {
        Profiler::default()
    }

    /// The profiles recorded since the last call, oldest first.
    pub fn take(&self) -> Vec<Profile> {
        self.seen
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl Interceptor for Profiler {
    fn after(&self, request: &Request, outcome: &Outcome) {
        let profile = Profile {
            call: request.call,
            operation: operation(request),
            outcome: outcome.clone(),
        };
        tracing::debug!(
            db.system.name = otel_system(request.engine),
            db.operation.name = profile.operation.as_str(),
            db.response.returned_rows = outcome.rows,
            db.response.affected_rows = outcome.rows_affected,
            qore.bytes = outcome.bytes,
            qore.batches = outcome.batches,
            qore.first_batch_ms = outcome.first_batch.map(|d| d.as_secs_f64() * 1000.0),
            qore.duration_ms = outcome.elapsed.as_secs_f64() * 1000.0,
            qore.verdict = outcome.verdict.name(),
            error.r#type = outcome.error.map(|k| k.name()),
            "statement"
        );
        tracing::trace!(db.query.text = request.text.as_str(), "statement text");
        if let Ok(mut v) = self.seen.lock() {
            v.push(profile);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intercept::Verdict;

    #[test]
    fn operations_skip_comments_and_profiles_read_well() {
        let req = |text: &str| Request {
            call: Call::Query,
            text: text.into(),
            params: vec![],
            engine: Engine::Postgres,
            environment: None,
            in_transaction: false,
        };
        assert_eq!(operation(&req("  -- hi\n /* x */ select 1")), "SELECT");
        assert_eq!(operation(&req("/* unterminated")), "STATEMENT");
        assert_eq!(operation(&req("hgetall k")), "HGETALL");
        let mut outcome = Outcome::new(Verdict::Allowed);
        outcome.rows = 1204;
        outcome.batches = 3;
        outcome.bytes = 98_304;
        outcome.first_batch = Some(Duration::from_micros(4100));
        outcome.elapsed = Duration::from_micros(12_700);
        let p = Profile {
            call: Call::Query,
            operation: "SELECT".into(),
            outcome,
        };
        assert_eq!(
            p.to_string(),
            "SELECT: 1,204 rows in 3 batches, 96.0 KiB; first batch 4.1 ms, total 12.7 ms"
        );
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(bytes(1023), "1023 B");
    }
}
