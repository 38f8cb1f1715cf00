//! [`ObservedStream`]: a result stream that counts what flows through it and
//! reports the outcome to the chain once, when it ends, fails, or is dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use futures::Stream;

use super::{Chain, Outcome, Request, Verdict};
use crate::error::Result;
use crate::stream::{RecordBatchStream, SendableRecordBatchStream};

/// Wraps a result stream without buffering it: batches pass through as
/// they come, counted (rows, bytes, batches, time to the first one).
pub struct ObservedStream {
    inner: SendableRecordBatchStream,
    chain: Arc<Chain>,
    request: Request,
    outcome: Outcome,
    started: Instant,
    /// The outcome was reported (the stream ended or failed).
    reported: bool,
}

impl std::fmt::Debug for ObservedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedStream")
            .field("request", &self.request.call)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl ObservedStream {
    pub(super) fn new(
        inner: SendableRecordBatchStream,
        chain: Arc<Chain>,
        request: Request,
        verdict: Verdict,
        started: Instant,
    ) -> Self {
        ObservedStream {
            inner,
            chain,
            request,
            outcome: Outcome::new(verdict),
            started,
            reported: false,
        }
    }

    fn report(&mut self, complete: bool) {
        if self.reported {
            return;
        }
        self.reported = true;
        self.outcome.elapsed = self.started.elapsed();
        self.outcome.complete = complete;
        self.chain.after(&self.request, &self.outcome);
    }
}

/// The bytes of data a batch holds (its slices of the Arrow buffers, not
/// their capacity: a one-row batch in a 64 KiB buffer counts its row).
fn data_bytes(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|c| {
            let data = c.to_data();
            data.get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size()) as u64
        })
        .sum()
}

impl Stream for ObservedStream {
    type Item = Result<RecordBatch>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is Unpin (the inner stream is a Pin<Box<..>>).
        let this = self.get_mut();
        let polled = this.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => {
                if this.outcome.first_batch.is_none() {
                    this.outcome.first_batch = Some(this.started.elapsed());
                }
                this.outcome.batches += 1;
                this.outcome.rows += batch.num_rows() as u64;
                this.outcome.bytes += data_bytes(batch);
            }
            Poll::Ready(Some(Err(e))) => {
                this.outcome = this.outcome.clone().failed(e);
                this.report(true);
            }
            Poll::Ready(None) => this.report(true),
            Poll::Pending => {}
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl RecordBatchStream for ObservedStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

impl Drop for ObservedStream {
    fn drop(&mut self) {
        // Dropped before its end: the consumer stopped reading.
        self.report(false);
    }
}
