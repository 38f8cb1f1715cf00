//! [`Labelled`]: sessions that carry the environment label of the profile
//! they were opened from, so that the safety net reads it from the
//! connection itself.

use std::sync::Arc;

use async_trait::async_trait;

use crate::connection::{
    Catalog, Connection, ConnectionRef, Database, DatabaseRef, ExecuteOutcome,
};
use crate::dialect::Dialect;
use crate::environment::Environment;
use crate::error::Result;
use crate::facets::{Documents, KeyValue};
use crate::schema::TableRef;
use crate::stream::SendableRecordBatchStream;
use crate::transaction::Transaction;
use crate::url::Engine;
use crate::value::Value;

/// A connection with an environment label; everything else is forwarded.
#[derive(Debug)]
pub struct Labelled {
    inner: ConnectionRef,
    environment: Environment,
}

impl Labelled {
    /// Labels `inner`.
    pub fn new(inner: ConnectionRef, environment: Environment) -> Self {
        Labelled { inner, environment }
    }

    /// The labelled connection.
    pub fn get_ref(&self) -> &ConnectionRef {
        &self.inner
    }
}

#[async_trait]
impl Connection for Labelled {
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
        self.inner.query(sql, params).await
    }
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        self.inner.execute(sql, params).await
    }
    async fn begin(&self) -> Result<Transaction<'_>> {
        self.inner.begin().await
    }
    fn catalog(&self) -> Option<&dyn Catalog> {
        self.inner.catalog()
    }
    fn environment(&self) -> Option<Environment> {
        Some(self.environment)
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
        self.inner.close().await
    }
}

/// A database whose sessions are [`Labelled`].
#[derive(Debug)]
pub struct LabelledDatabase {
    inner: DatabaseRef,
    environment: Environment,
}

impl LabelledDatabase {
    /// Labels the sessions of `inner`.
    pub fn new(inner: DatabaseRef, environment: Environment) -> Self {
        LabelledDatabase { inner, environment }
    }
}

#[async_trait]
impl Database for LabelledDatabase {
    fn engine(&self) -> Engine {
        self.inner.engine()
    }
    fn target(&self) -> String {
        self.inner.target()
    }
    fn environment(&self) -> Option<Environment> {
        Some(self.environment)
    }
    async fn session(&self) -> Result<ConnectionRef> {
        Ok(Arc::new(Labelled::new(
            self.inner.session().await?,
            self.environment,
        )))
    }
}
