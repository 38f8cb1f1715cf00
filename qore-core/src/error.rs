//! The one error type of QoreDB's libraries.

use std::fmt;

use crate::kind::ErrorKind;

/// A boxed error from a dependency, kept as the source of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in QoreDB, by what a caller can do about it.
///
/// Messages never contain a password: URLs are shown through
/// [`ConnectionSpec`](crate::ConnectionSpec)'s redacting `Display`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The engine could not be reached or opened (network, missing file, bad path).
    #[error("cannot connect: {message}")]
    Connect {
        /// What failed, in words.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// An established connection broke while a statement or transaction
    /// was under way: see [`ErrorKind::ConnectionLost`]. The message says
    /// what was running and that it may or may not have taken effect.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// The engine refused the credentials.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// An operation took longer than its configured limit.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The engine rejected or failed a statement.
    #[error("{}", DisplayQuery(.0))]
    Query(QueryError),
    /// The engine, or this build, cannot do what was asked.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// A policy (read-only connection, safety net, interceptor) refused the operation.
    #[error("denied by policy: {0}")]
    Denied(String),
    /// Input from the user was malformed: a URL, an identifier, an option.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A named object (table, column, saved connection) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A local file or stream failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path where there is one.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Data could not be represented (type mapping, Arrow conversion).
    #[error("data error: {message}")]
    Data {
        /// What could not be converted, naming the column where known.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The operation was cancelled (stream dropped, Ctrl-C, job cancelled).
    #[error("cancelled")]
    Cancelled,
    /// A bug or broken invariant inside QoreDB itself.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A statement failure reported by an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// The engine's own message.
    pub message: String,
    /// SQLSTATE or the engine's error code, when it gives one.
    pub code: Option<String>,
    /// What kind of failure it is, mapped from the code by the driver.
    pub kind: ErrorKind,
}

struct DisplayQuery<'a>(&'a QueryError);

impl fmt::Display for DisplayQuery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.code {
            Some(code) => write!(f, "query failed [{code}]: {}", self.0.message),
            None => write!(f, "query failed: {}", self.0.message),
        }
    }
}

impl Error {
    /// The error for a producer (a driver's task or thread) that panicked
    /// while making a result: the result is incomplete, and says so
    /// instead of ending early.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Error {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Error::Internal(format!(
            "the producer of this result panicked ({what}); the result is incomplete"
        ))
    }

    /// A [`Error::Query`] from an engine message and optional code, of
    /// kind [`ErrorKind::Other`].
    pub fn query(message: impl Into<String>, code: Option<String>) -> Self {
        Error::query_kind(ErrorKind::Other, message, code)
    }

    /// A [`Error::Query`] of a known kind.
    pub fn query_kind(kind: ErrorKind, message: impl Into<String>, code: Option<String>) -> Self {
        Error::Query(QueryError {
            message: message.into(),
            code,
            kind,
        })
    }

    /// What kind of failure this is, whatever the engine.
    ///
    /// ```
    /// use qore_core::{Error, ErrorKind};
    /// let e = Error::query_kind(ErrorKind::Deadlock, "deadlock detected", Some("40P01".into()));
    /// assert_eq!(e.kind(), ErrorKind::Deadlock);
    /// assert!(e.is_transient());
    /// assert_eq!(Error::Cancelled.kind(), ErrorKind::Cancelled);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Connect { .. } => ErrorKind::Connection,
            Error::ConnectionLost(_) => ErrorKind::ConnectionLost,
            Error::Auth(_) => ErrorKind::Authentication,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Query(q) => q.kind,
            Error::NotSupported(_) => ErrorKind::NotSupported,
            Error::Denied(_) => ErrorKind::Denied,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Io { .. } => ErrorKind::Io,
            Error::Data { .. } => ErrorKind::InvalidData,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether running the same operation again may succeed: see
    /// [`ErrorKind::is_transient`].
    pub fn is_transient(&self) -> bool {
        self.kind().is_transient()
    }

    /// A [`Error::Connect`] with a source.
    pub fn connect(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Connect {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The [`Error::ConnectionLost`] for `cause` (the transport's error),
    /// which broke the connection while `what` was running.
    ///
    /// ```
    /// use qore_core::{Error, ErrorKind};
    /// let e = Error::connection_lost("an UPDATE", "connection reset by peer");
    /// assert_eq!(e.kind(), ErrorKind::ConnectionLost);
    /// assert!(e.to_string().contains("may or may not have run"));
    /// ```
    pub fn connection_lost(what: &str, cause: impl fmt::Display) -> Self {
        Error::ConnectionLost(format!(
            "{cause}: the connection broke while {what} was running, so it may or may not have \
             run; it was not run again, and a transaction it was part of is rolled back"
        ))
    }

    /// A [`Error::Io`] naming what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A [`Error::Data`] without a source.
    pub fn data(message: impl Into<String>) -> Self {
        Error::Data {
            message: message.into(),
            source: None,
        }
    }

    /// A [`Error::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// The same error with `what` (`change #3`, a file name) put before
    /// its message; its variant and [`kind`](Error::kind) stay.
    ///
    /// ```
    /// use qore_core::{Error, ErrorKind};
    /// let e = Error::query_kind(ErrorKind::UniqueViolation, "duplicate key", None).context("change #3");
    /// assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    /// assert_eq!(e.to_string(), "query failed: change #3: duplicate key");
    /// ```
    pub fn context(self, what: impl Into<String>) -> Self {
        let what = what.into();
        let pre = |m: String| format!("{what}: {m}");
        match self {
            Error::Connect { message, source } => Error::Connect {
                message: pre(message),
                source,
            },
            Error::ConnectionLost(m) => Error::ConnectionLost(pre(m)),
            Error::Auth(m) => Error::Auth(pre(m)),
            Error::Timeout(m) => Error::Timeout(pre(m)),
            Error::Query(mut q) => {
                q.message = pre(q.message);
                Error::Query(q)
            }
            Error::NotSupported(m) => Error::NotSupported(pre(m)),
            Error::Denied(m) => Error::Denied(pre(m)),
            Error::InvalidInput(m) => Error::InvalidInput(pre(m)),
            Error::NotFound(m) => Error::NotFound(pre(m)),
            Error::Io { context, source } => Error::Io {
                context: pre(context),
                source,
            },
            Error::Data { message, source } => Error::Data {
                message: pre(message),
                source,
            },
            Error::Internal(m) => Error::Internal(pre(m)),
            Error::Cancelled => Error::Cancelled,
        }
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(err: arrow::error::ArrowError) -> Self {
        match err {
            // An Error that crossed an Arrow adapter comes back as itself.
            arrow::error::ArrowError::ExternalError(inner) => match inner.downcast::<Error>() {
                Ok(e) => *e,
                Err(other) => Error::Data {
                    message: other.to_string(),
                    source: Some(other),
                },
            },
            arrow::error::ArrowError::IoError(msg, e) => Error::io(msg, e),
            other => Error::Data {
                message: other.to_string(),
                source: Some(Box::new(other)),
            },
        }
    }
}

impl From<Error> for arrow::error::ArrowError {
    fn from(err: Error) -> Self {
        arrow::error::ArrowError::ExternalError(Box::new(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_an_arrow_round_trip() {
        let e = Error::query("syntax error near FROM", Some("42601".into()));
        let back: Error = arrow::error::ArrowError::from(e).into();
        assert_eq!(
            back.to_string(),
            "query failed [42601]: syntax error near FROM"
        );
    }
}
