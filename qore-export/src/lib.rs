//! QoreDB's streaming export pipeline.
//!
//! Any [`qore_core::SendableRecordBatchStream`] goes into a sink (CSV, TSV,
//! JSON, NDJSON, Parquet, Arrow IPC, SQL INSERT script or a self-contained
//! HTML page) batch by batch, so memory is bounded by the batch size and
//! never by the size of the result.
