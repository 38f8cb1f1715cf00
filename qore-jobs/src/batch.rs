//! Big updates and deletes in batches: `UPDATE t SET ... WHERE ...` over a
//! whole table, split into key ranges of `batch_rows` rows, each its own
//! transaction, so locks stay short and a failure loses one batch, not
//! hours of work.
//!
//! Each batch's transaction also writes the job's progress (the last key
//! done, rows and batches so far) into a small table of the target
//! database, `qore_job_progress`, keyed by the job's own random key. A
//! resumed job reads its place from there, so a batch runs exactly once
//! even when a crash falls between its commit and the job store's
//! checkpoint, and a `SET n = n + 1` is never applied twice. The row stays
//! after the job as its record.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use qore_core::{ConnectionRef, Error, Result, TableRef, Value};
use serde::{Deserialize, Serialize};

use crate::export::Connector;
use crate::keyset::{KeysetPlan, keyset_plan};
use crate::worker::{Handler, JobContext};

/// The kind name of batch jobs.
pub const KIND: &str = "batch";

/// The table in the target database where batch jobs keep their place.
pub const PROGRESS_TABLE: &str = "qore_job_progress";

/// What a batch job does to each row it selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `UPDATE ... SET <assignments>`.
    Update {
        /// The assignments, as SQL (`price = price * 1.1, note = 'x'`).
        set: String,
    },
    /// `DELETE`.
    Delete,
}

/// The parameters of a batch job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchJob {
    /// A profile name or a URL without a password.
    pub db: String,
    /// The table (`name` or `schema.name`).
    pub table: String,
    /// What to do.
    pub action: Action,
    /// Which rows, as an SQL condition (all when `None`).
    #[serde(default)]
    pub filter: Option<String>,
    /// Rows per batch (and transaction).
    pub batch_rows: u64,
    /// The job's key in [`PROGRESS_TABLE`]: random, made at submit time.
    pub key: String,
}

impl BatchJob {
    /// A job with a fresh random key.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    pub fn new(db: String, table: String, action: Action, filter: Option<String>, batch_rows: u64) -> Result<BatchJob> {
        let job = BatchJob { db, table, action, filter, batch_rows, key: random_key()? };
        job.validate()?;
        Ok(job)
    }

    /// Checks what can be checked without connecting.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a URL with a password, an empty SET or
    /// condition, a batch size of 0, a key that is not 1 to 64 hex digits.
    pub fn validate(&self) -> Result<()> {
        crate::export::refuse_password(&self.db)?;
        if let Action::Update { set } = &self.action
            && set.trim().is_empty()
        {
            return Err(Error::invalid("an update needs its assignments (--set \"col = ...\")"));
        }
        if self.filter.as_deref().is_some_and(|f| f.trim().is_empty()) {
            return Err(Error::invalid("the condition (--where) is empty"));
        }
        if self.batch_rows == 0 {
            return Err(Error::invalid("batch_rows must be at least 1"));
        }
        if self.key.is_empty() || self.key.len() > 64 || !self.key.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid("a batch job's key is 1 to 64 hex digits"));
        }
        Ok(())
    }

    /// This job as a store's parameters.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    pub fn to_new_job(&self) -> Result<crate::NewJob> {
        self.validate()?;
        let params = serde_json::to_value(self).map_err(|e| Error::Internal(format!("batch parameters: {e}")))?;
        Ok(crate::NewJob::new(KIND, params))
    }
}

/// Where a batch job is, as [`PROGRESS_TABLE`] and the checkpoint hold it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Place {
    /// The last key done, as SQL literals; empty before the first batch.
    key: Vec<String>,
    rows: u64,
    batches: u64,
}

/// The handler for [`KIND`].
#[derive(Clone)]
pub struct BatchHandler {
    connector: Arc<dyn Connector>,
}

impl std::fmt::Debug for BatchHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchHandler").finish_non_exhaustive()
    }
}

