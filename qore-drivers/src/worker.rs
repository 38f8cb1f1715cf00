//! A dedicated thread that owns a synchronous engine handle (rusqlite, duckdb)
//! and runs jobs for async callers, one at a time.
//!
//! Query results go back through a bounded channel, so the thread produces at
//! most one batch ahead of the consumer: backpressure without buffering.

use std::sync::{Arc, Mutex};
use std::thread;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::stream;
use qore_core::{Error, RecordBatchStreamAdapter, Result, SendableRecordBatchStream};
use tokio::sync::{mpsc, oneshot};

use crate::session::{Held, Turn};

pub(crate) type Job<T> = Box<dyn FnOnce(&mut T) + Send>;

/// Owns the engine thread; dropping it lets the thread finish its queue and exit.
pub(crate) struct Worker<T> {
    jobs: std::sync::mpsc::Sender<Job<T>>,
    name: &'static str,
    /// Taken to submit a job; a transaction keeps it between its jobs.
    pub(crate) turn: Turn,
}

impl<T> std::fmt::Debug for Worker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("engine", &self.name)
            .finish()
    }
}

impl<T: 'static> Worker<T> {
    /// Starts the thread and opens the engine on it with `open`.
    pub(crate) async fn start<F>(name: &'static str, open: F) -> Result<Self>
    where
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let (jobs, queue) = std::sync::mpsc::channel::<Job<T>>();
        let (ready_tx, ready_rx) = oneshot::channel();
        thread::Builder::new()
            .name(format!("qore-{name}"))
            .spawn(move || {
                let mut handle = match open() {
                    Ok(h) => {
                        let _ = ready_tx.send(Ok(()));
                        h
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = queue.recv() {
                    job(&mut handle);
                }
            })
            .map_err(|e| Error::io(format!("cannot start the {name} worker thread"), e))?;
        ready_rx
            .await
            .map_err(|_| Error::Internal(format!("the {name} worker died while opening")))??;
        Ok(Worker {
            jobs,
            name,
            turn: Turn::default(),
        })
    }

    /// Runs `f` on the engine thread and returns its result, once no
    /// transaction holds the turn.
    pub(crate) async fn run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut T) -> Result<R> + Send + 'static,
    {
        let held = self.turn.take().await;
        self.run_held(&held, f).await
    }

    /// [`run`](Self::run) for the holder of the turn.
    pub(crate) async fn run_held<R, F>(&self, _held: &Held, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut T) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(Box::new(move |h| {
            let _ = tx.send(f(h));
        }))?;
        rx.await.map_err(|_| self.gone())?
    }

    /// Queues a job without waiting for it: the jobs run in order, so it
    /// runs before anything submitted later.
    pub(crate) fn submit(&self, job: Job<T>) -> Result<()> {
        self.jobs.send(job).map_err(|_| self.gone())
    }

    fn gone(&self) -> Error {
        Error::Connect {
            message: format!("the {} connection is closed", self.name),
            source: None,
        }
    }

    /// Runs a streaming job for the holder of the turn. `f` gets a [`BatchSink`] to report the schema
    /// and push batches; the call returns once the schema is known.
    ///
    /// `interrupt` is called when the stream is dropped before its end while
    /// the job still runs, to stop the engine mid-statement.
    pub(crate) async fn stream_held<F>(
        &self,
        _held: &Held,
        interrupt: Option<Box<dyn Fn() + Send + Sync>>,
        f: F,
    ) -> Result<SendableRecordBatchStream>
    where
        F: FnOnce(&mut T, &mut BatchSink) -> Result<()> + Send + 'static,
    {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(1);
        let running = Arc::new(Mutex::new(true));
        let guard_state = running.clone();
        self.submit(Box::new(move |h| {
            let mut sink = BatchSink {
                schema_tx: Some(schema_tx),
                batches: batch_tx,
            };
            // A panic in the engine code must end the stream with an error,
            // not as if the result were complete (the sender would just be
            // dropped while unwinding).
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(h, &mut sink)))
                .unwrap_or_else(|p| Err(Error::from_panic(&*p)));
            match (result, sink.schema_tx.take()) {
                (Err(e), Some(tx)) => {
                    let _ = tx.send(Err(e));
                }
                (Err(e), None) => {
                    let _ = sink.batches.blocking_send(Err(e));
                }
                (Ok(()), Some(tx)) => {
                    let _ = tx.send(Err(Error::Internal("query produced no schema".into())));
                }
                (Ok(()), None) => {}
            }
            // Taken under the lock so an interrupt can never hit the next job.
            if let Ok(mut r) = running.lock() {
                *r = false;
            }
        }))?;
        // Armed before the wait: a caller that gives up while the engine is
        // still working out the first rows (an aggregate over a big
        // table) interrupts the statement too.
        let mut guard = InterruptGuard {
            running: guard_state,
            interrupt,
        };
        let schema = match schema_rx.await.map_err(|_| self.gone()).and_then(|r| r) {
            Ok(s) => s,
            Err(e) => {
                // The statement failed and is over: nothing to interrupt.
                guard.interrupt = None;
                return Err(e);
            }
        };
        let batches = stream::unfold((batch_rx, guard), |(mut rx, guard)| async move {
            rx.recv().await.map(|item| (item, (rx, guard)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            Box::pin(batches),
        )))
    }
}

