//! Data diff for QoreDB: comparing two tables or two query results, even on
//! different servers, as a streaming keyed diff or a checksum-bisection diff
//! pushed down to the engines, with side-by-side renderers.
//!
//! This crate holds only its charter for now; its issue builds it on the
//! `qore-core` contracts (`SendableRecordBatchStream`, `Dialect`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
