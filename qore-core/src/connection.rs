//! The `Connection` contract and its facets.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::environment::Environment;
use crate::error::Result;
use crate::facets::{Documents, KeyValue};
use crate::schema::{Namespace, TableDetails, TableInfo, TableRef};
use crate::stream::SendableRecordBatchStream;
use crate::transaction::Transaction;
use crate::url::Engine;
use crate::value::Value;

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecuteOutcome {
    /// Rows inserted, updated or deleted, as the engine reports it.
    pub rows_affected: u64,
}

/// What a session can say about itself and its server, for a "test
/// connection" button and `qore conn test`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The server's (or embedded library's) version as it reports it.
    pub server_version: Option<String>,
    /// The TLS protocol in use (`TLSv1.3`), `Some("none")` for a plain
    /// connection, `None` where the question does not apply (local files).
    pub tls: Option<String>,
    /// The server's id for this session (backend pid, connection id).
    pub session_id: Option<String>,
}

impl SessionInfo {
    /// Info with a version, TLS state and session id.
    pub fn new(
        server_version: Option<String>,
        tls: Option<String>,
        session_id: Option<String>,
    ) -> Self {
        SessionInfo {
            server_version,
            tls,
            session_id,
        }
    }
}

/// A connection to one database, of any engine.
///
/// Implementations are cheap to share (`Send + Sync`); a connection that can
/// run one statement at a time queues the others.
#[async_trait]
pub trait Connection: Send + Sync + Debug {
    /// Which engine this is.
    fn engine(&self) -> Engine;

    /// How this engine spells SQL: the only place generated SQL may come
    /// from. `None` for engines whose language is not SQL (Redis, MongoDB).
    fn dialect(&self) -> Option<Arc<dyn Dialect>>;

    /// Checks that the engine still answers.
    ///
    /// # Error handling
    ///
    /// [`Error::Connect`](crate::Error::Connect) when it does not.
    async fn ping(&self) -> Result<()>;

    /// Runs one statement and streams its rows as Arrow.
    ///
    /// The call prepares the statement and returns once the schema is known;
    /// rows are produced as the stream is polled, at most one batch ahead of
    /// the consumer, so memory is bounded by the batch size.
    ///
    /// # Error handling
    ///
    /// Errors found while preparing (syntax, unknown table, bad parameter)
    /// are returned here; errors found while running arrive as `Err` items.
    ///
    /// # Cancellation
    ///
    /// Dropping the stream stops the statement and frees the connection.
    ///
    /// # Concurrency
    ///
    /// A connection runs one statement at a time: until the stream is
    /// consumed or dropped, other calls on the same connection wait. Read the
    /// catalog before starting a query, or use a second connection.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream>;

    /// Runs one statement for its effect and reports the affected rows.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome>;

