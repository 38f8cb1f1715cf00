//! What the network SQL drivers (PostgreSQL, MySQL/MariaDB) share: a task
//! that owns the connection while a result streams, the bounded channel the
//! batches travel through, and Arrow column builders fed by decoders.

pub(crate) mod builder;

use self::builder::Col;
pub(crate) mod text;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::{FutureExt, Stream, StreamExt};
use qore_core::{Error, RecordBatchStream, Result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A spawned task that is aborted when its handle is dropped, unless it was
/// told to run to completion with [`SpawnedTask::run_to_completion`].
#[derive(Debug)]
pub(crate) struct SpawnedTask {
    pub(crate) handle: Option<JoinHandle<()>>,
}

impl SpawnedTask {
    /// Spawns `fut` on the current runtime.
    pub(crate) fn spawn(fut: impl Future<Output = ()> + Send + 'static) -> Self {
        // Counted until it ends, aborted or not: a process that exits
        // after Ctrl-C waits for the cancel this task sends to the server.
        let pending = qore_core::cleanup::guard();
        #[allow(clippy::disallowed_methods)] // this is the abort-on-drop wrapper itself
        let handle = tokio::spawn(async move {
            let _pending = pending;
            fut.await
        });
        SpawnedTask {
            handle: Some(handle),
        }
    }

    /// Lets the task finish on its own: for clean-up (cancel a statement,
    /// drain the connection) that must outlive whoever started it. The task
    /// must end by itself.
    pub(crate) fn run_to_completion(mut self) {
        self.handle.take();
    }
}

impl Drop for SpawnedTask {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

/// The receiving end of a producer task: a `RecordBatchStream` whose producer
/// sees the channel close when this is dropped, and then stops the statement
/// on the server itself.
///
/// When the channel ends, the stream ends only if the producer returned:
/// a producer that panicked (or was aborted) leaves an `Err` as the last
/// item, never a silently short result.
pub(crate) struct ChannelStream {
    schema: SchemaRef,
    rx: mpsc::Receiver<Result<RecordBatch>>,
    task: Option<SpawnedTask>,
}

impl Drop for ChannelStream {
    fn drop(&mut self) {
        // The producer finishes its clean-up (cancel, drain) on its own.
        if let Some(t) = self.task.take() {
            t.run_to_completion();
        }
    }
}

impl ChannelStream {
    /// A stream over `rx`, fed by `task`.
    pub(crate) fn new(
        schema: SchemaRef,
        rx: mpsc::Receiver<Result<RecordBatch>>,
        task: SpawnedTask,
    ) -> Self {
        ChannelStream {
            schema,
            rx,
            task: Some(task),
        }
    }
}

impl Stream for ChannelStream {
    type Item = Result<RecordBatch>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {}
            other => return other,
        }
        // Every sender is gone: did the producer return, or die?
        let Some(handle) = self.task.as_mut().and_then(|t| t.handle.as_mut()) else {
            return Poll::Ready(None);
        };
        let outcome = match handle.poll_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r,
        };
        self.task = None;
        Poll::Ready(match outcome {
            Ok(()) => None,
            Err(e) if e.is_panic() => Some(Err(Error::from_panic(&*e.into_panic()))),
            Err(_) => Some(Err(Error::Internal(
                "the producer of this result was stopped; the result is incomplete".into(),
            ))),
        })
    }
}

impl RecordBatchStream for ChannelStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// Rows per batch, and the byte budget after which a batch is cut early so
/// that wide rows (big text, blobs) do not make a batch huge.
pub(crate) const BATCH_ROWS: usize = qore_core::DEFAULT_BATCH_SIZE;
pub(crate) const BATCH_BYTES: usize = 16 << 20;

/// How a column kind turns one non-NULL wire value into its builder.
pub(crate) trait Decoder {
    /// Appends the value `bytes` to `col`.
    fn decode(&self, bytes: &[u8], col: &mut Col) -> Result<()>;
}

/// The batch under construction: one builder and one decoder per column,
/// cut at [`BATCH_ROWS`] rows or [`BATCH_BYTES`] bytes.
pub(crate) struct Batch<K> {
    schema: SchemaRef,
    kinds: Vec<K>,
    cols: Vec<Col>,
    rows: usize,
    bytes: usize,
}

