//! What a driver may do again on a new connection after the old one broke.
//!
//! A connection that dies between statements (the server killed it, a
//! proxy dropped it while idle) is replaced transparently. A statement that
//! was under way when it died may or may not have run: only a plain read is
//! run again, and only outside a transaction. Anything else comes back as
//! [`ErrorKind::ConnectionLost`](crate::ErrorKind::ConnectionLost) for the
//! caller to decide.
//!
//! The judgement is lexical and conservative: a single `SELECT` (or
//! `WITH`, `VALUES`, `TABLE`, `SHOW`, `EXPLAIN`, `DESCRIBE`) with no word
//! anywhere that writes (`INSERT`, `UPDATE`, `DELETE`, `INTO`, ...), calls
//! a function known to change or read the session (`nextval`,
//! `pg_advisory_lock`, `last_insert_id`, ...), or reads a MySQL user
//! variable. Words inside strings, quoted identifiers and comments do not
//! count. A user-defined function with side effects called from a SELECT
//! cannot be seen from the text: connections for such work turn replay
//! off (`?reconnect=off`).
//!
//! # Example
//!
//! ```
//! use qore_core::replay::{changes_session, replay_safe};
//! use qore_core::sql::Flavor;
//!
//! assert!(replay_safe("SELECT * FROM orders WHERE note = 'DELETE me'", Flavor::Standard));
//! assert!(!replay_safe("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", Flavor::Standard));
//! assert!(!replay_safe("SELECT nextval('s')", Flavor::Standard));
//! assert!(!replay_safe("SELECT @n := @n + 1", Flavor::MySql));
//! assert!(replay_safe("SELECT @@version", Flavor::MySql));
//!
//! assert!(changes_session("SET search_path = app, public", Flavor::Standard));
//! assert!(!changes_session("SET LOCAL search_path = app", Flavor::Standard));
//! assert!(changes_session("USE shop", Flavor::MySql));
//! ```

use crate::sql::{Flavor, Token, TokenKind, split_statements_in, tokenize_in};

/// The first words of a statement that only reads.
const READ_STARTS: &[&str] = &[
    "SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "DESCRIBE", "DESC",
];

/// Words that make a statement more than a read wherever they appear: the
/// writes (also inside a `WITH`), `SELECT ... INTO` (creates a table or
/// sets variables), `EXPLAIN ANALYZE` (runs the statement), row locks
/// (`FOR UPDATE` / `FOR SHARE`), and functions with effects on the
/// database or whose answer belongs to the old session.
const NOT_READS: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "UPSERT",
    "INTO",
    "CALL",
    "DO",
    "COPY",
    "LOCK",
    "ANALYZE",
    "ANALYSE",
    "SHARE",
    "EXECUTE",
    "NEXTVAL",
    "SETVAL",
    "CURRVAL",
    "LASTVAL",
    "SET_CONFIG",
    "PG_TERMINATE_BACKEND",
    "PG_CANCEL_BACKEND",
    "PG_RELOAD_CONF",
    "PG_ROTATE_LOGFILE",
    "PG_SWITCH_WAL",
    "PG_NOTIFY",
    "PG_CREATE_RESTORE_POINT",
    "TXID_CURRENT",
    "PG_CURRENT_XACT_ID",
    "GET_LOCK",
    "RELEASE_LOCK",
    "RELEASE_ALL_LOCKS",
    "LAST_INSERT_ID",
    "FOUND_ROWS",
    "ROW_COUNT",
];

/// Prefixes of function families with effects: advisory locks, large
/// objects, dblink, replication slots.
const NOT_READ_PREFIXES: &[&str] = &[
    "PG_ADVISORY",
    "PG_TRY_ADVISORY",
    "LO_",
    "DBLINK",
    "PG_CREATE_",
    "PG_DROP_",
    "PG_REPLICATION_",
];

fn word_upper(t: &Token) -> Option<String> {
    (t.kind == TokenKind::Word).then(|| t.text.to_ascii_uppercase())
}

/// Whether `sql`, whose run was cut off by a broken connection, may be run
/// again on a new one: see the [module docs](self).
pub fn replay_safe(sql: &str, flavor: Flavor) -> bool {
    let statements = split_statements_in(sql, flavor);
    let [one] = statements.as_slice() else {
        return false;
    };
    let tokens = tokenize_in(one, flavor);
    let Some(first) = tokens.first().and_then(word_upper) else {
        return false;
    };
    if !READ_STARTS.contains(&first.as_str()) {
        return false;
    }
    for (i, t) in tokens.iter().enumerate() {
        if let Some(w) = word_upper(t)
            && (NOT_READS.contains(&w.as_str())
                || NOT_READ_PREFIXES.iter().any(|p| w.starts_with(p)))
        {
            return false;
        }
        // MySQL user variables (`@n`) belong to the old session; system
        // variables (`@@x`) are restored with the session's settings.
        if flavor == Flavor::MySql && t.kind == TokenKind::Punct('@') {
            let system = tokens.get(i + 1).is_some_and(|n| n.kind == TokenKind::Punct('@'))
                || (i > 0 && tokens[i - 1].kind == TokenKind::Punct('@'));
            if !system {
                return false;
            }
        }
    }
    true
}