    /// Begins a transaction on this session. Until it ends, other calls on
    /// the session wait (use another session of the same [`Database`] for
    /// work in parallel).
    ///
    /// # Error handling
    ///
    /// [`Error::NotSupported`](crate::Error::NotSupported) for an engine
    /// without transactions (Redis; MongoDB without a replica set).
    async fn begin(&self) -> Result<Transaction<'_>> {
        Err(crate::Error::NotSupported(format!(
            "{} has no transactions",
            self.engine().name()
        )))
    }

    /// The catalog facet, if the engine has one.
    fn catalog(&self) -> Option<&dyn Catalog> {
        None
    }

    /// The environment label of the profile this session was opened from
    /// (see [`Labelled`](crate::Labelled)); `None` for a plain URL.
    fn environment(&self) -> Option<Environment> {
        None
    }

    /// The key-value facet (Redis).
    fn key_value(&self) -> Option<&dyn KeyValue> {
        None
    }

    /// How many times this session found its connection dead (killed by
    /// the server, dropped by the network) and replaced it with a new one
    /// behind the caller's back. 0 for engines that never do (embedded
    /// ones) or leave it to their client library (MongoDB).
    fn reconnects(&self) -> u64 {
        0
    }

    /// The server's version, TLS state and this session's id, asked of the
    /// server where it is not known already.
    async fn session_info(&self) -> Result<SessionInfo> {
        Ok(SessionInfo::default())
    }

    /// The administration facet: maintenance, routines, triggers, events.
    /// It reads and plans; [`admin::run`](crate::admin::run) runs its plans
    /// through this session.
    fn admin(&self) -> Option<&dyn crate::admin::Admin> {
        None
    }

    /// The document facet (MongoDB).
    fn documents(&self) -> Option<&dyn Documents> {
        None
    }

    /// The statement that reads every row of `table`: what `qore export
    /// --table` and a grid's "open table" run. SQL engines read `SELECT *
    /// FROM` the table as the dialect quotes it; MongoDB finds every
    /// document of the collection.
    ///
    /// # Error handling
    ///
    /// [`Error::NotSupported`](crate::Error::NotSupported) for an engine
    /// without tables (Redis).
    fn table_query(&self, table: &TableRef) -> Result<String> {
        let Some(dialect) = self.dialect() else {
            return Err(crate::Error::NotSupported(format!(
                "{} has no tables to read",
                self.engine().name()
            )));
        };
        Ok(format!("SELECT * FROM {}", dialect.quote_table(table)?))
    }

    /// Flushes what the engine keeps pending (SQLite: `PRAGMA optimize`;
    /// DuckDB: `CHECKPOINT`; servers: a clean goodbye). The handle itself is
    /// released when the connection is dropped.
    async fn close(&self) -> Result<()>;
}

/// Reads the structure of a database.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// Namespaces (schemas, databases, attached files).
    async fn namespaces(&self) -> Result<Vec<Namespace>>;

    /// The databases this server holds, the current one marked default.
    /// Where a database and a namespace are the same thing (MySQL,
    /// MongoDB) or there is one database (SQLite, DuckDB: the attached
    /// files are its namespaces) this is [`namespaces`](Catalog::namespaces);
    /// PostgreSQL lists `pg_database`.
    async fn databases(&self) -> Result<Vec<Namespace>> {
        self.namespaces().await
    }

    /// Tables, views and collections of one namespace (the default one when
    /// `None`), with row counts or estimates where they are cheap.
    async fn tables(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>>;

    /// Columns, indexes, constraints and triggers of one table.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when there is no such table.
    async fn table(&self, table: &TableRef) -> Result<TableDetails>;

    /// [`tables`](Catalog::tables) without reading any table to count its
    /// rows: `rows` only from what the engine keeps (statistics, storage
    /// figures) as an estimate, else `None`. For a GUI's tree of tables and
    /// for global search, which must not scan every table once more before
    /// searching it. The default is [`tables`](Catalog::tables), for
    /// engines whose counts cost no scan.
    async fn tables_estimated(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        self.tables(namespace).await
    }

    /// [`table`](Catalog::table) with `rows` as in
    /// [`tables_estimated`](Catalog::tables_estimated).
    ///
    /// # Error handling
    ///
    /// As [`table`](Catalog::table).
    async fn table_estimated(&self, table: &TableRef) -> Result<TableDetails> {
        self.table(table).await
    }

    /// [`structure`](Catalog::structure) with `rows` as in
    /// [`tables_estimated`](Catalog::tables_estimated).
    ///
    /// # Error handling
    ///
    /// As [`structure`](Catalog::structure).
    async fn structure_estimated(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        if self.bulk_structure() {
            return self.structure(namespace).await;
        }
        let mut out = Vec::new();
        for info in self.tables_estimated(namespace).await? {
            keep_found(&mut out, self.table_estimated(&info.table).await)?;
        }
        Ok(out)
    }

    /// Whether [`structure`](Catalog::structure) answers in a constant
    /// number of queries (so a caller reads it whole rather than table by
    /// table as it goes).
    fn bulk_structure(&self) -> bool {
        false
    }

    /// The whole structure of one namespace (the default one when `None`):
    /// every table, view and collection with its columns, indexes and
    /// constraints, in the order of [`tables`](Catalog::tables).
    ///
    /// Server engines answer in a constant number of catalog queries
    /// whatever the table count (an ER diagram of 1,000 tables must not
    /// cost 1,000 round trips); this default asks [`table`](Catalog::table)
    /// once per table, which suits in-process engines.
    ///
    /// # Error handling
    ///
    /// The first error of the catalog queries. A table dropped between the
    /// listing and its details is left out rather than failing the whole.
    async fn structure(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        let mut out = Vec::new();
        for info in self.tables(namespace).await? {
            keep_found(&mut out, self.table(&info.table).await)?;
        }
        Ok(out)
    }
}

