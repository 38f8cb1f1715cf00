//! MySQL and MariaDB errors as QoreDB's: the server's number kept, a
//! portable kind given.

use qore_core::{Error, ErrorKind};

use super::codec::WireError;

/// [`map_err`] for a failure while a result streams: a broken transport
/// is [`ErrorKind::ConnectionLost`] (the stream ends with it, never short).
pub(crate) fn map_stream_err(e: WireError) -> Error {
    crate::keepalive::lost(map_err(e), "the query")
}

/// Maps a protocol error to QoreDB's, keeping the server's error number.
pub(crate) fn map_err(e: WireError) -> Error {
    match e {
        WireError::Server {
            code,
            state,
            message,
        } => match code {
            // 1044 (no access to a database) is a missing privilege, also
            // when a statement meets it; 1045 and 1698 are wrong credentials.
            1045 | 1698 => Error::Auth(message),
            1969 | 3024 => {
                Error::Timeout(format!("{message}; raise it with ?statement_timeout=MS"))
            }
            1317 => Error::Cancelled,
            2006 | 2013 | 1927 | 1053 => Error::connect(message.clone(), message),
            _ => {
                let state = if state.is_empty() {
                    String::new()
                } else {
                    format!("/{state}")
                };
                let kind = kind_of(code, &state);
                Error::query_kind(kind, message, Some(format!("{code}{state}")))
            }
        },
        WireError::Other(e) => e,
    }
}

/// The portable kind of a MySQL/MariaDB error number, else of its SQLSTATE.
fn kind_of(code: u16, state: &str) -> ErrorKind {
    match code {
        1062 | 1586 | 1022 | 1169 => ErrorKind::UniqueViolation,
        1451 | 1452 | 1216 | 1217 => ErrorKind::ForeignKeyViolation,
        1048 | 1364 | 1138 => ErrorKind::NotNullViolation,
        3819 | 4025 => ErrorKind::CheckViolation,
        1213 => ErrorKind::Deadlock,
        1205 | 3572 => ErrorKind::LockTimeout,
        1040 | 1053 | 1203 => ErrorKind::Unavailable,
        1064 | 1149 => ErrorKind::Syntax,
        1146 | 1054 | 1049 | 1305 | 1091 | 1051 | 1109 | 1176 => ErrorKind::UndefinedObject,
        1050 | 1007 | 1060 | 1061 | 1304 | 1359 => ErrorKind::DuplicateObject,
        1142 | 1143 | 1227 | 1370 | 1044 => ErrorKind::PermissionDenied,
        1792 | 1290 | 1836 => ErrorKind::ReadOnly,
        1365 | 1264 | 1366 | 1292 | 1406 | 1690 | 3140 => ErrorKind::InvalidData,
        1317 => ErrorKind::Cancelled,
        _ if !state.is_empty() && state != "HY000" => ErrorKind::from_sqlstate(state),
        _ => ErrorKind::Other,
    }
}
