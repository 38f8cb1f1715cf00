//! The shared store: a PostgreSQL database that workers on several machines
//! claim from with `FOR UPDATE SKIP LOCKED`. Times come from the server's
//! clock, so leases mean the same thing to every worker.

use std::time::Duration;

use async_trait::async_trait;
use qore_core::{Error, ErrorKind, Result};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Row};

use crate::model::{
    ClaimFilter, Filter, Job, JobError, JobId, Lease, LogLine, NewJob, Outcome, Signal, State,
    lease_lost,
};
use crate::sqlite::{COLUMNS, finish_job, ms, outcome_row};
use crate::store::Store;

/// The server's clock in ms since the epoch.
const NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

const FORMAT: &str = "qore-jobs 1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS qore_jobs_meta(key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS qore_jobs(
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  params text NOT NULL,
  state text NOT NULL,
  attempts bigint NOT NULL DEFAULT 0,
  max_attempts bigint NOT NULL,
  token bigint NOT NULL DEFAULT 0,
  worker text,
  lease_until bigint,
  run_after bigint NOT NULL,
  cancel bigint NOT NULL DEFAULT 0,
  done bigint NOT NULL DEFAULT 0,
  total bigint,
  checkpoint text,
  error_kind text,
  error text,
  created bigint NOT NULL,
  started bigint,
  updated bigint NOT NULL,
  finished bigint,
  progress_at bigint
);
DROP INDEX IF EXISTS qore_jobs_due;
CREATE INDEX IF NOT EXISTS qore_jobs_queued ON qore_jobs(run_after, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS qore_jobs_running ON qore_jobs(lease_until) WHERE state = 'running';
CREATE TABLE IF NOT EXISTS qore_job_logs(
  seq bigserial PRIMARY KEY,
  job bigint NOT NULL,
  at bigint NOT NULL,
  token bigint NOT NULL,
  line text NOT NULL
);
CREATE INDEX IF NOT EXISTS qore_job_logs_job ON qore_job_logs(job);
";

/// A job store in a PostgreSQL database (tables `qore_jobs`,
/// `qore_job_logs`, `qore_jobs_meta` in the connection's schema).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    shown: String,
    /// When this handle last failed abandoned jobs that are out of
    /// attempts (ms since the epoch): at most every 200 ms, not per claim.
    rescued: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

fn pg_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string());
            let kind = code
                .as_deref()
                .map(ErrorKind::from_sqlstate)
                .unwrap_or(ErrorKind::Other);
            Error::query_kind(kind, format!("job store: {}", d.message()), code)
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            Error::query_kind(ErrorKind::Connection, format!("job store: {e}"), None)
        }
        _ => Error::query(format!("job store: {e}"), None),
    }
}

fn row_of(r: &PgRow) -> std::result::Result<(Job, String, String, Option<String>), sqlx::Error> {
    let error_kind: Option<String> = r.try_get(14)?;
    let error: Option<String> = r.try_get(15)?;
    let job = Job {
        id: JobId(r.try_get(0)?),
        kind: r.try_get(1)?,
        params: serde_json::Value::Null,
        state: State::Queued,
        attempts: r.try_get::<i64, _>(4)? as u32,
        max_attempts: r.try_get::<i64, _>(5)? as u32,
        token: r.try_get(6)?,
        worker: r.try_get(7)?,
        lease_until: r.try_get(8)?,
        run_after: r.try_get(9)?,
        cancel_requested: r.try_get::<i64, _>(10)? != 0,
        done: r.try_get::<i64, _>(11)? as u64,
        total: r.try_get::<Option<i64>, _>(12)?.map(|t| t as u64),
        checkpoint: None,
        error: match (error_kind, error) {
            (Some(kind), Some(message)) => Some(JobError { kind, message }),
            _ => None,
        },
        created: r.try_get(16)?,
        started: r.try_get(17)?,
        updated: r.try_get(18)?,
        finished: r.try_get(19)?,
        progress_at: r.try_get(20)?,
    };
    Ok((job, r.try_get(2)?, r.try_get(3)?, r.try_get(13)?))
}

fn job_of(r: &PgRow) -> Result<Job> {
    finish_job(row_of(r).map_err(pg_err)?)
}

/// [`PgStore::complete_many`]'s batch, one array per column.
#[derive(Default)]
struct CompleteColumns {
    id: Vec<i64>,
    token: Vec<i64>,
    state: Vec<String>,
    run_after: Vec<Option<i64>>,
    error_kind: Vec<Option<String>>,
    error: Vec<Option<String>>,
    finished: Vec<bool>,
    give_back: Vec<i64>,
}