/// Adds a table's details to `out`; a table dropped since it was listed
/// (NotFound) is left out, any other error returned.
fn keep_found(out: &mut Vec<TableDetails>, details: Result<TableDetails>) -> Result<()> {
    match details {
        Ok(d) => out.push(d),
        Err(crate::Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// A shared connection.
pub type ConnectionRef = Arc<dyn Connection>;

/// One database (the target of a URL, with its options) that opens
/// sessions: independent connections that can work in parallel.
///
/// Server engines open a new connection per session; embedded ones give
/// what the engine allows (several DuckDB connections to one database
/// instance, several SQLite handles on one file; in memory, sessions that
/// see the same data).
#[async_trait]
pub trait Database: Send + Sync + Debug {
    /// Which engine this is.
    fn engine(&self) -> Engine;

    /// The target, for messages: a URL with the password hidden.
    fn target(&self) -> String;

    /// The environment label its sessions carry.
    fn environment(&self) -> Option<Environment> {
        None
    }

    /// Opens a new session.
    ///
    /// # Error handling
    ///
    /// As when connecting: [`Error::Connect`](crate::Error::Connect),
    /// [`Error::Auth`](crate::Error::Auth), ...
    async fn session(&self) -> Result<ConnectionRef>;
}

/// A shared database handle.
pub type DatabaseRef = Arc<dyn Database>;

macro_rules! forward_connection {
    ($ty:ty) => {
        #[async_trait]
        impl<T: Connection + ?Sized> Connection for $ty {
            fn engine(&self) -> Engine {
                (**self).engine()
            }
            fn dialect(&self) -> Option<Arc<dyn Dialect>> {
                (**self).dialect()
            }
            async fn ping(&self) -> Result<()> {
                (**self).ping().await
            }
            async fn query(
                &self,
                sql: &str,
                params: &[Value],
            ) -> Result<SendableRecordBatchStream> {
                (**self).query(sql, params).await
            }
            async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
                (**self).execute(sql, params).await
            }
            async fn begin(&self) -> Result<Transaction<'_>> {
                (**self).begin().await
            }
            fn catalog(&self) -> Option<&dyn Catalog> {
                (**self).catalog()
            }
            fn key_value(&self) -> Option<&dyn KeyValue> {
                (**self).key_value()
            }
            fn reconnects(&self) -> u64 {
                (**self).reconnects()
            }
            async fn session_info(&self) -> Result<SessionInfo> {
                (**self).session_info().await
            }
            fn environment(&self) -> Option<Environment> {
                (**self).environment()
            }
            fn admin(&self) -> Option<&dyn crate::admin::Admin> {
                (**self).admin()
            }
            fn documents(&self) -> Option<&dyn Documents> {
                (**self).documents()
            }
            fn table_query(&self, table: &TableRef) -> Result<String> {
                (**self).table_query(table)
            }
            async fn close(&self) -> Result<()> {
                (**self).close().await
            }
        }
    };
}

forward_connection!(Box<T>);
forward_connection!(Arc<T>);