impl<K: Decoder> Batch<K> {
    /// Builders for `schema`, decoded as `kinds` say.
    pub(crate) fn new(schema: SchemaRef, kinds: Vec<K>) -> Result<Self> {
        let cols = schema
            .fields()
            .iter()
            .map(|f| Col::new(f.data_type(), BATCH_ROWS))
            .collect::<Result<_>>()?;
        Ok(Batch {
            schema,
            kinds,
            cols,
            rows: 0,
            bytes: 0,
        })
    }

    /// Columns per row.
    pub(crate) fn width(&self) -> usize {
        self.kinds.len()
    }

    /// Appends column `i` of the current row (`None`: NULL); errors name the column.
    pub(crate) fn append(&mut self, i: usize, value: Option<&[u8]>) -> Result<()> {
        let Some(bytes) = value else {
            self.cols[i].append_null();
            return Ok(());
        };
        self.bytes += bytes.len();
        self.kinds[i]
            .decode(bytes, &mut self.cols[i])
            .map_err(|e| match e {
                Error::Data { message, source } => Error::Data {
                    message: format!("column `{}`: {message}", self.schema.field(i).name()),
                    source,
                },
                other => other,
            })
    }

    /// Ends the current row.
    pub(crate) fn end_row(&mut self) {
        self.rows += 1;
    }

    /// Rows in the batch.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch is at its row or byte budget.
    pub(crate) fn full(&self) -> bool {
        self.rows >= BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    /// Builds the batch and starts a new one.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch> {
        let arrays = self.cols.iter_mut().map(Col::finish).collect();
        let opts = arrow::array::RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        self.bytes = 0;
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &opts,
        )?)
    }
}

/// Streams `rows` into batches sent on `tx` until the result ends, fails, or
/// the receiver goes away. Returns whether the result was abandoned with
/// rows left (the caller then stops the statement on the server).
///
/// One `closed` future serves the whole result, and rows already buffered
/// are taken without going back through the select: a select per row cost
/// a tenth of the decode time.
pub(crate) async fn stream_rows<R, E, S, K: Decoder>(
    mut rows: S,
    batch: &mut Batch<K>,
    push: fn(&mut Batch<K>, &R) -> Result<()>,
    tx: &mpsc::Sender<Result<RecordBatch>>,
    map_err: fn(E) -> Error,
) -> bool
where
    S: Stream<Item = std::result::Result<R, E>> + Unpin,
{
    let closed = tx.closed();
    tokio::pin!(closed);
    loop {
        let mut next = tokio::select! {
            biased;
            _ = &mut closed => return true,
            next = rows.next() => next,
        };
        let mut budget = 4096;
        loop {
            match next {
                Some(Ok(row)) => {
                    if let Err(e) = push(batch, &row) {
                        let _ = tx.send(Err(e)).await;
                        return true;
                    }
                    if batch.full() && tx.send(batch.finish()).await.is_err() {
                        return true;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(map_err(e))).await;
                    return false;
                }
                None => {
                    if batch.len() > 0 {
                        let _ = tx.send(batch.finish()).await;
                    }
                    return false;
                }
            }
            budget -= 1;
            if budget == 0 {
                break;
            }
            match rows.next().now_or_never() {
                Some(n) => next = n,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1])) as _)])
            .unwrap_or_else(|_| RecordBatch::new_empty(Arc::new(arrow::datatypes::Schema::empty())))
    }

    #[tokio::test]
    async fn a_producer_that_panics_is_an_error_not_an_early_end() {
        let (tx, rx) = mpsc::channel(1);
        let task = SpawnedTask::spawn(async move {
            let _ = tx.send(Ok(batch())).await;
            panic!("lost the server task");
        });
        let mut s = ChannelStream::new(batch().schema(), rx, task);
        assert!(s.next().await.unwrap().is_ok());
        let msg = s.next().await.expect("an error").unwrap_err().to_string();
        assert!(
            msg.contains("lost the server task") && msg.contains("incomplete"),
            "{msg}"
        );
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn a_producer_that_returns_ends_the_stream() {
        let (tx, rx) = mpsc::channel(1);
        let task = SpawnedTask::spawn(async move {
            let _ = tx.send(Ok(batch())).await;
        });
        let mut s = ChannelStream::new(batch().schema(), rx, task);
        assert!(s.next().await.unwrap().is_ok());
        assert!(s.next().await.is_none());
    }
}
