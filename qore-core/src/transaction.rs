//! Transactions: several statements that take effect together or not at all.
//!
//! [`Connection::begin`](crate::Connection::begin) returns a [`Transaction`]
//! that holds its session: nothing else runs on that session until the
//! transaction ends. It commits only on [`Transaction::commit`]; dropped
//! without one (an early return, a `?`, a panic, a cancelled future), it is
//! rolled back before the session runs anything else. Savepoints nest with
//! [`Transaction::savepoint`], which returns a transaction of its own.
//!
//! A statement that fails poisons its transaction on every engine alike:
//! `commit` then rolls back and returns an error (PostgreSQL would refuse
//! the later statements anyway; MySQL and SQLite would commit the others
//! silently). Roll a savepoint back to recover from a failure inside it.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;

use crate::connection::ExecuteOutcome;
use crate::error::{Error, Result};
use crate::stream::{RecordBatchStreamAdapter, SendableRecordBatchStream};
use crate::value::Value;

/// What an engine driver provides for a transaction; [`Transaction`] adds
/// savepoints, poisoning and rollback on drop on top.
///
/// An implementation holds its session's turn for its whole life, and
/// runs statements inside the transaction that `BEGIN` (or the engine's
/// equivalent) opened when it was made. A decorator (an interceptor) wraps
/// one backend in another.
#[async_trait]
pub trait TransactionBackend: Send + Sync + Debug {
    /// Runs one statement in the transaction and streams its rows.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream>;

    /// Runs one statement in the transaction for its effect.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome>;

    /// Commits. Called at most once; when it fails, [`rollback`](Self::rollback)
    /// follows.
    async fn commit(&mut self) -> Result<()>;

    /// Rolls back. The last call on a backend.
    async fn rollback(&mut self) -> Result<()>;

    /// Starts a rollback from a synchronous `drop`: it must run before the
    /// session runs anything else, and must not block.
    fn rollback_on_drop(&mut self);

    /// Whether `SAVEPOINT` works in this engine's transactions.
    fn supports_savepoints(&self) -> bool {
        true
    }
}

enum Backend<'c> {
    Root(Box<dyn TransactionBackend + 'c>),
    Nested(&'c (dyn TransactionBackend + 'c)),
    /// Handed over by [`Transaction::into_backend`].
    Taken,
}

/// What a handed-over transaction points at: every call says it ended.
#[derive(Debug)]
struct Ended;

static ENDED: Ended = Ended;

#[async_trait]
impl TransactionBackend for Ended {
    async fn query(&self, _: &str, _: &[Value]) -> Result<SendableRecordBatchStream> {
        Err(Error::invalid("the transaction was handed to a decorator"))
    }
    async fn execute(&self, _: &str, _: &[Value]) -> Result<ExecuteOutcome> {
        Err(Error::invalid("the transaction was handed to a decorator"))
    }
    async fn commit(&mut self) -> Result<()> {
        Err(Error::invalid("the transaction was handed to a decorator"))
    }
    async fn rollback(&mut self) -> Result<()> {
        Ok(())
    }
    fn rollback_on_drop(&mut self) {}
}

/// An open transaction (or savepoint) on one session.
///
/// # Example
///
/// ```no_run
/// # async fn f(conn: qore_core::ConnectionRef) -> qore_core::Result<()> {
/// let mut tx = conn.begin().await?;
/// tx.execute("UPDATE account SET balance = balance - 10 WHERE id = 1", &[]).await?;
/// tx.execute("UPDATE account SET balance = balance + 10 WHERE id = 2", &[]).await?;
/// tx.commit().await?; // without this line, both updates are rolled back
/// # Ok(()) }
/// ```
pub struct Transaction<'c> {
    backend: Backend<'c>,
    /// `None` for the outermost transaction.
    savepoint: Option<String>,
    depth: usize,
    /// Statements that dropped savepoints left to run before the next one.
    pending: Arc<Mutex<Vec<String>>>,
    poisoned: Arc<AtomicBool>,
    open: bool,
}