/// Whether `sql` changes what the session keeps between statements, so a
/// new connection replacing this one must run it again to be the same
/// session: `SET` (not `SET LOCAL`, which ends with its transaction, nor
/// MySQL's one-shot `SET TRANSACTION`), `RESET`, `USE`, `SET NAMES`, and
/// PostgreSQL's `SET ROLE` / `SET SESSION AUTHORIZATION`. One statement;
/// a script of several is not recorded.
pub fn changes_session(sql: &str, flavor: Flavor) -> bool {
    let statements = split_statements_in(sql, flavor);
    let [one] = statements.as_slice() else {
        return false;
    };
    let tokens = tokenize_in(one, flavor);
    let words: Vec<String> = tokens.iter().take(2).filter_map(word_upper).collect();
    match words.first().map(String::as_str) {
        Some("SET") => !matches!(
            words.get(1).map(String::as_str),
            Some("LOCAL") | Some("TRANSACTION") | Some("CONSTRAINTS") | None
        ),
        Some("RESET") => true,
        Some("USE") => flavor == Flavor::MySql,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_and_writes() {
        let s = |q| replay_safe(q, Flavor::Standard);
        assert!(s("SELECT 1"));
        assert!(s("  select count(*) from t; "));
        assert!(s("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(s("SHOW search_path"));
        assert!(s("EXPLAIN SELECT 1"));
        assert!(s("SELECT 'insert into' AS \"update\" -- delete\n"));
        assert!(!s("EXPLAIN ANALYZE SELECT 1"));
        assert!(!s("SELECT 1; SELECT 2"));
        assert!(!s("SELECT * INTO t2 FROM t"));
        assert!(!s("SELECT * FROM t FOR UPDATE"));
        assert!(!s("SELECT * FROM t FOR SHARE"));
        assert!(!s("SELECT pg_advisory_lock(1)"));
        assert!(!s("SELECT lo_import('/x')"));
        assert!(!s("INSERT INTO t VALUES (1)"));
        assert!(!s("BEGIN"));
        assert!(!s(""));
        assert!(!s("CALL p()"));
        let m = |q| replay_safe(q, Flavor::MySql);
        assert!(m("SELECT @@session.sql_mode"));
        assert!(!m("SELECT @x"));
        assert!(!m("SELECT LAST_INSERT_ID()"));
        assert!(m("SELECT '@x' # @y\n"));
    }

    #[test]
    fn session_settings() {
        let s = |q| changes_session(q, Flavor::Standard);
        assert!(s("SET TIME ZONE 'UTC'"));
        assert!(s("set search_path to a"));
        assert!(s("SET SESSION statement_timeout = 5"));
        assert!(s("RESET ALL"));
        assert!(s("SET ROLE app"));
        assert!(!s("SET LOCAL x = 1"));
        assert!(!s("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"));
        assert!(!s("SET CONSTRAINTS ALL DEFERRED"));
        assert!(!s("SELECT 1"));
        assert!(!s("USE x"));
        assert!(!s("SET a = 1; SET b = 2"));
        let m = |q| changes_session(q, Flavor::MySql);
        assert!(m("USE `shop`"));
        assert!(m("SET sql_mode = 'ANSI_QUOTES'"));
        assert!(m("SET NAMES latin1"));
        assert!(m("SET SESSION TRANSACTION READ ONLY"));
        assert!(!m("SET TRANSACTION READ ONLY"));
    }

    fn flavor() -> impl Strategy<Value = Flavor> {
        prop_oneof![Just(Flavor::Standard), Just(Flavor::MySql)]
    }

    proptest! {
        /// A write word anywhere outside strings, identifiers and comments
        /// makes a statement unsafe, whatever surrounds it.
        #[test]
        fn a_write_word_is_never_replayed(
            pre in "[a-z_ ,()*=0-9]{0,30}",
            word in proptest::sample::select(NOT_READS),
            post in "[a-z_ ,()*=0-9]{0,30}",
            f in flavor(),
        ) {
            let sql = format!("SELECT {pre} {word} {post}");
            prop_assert!(!replay_safe(&sql, f), "{sql}");
        }

        /// Inside a string literal, any text leaves a read a read.
        #[test]
        fn quoted_text_does_not_count(body in "[^'\\\\]{0,40}", f in flavor()) {
            let sql = format!("SELECT '{body}' AS v");
            prop_assert!(replay_safe(&sql, f), "{sql}");
        }

        /// Never panics, whatever the input.
        #[test]
        fn any_input(sql in "\\PC{0,80}", f in flavor()) {
            let _ = replay_safe(&sql, f);
            let _ = changes_session(&sql, f);
        }
    }
}
