//! [`Traced`]: a connection decorator that reports its work through
//! `tracing`: a span per statement, transaction and close, with the
//! outcome (rows, duration, error kind) as an event. Drivers wrap every
//! connection they open in it; `qore -v` or `RUST_LOG=qore=debug` shows it.
//!
//! Statement text is recorded at TRACE level only: it can hold secrets
//! (`CREATE USER ... IDENTIFIED BY`).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tracing::Instrument;

use crate::connection::{Catalog, Connection, ExecuteOutcome};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::facets::{Documents, KeyValue};
use crate::schema::TableRef;
use crate::stream::SendableRecordBatchStream;
use crate::transaction::Transaction;
use crate::url::Engine;
use crate::value::Value;

/// A connection whose calls are traced; everything else is forwarded.
#[derive(Debug)]
pub struct Traced<C> {
    inner: C,
}

impl<C: Connection> Traced<C> {
    /// Wraps `inner`.
    pub fn new(inner: C) -> Self {
        Traced { inner }
    }

    /// The wrapped connection.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// Unwraps the connection.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

fn head(sql: &str) -> &str {
    let mut end = sql.len().min(200);
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    &sql[..end]
}

fn done<T>(what: &'static str, started: Instant, r: &Result<T>) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match r {
        Ok(_) => tracing::debug!(ms, "{what} ok"),
        Err(e) => tracing::debug!(ms, kind = e.kind().name(), error = %e, "{what} failed"),
    }
}

#[async_trait]
impl<C: Connection> Connection for Traced<C> {
    fn engine(&self) -> Engine {
        self.inner.engine()
    }

    fn dialect(&self) -> Option<Arc<dyn Dialect>> {
        self.inner.dialect()
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        let span = tracing::debug_span!(
            "query",
            engine = self.engine().name(),
            params = params.len()
        );
        async {
            tracing::trace!(sql = head(sql), "statement");
            let started = Instant::now();
            let r = self.inner.query(sql, params).await;
            // The stream runs on; this is the time to the schema.
            done("query start", started, &r);
            r
        }
        .instrument(span)
        .await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        let span = tracing::debug_span!(
            "execute",
            engine = self.engine().name(),
            params = params.len()
        );
        async {
            tracing::trace!(sql = head(sql), "statement");
            let started = Instant::now();
            let r = self.inner.execute(sql, params).await;
            if let Ok(o) = &r {
                tracing::debug!(rows_affected = o.rows_affected, "affected");
            }
            done("execute", started, &r);
            r
        }
        .instrument(span)
        .await
    }

    async fn begin(&self) -> Result<Transaction<'_>> {
        let span = tracing::debug_span!("begin", engine = self.engine().name());
        async {
            let started = Instant::now();
            let r = self.inner.begin().await;
            done("begin", started, &r);
            r
        }
        .instrument(span)
        .await
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        self.inner.catalog()
    }

    fn environment(&self) -> Option<crate::Environment> {
        self.inner.environment()
    }

    fn key_value(&self) -> Option<&dyn KeyValue> {
        self.inner.key_value()
    }

    fn reconnects(&self) -> u64 {
        self.inner.reconnects()
    }

    async fn session_info(&self) -> Result<crate::SessionInfo> {
        self.inner.session_info().await
    }

    fn admin(&self) -> Option<&dyn crate::admin::Admin> {
        self.inner.admin()
    }

    fn documents(&self) -> Option<&dyn Documents> {
        self.inner.documents()
    }

    fn table_query(&self, table: &TableRef) -> Result<String> {
        self.inner.table_query(table)
    }

    async fn close(&self) -> Result<()> {
        let span = tracing::debug_span!("close", engine = self.engine().name());
        async {
            let started = Instant::now();
            let r = self.inner.close().await;
            done("close", started, &r);
            r
        }
        .instrument(span)
        .await
    }
}