impl BatchHandler {
    /// Batch jobs whose connections `connector` opens.
    pub fn new(connector: Arc<dyn Connector>) -> BatchHandler {
        BatchHandler { connector }
    }
}

#[async_trait]
impl Handler for BatchHandler {
    fn kind(&self) -> &str {
        KIND
    }

    async fn run(&self, ctx: &mut JobContext) -> Result<()> {
        let spec: BatchJob = serde_json::from_value(ctx.job().params.clone())
            .map_err(|e| Error::invalid(format!("batch job parameters: {e}")))?;
        spec.validate()?;
        let conn = self.connector.open(&spec.db).await?;
        let r = run(ctx, &spec, &conn).await;
        let _ = conn.close().await;
        r
    }
}

async fn run(ctx: &mut JobContext, spec: &BatchJob, conn: &ConnectionRef) -> Result<()> {
    let table = TableRef::parse(&spec.table)?;
    let plan = keyset_plan(conn, &table).await?.ok_or_else(|| {
        Error::NotSupported(format!(
            "{} has no primary key (nor a row identity): it cannot be split into key ranges",
            spec.table
        ))
    })?;
    let dialect = plan.dialect.clone();
    let progress = progress_table(conn, dialect.as_ref()).await?;
    let job_lit = dialect.quote_string(&spec.key)?;
    // A filter makes the table's row count no measure of the work.
    let total = spec.filter.is_none().then_some(plan.total).flatten();
    let mut place = read_place(conn, &progress, &job_lit).await?;
    if place.batches > 0 {
        ctx.log(format!("resuming after {} batches ({} rows)", place.batches, place.rows)).await?;
        // The target database is ahead of the store when the last start
        // died between a batch's commit and its checkpoint: bring the
        // job's figures up to what was really done.
        save(ctx, &place, total).await?;
    }
    let filter = spec.filter.as_deref().map(|f| format!(" AND ({f})")).unwrap_or_default();
    loop {
        // The batch: the next `batch_rows` keys that match.
        let mut sql = format!(
            "SELECT {} FROM {} WHERE 1 = 1",
            plan.keys.join(", "),
            plan.table_sql
        );
        if !place.key.is_empty() {
            sql.push_str(&format!(" AND {}", plan.after(&place.key)));
        }
        sql.push_str(&format!("{filter} ORDER BY {} LIMIT {}", plan.keys.join(", "), spec.batch_rows));
        let (upto, seen) = last_key(conn, &sql, &plan).await?;
        let Some(upto) = upto else { break };
        let mut range = plan.upto(&upto);
        if !place.key.is_empty() {
            range = format!("{} AND {range}", plan.after(&place.key));
        }
        let dml = match &spec.action {
            Action::Update { set } => format!("UPDATE {} SET {set} WHERE {range}{filter}", plan.table_sql),
            Action::Delete => format!("DELETE FROM {} WHERE {range}{filter}", plan.table_sql),
        };
        let next = Place { key: upto, rows: 0, batches: place.batches + 1 };
        let key_json = serde_json::to_string(&next.key).map_err(|e| Error::Internal(e.to_string()))?;
        let tx = conn.begin().await?;
        let done = tx.execute(&dml, &[]).await.map_err(|e| {
            e.context(format!("batch {} (after {} rows)", place.batches + 1, place.rows))
        })?;
        let rows = place.rows + done.rows_affected;
        tx.execute(&format!("DELETE FROM {progress} WHERE job = {job_lit}"), &[]).await?;
        tx.execute(
            &format!(
                "INSERT INTO {progress} (job, last_key, rows_done, batches) VALUES ({job_lit}, {}, {rows}, {})",
                dialect.quote_string(&key_json)?,
                next.batches
            ),
            &[],
        )
        .await?;
        tx.commit().await?;
        place = Place { rows, ..next };
        save(ctx, &place, total).await?;
        if seen < spec.batch_rows {
            break;
        }
    }
    ctx.log(format!("done: {} rows in {} batches", place.rows, place.batches)).await?;
    Ok(())
}

