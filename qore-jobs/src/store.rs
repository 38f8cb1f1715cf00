//! The store contract: one trait, an SQLite and a PostgreSQL implementation,
//! the same tests for both.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qore_core::{Error, Result};

use crate::model::{ClaimFilter, Filter, Job, JobId, Lease, LogLine, NewJob, Outcome, Signal, State};

/// A shared store handle.
pub type StoreRef = Arc<dyn Store>;

/// Where jobs live. Every write a worker makes carries its [`Lease`]; the
/// store refuses it (see [`is_lease_lost`](crate::is_lease_lost)) when the
/// job is no longer running under that lease's token, so a worker that was
/// paused past its lease can neither checkpoint nor finish a job another
/// worker took over.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Where the store is, for messages (no password).
    fn describe(&self) -> String;

    /// Adds a queued job.
    async fn submit(&self, job: NewJob) -> Result<JobId>;

    /// One job.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] for an unknown id.
    async fn get(&self, id: JobId) -> Result<Job>;

    /// Jobs, newest first.
    async fn list(&self, filter: &Filter) -> Result<Vec<Job>>;

    /// Takes the next job that may start (queued and due, or running under
    /// an expired lease) for `worker`, with a lease of `lease`. A job out of
    /// attempts whose lease expired is failed instead.
    async fn claim(&self, worker: &str, filter: &ClaimFilter, lease: Duration) -> Result<Option<(Job, Lease)>> {
        Ok(self.claim_many(worker, filter, lease, 1).await?.into_iter().next())
    }

    /// Takes up to `max` jobs at once, in one transaction, oldest due
    /// first; each gets its own lease. A worker with several free slots
    /// claims them together so that a queue of short jobs costs one round
    /// trip per batch instead of one per job.
    async fn claim_many(
        &self,
        worker: &str,
        filter: &ClaimFilter,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<(Job, Lease)>>;

    /// Extends the lease by `lease` from now.
    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<Signal>;

    /// Saves the handler's checkpoint and progress (and extends the lease).
    async fn checkpoint(
        &self,
        lease: &Lease,
        checkpoint: Option<&serde_json::Value>,
        done: u64,
        total: Option<u64>,
        extend: Duration,
    ) -> Result<Signal>;

    /// Appends a line to the job's log.
    async fn log(&self, lease: &Lease, line: &str) -> Result<()>;

    /// Records how this start ended and lets the lease go.
    async fn complete(&self, lease: &Lease, outcome: &Outcome) -> Result<()>;

    /// Records several starts' ends in one transaction: one result per
    /// item, in order (a lost lease refuses that item only). The outer
    /// error is the store's own failure, when nothing was recorded.
    async fn complete_many(&self, ends: &[(Lease, Outcome)]) -> Result<Vec<Result<()>>> {
        let mut out = Vec::with_capacity(ends.len());
        for (lease, outcome) in ends {
            out.push(self.complete(lease, outcome).await);
        }
        Ok(out)
    }

    /// Cancels a job: a queued one at once, a running one at its next
    /// checkpoint. Returns the state after the call.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a job that already ended.
    async fn cancel(&self, id: JobId) -> Result<State>;

    /// Queues a failed or cancelled job again, from its last checkpoint,
    /// with a fresh set of attempts.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a job that is queued, running or succeeded.
    async fn retry(&self, id: JobId) -> Result<()>;

    /// Deletes a job and its log; returns what it was.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a running job (cancel it first).
    async fn remove(&self, id: JobId) -> Result<Job>;

    /// The job's log, oldest first.
    async fn logs(&self, id: JobId) -> Result<Vec<LogLine>>;
}

/// Opens the store `url` names: `postgres://...` for a shared queue,
/// `sqlite:PATH` or a plain path for a local file; `None` for the user's
/// own (`$XDG_DATA_HOME/qore/jobs.db`).
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a URL of another engine or a file that is not
/// a job store; connection errors as they come.
pub async fn open_store(url: Option<&str>) -> Result<StoreRef> {
    match url {
        None => {
            let dir = qore_core::files::data_dir("the job store")?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            Ok(Arc::new(crate::sqlite::SqliteStore::open(&dir.join("jobs.db"))?))
        }
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Ok(Arc::new(crate::postgres::PgStore::connect(u).await?))
        }
        Some(u) if u.contains("://") => Err(Error::invalid(format!(
            "a job store is a PostgreSQL URL or an SQLite file, not `{}`",
            u.split("://").next().unwrap_or(u)
        ))),
        Some(u) => {
            let path = u.strip_prefix("sqlite:").unwrap_or(u);
            Ok(Arc::new(crate::sqlite::SqliteStore::open(std::path::Path::new(path))?))
        }
    }
}

/// The next start of a job that failed with a transient error after
/// `attempts` starts: 1 s doubling per attempt, capped at 10 minutes, with
/// full jitter over its upper half (so a crowd of failed jobs spreads out).
pub fn backoff(attempts: u32, random: u64) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let base_ms = (1000u64 << exp).min(600_000);
    let half = base_ms / 2;
    Duration::from_millis(half + random % (half + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn backoff_grows_and_stays_bounded(a in 1u32..100, r in any::<u64>()) {
            let d = backoff(a, r);
            let base = (1000u64 << (a - 1).min(20)).min(600_000);
            prop_assert!(d.as_millis() as u64 >= base / 2);
            prop_assert!(d.as_millis() as u64 <= base);
        }
    }
}