impl PgStore {
    /// Connects to `url` and creates the tables if they are missing.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when the database holds a `qore_jobs_meta`
    /// of another format; connection errors as they come.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let shown = qore_core::ConnectionSpec::parse(url)
            .map(|s| s.to_string())
            .unwrap_or_else(|_| "postgres://...".into());
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| Error::connect(format!("cannot open the job store {shown}"), e))?;
        let mut tx = pool.begin().await.map_err(pg_err)?;
        // Several workers may start at once: one creates the tables.
        sqlx::query("SELECT pg_advisory_xact_lock(7193572208)")
            .execute(&mut *tx)
            .await
            .map_err(pg_err)?;
        // "already exists, skipping" notices on every open are noise.
        sqlx::query("SET LOCAL client_min_messages = warning")
            .execute(&mut *tx)
            .await
            .map_err(pg_err)?;
        sqlx::raw_sql(SCHEMA).execute(&mut *tx).await.map_err(pg_err)?;
        sqlx::query("INSERT INTO qore_jobs_meta(key, value) VALUES ('format', $1) ON CONFLICT DO NOTHING")
            .bind(FORMAT)
            .execute(&mut *tx)
            .await
            .map_err(pg_err)?;
        let format: String = sqlx::query_scalar("SELECT value FROM qore_jobs_meta WHERE key = 'format'")
            .fetch_one(&mut *tx)
            .await
            .map_err(pg_err)?;
        if format != FORMAT {
            return Err(Error::invalid(format!(
                "{shown} holds a job store of format {format}; this qore reads {FORMAT}"
            )));
        }
        tx.commit().await.map_err(pg_err)?;
        Ok(PgStore {
            pool,
            shown,
            rescued: Default::default(),
        })
    }

    async fn fetch_job(&self, id: JobId) -> Result<Job> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM qore_jobs WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(pg_err)?;
        match row {
            Some(r) => job_of(&r),
            None => Err(Error::NotFound(format!("job {id}"))),
        }
    }

    async fn signal(&self, lease: &Lease, n: u64) -> Result<Signal> {
        if n == 0 {
            return Err(lease_lost(lease));
        }
        let cancel: i64 = sqlx::query_scalar("SELECT cancel FROM qore_jobs WHERE id = $1")
            .bind(lease.job.0)
            .fetch_one(&self.pool)
            .await
            .map_err(pg_err)?;
        Ok(Signal { cancel: cancel != 0 })
    }
}

