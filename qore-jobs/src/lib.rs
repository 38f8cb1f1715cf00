//! Durable background jobs for QoreDB: long exports, big updates and
//! migrations that survive a crash of their process, resume from their
//! last checkpoint, retry transient errors and can be cancelled.
//!
//! - A [`Store`] keeps jobs: [`SqliteStore`] (one WAL file in the user's
//!   data directory, the default) or [`PgStore`] (a queue that workers on
//!   several machines share, claimed with `FOR UPDATE SKIP LOCKED`). Both
//!   pass the same tests.
//! - A [`Worker`] claims jobs with a lease and a fencing token that grows
//!   with every start; it heartbeats every third of the lease, and the
//!   store refuses checkpoints and outcomes carrying an older token, so a
//!   worker that was paused past its lease cannot overwrite the one that
//!   took the job over. A job whose worker died is started again once its
//!   lease runs out.
//! - Errors whose kind [is transient](qore_core::ErrorKind::is_transient)
//!   are retried with exponential backoff and jitter; others fail the job
//!   with their message and kind.
//! - [`export::ExportHandler`] runs `qore export` as a job, resuming after
//!   its last checkpoint with output byte for byte identical to an
//!   uninterrupted run (see [`export`]); [`batch::BatchHandler`] splits a
//!   big UPDATE or DELETE into key ranges, each its own transaction, run
//!   exactly once; [`migration::MigrationHandler`] runs an SQL script in
//!   one transaction, exactly once, again as a whole after a transient
//!   error; [`sandbox_apply::SandboxApplyHandler`] applies a sandbox's
//!   pending changes (or their undo) the same way.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use qore_jobs::{Handler, JobContext, NewJob, SqliteStore, State, Store, Worker};
//!
//! /// Counts to `n`, saving its place after every step.
//! struct Count;
//!
//! #[async_trait::async_trait]
//! impl Handler for Count {
//!     fn kind(&self) -> &str { "count" }
//!     async fn run(&self, ctx: &mut JobContext) -> qore_core::Result<()> {
//!         let n = ctx.job().params["n"].as_u64().unwrap_or(0);
//!         let from = ctx.job().checkpoint.as_ref().and_then(|c| c.as_u64()).unwrap_or(0);
//!         for i in from..n {
//!             ctx.checkpoint(&serde_json::json!(i + 1), i + 1, Some(n)).await?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
//! let id = store.submit(NewJob::new("count", serde_json::json!({"n": 3}))).await.unwrap();
//! Worker::new(store.clone()).handler(Arc::new(Count)).run_until_idle().await.unwrap();
//! let job = store.get(id).await.unwrap();
//! assert_eq!(job.state, State::Succeeded);
//! assert_eq!((job.done, job.total), (3, Some(3)));
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod batch;
pub mod export;
mod export_parquet;
pub mod migration;
pub mod sandbox_apply;
mod keyset;
mod model;
mod postgres;
mod sqlite;
mod store;
mod table;
mod worker;

pub use model::{
    ClaimFilter, Filter, Job, JobError, JobId, Lease, LogLine, NewJob, Outcome, Signal, State,
    is_lease_lost, now_ms,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::{Store, StoreRef, backoff, open_store};
pub use table::jobs_batch;
pub use worker::{Handler, JobContext, Ran, Worker};
