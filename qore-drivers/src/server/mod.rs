//! What the network SQL drivers (PostgreSQL, MySQL/MariaDB) share: a task
//! that owns the connection while a result streams, the bounded channel the
//! batches travel through, and Arrow column builders fed by decoders.

pub(crate) mod builder;
pub(crate) mod text;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::Stream;
use qore_core::{RecordBatchStream, Result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A spawned task that is aborted when its handle is dropped, unless it was
/// told to run to completion with [`SpawnedTask::run_to_completion`].
#[derive(Debug)]
pub(crate) struct SpawnedTask {
    handle: Option<JoinHandle<()>>,
}

impl SpawnedTask {
    /// Spawns `fut` on the current runtime.
    pub(crate) fn spawn(fut: impl Future<Output = ()> + Send + 'static) -> Self {
        #[allow(clippy::disallowed_methods)] // this is the abort-on-drop wrapper itself
        let handle = tokio::spawn(fut);
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
pub(crate) struct ChannelStream {
    schema: SchemaRef,
    rx: mpsc::Receiver<Result<RecordBatch>>,
    _task: Option<SpawnedTaskGuard>,
}

/// Keeps the producer alive for as long as the stream, but lets it finish its
/// clean-up once the stream is gone.
struct SpawnedTaskGuard(Option<SpawnedTask>);

impl Drop for SpawnedTaskGuard {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
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
            _task: Some(SpawnedTaskGuard(Some(task))),
        }
    }
}

impl Stream for ChannelStream {
    type Item = Result<RecordBatch>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
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
