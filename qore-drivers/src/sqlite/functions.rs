//! SQL functions qore registers on every SQLite session, for what SQLite
//! lacks: `qore_lower` (lower case by all of Unicode; SQLite's `lower`
//! folds ASCII only) and `regexp` (so `x REGEXP 'pattern'` works, with
//! Rust's regex syntax). Both are deterministic, so indexes on expressions
//! may use them.

use std::sync::Arc;

use qore_core::Result;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

use super::connection::map_err;

pub(crate) fn register(conn: &rusqlite::Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("qore_lower", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            // Char by char, as the server engines fold (no final-sigma
            // rule); ASCII text (most of it) the fast way.
            ValueRef::Text(t) if t.is_ascii() => Some(String::from_utf8_lossy(t).to_ascii_lowercase()),
            v => Some(text(v).chars().flat_map(char::to_lowercase).collect::<String>()),
        })
    })
    .map_err(map_err)?;
    conn.create_scalar_function("regexp", 2, flags, |ctx| {
        // The compiled pattern is kept for the statement (auxiliary data),
        // not compiled once per row.
        let re: Arc<regex::Regex> = ctx.get_or_create_aux(0, |v| -> std::result::Result<regex::Regex, Box<dyn std::error::Error + Send + Sync>> {
            let pattern = v.as_str().map_err(|_| "REGEXP takes its pattern as text")?;
            regex::Regex::new(pattern).map_err(|e| format!("bad regular expression: {e}").into())
        })?;
        Ok(match ctx.get_raw(1) {
            ValueRef::Null => None,
            v => Some(re.is_match(&text(v))),
        })
    })
    .map_err(map_err)?;
    Ok(())
}

/// A non-NULL value as text (numbers as Rust writes them, blobs as UTF-8
/// where they are).
fn text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => String::new(),
    }
}
