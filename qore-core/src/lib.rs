//! The model and the contracts of QoreDB: what every engine driver implements
//! and every frontend consumes.
//!
//! A [`Database`] names one target and opens sessions; a session is a
//! [`Connection`], which runs statements and returns a
//! [`SendableRecordBatchStream`] (an Arrow schema plus a bounded stream of
//! record batches, whatever the engine), and begins [`Transaction`]s that
//! roll back unless committed. Every [`Error`] has a portable [`ErrorKind`].
//! Optional facets such as the [`Catalog`] describe the structure of a database
//! in the [`schema`](TableDetails) model, and [`annotate_schema`] puts that
//! structure into the result's field metadata. A [`ConnectionSpec`] is a parsed
//! connection URL, a [`Dialect`] spells SQL, a [`Value`] is one cell, and
//! [`Error`] is the one error type.
//!
//! # Example
//!
//! ```
//! use qore_core::{ConnectionSpec, Engine};
//!
//! let spec = ConnectionSpec::parse("postgres://ann:secret@localhost:5432/shop").unwrap();
//! assert_eq!(spec.engine, Engine::Postgres);
//! // The password never shows.
//! assert_eq!(spec.to_string(), "postgres://ann:***@localhost:5432/shop");
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod admin;
pub mod calendar;
pub mod cleanup;
mod connection;
mod dialect;
mod environment;
mod error;
mod facets;
pub mod files;
pub mod glob;
pub mod intercept;
mod kind;
mod labelled;
pub mod metadata;
pub mod read;
pub mod relations;
pub mod replay;
mod schema;
pub mod snapshot;
pub mod sql;
mod stream;
pub mod traced;
mod transaction;
mod url;
mod value;

pub use arrow;
pub use connection::{
    Catalog, Connection, ConnectionRef, Database, DatabaseRef, ExecuteOutcome, SessionInfo,
};
pub use dialect::{AnsiDialect, Dialect, PlaceholderStyle, TextMatch, UpsertStyle};
pub use environment::Environment;
pub use error::{BoxError, Error, QueryError, Result};
pub use facets::{BrowseOptions, Documents, KeyValue};
pub use kind::ErrorKind;
pub use labelled::{Labelled, LabelledDatabase};
pub use metadata::{ColumnIndicators, annotate_schema};
pub use schema::{
    ColumnInfo, Constraint, ConstraintKind, FkAction, ForeignKey, IndexInfo, IndexPart, Namespace,
    RowCount, TableDetails, TableInfo, TableKind, TableRef,
};
pub use stream::{
    DEFAULT_BATCH_SIZE, EmptyRecordBatchStream, RecordBatchStream, RecordBatchStreamAdapter,
    SendableRecordBatchStream, WithSchema, collect,
};
pub use transaction::{Transaction, TransactionBackend};
pub use url::{ConnectionSpec, Engine, HostPort, Secret, redact_urls};
pub use value::Value;
