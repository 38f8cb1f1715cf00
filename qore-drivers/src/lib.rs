//! QoreDB's engine drivers: one module per engine, each behind a cargo feature
//! named after it, all implementing the [`qore_core::Connection`] contract.
//!
//! [`connect`] opens any engine from its URL. Embedded engines (SQLite and
//! DuckDB, the default) run on a worker thread that feeds a bounded channel, so
//! a query streams Arrow batches in memory bounded by the batch size. The
//! [`demo`] module writes QoreDB's sample shop database.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "duckdb")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use futures::StreamExt;
//!
//! let conn = qore_drivers::connect("duckdb:").await.unwrap();
//! let mut rows = conn.query("SELECT 42 AS answer", &[]).await.unwrap();
//! let batch = rows.next().await.unwrap().unwrap();
//! assert_eq!(batch.num_rows(), 1);
//! # });
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// With only some engines (qore-safety builds this crate with MongoDB and
// Redis alone), helpers shared by the others and most of the demo builder
// are unused: that is expected, not a warning to act on.
#![cfg_attr(
    not(all(
        feature = "sqlite",
        feature = "duckdb",
        feature = "postgres",
        feature = "mysql"
    )),
    allow(dead_code, unused_imports, unused_variables, unreachable_code)
)]

use std::sync::Arc;

use qore_core::{ConnectionRef, ConnectionSpec, Engine, Error, Result};

pub use database::{open, open_spec};

mod database;
mod ddl;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "redis"))]
pub mod keepalive;
pub mod demo;
pub mod dialects;
pub mod probe;
pub mod profiles;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "mongodb"))]
mod server;
#[cfg(any(
    feature = "sqlite",
    feature = "duckdb",
    feature = "postgres",
    feature = "mysql"
))]
mod session;
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
mod worker;
pub mod tunnel;

#[cfg(feature = "duckdb")]
#[cfg_attr(docsrs, doc(cfg(feature = "duckdb")))]
pub mod duckdb;
#[cfg(feature = "mongodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "mongodb")))]
pub mod mongodb;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub mod mysql;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

/// The engines this build of the drivers can open.
pub fn built_engines() -> Vec<Engine> {
    Engine::ALL.into_iter().filter(|e| is_built(*e)).collect()
}

/// Whether `engine`'s feature was built.
#[allow(clippy::match_like_matches_macro)] // one arm per engine, more to come
pub fn is_built(engine: Engine) -> bool {
    match engine {
        Engine::Sqlite => cfg!(feature = "sqlite"),
        Engine::DuckDb => cfg!(feature = "duckdb"),
        Engine::Redis => cfg!(feature = "redis"),
        Engine::Postgres => cfg!(feature = "postgres"),
        Engine::MySql => cfg!(feature = "mysql"),
        Engine::MongoDb => cfg!(feature = "mongodb"),
        _ => false,
    }
}

/// Opens a connection from a URL (see [`ConnectionSpec`] for the forms), or
/// a bare path to a `.duckdb` / `.db` / `.sqlite` file.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a malformed URL or an unknown scheme,
/// [`Error::NotSupported`] naming the cargo feature when the engine was not
/// built, [`Error::Connect`] when the database cannot be opened.
pub async fn connect(url: &str) -> Result<ConnectionRef> {
    connect_spec(&ConnectionSpec::parse_lenient(url)?).await
}

