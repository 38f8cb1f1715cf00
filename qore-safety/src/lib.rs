//! The safety net's judgement of statements before they run: what a
//! statement does, what it touches, and which rules of [`RULES`] it matches
//! (a DELETE without a restricting WHERE, a TRUNCATE, a DROP, ...).
//!
//! SQL is read by a real parser (sqlparser, with the PostgreSQL, MySQL,
//! SQLite and DuckDB dialects), statement by statement, so that a keyword in
//! a string, a dollar-quoted body or a comment is not mistaken for one, and
//! `WITH x AS (DELETE ...) SELECT ...` is not mistaken for a read. A
//! statement the parser cannot read is never silently safe: its keywords
//! are checked and a finding says it was not parsed.
//!
//! # Example
//!
//! ```
//! use qore_core::Engine;
//! use qore_safety::{Verdict, classify};
//!
//! let c = classify(Engine::Postgres, "DELETE FROM orders WHERE 1 = 1").unwrap();
//! assert_eq!(c.verdict, Verdict::Destructive);
//! assert_eq!(c.findings[0].rule.name, "delete-where-always-true");
//!
//! let c = classify(Engine::Postgres, "DELETE FROM orders WHERE id = $1").unwrap();
//! assert_eq!(c.verdict, Verdict::Safe);
//! ```

mod classify;
mod rules;
mod sql;
mod truth;

pub use classify::{Classification, Finding, Kind, StatementReport, Verdict};
pub use rules::{RULES, Rule, Severity, rule_named};

use qore_core::{Engine, Error, Result};

/// Classifies `text` (one or more statements) for `engine`.
///
/// # Error handling
///
/// [`Error::NotSupported`] for MongoDB and Redis, whose commands are not
/// classified yet.
pub fn classify(engine: Engine, text: &str) -> Result<Classification> {
    match engine {
        Engine::Postgres | Engine::MySql | Engine::Sqlite | Engine::DuckDb => {
            Ok(sql::classify(engine, text))
        }
        other => Err(Error::NotSupported(format!(
            "classifying {other} commands is not built yet"
        ))),
    }
}
