//! The one result type: an Arrow schema plus a bounded stream of record batches.

use std::pin::Pin;
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::Stream;

use crate::error::{Error, Result};

/// Rows per batch unless a builder says otherwise.
///
/// Large enough that per-batch overhead vanishes, small enough that one batch of
/// a wide table stays a few MiB: memory is bounded by this, never by the result.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// A stream of Arrow record batches that all share one schema.
///
/// # Cancellation
///
/// Dropping the stream cancels the work that feeds it: the driver stops
/// fetching and releases the engine.
pub trait RecordBatchStream: Stream<Item = Result<RecordBatch>> {
    /// The schema of every batch this stream yields, known before the first batch.
    fn schema(&self) -> SchemaRef;
}

/// A pinned, boxed, `Send` [`RecordBatchStream`]: what every query returns.
pub type SendableRecordBatchStream = Pin<Box<dyn RecordBatchStream + Send>>;

/// Pairs a schema with any stream of batches.
#[derive(Debug)]
pub struct RecordBatchStreamAdapter<S> {
    schema: SchemaRef,
    stream: S,
}

impl<S> RecordBatchStreamAdapter<S>
where
    S: Stream<Item = Result<RecordBatch>>,
{
    /// Wraps `stream`, whose batches must all have `schema`.
    pub fn new(schema: SchemaRef, stream: S) -> Self {
        RecordBatchStreamAdapter { schema, stream }
    }
}

impl<S> Stream for RecordBatchStreamAdapter<S>
where
    S: Stream<Item = Result<RecordBatch>> + Unpin,
{
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

impl<S> RecordBatchStream for RecordBatchStreamAdapter<S>
where
    S: Stream<Item = Result<RecordBatch>> + Unpin,
{
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// A stream with a schema and no rows (the result of a statement that returns none).
#[derive(Debug)]
pub struct EmptyRecordBatchStream {
    schema: SchemaRef,
}

impl EmptyRecordBatchStream {
    /// An empty stream of `schema`.
    pub fn new(schema: SchemaRef) -> Self {
        EmptyRecordBatchStream { schema }
    }
}

impl Stream for EmptyRecordBatchStream {
    type Item = Result<RecordBatch>;
    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(None)
    }
}

impl RecordBatchStream for EmptyRecordBatchStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// A stream whose schema metadata is replaced (used to attach structure indicators).
#[derive(Debug)]
pub struct WithSchema {
    schema: SchemaRef,
    inner: SendableRecordBatchStream,
}

impl std::fmt::Debug for dyn RecordBatchStream + Send {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatchStream")
            .field("schema", &self.schema())
            .finish()
    }
}

impl WithSchema {
    /// Re-labels `inner` with `schema`, which must have the same fields and types.
    ///
    /// # Error handling
    ///
    /// Returns [`Error::Internal`] when the field types differ.
    pub fn new(schema: SchemaRef, inner: SendableRecordBatchStream) -> Result<Self> {
        let old = inner.schema();
        let same = old.fields().len() == schema.fields().len()
            && old
                .fields()
                .iter()
                .zip(schema.fields())
                .all(|(a, b)| a.data_type() == b.data_type());
        if !same {
            return Err(Error::Internal(
                "re-labelled schema does not match the stream".into(),
            ));
        }
        Ok(WithSchema { schema, inner })
    }
}

impl Stream for WithSchema {
    type Item = Result<RecordBatch>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let schema = self.schema.clone();
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(batch))) => Poll::Ready(Some(
                RecordBatch::try_new(schema, batch.columns().to_vec()).map_err(Error::from),
            )),
            other => other,
        }
    }
}

impl RecordBatchStream for WithSchema {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// Collects a whole stream into memory. For tests and small results only:
/// everything else should consume batches as they come.
pub async fn collect(mut stream: SendableRecordBatchStream) -> Result<Vec<RecordBatch>> {
    use futures::StreamExt;
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        out.push(batch?);
    }
    Ok(out)
}
