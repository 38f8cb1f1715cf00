//! Data diff for QoreDB: two tables or two query results, on any engines
//! and servers, compared row by row.
//!
//! [`diff`] plans the comparison ([`DiffPlan`]: the key, the column pairs,
//! one normalisation [`Rule`] per pair so that equal data compares equal
//! across engines) and returns the differences as an Arrow stream while
//! the two sides are still being read, then a [`DiffSummary`]. Two
//! algorithms:
//!
//! - the **keyed streaming merge**: both sides read ordered by the key's
//!   bytes (never an engine's collation), merged in one pass, memory
//!   bounded by a few batches; the order is checked as rows arrive and a
//!   violation or a repeated key stops the diff with an error;
//! - **checksum bisection** for one integer key: the engines count and
//!   checksum key segments (`GROUP BY`, both sides at once), and only
//!   differing segments are downloaded and merged.
//!
//! Without a key, rows are compared as multisets (each distinct row's
//! count on each side). The renderers in [`render`] draw a side-by-side
//! view, an HTML report and a SQL patch; data formats go through
//! `qore-export`.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use qore_diff::{DiffOptions, Side, Source, diff};
//! use qore_core::TableRef;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let url = |n: &str| format!("sqlite:{}", dir.path().join(n).display());
//! for (n, rows) in [("a.db", "(1,'x'),(2,'y')"), ("b.db", "(1,'x'),(2,'z'),(3,'w')")] {
//!     let c = qore_drivers::connect(&url(n)).await.unwrap();
//!     c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", &[]).await.unwrap();
//!     c.execute(&format!("INSERT INTO t VALUES {rows}"), &[]).await.unwrap();
//! }
//! let side = |n: &str| {
//!     let url = url(n);
//!     async move {
//!         Side {
//!             conn: qore_drivers::connect(&url).await.unwrap(),
//!             source: Source::Table(TableRef::new("t")),
//!             label: url,
//!         }
//!     }
//! };
//! let d = diff(side("a.db").await, side("b.db").await, DiffOptions::default()).await.unwrap();
//! let summary = d.finish().await.unwrap();
//! assert_eq!((summary.equal, summary.changed, summary.added, summary.removed), (1, 1, 1, 0));
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bisect;
mod merge;
pub mod normalise;
mod output;
pub mod render;
mod resolve;
mod spec;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::RecordBatch;
use futures::{FutureExt, StreamExt};
use qore_core::{Error, RecordBatchStreamAdapter, Result, SendableRecordBatchStream};
use tokio::sync::mpsc;

pub use normalise::Rule;
pub use output::{
    CHANGED_COLUMN, COPIES_COLUMN, DIFF_METADATA, DiffSummary, KIND_COLUMN, Kind, diff_schema,
};
pub use resolve::{DiffPlan, plan};
pub use spec::{Algorithm, ColumnPair, DiffOptions, Side, Source, SourceChoice, Tolerance};

use merge::{Counts, MergeSpec};
use output::Emitter;

/// Default rows of a segment bisection downloads rather than splits.
pub const DEFAULT_SEGMENT_ROWS: u64 = 16_384;

/// A diff under way: its plan, its differences as they are found, and its
/// summary once they have all been read.
pub struct Diff {
    /// What is compared.
    pub plan: DiffPlan,
    /// The algorithm that runs.
    pub algorithm: Algorithm,
    /// The differences, in key order (schema: [`diff_schema`]).
    pub stream: SendableRecordBatchStream,
    summary: Arc<Mutex<Option<DiffSummary>>>,
}

impl std::fmt::Debug for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diff").field("plan", &self.plan).field("algorithm", &self.algorithm).finish()
    }
}

impl Diff {
    /// The summary, once [`stream`](Self::stream) has ended without error.
    pub fn summary(&self) -> Option<DiffSummary> {
        self.summary_handle().get()
    }

    /// A handle on the summary that outlives the diff (take the stream,
    /// keep this).
    pub fn summary_handle(&self) -> SummaryHandle {
        SummaryHandle(self.summary.clone())
    }

    /// Reads every difference, discarding them, and returns the summary.
    ///
    /// # Error handling
    ///
    /// The first error of either side or of the comparison.
    pub async fn finish(mut self) -> Result<DiffSummary> {
        while let Some(b) = self.stream.next().await {
            b?;
        }
        self.summary().ok_or_else(|| Error::Internal("the diff ended without a summary".into()))
    }
}

/// The summary of a diff, readable after its stream ended.
#[derive(Debug, Clone)]
pub struct SummaryHandle(Arc<Mutex<Option<DiffSummary>>>);

impl SummaryHandle {
    /// The summary, when the diff has ended without error.
    pub fn get(&self) -> Option<DiffSummary> {
        self.0.lock().ok().and_then(|s| s.clone())
    }
}

