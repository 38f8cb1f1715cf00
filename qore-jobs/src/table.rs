//! Jobs as an Arrow batch: what `qore job ls` prints and a GUI's job list shows.

use std::sync::Arc;

use qore_core::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    UInt64Array,
};
use qore_core::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use qore_core::{Error, Result};

use crate::model::Job;

/// One row per job: id, kind, state, attempts, max_attempts, done, total,
/// rate (units/s), eta_s, worker, created, updated (UTC), error_kind, error.
///
/// # Error handling
///
/// [`Error::Internal`] only if the columns disagree (a bug).
pub fn jobs_batch(jobs: &[Job]) -> Result<RecordBatch> {
    let ts = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("attempts", DataType::Int64, false),
        Field::new("max_attempts", DataType::Int64, false),
        Field::new("done", DataType::UInt64, false),
        Field::new("total", DataType::UInt64, true),
        Field::new("rate", DataType::Float64, true),
        Field::new("eta_s", DataType::Float64, true),
        Field::new("worker", DataType::Utf8, true),
        Field::new("created", ts(), false),
        Field::new("updated", ts(), false),
        Field::new("error_kind", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
    ]));
    let running = |j: &Job| j.state == crate::State::Running;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(jobs.iter().map(|j| j.id.0))),
        Arc::new(StringArray::from_iter_values(jobs.iter().map(|j| j.kind.as_str()))),
        Arc::new(StringArray::from_iter_values(jobs.iter().map(|j| {
            if j.state == crate::State::Running && j.cancel_requested {
                "cancelling"
            } else {
                j.state.name()
            }
        }))),
        Arc::new(Int64Array::from_iter_values(jobs.iter().map(|j| i64::from(j.attempts)))),
        Arc::new(Int64Array::from_iter_values(jobs.iter().map(|j| i64::from(j.max_attempts)))),
        Arc::new(UInt64Array::from_iter_values(jobs.iter().map(|j| j.done))),
        Arc::new(UInt64Array::from_iter(jobs.iter().map(|j| j.total))),
        Arc::new(Float64Array::from_iter(jobs.iter().map(|j| j.rate()))),
        Arc::new(Float64Array::from_iter(
            jobs.iter().map(|j| j.eta().filter(|_| running(j)).map(|d| d.as_secs_f64())),
        )),
        Arc::new(StringArray::from_iter(jobs.iter().map(|j| j.worker.as_deref()))),
        Arc::new(TimestampMillisecondArray::from_iter_values(jobs.iter().map(|j| j.created)).with_timezone("UTC")),
        Arc::new(TimestampMillisecondArray::from_iter_values(jobs.iter().map(|j| j.updated)).with_timezone("UTC")),
        Arc::new(StringArray::from_iter(jobs.iter().map(|j| j.error.as_ref().map(|e| e.kind.as_str())))),
        Arc::new(StringArray::from_iter(jobs.iter().map(|j| j.error.as_ref().map(|e| e.message.as_str())))),
    ];
    RecordBatch::try_new(schema, cols).map_err(|e| Error::Internal(format!("job list: {e}")))
}