/// Checks a connection's options the way opening it would, without
/// connecting: for saving a connection that would only fail at first use.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an unknown option or a bad value;
/// [`Error::NotSupported`] when the engine was not built.
pub fn validate_spec(spec: &ConnectionSpec) -> Result<()> {
    // The SSH options are qore's, checked here; the driver never sees them.
    let mut spec = spec.clone();
    if tunnel::take_ssh_options(&mut spec)?.is_some() && matches!(spec.engine, Engine::Sqlite | Engine::DuckDb) {
        return Err(Error::NotSupported(format!("{} is a local file: there is nothing to tunnel to", spec.engine)));
    }
    let spec = &spec;
    match spec.engine {
        #[cfg(feature = "sqlite")]
        Engine::Sqlite => sqlite::SqliteOptions::from_spec(spec).map(|_| ()),
        #[cfg(feature = "duckdb")]
        Engine::DuckDb => duckdb::DuckDbOptions::from_spec(spec).map(|_| ()),
        #[cfg(feature = "redis")]
        Engine::Redis => redis::RedisConnection::check_options(spec),
        #[cfg(feature = "postgres")]
        Engine::Postgres => postgres::PostgresConnection::check_options(spec),
        #[cfg(feature = "mysql")]
        Engine::MySql => mysql::MySqlConnection::check_options(spec),
        #[cfg(feature = "mongodb")]
        Engine::MongoDb => mongodb::MongoConnection::check_options(spec),
        other => Err(not_built(other)),
    }
}

fn not_built(engine: Engine) -> Error {
    Error::NotSupported(format!(
        "{} support is not in this build; rebuild with the cargo feature `{}` (for example \
         `cargo install qore-cli --features {}`)",
        engine.name(),
        engine.feature(),
        engine.feature()
    ))
}

/// Opens a connection from a parsed [`ConnectionSpec`].
pub async fn connect_spec(spec: &ConnectionSpec) -> Result<ConnectionRef> {
    connect_traced(spec, connect_engine(spec)).await
}

/// Runs `connect` in a `connect` span that reports its outcome.
pub(crate) async fn connect_traced<T>(
    spec: &ConnectionSpec,
    connect: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let span = tracing::info_span!("connect", engine = spec.engine.name(), target = %spec);
    let started = std::time::Instant::now();
    let r = tracing::Instrument::instrument(connect, span.clone()).await;
    span.in_scope(|| match &r {
        Ok(_) => tracing::debug!(ms = started.elapsed().as_secs_f64() * 1000.0, "connected"),
        Err(e) => tracing::debug!(kind = e.kind().name(), error = %e, "connect failed"),
    });
    r
}

pub(crate) async fn connect_engine(spec: &ConnectionSpec) -> Result<ConnectionRef> {
    match spec.engine {
        #[cfg(feature = "sqlite")]
        Engine::Sqlite => {
            let options = sqlite::SqliteOptions::from_spec(spec)?;
            Ok(traced(sqlite::SqliteConnection::open(options).await?))
        }
        #[cfg(feature = "duckdb")]
        Engine::DuckDb => {
            let options = duckdb::DuckDbOptions::from_spec(spec)?;
            Ok(traced(duckdb::DuckDbConnection::open(options).await?))
        }
        #[cfg(feature = "redis")]
        Engine::Redis => Ok(traced(redis::RedisConnection::connect(spec).await?)),
        #[cfg(feature = "postgres")]
        Engine::Postgres => Ok(traced(postgres::PostgresConnection::connect(spec).await?)),
        #[cfg(feature = "mysql")]
        Engine::MySql => Ok(traced(mysql::MySqlConnection::connect(spec).await?)),
        #[cfg(feature = "mongodb")]
        Engine::MongoDb => Ok(traced(mongodb::MongoConnection::connect(spec).await?)),
        other => Err(not_built(other)),
    }
}

/// A driver connection as every frontend gets it: traced.
pub(crate) fn traced<C: qore_core::Connection + 'static>(conn: C) -> ConnectionRef {
    Arc::new(qore_core::traced::Traced::new(conn))
}

/// An on/off URL option.
pub(crate) fn parse_flag(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err(Error::invalid(format!(
            "option `{key}` must be true or false, not `{v}`"
        ))),
    }
}

/// Notes an error that nobody can act on (a cancel, a kill, a goodbye that
/// failed) at debug level instead of dropping it unseen.
pub(crate) fn note<T, E: std::fmt::Debug>(what: &'static str, r: std::result::Result<T, E>) {
    if let Err(e) = r {
        tracing::debug!(error = ?e, "{what} failed");
    }
}
