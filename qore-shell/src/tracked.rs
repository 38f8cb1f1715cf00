//! The transaction state follows each statement's end: a statement's rows
//! may fail half-way, or be dropped by Ctrl-C, long after `run` returned.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::Stream;
use qore_core::{Engine, RecordBatchStream, Result, SendableRecordBatchStream};
use qore_safety::Kind;

use crate::TxState;

/// What a statement does to the transaction, recorded when it ends.
pub(crate) struct Recorder {
    tx: Arc<Mutex<TxState>>,
    engine: Engine,
    kind: Kind,
    verb: String,
    done: bool,
}

impl Recorder {
    pub(crate) fn new(tx: Arc<Mutex<TxState>>, engine: Engine, kind: Kind, sql: &str) -> Recorder {
        let mut words = sql.split_whitespace().map(|w| w.trim_end_matches(';').to_ascii_uppercase());
        let first = words.next().unwrap_or_default();
        let second = words.next().unwrap_or_default();
        // ROLLBACK TO [SAVEPOINT] stays in the transaction.
        let verb = if first == "ROLLBACK" && second == "TO" { "ROLLBACK TO".to_string() } else { first };
        Recorder { tx, engine, kind, verb, done: false }
    }

    /// The statement ended: `ok` whether it succeeded.
    pub(crate) fn finished(mut self, ok: bool) {
        self.record(ok);
    }

    fn record(&mut self, ok: bool) {
        if self.done {
            return;
        }
        self.done = true;
        let mut tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let before = *tx;
        *tx = match (ok, self.kind, self.verb.as_str()) {
            (true, Kind::TransactionControl, "BEGIN" | "START") => TxState::Open,
            (true, Kind::TransactionControl, "COMMIT" | "END" | "ROLLBACK" | "ABORT") => TxState::Idle,
            (true, Kind::TransactionControl, "ROLLBACK TO") if before == TxState::Failed => TxState::Open,
            // A COMMIT of a failed PostgreSQL transaction rolls it back and
            // ends it, and reports an error on some engines.
            (false, Kind::TransactionControl, "COMMIT" | "END" | "ROLLBACK" | "ABORT") => TxState::Idle,
            // MySQL and MariaDB commit before and after DDL.
            (true, Kind::Ddl, _) if self.engine == Engine::MySql => TxState::Idle,
            (false, _, _) if before == TxState::Open && aborts_on_error(self.engine) => TxState::Failed,
            _ => before,
        };
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Dropped before its end: cancelled, which is an error on the server.
        self.record(false);
    }
}

/// Whether an error inside a transaction leaves it refusing everything but
/// ROLLBACK.
fn aborts_on_error(engine: Engine) -> bool {
    matches!(engine, Engine::Postgres | Engine::DuckDb)
}

/// A result stream that records its statement's end.
pub(crate) struct Tracked {
    inner: SendableRecordBatchStream,
    recorder: Option<Recorder>,
}

impl Tracked {
    pub(crate) fn new(inner: SendableRecordBatchStream, recorder: Recorder) -> Tracked {
        Tracked { inner, recorder: Some(recorder) }
    }
}

impl Stream for Tracked {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.inner.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(None) => {
                if let Some(r) = self.recorder.take() {
                    r.finished(true);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(r) = self.recorder.take() {
                    r.finished(false);
                }
            }
            _ => {}
        }
        next
    }
}

impl RecordBatchStream for Tracked {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}
