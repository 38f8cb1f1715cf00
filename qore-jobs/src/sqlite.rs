//! The local store: one SQLite file in WAL mode, so a crash of the process
//! loses nothing that was committed and readers never wait for a worker.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use qore_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::model::{
    ClaimFilter, Filter, Job, JobError, JobId, Lease, LogLine, NewJob, Outcome, Signal, State,
    lease_lost, now_ms,
};
use crate::store::Store;

/// What marks a file as a job store, and its layout's version.
const FORMAT: &str = "qore-jobs 1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS qore_jobs_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS qore_jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  token INTEGER NOT NULL DEFAULT 0,
  worker TEXT,
  lease_until INTEGER,
  run_after INTEGER NOT NULL,
  cancel INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  total INTEGER,
  checkpoint TEXT,
  error_kind TEXT,
  error TEXT,
  created INTEGER NOT NULL,
  started INTEGER,
  updated INTEGER NOT NULL,
  finished INTEGER,
  progress_at INTEGER
);
CREATE INDEX IF NOT EXISTS qore_jobs_due ON qore_jobs(state, run_after);
CREATE INDEX IF NOT EXISTS qore_jobs_lease ON qore_jobs(state, lease_until);
CREATE TABLE IF NOT EXISTS qore_job_logs(
  job INTEGER NOT NULL,
  at INTEGER NOT NULL,
  token INTEGER NOT NULL,
  line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS qore_job_logs_job ON qore_job_logs(job);
";

pub(crate) const COLUMNS: &str = "id, kind, params, state, attempts, max_attempts, token, worker, \
     lease_until, run_after, cancel, done, total, checkpoint, error_kind, error, created, started, \
     updated, finished, progress_at";

/// A job store in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| {
        let busy = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        let message = format!("job store {}: {e}", path.display());
        if busy {
            Error::query_kind(qore_core::ErrorKind::LockTimeout, message, None)
        } else {
            Error::query(message, None)
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when `path` is not an SQLite file, or is one
    /// that holds other tables and no job store.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let err = db_err(path);
        let conn = Connection::open(path).map_err(&err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(&err)?;
        let not_store = |why: String| {
            Error::invalid(format!("{} is not a qore job store: {why}", path.display()))
        };
        let tables: Vec<String> = match conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        {
            Ok(t) => t,
            Err(e) => return Err(not_store(e.to_string())),
        };
        if tables.iter().any(|t| t == "qore_jobs_meta") {
            let format: Option<String> = conn
                .query_row("SELECT value FROM qore_jobs_meta WHERE key = 'format'", [], |r| r.get(0))
                .optional()
                .map_err(&err)?;
            if format.as_deref() != Some(FORMAT) {
                return Err(not_store(format!(
                    "its format is {}, this qore reads {FORMAT}",
                    format.as_deref().unwrap_or("missing")
                )));
            }
        } else if !tables.is_empty() {
            return Err(not_store(format!(
                "it holds other tables ({})",
                tables.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(&err)?;
        conn.pragma_update(None, "synchronous", "normal").map_err(&err)?;
        conn.execute_batch(SCHEMA).map_err(&err)?;
        conn.execute(
            "INSERT OR IGNORE INTO qore_jobs_meta(key, value) VALUES ('format', ?1)",
            [FORMAT],
        )
        .map_err(&err)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection off the async threads.
    async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &dyn Fn(rusqlite::Error) -> Error) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        // One short store operation, awaited at once: no stream to feed.
        #[allow(clippy::disallowed_methods)]
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| Error::Internal("the job store's lock was poisoned".into()))?;
            let err = db_err(&path);
            f(&mut guard, &err)
        })
        .await
        .map_err(|e| Error::Internal(format!("job store task: {e}")))?
    }
}

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn job_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Job, String, String, Option<String>)> {
    let params: String = r.get(2)?;
    let state: String = r.get(3)?;
    let checkpoint: Option<String> = r.get(13)?;
    let error_kind: Option<String> = r.get(14)?;
    let error: Option<String> = r.get(15)?;
    let job = Job {
        id: JobId(r.get(0)?),
        kind: r.get(1)?,
        params: serde_json::Value::Null,
        state: State::Queued,
        attempts: r.get::<_, i64>(4)? as u32,
        max_attempts: r.get::<_, i64>(5)? as u32,
        token: r.get(6)?,
        worker: r.get(7)?,
        lease_until: r.get(8)?,
        run_after: r.get(9)?,
        cancel_requested: r.get::<_, i64>(10)? != 0,
        done: r.get::<_, i64>(11)? as u64,
        total: r.get::<_, Option<i64>>(12)?.map(|t| t as u64),
        checkpoint: None,
        error: match (error_kind, error) {
            (Some(kind), Some(message)) => Some(JobError { kind, message }),
            _ => None,
        },
        created: r.get(16)?,
        started: r.get(17)?,
        updated: r.get(18)?,
        finished: r.get(19)?,
        progress_at: r.get(20)?,
    };
    Ok((job, params, state, checkpoint))
}