impl Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("savepoint", &self.savepoint)
            .field("poisoned", &self.poisoned.load(Ordering::Relaxed))
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl<'c> Transaction<'c> {
    /// A transaction over a driver's backend, which has already begun it.
    pub fn new(backend: Box<dyn TransactionBackend + 'c>) -> Self {
        Transaction {
            backend: Backend::Root(backend),
            savepoint: None,
            depth: 0,
            pending: Arc::default(),
            poisoned: Arc::default(),
            open: true,
        }
    }

    fn backend(&self) -> &(dyn TransactionBackend + 'c) {
        match &self.backend {
            Backend::Root(b) => &**b,
            Backend::Nested(b) => *b,
            Backend::Taken => &ENDED,
        }
    }

    /// The driver's backend of a transaction that has just begun, for a
    /// decorator that wraps it in its own (an interceptor) and makes a new
    /// [`Transaction`] of that.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a savepoint, or a transaction that has
    /// run statements already.
    pub fn into_backend(mut self) -> Result<Box<dyn TransactionBackend + 'c>> {
        if self.savepoint.is_some() || self.is_poisoned() {
            return Err(Error::invalid(
                "only a transaction that has just begun can be handed to a decorator",
            ));
        }
        match std::mem::replace(&mut self.backend, Backend::Taken) {
            Backend::Root(b) => {
                self.open = false;
                Ok(b)
            }
            other => {
                self.backend = other;
                Err(Error::invalid(
                    "only a transaction that has just begun can be handed to a decorator",
                ))
            }
        }
    }

    /// How deep this is: 0 for the transaction, 1 for its first savepoint, ...
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Whether a statement in this transaction (or savepoint) failed: a
    /// poisoned transaction can only be rolled back.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }

    /// Runs what dropped savepoints left pending.
    async fn settle(&self) -> Result<()> {
        let pending: Vec<String> = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Err(Error::Internal("a transaction's state is poisoned".into())),
        };
        for sql in pending {
            self.backend().execute(&sql, &[]).await?;
        }
        Ok(())
    }

    fn note<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.poisoned.store(true, Ordering::Relaxed);
        }
        r
    }

    /// Runs one statement inside the transaction and streams its rows. An
    /// error, here or in the stream, poisons the transaction.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        self.settle().await?;
        let stream = self.note(self.backend().query(sql, params).await)?;
        let poisoned = self.poisoned.clone();
        let schema = stream.schema();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            stream.map(move |r| {
                if r.is_err() {
                    poisoned.store(true, Ordering::Relaxed);
                }
                r
            }),
        )))
    }

    /// Runs one statement inside the transaction for its effect. An error
    /// poisons the transaction.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        self.settle().await?;
        self.note(self.backend().execute(sql, params).await)
    }

    /// Opens a savepoint: a nested transaction that can be rolled back
    /// alone. The outer transaction cannot be used until it ends.
    ///
    /// # Error handling
    ///
    /// [`Error::NotSupported`] where the engine has no savepoints (DuckDB).
    pub async fn savepoint(&mut self) -> Result<Transaction<'_>> {
        if !self.backend().supports_savepoints() {
            return Err(Error::NotSupported(
                "savepoints (nested transactions) are not supported by this engine".into(),
            ));
        }
        self.settle().await?;
        let name = format!("qore_sp_{}", self.depth + 1);
        self.note(
            self.backend()
                .execute(&format!("SAVEPOINT {name}"), &[])
                .await,
        )?;
        Ok(Transaction {
            backend: Backend::Nested(self.backend()),
            savepoint: Some(name),
            depth: self.depth + 1,
            pending: self.pending.clone(),
            poisoned: Arc::default(),
            open: true,
        })
    }

    /// Makes the changes permanent (for a savepoint: part of the outer
    /// transaction).
    ///
    /// # Error handling
    ///
    /// When a statement in it failed, rolls back instead and returns
    /// [`Error::InvalidInput`] saying so; an engine error on commit
    /// (a serialization failure, a lost connection) leaves nothing
    /// committed and is returned as it is.
    pub async fn commit(mut self) -> Result<()> {
        if self.is_poisoned() {
            self.end(false).await?;
            return Err(Error::invalid(
                "a statement in this transaction failed, so it was rolled back instead of committed",
            ));
        }
        self.end(true).await
    }

    /// Undoes the changes (for a savepoint: those since it was opened).
    pub async fn rollback(mut self) -> Result<()> {
        self.end(false).await
    }

    async fn end(&mut self, commit: bool) -> Result<()> {
        self.open = false;
        if let Some(name) = self.savepoint.clone() {
            self.settle().await?;
            let b = self.backend();
            if commit {
                b.execute(&format!("RELEASE SAVEPOINT {name}"), &[]).await?;
            } else {
                b.execute(&format!("ROLLBACK TO SAVEPOINT {name}"), &[])
                    .await?;
                b.execute(&format!("RELEASE SAVEPOINT {name}"), &[]).await?;
            }
            return Ok(());
        }
        // What dropped savepoints left pending is moot after a rollback,
        // and must run before a commit.
        let pending: Vec<String> = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let Backend::Root(b) = &mut self.backend else {
            // Nested without a savepoint, or handed over: nothing to end here.
            return Err(Error::Internal(
                "a nested transaction without a savepoint".into(),
            ));
        };
        if !commit {
            return b.rollback().await;
        }
        for sql in pending {
            if let Err(e) = b.execute(&sql, &[]).await {
                if let Err(r) = b.rollback().await {
                    tracing::debug!(error = %r, "rollback after a failed savepoint release failed");
                }
                return Err(e);
            }
        }
        let r = b.commit().await;
        if r.is_err() {
            // An engine that kept the transaction open after a failed
            // COMMIT must not keep its changes either.
            if let Err(e) = b.rollback().await {
                tracing::debug!(error = %e, "rollback after a failed commit failed");
            }
        }
        r
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        match (&mut self.backend, &self.savepoint) {
            (Backend::Root(b), _) => b.rollback_on_drop(),
            (Backend::Nested(_), Some(name)) => {
                if let Ok(mut p) = self.pending.lock() {
                    p.push(format!("ROLLBACK TO SAVEPOINT {name}"));
                    p.push(format!("RELEASE SAVEPOINT {name}"));
                }
            }
            (Backend::Nested(_), None) | (Backend::Taken, _) => {}
        }
    }
}