/// A job's key in [`PROGRESS_TABLE`]: 24 random hex digits.
pub(crate) fn random_key() -> Result<String> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Creates [`PROGRESS_TABLE`] in the target database if it is missing;
/// returns its quoted name.
pub(crate) async fn progress_table(conn: &ConnectionRef, dialect: &dyn qore_core::Dialect) -> Result<String> {
    let progress = dialect.quote_identifier(PROGRESS_TABLE)?;
    conn.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {progress} (job varchar(64) PRIMARY KEY, last_key text NOT NULL, \
             rows_done bigint NOT NULL, batches bigint NOT NULL)"
        ),
        &[],
    )
    .await?;
    Ok(progress)
}

/// Records `place` as the job's checkpoint and progress.
async fn save(ctx: &mut JobContext, place: &Place, total: Option<u64>) -> Result<()> {
    let cp = serde_json::to_value(place).map_err(|e| Error::Internal(e.to_string()))?;
    ctx.checkpoint(&cp, place.rows, total).await
}

/// A job's row in [`PROGRESS_TABLE`]: what its last committed
/// transaction recorded there.
pub(crate) struct ProgressRow {
    /// The kind's own record (a batch job's last key, a sandbox apply's
    /// changes and keys) as text.
    pub(crate) last_key: String,
    pub(crate) rows: u64,
    pub(crate) batches: u64,
}

/// The row of the job keyed `job` (an SQL literal) in `progress`, if a
/// transaction of it committed.
pub(crate) async fn progress_row(conn: &ConnectionRef, progress: &str, job: &str) -> Result<Option<ProgressRow>> {
    let mut s = conn
        .query(&format!("SELECT last_key, rows_done, batches FROM {progress} WHERE job = {job}"), &[])
        .await?;
    let mut found = None;
    while let Some(b) = s.next().await {
        let b = b?;
        if b.num_rows() == 0 {
            continue;
        }
        let cell = |i: usize| -> Result<Value> { Value::from_array(b.column(i).as_ref(), 0) };
        let last_key = match cell(0)? {
            Value::Text(t) => t,
            other => other.to_string(),
        };
        found = Some(ProgressRow { last_key, rows: int(cell(1)?)?, batches: int(cell(2)?)? });
    }
    Ok(found)
}

async fn read_place(conn: &ConnectionRef, progress: &str, job: &str) -> Result<Place> {
    let Some(row) = progress_row(conn, progress, job).await? else {
        return Ok(Place::default());
    };
    let key = serde_json::from_str(&row.last_key)
        .map_err(|e| Error::data(format!("{PROGRESS_TABLE}: a damaged last_key: {e}")))?;
    Ok(Place { key, rows: row.rows, batches: row.batches })
}

pub(crate) fn int(v: Value) -> Result<u64> {
    match v {
        Value::Int(i) => u64::try_from(i).map_err(|_| Error::data(format!("{PROGRESS_TABLE}: a negative count"))),
        Value::UInt(u) => Ok(u),
        other => other
            .to_string()
            .parse()
            .map_err(|_| Error::data(format!("{PROGRESS_TABLE}: `{other}` is not a count"))),
    }
}

/// The last key `sql` returns (as literals) and how many rows it returned.
async fn last_key(conn: &ConnectionRef, sql: &str, plan: &KeysetPlan) -> Result<(Option<Vec<String>>, u64)> {
    let mut s = conn.query(sql, &[]).await?;
    let mut last = None;
    let mut n = 0u64;
    let idx: Vec<usize> = (0..plan.keys.len()).collect();
    while let Some(b) = s.next().await {
        let b = b?;
        if b.num_rows() == 0 {
            continue;
        }
        n += b.num_rows() as u64;
        last = Some(plan.last_key(&b, &idx)?);
    }
    Ok((last, n))
}
