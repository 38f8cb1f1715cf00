//! Portable error kinds: what a caller can act on, whatever the engine said.
//!
//! Engines report the same failure in their own words (PostgreSQL's SQLSTATE
//! `23505`, MySQL's error 1062, SQLite's `SQLITE_CONSTRAINT_UNIQUE`,
//! DuckDB's "Duplicate key", MongoDB's code 11000). Drivers map them to one
//! [`ErrorKind`], so a retry loop asks [`ErrorKind::is_transient`] and a
//! sandbox apply asks "was it a unique violation?" without knowing engines.

use std::fmt;

/// What kind of failure an [`Error`](crate::Error) is, across engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A unique or primary key constraint was violated.
    UniqueViolation,
    /// A foreign key constraint was violated.
    ForeignKeyViolation,
    /// A NULL went into a NOT NULL column.
    NotNullViolation,
    /// A CHECK constraint was violated.
    CheckViolation,
    /// The engine aborted the transaction to keep it serializable (a
    /// write-write conflict): run it again.
    SerializationFailure,
    /// The engine broke a deadlock by aborting this statement or transaction.
    Deadlock,
    /// A lock could not be taken in time (`lock_timeout`,
    /// `innodb_lock_wait_timeout`, SQLite's busy database).
    LockTimeout,
    /// The engine is there but cannot serve now: starting up, shutting down,
    /// out of connections, loading its data set.
    Unavailable,
    /// The connection could not be made, or was found broken before a
    /// statement was sent (so nothing ran).
    Connection,
    /// An established connection broke while a statement or a transaction
    /// was under way: the statement may or may not have run, and an open
    /// transaction is gone (the server rolls it back). Nothing was replayed:
    /// check before running a write again.
    ConnectionLost,
    /// The credentials were refused.
    Authentication,
    /// An operation ran past its time limit (statement timeout, connect timeout).
    Timeout,
    /// The operation was cancelled (stream dropped, Ctrl-C, server-side cancel).
    Cancelled,
    /// The user lacks a privilege for the operation.
    PermissionDenied,
    /// The statement was written to a read-only connection or transaction.
    ReadOnly,
    /// The statement could not be parsed.
    Syntax,
    /// A table, column, function or other object named by the statement does
    /// not exist.
    UndefinedObject,
    /// An object the statement creates exists already.
    DuplicateObject,
    /// A value was wrong for its type: division by zero, out of range,
    /// malformed text for a number or date, wrong Redis type.
    InvalidData,
    /// Input to QoreDB itself was malformed (URL, identifier, option).
    InvalidInput,
    /// A named object of QoreDB's (saved connection, file) does not exist.
    NotFound,
    /// The engine or this build cannot do it.
    NotSupported,
    /// A policy of QoreDB's (read-only profile, safety net) refused it.
    Denied,
    /// A local file or stream failed.
    Io,
    /// A bug in QoreDB.
    Internal,
    /// Anything else the engine reported.
    Other,
}

