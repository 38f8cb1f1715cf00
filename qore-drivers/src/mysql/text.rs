//! Small results of the text protocol (catalog, settings), typed row by row.

use qore_core::{Error, Result};

use super::errors::map_err;
use super::wire::Conn;

/// A value of a text-protocol row, typed.
pub(crate) trait FromText: Sized {
    /// Converts one value (None: NULL).
    fn from_text(v: Option<&[u8]>) -> Result<Self>;
}

impl FromText for String {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        let v = v.ok_or_else(|| Error::data("unexpected NULL in a catalog row"))?;
        Ok(String::from_utf8_lossy(v).into_owned())
    }
}

/// An integer from its decimal text.
fn integer<T: std::str::FromStr>(v: Option<&[u8]>, what: &str) -> Result<T> {
    let v = v.ok_or_else(|| Error::data("unexpected NULL in a catalog row"))?;
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::data(format!("`{}` is not {what}", String::from_utf8_lossy(v))))
}

impl FromText for i64 {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        integer(v, "an integer")
    }
}

impl FromText for u64 {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        integer(v, "an unsigned integer")
    }
}

impl<T: FromText> FromText for Option<T> {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        v.map(|b| T::from_text(Some(b))).transpose()
    }
}

/// A typed text-protocol row (tuples of [`FromText`] values).
pub(crate) trait FromTextRow: Sized {
    /// Converts one row.
    fn from_row(row: &[Option<Vec<u8>>]) -> Result<Self>;
}

macro_rules! tuple_row {
    ($n:literal; $($t:ident $i:tt),+) => {
        impl<$($t: FromText),+> FromTextRow for ($($t,)+) {
            fn from_row(row: &[Option<Vec<u8>>]) -> Result<Self> {
                if row.len() != $n {
                    return Err(Error::Internal(format!(
                        "a catalog query returned {} columns, not {}", row.len(), $n
                    )));
                }
                Ok(($($t::from_text(row[$i].as_deref())?,)+))
            }
        }
    };
}

tuple_row!(1; A 0);
tuple_row!(2; A 0, B 1);
tuple_row!(3; A 0, B 1, C 2);
tuple_row!(4; A 0, B 1, C 2, D 3);
tuple_row!(5; A 0, B 1, C 2, D 3, E 4);
tuple_row!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_row!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_row!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_row!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_row!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_row!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_row!(13; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);

/// Runs `sql` in the text protocol and types its rows.
pub(super) async fn text_query<O: FromTextRow>(conn: &mut Conn, sql: &str) -> Result<Vec<O>> {
    let result = conn.query_text(sql).await.map_err(map_err)?;
    result.rows.iter().map(|r| O::from_row(r)).collect()
}

/// Hands the warnings the last statement left to `tracing` (target
/// `qore::notice`, where PostgreSQL's notices arrive through sqlx's own
/// target), so a client can show them as psql and the mysql client do.
/// Nothing is sent to the server when there are none.
pub(super) async fn report_warnings(conn: &mut Conn) {
    if conn.last_warnings == 0 {
        return;
    }
    conn.last_warnings = 0;
    match text_query::<(String, String, String)>(conn, "SHOW WARNINGS").await {
        Ok(rows) => {
            for (level, code, message) in rows {
                match level.as_str() {
                    "Error" => tracing::error!(target: "qore::notice", "{message} ({code})"),
                    "Warning" => tracing::warn!(target: "qore::notice", "{message} ({code})"),
                    _ => tracing::info!(target: "qore::notice", "{message} ({code})"),
                }
            }
        }
        Err(e) => crate::note("reading SHOW WARNINGS", Err::<(), _>(e)),
    }
}