/// Parses the JSON columns of a row read by [`job_of`].
pub(crate) fn finish_job(
    (mut job, params, state, checkpoint): (Job, String, String, Option<String>),
) -> Result<Job> {
    let bad = |what: &str, e: serde_json::Error| {
        Error::data(format!("job {}: its stored {what} is not JSON: {e}", job.id))
    };
    job.params = serde_json::from_str(&params).map_err(|e| bad("parameters", e))?;
    job.state = State::parse(&state)?;
    job.checkpoint = checkpoint
        .map(|c| serde_json::from_str(&c))
        .transpose()
        .map_err(|e| bad("checkpoint", e))?;
    Ok(job)
}

fn get_job(conn: &Connection, id: JobId, err: &dyn Fn(rusqlite::Error) -> Error) -> Result<Job> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM qore_jobs WHERE id = ?1"),
            [id.0],
            job_of,
        )
        .optional()
        .map_err(err)?;
    match row {
        Some(r) => finish_job(r),
        None => Err(Error::NotFound(format!("job {id}"))),
    }
}

/// The state change [`Store::complete`] makes for `outcome`:
/// (state, run_after, error, finished, attempts given back).
/// Records one end under `lease` (the lease-lost refusal when another start
/// holds the job now).
fn complete_one(
    c: &Connection,
    lease: &Lease,
    outcome: &Outcome,
    err: &dyn Fn(rusqlite::Error) -> Error,
) -> Result<()> {
    let now = now_ms();
    let (state, run_after, error, finished, give_back) = outcome_row(outcome, now);
    let n = c
        .prepare_cached(
            "UPDATE qore_jobs SET state = ?1, run_after = COALESCE(?2, run_after),
               error_kind = COALESCE(?3, error_kind), error = COALESCE(?4, error),
               finished = ?5, updated = ?6, lease_until = NULL,
               attempts = attempts - ?7, cancel = CASE WHEN ?1 = 'queued' THEN 0 ELSE cancel END
             WHERE id = ?8 AND token = ?9 AND state = 'running'",
        )
        .and_then(|mut st| {
            st.execute(params![
                state.name(),
                run_after,
                error.map(|e| e.kind.clone()),
                error.map(|e| e.message.clone()),
                finished,
                now,
                give_back,
                lease.job.0,
                lease.token
            ])
        })
        .map_err(err)?;
    if n == 0 {
        return Err(lease_lost(lease));
    }
    Ok(())
}