/// Compares `left` and `right`.
///
/// The plan is made before this returns (so bad keys, columns and types
/// fail here); the rows are read by a task as the stream is consumed.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a key or column a side lacks, types that
/// cannot be compared, bisection forced where it cannot run. While
/// streaming, the stream ends with an error (never early without one) for
/// a lost connection, a key that is not unique, or rows out of key order.
pub async fn diff(left: Side, right: Side, options: DiffOptions) -> Result<Diff> {
    let started = Instant::now();
    let plan = resolve::plan(&left, &right, &options).await?;
    // Auto bisects only with the engines' native row hash: MD5 of every
    // row's text costs the servers more than streaming the rows over a
    // local network (measured: benches/diff.py); `Bisect` forces it, for
    // slow links.
    let algorithm = match (options.algorithm, bisect::eligible(&plan)) {
        (spec::Algorithm::Bisect, Err(why)) => {
            return Err(Error::invalid(format!("bisection cannot run: {why}")));
        }
        (spec::Algorithm::Bisect, Ok(())) => Algorithm::Bisect,
        (spec::Algorithm::Auto, Ok(())) if bisect::native(&plan).is_some() => Algorithm::Bisect,
        _ => Algorithm::Stream,
    };
    let schema = diff_schema(&plan);
    let (tx, rx) = mpsc::channel::<Result<RecordBatch>>(2);
    let summary = Arc::new(Mutex::new(None));
    let task_plan = plan.clone();
    let task_summary = summary.clone();
    let task_schema = schema.clone();
    let err_tx = tx.clone();
    // Aborted when the stream is dropped (the guard travels with it): a
    // consumer that stops reading stops both sides' reads.
    #[allow(clippy::disallowed_methods)]
    let task = tokio::spawn(async move {
        let work = std::panic::AssertUnwindSafe(run(
            task_plan,
            left,
            right,
            options,
            algorithm,
            task_schema,
            tx,
            started,
        ))
        .catch_unwind()
        .await;
        let outcome = match work {
            Ok(Ok(s)) => {
                if let Ok(mut slot) = task_summary.lock() {
                    *slot = Some(s);
                }
                return;
            }
            Ok(Err(e)) => e,
            Err(panic) => Error::from_panic(panic.as_ref()),
        };
        let _ = err_tx.send(Err(outcome)).await;
    });
    let guard = AbortOnDrop(task);
    let stream = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv().await.map(|b| (b, (rx, guard)))
    })
    .boxed();
    Ok(Diff {
        plan,
        algorithm,
        stream: Box::pin(RecordBatchStreamAdapter::new(schema, stream)),
        summary,
    })
}

/// Aborts the diff's task when the stream that carries it is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    plan: DiffPlan,
    left: Side,
    right: Side,
    options: DiffOptions,
    algorithm: Algorithm,
    schema: arrow::datatypes::SchemaRef,
    tx: mpsc::Sender<Result<RecordBatch>>,
    started: Instant,
) -> Result<DiffSummary> {
    let mut emitter = Emitter::new(&plan, schema, tx);
    let spec = MergeSpec {
        rules: &plan.rules,
        nkey: plan.key.len(),
        multiset: plan.multiset,
        tolerance: options.float_tolerance,
        key_names: plan.key.iter().map(|p| p.left.clone()).collect(),
        fields: [&plan.left_fields, &plan.right_fields],
    };
    let mut counts = Counts::default();
    let mut summary = DiffSummary { notes: plan.notes.clone(), ..Default::default() };
    match algorithm {
        Algorithm::Bisect => {
            let stats = bisect::run(
                &plan,
                left.conn.as_ref(),
                right.conn.as_ref(),
                &spec,
                options.segment_rows.unwrap_or(DEFAULT_SEGMENT_ROWS),
                &mut emitter,
                &mut counts,
            )
            .await?;
            summary.algorithm = if stats.streamed_all { "bisect+stream" } else { "bisect" }.into();
            summary.segments_checked = stats.segments;
            summary.rows_downloaded = stats.downloaded;
            if stats.native {
                summary.notes.push(format!(
                    "checksums: the engine's native {} hash (both sides the same engine and types)",
                    if stats.value_hash { "value" } else { "row-text" }
                ));
            }
            if stats.streamed_all {
                summary.notes.push("segments holding over 30% of the rows differed: both sides were streamed whole".into());
            }
        }
        _ => {
            let (lq, rq) = plan.statements()?;
            let (ls, rs) = futures::join!(left.conn.query(&lq, &[]), right.conn.query(&rq, &[]));
            let ls = ls.map_err(|e| e.context("reading the left side"))?;
            let rs = rs.map_err(|e| e.context("reading the right side"))?;
            merge::merge(&spec, ls, rs, &mut emitter, &mut counts).await?;
            summary.algorithm = "stream".into();
        }
    }
    emitter.flush().await?;
    summary.left_rows = counts.left_rows;
    summary.right_rows = counts.right_rows;
    summary.equal = counts.equal;
    summary.added = counts.added;
    summary.removed = counts.removed;
    summary.changed = counts.changed;
    summary.left_bytes = counts.left_bytes;
    summary.right_bytes = counts.right_bytes;
    summary.per_column = plan
        .columns
        .iter()
        .zip(counts.per_column.iter().copied().chain(std::iter::repeat(0)))
        .map(|(p, n)| (p.left.clone(), n))
        .collect();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Compares `left` and `right` and renders the differences as `format`
/// into `out`: [`diff`] then [`render::write`], the one call of a
/// command-line `diff`.
///
/// # Error handling
///
/// As [`diff`] and [`render::write`].
pub async fn diff_to(
    left: Side,
    right: Side,
    options: DiffOptions,
    format: render::Format,
    out: Box<dyn std::io::Write + Send>,
    write: &render::WriteOptions,
) -> Result<DiffSummary> {
    let d = diff(left, right, options).await?;
    render::write(d, format, out, write).await
}
