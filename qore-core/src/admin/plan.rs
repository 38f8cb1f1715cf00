//! Plans (the exact statements an admin action runs) and running them
//! through the caller's session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;

use super::{fetch_rows, int, text};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::stream::SendableRecordBatchStream;

/// How a plan keeps the database whole when one of its statements fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atomicity {
    /// Each statement stands alone (maintenance; a single `CREATE OR
    /// REPLACE`).
    None,
    /// All statements in one transaction (engines with transactional DDL).
    Transaction,
    /// No transaction: when a statement at or after index `from` fails,
    /// run `statements` to put back what was there.
    Restore {
        /// The first statement that changes the old object.
        from: usize,
        /// What puts it back.
        statements: Vec<String>,
    },
}

/// The exact statements an admin action runs, in order: what `--dry-run`
/// prints and what [`run`] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The statements.
    pub statements: Vec<String>,
    /// How a failure part way is undone.
    pub atomicity: Atomicity,
    /// Where the engine reports the progress of these statements: a query
    /// for another session that returns `phase`, `done`, `total` (one row
    /// while they run, none otherwise). See [`run_watched`].
    pub progress: Option<String>,
}

impl Plan {
    /// One statement on its own.
    pub fn single(sql: impl Into<String>) -> Plan {
        Plan { statements: vec![sql.into()], atomicity: Atomicity::None, progress: None }
    }

    /// Several statements that run one after another.
    pub fn sequence(statements: Vec<String>) -> Plan {
        Plan { statements, atomicity: Atomicity::None, progress: None }
    }

    /// Statements that run in one transaction.
    pub fn transaction(statements: Vec<String>) -> Plan {
        Plan { statements, atomicity: Atomicity::Transaction, progress: None }
    }

    /// The same plan, with the query that reports its progress.
    pub fn with_progress(mut self, query: impl Into<String>) -> Plan {
        self.progress = Some(query.into());
        self
    }
}

/// How far a running operation is, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// The engine's name for what it is doing now (`scanning heap`,
    /// `waiting for writers before build`).
    pub phase: Option<String>,
    /// Units done (blocks, tuples: the engine's unit).
    pub done: Option<u64>,
    /// Units in all, when known.
    pub total: Option<u64>,
}

