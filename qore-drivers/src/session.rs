//! What every SQL driver shares for sessions and transactions: the turn a
//! caller takes to run statements, and a transaction backend over it.
//!
//! A plain call (`query`, `execute`, a catalog read) takes the session's
//! turn only while it starts its statement; the statement itself is then
//! serialised by the driver (the connection's lock, the worker's queue). A
//! transaction takes the turn for its whole life, so no other caller's
//! statement can run between its `BEGIN` and its `COMMIT`.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use qore_core::{
    ExecuteOutcome, Result, SendableRecordBatchStream, Transaction, TransactionBackend, Value,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A session's turn.
#[derive(Debug, Clone, Default)]
pub(crate) struct Turn(Arc<Mutex<()>>);

/// Proof that the holder has a session's turn.
#[derive(Debug)]
pub(crate) struct Held(#[allow(dead_code)] OwnedMutexGuard<()>);

impl Turn {
    /// Waits for the turn: until no transaction is open on the session.
    pub(crate) async fn take(&self) -> Held {
        Held(self.0.clone().lock_owned().await)
    }
}

/// A session that can run statements while its caller holds the turn.
#[async_trait]
pub(crate) trait HeldSession: qore_core::Connection {
    /// Runs a statement for rows; the caller holds the turn.
    async fn query_held(
        &self,
        held: &Held,
        sql: &str,
        params: &[Value],
    ) -> Result<SendableRecordBatchStream>;

    /// Runs a statement for its effect; the caller holds the turn.
    async fn execute_held(
        &self,
        held: &Held,
        sql: &str,
        params: &[Value],
    ) -> Result<ExecuteOutcome>;

    /// Makes sure `ROLLBACK` runs before any other statement of the
    /// session, without blocking: called from a `drop`. The turn is
    /// released when `held` is dropped, so the rollback must be queued
    /// (or the session marked) before that.
    fn rollback_on_drop(&self, held: Held);

    /// Commits the transaction opened with [`begin_sql`](Self::begin_sql).
    ///
    /// # Error handling
    ///
    /// An error when the engine did not commit (PostgreSQL answers a
    /// `COMMIT` of an aborted transaction with a silent rollback).
    async fn commit_held(&self, held: &Held) -> Result<()> {
        self.execute_held(held, "COMMIT", &[]).await.map(|_| ())
    }
}

/// For the server drivers' [`HeldSession::rollback_on_drop`]: marks the
/// session (`pending`) so that its next user rolls back first, and, when a
/// runtime is there, runs `rollback` now from a task of its own that keeps
/// the turn until it is done.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn rollback_soon(
    pending: &std::sync::atomic::AtomicBool,
    held: Held,
    rollback: impl std::future::Future<Output = Result<()>> + Send + 'static,
) {
    pending.store(true, std::sync::atomic::Ordering::Release);
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    crate::server::SpawnedTask::spawn(async move {
        crate::note("the rollback of a dropped transaction", rollback.await);
        drop(held);
    })
    .run_to_completion();
}

/// Begins a transaction on `session`: waits for its turn, runs `BEGIN`.
pub(crate) async fn begin<'c, S: HeldSession>(
    session: &'c S,
    turn: &Turn,
) -> Result<Transaction<'c>> {
    let held = turn.take().await;
    session.execute_held(&held, "BEGIN", &[]).await?;
    Ok(Transaction::new(Box::new(TurnTransaction {
        session,
        held: Some(held),
    })))
}

#[derive(Debug)]
struct TurnTransaction<'c, S: HeldSession> {
    session: &'c S,
    /// `None` once the transaction has ended.
    held: Option<Held>,
}

impl<S: HeldSession> TurnTransaction<'_, S> {
    fn held(&self) -> Result<&Held> {
        self.held
            .as_ref()
            .ok_or_else(|| qore_core::Error::invalid("the transaction has ended"))
    }
}

#[async_trait]
impl<S: HeldSession> TransactionBackend for TurnTransaction<'_, S> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        self.session.query_held(self.held()?, sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        self.session.execute_held(self.held()?, sql, params).await
    }

    async fn commit(&mut self) -> Result<()> {
        self.session.commit_held(self.held()?).await?;
        self.held = None;
        Ok(())
    }

    async fn rollback(&mut self) -> Result<()> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let r = self.session.execute_held(&held, "ROLLBACK", &[]).await;
        if r.is_err() {
            // The session must not go on inside the transaction.
            self.session.rollback_on_drop(held);
        }
        r.map(|_| ())
    }

    fn rollback_on_drop(&mut self) {
        if let Some(held) = self.held.take() {
            self.session.rollback_on_drop(held);
        }
    }

    fn supports_savepoints(&self) -> bool {
        // The dialect says it: one place per engine.
        self.session
            .dialect()
            .is_none_or(|d| d.supports_savepoints())
    }
}