pub(crate) fn outcome_row(
    outcome: &Outcome,
    now: i64,
) -> (State, Option<i64>, Option<&JobError>, Option<i64>, i64) {
    match outcome {
        Outcome::Succeeded => (State::Succeeded, None, None, Some(now), 0),
        Outcome::Failed(e) => (State::Failed, None, Some(e), Some(now), 0),
        Outcome::Retry { error, at } => (State::Queued, Some(*at), Some(error), None, 0),
        Outcome::Cancelled => (State::Cancelled, None, None, Some(now), 0),
        Outcome::Released => (State::Queued, Some(now), None, None, 1),
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn submit(&self, job: NewJob) -> Result<JobId> {
        let params = serde_json::to_string(&job.params)
            .map_err(|e| Error::invalid(format!("job parameters: {e}")))?;
        self.with(move |c, err| {
            let now = now_ms();
            c.execute(
                "INSERT INTO qore_jobs(kind, params, state, max_attempts, run_after, created, updated)
                 VALUES (?1, ?2, 'queued', ?3, ?4, ?4, ?4)",
                params![job.kind, params, job.max_attempts.max(1), now],
            )
            .map_err(err)?;
            Ok(JobId(c.last_insert_rowid()))
        })
        .await
    }

    async fn get(&self, id: JobId) -> Result<Job> {
        self.with(move |c, err| get_job(c, id, err)).await
    }

    async fn list(&self, filter: &Filter) -> Result<Vec<Job>> {
        let filter = filter.clone();
        self.with(move |c, err| {
            let mut sql = format!("SELECT {COLUMNS} FROM qore_jobs WHERE 1 = 1");
            let mut args: Vec<String> = Vec::new();
            if !filter.states.is_empty() {
                let marks: Vec<String> = filter
                    .states
                    .iter()
                    .map(|s| {
                        args.push(s.name().to_string());
                        format!("?{}", args.len())
                    })
                    .collect();
                sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
            }
            if let Some(k) = &filter.kind {
                args.push(k.clone());
                sql.push_str(&format!(" AND kind = ?{}", args.len()));
            }
            sql.push_str(" ORDER BY id DESC");
            if let Some(n) = filter.limit {
                sql.push_str(&format!(" LIMIT {n}"));
            }
            let mut stmt = c.prepare(&sql).map_err(err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), job_of)
                .map_err(err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(err)?;
            rows.into_iter().map(finish_job).collect()
        })
        .await
    }

    async fn claim_many(
        &self,
        worker: &str,
        filter: &ClaimFilter,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<(Job, Lease)>> {
        let (worker, filter) = (worker.to_string(), filter.clone());
        let max = i64::try_from(max.max(1)).unwrap_or(i64::MAX);
        self.with(move |c, err| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let now = now_ms();
            // Out of attempts and abandoned: failed, not started again.
            tx.execute(
                "UPDATE qore_jobs SET state = 'failed', finished = ?1, updated = ?1,
                   error_kind = 'connection_lost',
                   error = 'its worker stopped answering (the lease expired) and no attempts are left'
                 WHERE state = 'running' AND lease_until < ?1 AND attempts >= max_attempts",
                [now],
            )
            .map_err(err)?;
            let mut args: Vec<rusqlite::types::Value> = vec![now.into(), max.into()];
            let mut extra = String::new();
            if let Some(only) = filter.only {
                args.push(only.0.into());
                extra.push_str(&format!(" AND id = ?{}", args.len()));
            }
            if !filter.kinds.is_empty() {
                let marks: Vec<String> = filter
                    .kinds
                    .iter()
                    .map(|k| {
                        args.push(k.clone().into());
                        format!("?{}", args.len())
                    })
                    .collect();
                extra.push_str(&format!(" AND kind IN ({})", marks.join(", ")));
            }
            // Two index walks, each stopping after `max` rows, instead of one
            // OR over both states that reads and sorts the whole queue on
            // every claim (quadratic in the queue's length).
            let sql = format!(
                "SELECT id FROM (
                   SELECT * FROM (SELECT id, run_after FROM qore_jobs
                     WHERE state = 'queued' AND run_after <= ?1{extra} ORDER BY run_after, id LIMIT ?2)
                   UNION ALL
                   SELECT * FROM (SELECT id, run_after FROM qore_jobs
                     WHERE state = 'running' AND lease_until < ?1{extra} ORDER BY lease_until LIMIT ?2))
                 ORDER BY run_after, id LIMIT ?2"
            );
            let ids: Vec<i64> = tx
                .prepare_cached(&sql)
                .and_then(|mut st| st.query_map(rusqlite::params_from_iter(args), |r| r.get(0))?.collect())
                .map_err(err)?;
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                tx.prepare_cached(
                    "UPDATE qore_jobs SET state = 'running', token = token + 1, attempts = attempts + 1,
                       worker = ?2, lease_until = ?3, started = COALESCE(started, ?1), updated = ?1
                     WHERE id = ?4",
                )
                .and_then(|mut st| st.execute(params![now, worker, now + ms(lease), id]))
                .map_err(err)?;
                let job = get_job(&tx, JobId(id), err)?;
                let lease = Lease {
                    job: job.id,
                    token: job.token,
                    worker: worker.clone(),
                };
                claimed.push((job, lease));
            }
            tx.commit().map_err(err)?;
            Ok(claimed)
        })
        .await
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<Signal> {
        self.checkpoint_inner(lease, None, extend).await
    }

    async fn checkpoint(
        &self,
        lease: &Lease,
        checkpoint: Option<&serde_json::Value>,
        done: u64,
        total: Option<u64>,
        extend: Duration,
    ) -> Result<Signal> {
        let cp = checkpoint
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::invalid(format!("checkpoint: {e}")))?;
        self.checkpoint_inner(lease, Some((cp, done, total)), extend)
            .await
    }

    async fn log(&self, lease: &Lease, line: &str) -> Result<()> {
        let (lease, line) = (lease.clone(), line.to_string());
        self.with(move |c, err| {
            let held: Option<i64> = c
                .query_row(
                    "SELECT 1 FROM qore_jobs WHERE id = ?1 AND token = ?2 AND state = 'running'",
                    params![lease.job.0, lease.token],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            if held.is_none() {
                return Err(lease_lost(&lease));
            }
            c.execute(
                "INSERT INTO qore_job_logs(job, at, token, line) VALUES (?1, ?2, ?3, ?4)",
                params![lease.job.0, now_ms(), lease.token, line],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn complete(&self, lease: &Lease, outcome: &Outcome) -> Result<()> {
        let (lease, outcome) = (lease.clone(), outcome.clone());
        self.with(move |c, err| complete_one(c, &lease, &outcome, err)).await
    }

    async fn complete_many(&self, ends: &[(Lease, Outcome)]) -> Result<Vec<Result<()>>> {
        let ends = ends.to_vec();
        self.with(move |c, err| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let mut out = Vec::with_capacity(ends.len());
            for (lease, outcome) in &ends {
                match complete_one(&tx, lease, outcome, err) {
                    Err(e) if !crate::is_lease_lost(&e) => return Err(e),
                    r => out.push(r),
                }
            }
            tx.commit().map_err(err)?;
            Ok(out)
        })
        .await
    }

    async fn cancel(&self, id: JobId) -> Result<State> {
        self.with(move |c, err| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let job = get_job(&tx, id, err)?;
            let now = now_ms();
            let state = match job.state {
                s if s.is_final() => {
                    return Err(Error::invalid(format!(
                        "job {id} already {s}: there is nothing to cancel"
                    )));
                }
                State::Queued => {
                    tx.execute(
                        "UPDATE qore_jobs SET state = 'cancelled', cancel = 1, finished = ?1, updated = ?1 WHERE id = ?2",
                        params![now, id.0],
                    )
                    .map_err(err)?;
                    State::Cancelled
                }
                _ => {
                    tx.execute(
                        "UPDATE qore_jobs SET cancel = 1, updated = ?1 WHERE id = ?2",
                        params![now, id.0],
                    )
                    .map_err(err)?;
                    State::Running
                }
            };
            tx.commit().map_err(err)?;
            Ok(state)
        })
        .await
    }

    async fn retry(&self, id: JobId) -> Result<()> {
        self.with(move |c, err| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let job = get_job(&tx, id, err)?;
            if !matches!(job.state, State::Failed | State::Cancelled) {
                return Err(Error::invalid(format!(
                    "job {id} is {}: only a failed or cancelled job can be retried",
                    job.state
                )));
            }
            let now = now_ms();
            tx.execute(
                "UPDATE qore_jobs SET state = 'queued', cancel = 0, run_after = ?1, updated = ?1,
                   finished = NULL, max_attempts = attempts + ?2 WHERE id = ?3",
                params![now, job.max_attempts.max(1), id.0],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn remove(&self, id: JobId) -> Result<Job> {
        self.with(move |c, err| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let job = get_job(&tx, id, err)?;
            if job.state == State::Running {
                return Err(Error::invalid(format!(
                    "job {id} is running: cancel it first (qore job cancel {id})"
                )));
            }
            tx.execute("DELETE FROM qore_job_logs WHERE job = ?1", [id.0])
                .map_err(err)?;
            tx.execute("DELETE FROM qore_jobs WHERE id = ?1", [id.0])
                .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(job)
        })
        .await
    }

    async fn logs(&self, id: JobId) -> Result<Vec<LogLine>> {
        self.with(move |c, err| {
            get_job(c, id, err)?;
            let mut stmt = c
                .prepare("SELECT at, token, line FROM qore_job_logs WHERE job = ?1 ORDER BY rowid")
                .map_err(err)?;
            let lines = stmt
                .query_map([id.0], |r| {
                    Ok(LogLine {
                        at: r.get(0)?,
                        token: r.get(1)?,
                        line: r.get(2)?,
                    })
                })
                .map_err(err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(err)?;
            Ok(lines)
        })
        .await
    }
}

impl SqliteStore {
    async fn checkpoint_inner(
        &self,
        lease: &Lease,
        progress: Option<(Option<String>, u64, Option<u64>)>,
        extend: Duration,
    ) -> Result<Signal> {
        let lease = lease.clone();
        self.with(move |c, err| {
            let now = now_ms();
            let until = now + ms(extend);
            let n = match &progress {
                None => c.execute(
                    "UPDATE qore_jobs SET lease_until = ?1 WHERE id = ?2 AND token = ?3 AND state = 'running'",
                    params![until, lease.job.0, lease.token],
                ),
                Some((cp, done, total)) => c.execute(
                    "UPDATE qore_jobs SET lease_until = ?1, checkpoint = COALESCE(?2, checkpoint),
                       done = ?3, total = ?4, progress_at = ?5, updated = ?5
                     WHERE id = ?6 AND token = ?7 AND state = 'running'",
                    params![
                        until,
                        cp,
                        *done as i64,
                        total.map(|t| t as i64),
                        now,
                        lease.job.0,
                        lease.token
                    ],
                ),
            }
            .map_err(err)?;
            if n == 0 {
                return Err(lease_lost(&lease));
            }
            let cancel: i64 = c
                .query_row("SELECT cancel FROM qore_jobs WHERE id = ?1", [lease.job.0], |r| r.get(0))
                .map_err(err)?;
            Ok(Signal { cancel: cancel != 0 })
        })
        .await
    }
}