/// [`run`], and while it runs, the plan's progress query on `watcher` (a
/// second session of the same database) every `every`, each report passed
/// to `on_progress`. Without a progress query it is [`run`].
///
/// # Error handling
///
/// The plan's errors, as [`run`]. A failed progress read is skipped: it
/// does not stop the operation, and the next one is tried.
///
/// # Cancellation
///
/// Dropping the future stops the running statement (the driver cancels it
/// on the server) and the polling.
pub async fn run_watched(
    conn: &dyn Connection,
    watcher: &dyn Connection,
    plan: &Plan,
    every: Duration,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Ran> {
    let Some(query) = &plan.progress else {
        return run(conn, plan).await;
    };
    let work = run(conn, plan);
    let poll = async {
        loop {
            tokio::time::sleep(every).await;
            if let Ok(rows) = fetch_rows(watcher, query, &[]).await
                && let Some(r) = rows.first()
            {
                let number = |i: usize| r.get(i).and_then(int).and_then(|n| u64::try_from(n).ok());
                on_progress(&Progress { phase: r.first().and_then(text), done: number(1), total: number(2) });
            }
        }
    };
    futures::pin_mut!(work, poll);
    match futures::future::select(work, poll).await {
        futures::future::Either::Left((ran, _)) => ran,
        // The polling loop does not end.
        futures::future::Either::Right(_) => Err(Error::Internal("the progress polling ended".into())),
    }
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The rows the statements returned (CHECK TABLE's report, an
    /// integrity check, a routine's results); the last statement that
    /// returned columns wins. When none did, one row per statement with its
    /// time.
    pub schema: SchemaRef,
    /// Those rows.
    pub batches: Vec<RecordBatch>,
    /// Every statement with how long it took.
    pub timings: Vec<(String, Duration)>,
}

/// Rows kept from one statement's result, at most: a maintenance report or a
/// routine's result set is small, and a routine that returns more should be
/// read with a query.
pub const MAX_RESULT_ROWS: usize = 100_000;

/// Runs `plan` on `conn` (the caller's session, with its interceptors):
/// statement by statement, in one transaction when the plan says so, and
/// with the plan's restore statements when a statement fails part way.
///
/// # Error handling
///
/// The failing statement's error, with the statement named. When a restore
/// ran, the error says so; when the restore failed too, both errors are in
/// the message and the old definition is in it, so nothing is lost.
///
/// # Cancellation
///
/// Dropping the future stops the running statement (the driver cancels it
/// on the server); a transaction rolls back.
pub async fn run(conn: &dyn Connection, plan: &Plan) -> Result<Ran> {
    let mut out = Collected::default();
    match &plan.atomicity {
        Atomicity::Transaction => {
            let tx = conn.begin().await?;
            for sql in &plan.statements {
                let started = Instant::now();
                let stream = tx.query(sql, &[]).await.map_err(|e| in_statement(e, sql))?;
                out.take(sql, stream, started).await?;
            }
            tx.commit().await?;
        }
        Atomicity::None => {
            for sql in &plan.statements {
                let started = Instant::now();
                let stream = conn.query(sql, &[]).await.map_err(|e| in_statement(e, sql))?;
                out.take(sql, stream, started).await?;
            }
        }
        Atomicity::Restore { from, statements } => {
            for (i, sql) in plan.statements.iter().enumerate() {
                let started = Instant::now();
                let step = async {
                    let stream = conn.query(sql, &[]).await?;
                    out.take(sql, stream, started).await
                };
                if let Err(e) = step.await {
                    let e = in_statement(e, sql);
                    if i < *from {
                        return Err(e);
                    }
                    for r in statements {
                        if let Err(re) = conn.execute(r, &[]).await {
                            return Err(Error::Internal(format!(
                                "{e}; putting the old definition back failed too ({re}); it was:\n{}",
                                statements.join(";\n")
                            )));
                        }
                    }
                    return Err(e.context("the old definition was put back"));
                }
            }
        }
    }
    out.finish()
}

fn in_statement(e: Error, sql: &str) -> Error {
    let short: String = sql.chars().take(120).collect();
    let ellipsis = if short.len() < sql.len() { "..." } else { "" };
    e.context(format!("in `{}{ellipsis}`", short.replace('\n', " ")))
}

#[derive(Default)]
struct Collected {
    result: Option<(SchemaRef, Vec<RecordBatch>)>,
    timings: Vec<(String, Duration)>,
}

impl Collected {
    async fn take(&mut self, sql: &str, mut stream: SendableRecordBatchStream, started: Instant) -> Result<()> {
        let schema = stream.schema();
        let mut batches = Vec::new();
        let mut rows = 0;
        while let Some(b) = stream.try_next().await? {
            rows += b.num_rows();
            if rows > MAX_RESULT_ROWS {
                return Err(Error::invalid(format!(
                    "`{sql}` returned more than {MAX_RESULT_ROWS} rows; read such results with a query"
                )));
            }
            batches.push(b);
        }
        self.timings.push((sql.to_string(), started.elapsed()));
        if !schema.fields().is_empty() {
            self.result = Some((schema, batches));
        }
        Ok(())
    }

    fn finish(self) -> Result<Ran> {
        let (schema, batches) = match self.result {
            Some(r) => r,
            None => {
                let schema = Arc::new(Schema::new(vec![
                    Field::new("statement", DataType::Utf8, false),
                    Field::new("elapsed_ms", DataType::UInt64, false),
                ]));
                let statements = StringArray::from_iter_values(self.timings.iter().map(|(s, _)| s.as_str()));
                let ms = UInt64Array::from_iter_values(
                    self.timings.iter().map(|(_, d)| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                );
                let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(statements), Arc::new(ms)])?;
                (schema, vec![batch])
            }
        };
        Ok(Ran { schema, batches, timings: self.timings })
    }
}
