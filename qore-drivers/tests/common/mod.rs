//! Helpers the server tests share: the server's URL from the environment,
//! whole results as one batch, cells as display text.
#![allow(dead_code, clippy::unwrap_used)]

use arrow::array::RecordBatch;
use qore_core::{Connection, Value, collect};

/// The URL `scripts/servers.sh` exported in `var`.
pub(crate) fn server_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests through scripts/servers.sh (scripts/test.sh does)")
    })
}

/// All rows of `sql` with `params`, as one batch.
pub(crate) async fn rows_with(c: &dyn Connection, sql: &str, params: &[Value]) -> RecordBatch {
    let s = c.query(sql, params).await.unwrap();
    let schema = s.schema();
    let batches = collect(s).await.unwrap();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

/// All rows of `sql`, as one batch.
pub(crate) async fn rows(c: &dyn Connection, sql: &str) -> RecordBatch {
    rows_with(c, sql, &[]).await
}

/// A cell as Arrow displays it (`""` for NULL).
pub(crate) fn text(b: &RecordBatch, col: usize, row: usize) -> String {
    arrow::util::display::ArrayFormatter::try_new(b.column(col).as_ref(), &Default::default())
        .unwrap()
        .value(row)
        .to_string()
}

/// A runtime for proptest bodies, which are not async.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
pub(crate) mod contracts;
pub(crate) mod resilience;
