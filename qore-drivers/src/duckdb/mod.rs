//! DuckDB through duckdb-rs (bundled, with its Parquet and JSON extensions):
//! the embedded default. Results are DuckDB's own Arrow batches, coalesced to
//! the batch size; local CSV, Parquet and JSON files are tables
//! (`SELECT * FROM 'data/*.parquet'`).

mod admin;
mod catalog;
mod connection;
mod options;

pub use connection::DuckDbConnection;
pub(crate) use connection::Instance;
pub use options::DuckDbOptions;