impl ErrorKind {
    /// Whether running the same operation again may succeed without any
    /// change: serialization failures, deadlocks, lock timeouts, a server
    /// that is briefly unavailable, a connection that was lost.
    ///
    /// ```
    /// use qore_core::ErrorKind;
    /// assert!(ErrorKind::Deadlock.is_transient());
    /// assert!(!ErrorKind::UniqueViolation.is_transient());
    /// ```
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::SerializationFailure
                | ErrorKind::Deadlock
                | ErrorKind::LockTimeout
                | ErrorKind::Unavailable
                | ErrorKind::Connection
                | ErrorKind::ConnectionLost
        )
    }

    /// Whether this is a violated integrity constraint (unique, foreign
    /// key, not-null, check).
    pub fn is_constraint_violation(self) -> bool {
        matches!(
            self,
            ErrorKind::UniqueViolation
                | ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation
        )
    }

    /// A stable snake_case name, for audit logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::UniqueViolation => "unique_violation",
            ErrorKind::ForeignKeyViolation => "foreign_key_violation",
            ErrorKind::NotNullViolation => "not_null_violation",
            ErrorKind::CheckViolation => "check_violation",
            ErrorKind::SerializationFailure => "serialization_failure",
            ErrorKind::Deadlock => "deadlock",
            ErrorKind::LockTimeout => "lock_timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Connection => "connection",
            ErrorKind::ConnectionLost => "connection_lost",
            ErrorKind::Authentication => "authentication",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::ReadOnly => "read_only",
            ErrorKind::Syntax => "syntax",
            ErrorKind::UndefinedObject => "undefined_object",
            ErrorKind::DuplicateObject => "duplicate_object",
            ErrorKind::InvalidData => "invalid_data",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::NotSupported => "not_supported",
            ErrorKind::Denied => "denied",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
            ErrorKind::Other => "other",
        }
    }

    /// The kind of an SQLSTATE (PostgreSQL, and MySQL/MariaDB's state
    /// column): the standard classes, with PostgreSQL's own codes where
    /// the class alone does not say enough.
    ///
    /// ```
    /// use qore_core::ErrorKind;
    /// assert_eq!(ErrorKind::from_sqlstate("23505"), ErrorKind::UniqueViolation);
    /// assert_eq!(ErrorKind::from_sqlstate("40P01"), ErrorKind::Deadlock);
    /// assert_eq!(ErrorKind::from_sqlstate("42P01"), ErrorKind::UndefinedObject);
    /// ```
    pub fn from_sqlstate(state: &str) -> ErrorKind {
        match state {
            "23505" => return ErrorKind::UniqueViolation,
            "23503" => return ErrorKind::ForeignKeyViolation,
            "23502" => return ErrorKind::NotNullViolation,
            "23514" => return ErrorKind::CheckViolation,
            "40001" => return ErrorKind::SerializationFailure,
            "40P01" => return ErrorKind::Deadlock,
            "55P03" => return ErrorKind::LockTimeout,
            "57014" => return ErrorKind::Cancelled,
            "57P01" | "57P02" | "57P03" | "53300" => return ErrorKind::Unavailable,
            "25006" => return ErrorKind::ReadOnly,
            "42501" => return ErrorKind::PermissionDenied,
            "42601" => return ErrorKind::Syntax,
            "42P01" | "42703" | "42883" | "42704" | "3F000" | "3D000" | "42S02" | "42S22" => {
                return ErrorKind::UndefinedObject;
            }
            "42P07" | "42710" | "42723" | "42P06" | "42P04" | "42S01" | "42S21" => {
                return ErrorKind::DuplicateObject;
            }
            _ => {}
        }
        match state.get(..2).unwrap_or("") {
            "08" => ErrorKind::Connection,
            "22" => ErrorKind::InvalidData,
            "23" => ErrorKind::CheckViolation,
            "28" => ErrorKind::Authentication,
            "40" => ErrorKind::SerializationFailure,
            "53" => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().replace('_', " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_classes_and_codes() {
        assert_eq!(ErrorKind::from_sqlstate("23000"), ErrorKind::CheckViolation);
        assert_eq!(ErrorKind::from_sqlstate("22012"), ErrorKind::InvalidData);
        assert_eq!(ErrorKind::from_sqlstate("08006"), ErrorKind::Connection);
        assert_eq!(
            ErrorKind::from_sqlstate("40001"),
            ErrorKind::SerializationFailure
        );
        assert_eq!(ErrorKind::from_sqlstate("4"), ErrorKind::Other);
        assert_eq!(ErrorKind::from_sqlstate(""), ErrorKind::Other);
        assert_eq!(ErrorKind::from_sqlstate("é"), ErrorKind::Other);
        assert!(ErrorKind::from_sqlstate("40P01").is_transient());
        assert!(ErrorKind::from_sqlstate("23503").is_constraint_violation());
        assert_eq!(ErrorKind::LockTimeout.to_string(), "lock timeout");
    }
}