#[async_trait]
impl Store for PgStore {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    async fn submit(&self, job: NewJob) -> Result<JobId> {
        let params = serde_json::to_string(&job.params)
            .map_err(|e| Error::invalid(format!("job parameters: {e}")))?;
        let id: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "INSERT INTO qore_jobs(kind, params, state, max_attempts, run_after, created, updated)
             VALUES ($1, $2, 'queued', $3, {NOW}, {NOW}, {NOW}) RETURNING id"
        )))
        .bind(&job.kind)
        .bind(params)
        .bind(i64::from(job.max_attempts.max(1)))
        .fetch_one(&self.pool)
        .await
        .map_err(pg_err)?;
        Ok(JobId(id))
    }

    async fn get(&self, id: JobId) -> Result<Job> {
        self.fetch_job(id).await
    }

    async fn list(&self, filter: &Filter) -> Result<Vec<Job>> {
        let states: Vec<String> = filter.states.iter().map(|s| s.name().to_string()).collect();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM qore_jobs
             WHERE (cardinality($1::text[]) = 0 OR state = ANY($1))
               AND ($2::text IS NULL OR kind = $2)
             ORDER BY id DESC LIMIT $3"
        )))
        .bind(states)
        .bind(filter.kind.clone())
        .bind(filter.limit.map(i64::from))
        .fetch_all(&self.pool)
        .await
        .map_err(pg_err)?;
        rows.iter().map(job_of).collect()
    }

    async fn claim_many(
        &self,
        worker: &str,
        filter: &ClaimFilter,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<(Job, Lease)>> {
        use std::sync::atomic::Ordering;
        let now = crate::model::now_ms();
        if now - self.rescued.load(Ordering::Relaxed) >= 200 {
            self.rescued.store(now, Ordering::Relaxed);
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE qore_jobs SET state = 'failed', finished = {NOW}, updated = {NOW},
                   error_kind = 'connection_lost',
                   error = 'its worker stopped answering (the lease expired) and no attempts are left'
                 WHERE state = 'running' AND lease_until < {NOW} AND attempts >= max_attempts"
            )))
            .execute(&self.pool)
            .await
            .map_err(pg_err)?;
        }
        // Each walk follows its partial index and stops after `max` rows;
        // SKIP LOCKED lets concurrent workers take different jobs. Jobs out
        // of attempts are left to the rescue above.
        let filters = "AND ($1::bigint IS NULL OR id = $1)
                 AND (cardinality($2::text[]) = 0 OR kind = ANY($2))";
        let rows = sqlx::query(AssertSqlSafe(format!(
            "WITH queued AS (
               SELECT id, run_after FROM qore_jobs
               WHERE state = 'queued' AND run_after <= {NOW} {filters}
               ORDER BY run_after, id LIMIT $5
               FOR UPDATE SKIP LOCKED),
             expired AS (
               SELECT id, run_after FROM qore_jobs
               WHERE state = 'running' AND lease_until < {NOW} AND attempts < max_attempts {filters}
               ORDER BY lease_until LIMIT $5
               FOR UPDATE SKIP LOCKED),
             next AS (
               SELECT id FROM (SELECT * FROM queued UNION ALL SELECT * FROM expired) due
               ORDER BY run_after, id LIMIT $5)
             UPDATE qore_jobs j SET state = 'running', token = j.token + 1,
               attempts = j.attempts + 1, worker = $3, lease_until = {NOW} + $4,
               started = COALESCE(j.started, {NOW}), updated = {NOW}
             FROM next WHERE j.id = next.id
             RETURNING {}",
            COLUMNS
                .split(", ")
                .map(|c| format!("j.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
        .bind(filter.only.map(|j| j.0))
        .bind(filter.kinds.clone())
        .bind(worker)
        .bind(ms(lease))
        .bind(i64::try_from(max.max(1)).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(pg_err)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let job = job_of(row)?;
            let lease = Lease {
                job: job.id,
                token: job.token,
                worker: worker.to_string(),
            };
            claimed.push((job, lease));
        }
        // RETURNING comes in no particular order: oldest due first.
        claimed.sort_by_key(|(j, _)| (j.run_after, j.id.0));
        Ok(claimed)
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<Signal> {
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE qore_jobs SET lease_until = {NOW} + $1
             WHERE id = $2 AND token = $3 AND state = 'running'"
        )))
        .bind(ms(extend))
        .bind(lease.job.0)
        .bind(lease.token)
        .execute(&self.pool)
        .await
        .map_err(pg_err)?
        .rows_affected();
        self.signal(lease, n).await
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
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE qore_jobs SET lease_until = {NOW} + $1, checkpoint = COALESCE($2, checkpoint),
               done = $3, total = $4, progress_at = {NOW}, updated = {NOW}
             WHERE id = $5 AND token = $6 AND state = 'running'"
        )))
        .bind(ms(extend))
        .bind(cp)
        .bind(done as i64)
        .bind(total.map(|t| t as i64))
        .bind(lease.job.0)
        .bind(lease.token)
        .execute(&self.pool)
        .await
        .map_err(pg_err)?
        .rows_affected();
        self.signal(lease, n).await
    }

    async fn log(&self, lease: &Lease, line: &str) -> Result<()> {
        let n = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO qore_job_logs(job, at, token, line)
             SELECT id, {NOW}, token, $3 FROM qore_jobs
             WHERE id = $1 AND token = $2 AND state = 'running'"
        )))
        .bind(lease.job.0)
        .bind(lease.token)
        .bind(line)
        .execute(&self.pool)
        .await
        .map_err(pg_err)?
        .rows_affected();
        if n == 0 {
            return Err(lease_lost(lease));
        }
        Ok(())
    }

    async fn complete(&self, lease: &Lease, outcome: &Outcome) -> Result<()> {
        let (state, run_after, error, finished, give_back) = outcome_row(outcome, 0);
        // `finished` and a release's `run_after` are "now" on the server.
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE qore_jobs SET state = $1,
               run_after = CASE WHEN $6 = 1 THEN {NOW} ELSE COALESCE($2, run_after) END,
               error_kind = COALESCE($3, error_kind), error = COALESCE($4, error),
               finished = CASE WHEN $5 THEN {NOW} ELSE NULL END, updated = {NOW},
               lease_until = NULL, attempts = attempts - $6,
               cancel = CASE WHEN $1 = 'queued' THEN 0 ELSE cancel END
             WHERE id = $7 AND token = $8 AND state = 'running'"
        )))
        .bind(state.name())
        .bind(if give_back == 1 { None } else { run_after })
        .bind(error.map(|e| e.kind.clone()))
        .bind(error.map(|e| e.message.clone()))
        .bind(finished.is_some())
        .bind(give_back)
        .bind(lease.job.0)
        .bind(lease.token)
        .execute(&self.pool)
        .await
        .map_err(pg_err)?
        .rows_affected();
        if n == 0 {
            return Err(lease_lost(lease));
        }
        Ok(())
    }

    async fn complete_many(&self, ends: &[(Lease, Outcome)]) -> Result<Vec<Result<()>>> {
        let mut cols = CompleteColumns::default();
        for (lease, outcome) in ends {
            let (state, run_after, error, finished, give_back) = outcome_row(outcome, 0);
            cols.id.push(lease.job.0);
            cols.token.push(lease.token);
            cols.state.push(state.name().to_string());
            cols.run_after.push(if give_back == 1 { None } else { run_after });
            cols.error_kind.push(error.map(|e| e.kind.clone()));
            cols.error.push(error.map(|e| e.message.clone()));
            cols.finished.push(finished.is_some());
            cols.give_back.push(give_back);
        }
        // One statement for the whole batch: the rows it changed are the
        // leases still held; the others were taken over meanwhile.
        let held: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE qore_jobs j SET state = u.state,
               run_after = CASE WHEN u.give_back = 1 THEN {NOW} ELSE COALESCE(u.run_after, j.run_after) END,
               error_kind = COALESCE(u.error_kind, j.error_kind), error = COALESCE(u.error, j.error),
               finished = CASE WHEN u.finished THEN {NOW} ELSE NULL END, updated = {NOW},
               lease_until = NULL, attempts = j.attempts - u.give_back,
               cancel = CASE WHEN u.state = 'queued' THEN 0 ELSE j.cancel END
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                         $7::bool[], $8::bigint[])
               AS u(id, token, state, run_after, error_kind, error, finished, give_back)
             WHERE j.id = u.id AND j.token = u.token AND j.state = 'running'
             RETURNING j.id, j.token"
        )))
        .bind(cols.id)
        .bind(cols.token)
        .bind(cols.state)
        .bind(cols.run_after)
        .bind(cols.error_kind)
        .bind(cols.error)
        .bind(cols.finished)
        .bind(cols.give_back)
        .fetch_all(&self.pool)
        .await
        .map_err(pg_err)?;
        let held: std::collections::HashSet<(i64, i64)> = held.into_iter().collect();
        Ok(ends
            .iter()
            .map(|(lease, _)| {
                if held.contains(&(lease.job.0, lease.token)) {
                    Ok(())
                } else {
                    Err(lease_lost(lease))
                }
            })
            .collect())
    }

    async fn cancel(&self, id: JobId) -> Result<State> {
        let job = self.fetch_job(id).await?;
        if job.state.is_final() {
            return Err(Error::invalid(format!(
                "job {id} already {}: there is nothing to cancel",
                job.state
            )));
        }
        let state: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "UPDATE qore_jobs SET cancel = 1, updated = {NOW},
               state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
               finished = CASE WHEN state = 'queued' THEN {NOW} ELSE finished END
             WHERE id = $1 AND state IN ('queued', 'running') RETURNING state"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(pg_err)?;
        match state {
            Some(s) => State::parse(&s),
            None => {
                let now = self.fetch_job(id).await?;
                Err(Error::invalid(format!(
                    "job {id} already {}: there is nothing to cancel",
                    now.state
                )))
            }
        }
    }

    async fn retry(&self, id: JobId) -> Result<()> {
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE qore_jobs SET state = 'queued', cancel = 0, run_after = {NOW}, updated = {NOW},
               finished = NULL, max_attempts = attempts + max_attempts
             WHERE id = $1 AND state IN ('failed', 'cancelled')"
        )))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(pg_err)?
        .rows_affected();
        if n == 0 {
            let job = self.fetch_job(id).await?;
            return Err(Error::invalid(format!(
                "job {id} is {}: only a failed or cancelled job can be retried",
                job.state
            )));
        }
        Ok(())
    }

    async fn remove(&self, id: JobId) -> Result<Job> {
        let mut tx = self.pool.begin().await.map_err(pg_err)?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM qore_jobs WHERE id = $1 FOR UPDATE")))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(pg_err)?;
        let job = match row {
            Some(r) => job_of(&r)?,
            None => return Err(Error::NotFound(format!("job {id}"))),
        };
        if job.state == State::Running {
            return Err(Error::invalid(format!(
                "job {id} is running: cancel it first (qore job cancel {id})"
            )));
        }
        for sql in ["DELETE FROM qore_job_logs WHERE job = $1", "DELETE FROM qore_jobs WHERE id = $1"] {
            sqlx::query(sql)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(pg_err)?;
        }
        tx.commit().await.map_err(pg_err)?;
        Ok(job)
    }

    async fn logs(&self, id: JobId) -> Result<Vec<LogLine>> {
        self.fetch_job(id).await?;
        let rows = sqlx::query("SELECT at, token, line FROM qore_job_logs WHERE job = $1 ORDER BY seq")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok(LogLine {
                    at: r.try_get(0).map_err(pg_err)?,
                    token: r.try_get(1).map_err(pg_err)?,
                    line: r.try_get(2).map_err(pg_err)?,
                })
            })
            .collect()
    }
}