/// Where a streaming job reports its schema and pushes its batches.
pub(crate) struct BatchSink {
    schema_tx: Option<oneshot::Sender<Result<SchemaRef>>>,
    batches: mpsc::Sender<Result<RecordBatch>>,
}

impl BatchSink {
    /// Reports the schema; the async caller returns the stream once it has it.
    pub(crate) fn schema(&mut self, schema: SchemaRef) {
        if let Some(tx) = self.schema_tx.take() {
            let _ = tx.send(Ok(schema));
        }
    }

    /// Pushes one batch, blocking while the consumer is a batch behind.
    ///
    /// # Error handling
    ///
    /// [`Error::Cancelled`] once the stream has been dropped: stop the statement.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<()> {
        #[cfg(debug_assertions)]
        fault_point();
        self.batches
            .blocking_send(Ok(batch))
            .map_err(|_| Error::Cancelled)
    }
}

/// Test builds only: `QORE_FAULT_PANIC_AFTER_BATCHES=N` makes an engine
/// worker panic when it pushes batch N + 1, to prove that a producer that
/// dies ends its result with an error (see the CLI's hardening tests).
#[cfg(debug_assertions)]
fn fault_point() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    static PUSHED: AtomicU64 = AtomicU64::new(0);
    let limit = LIMIT.get_or_init(|| {
        std::env::var("QORE_FAULT_PANIC_AFTER_BATCHES")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(limit) = limit
        && PUSHED.fetch_add(1, Ordering::Relaxed) >= *limit
    {
        panic!("fault injected by QORE_FAULT_PANIC_AFTER_BATCHES");
    }
}

struct InterruptGuard {
    running: Arc<Mutex<bool>>,
    interrupt: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        if let (Some(interrupt), Ok(running)) = (&self.interrupt, self.running.lock())
            && *running
        {
            interrupt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use futures::StreamExt;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1])) as _)])
            .unwrap_or_else(|_| RecordBatch::new_empty(Arc::new(Schema::empty())))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_ends_its_stream_with_an_error() {
        let w = Worker::start("test", || Ok(())).await.unwrap();
        let held = w.turn.take().await;
        let mut s = w
            .stream_held(&held, None, |_: &mut (), sink| {
                sink.schema(Arc::new(Schema::new(vec![Field::new(
                    "n",
                    DataType::Int64,
                    true,
                )])));
                sink.push(batch())?;
                panic!("boom");
            })
            .await
            .unwrap();
        drop(held);
        assert!(s.next().await.unwrap().is_ok());
        let end = s.next().await.expect("an error, not the end");
        let msg = end.unwrap_err().to_string();
        assert!(
            msg.contains("panicked (boom)") && msg.contains("incomplete"),
            "{msg}"
        );
        assert!(s.next().await.is_none());
        // The worker survives and runs the next job.
        assert_eq!(w.run(|_| Ok(7)).await.unwrap(), 7);
    }
}
