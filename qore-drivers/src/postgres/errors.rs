//! sqlx errors as QoreDB's: SQLSTATE, detail and hint kept, a portable
//! kind given.

use qore_core::{Error, ErrorKind};

/// [`map_err`] for a failure while a result streams: a broken transport
/// is [`ErrorKind::ConnectionLost`] (the stream ends with it, never short).
pub(crate) fn map_stream_err(e: sqlx::Error) -> Error {
    crate::keepalive::lost(map_err(e), "the query")
}

/// Maps a sqlx error to QoreDB's, keeping SQLSTATE, detail and hint.
pub(crate) fn map_err(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string());
            let mut message = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(d) = pg.detail() {
                    message.push_str(&format!(" (detail: {d})"));
                }
                if let Some(h) = pg.hint() {
                    message.push_str(&format!(" (hint: {h})"));
                }
            }
            match code.as_deref() {
                Some("28P01" | "28000") => Error::Auth(message),
                Some("57014") if message.contains("statement timeout") => {
                    Error::Timeout(format!("{message}; raise it with ?statement_timeout=MS"))
                }
                Some("57014") => Error::Cancelled,
                Some("57P01" | "57P02" | "57P03") => Error::connect(message, db.to_string()),
                Some(c) => Error::query_kind(ErrorKind::from_sqlstate(c), message, code),
                None => Error::query(message, code),
            }
        }
        sqlx::Error::Io(io) => {
            Error::connect("the PostgreSQL server is not reachable or went away", io)
        }
        sqlx::Error::Tls(t) => {
            Error::connect("TLS with the PostgreSQL server failed", t.to_string())
        }
        sqlx::Error::Protocol(p) => Error::connect(format!("protocol error: {p}"), p),
        sqlx::Error::Configuration(c) => Error::invalid(c.to_string()),
        other => Error::Internal(other.to_string()),
    }
}
