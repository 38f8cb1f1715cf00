//! Durable background jobs for QoreDB: a job store (SQLite by default,
//! PostgreSQL for shared queues), checkpoints, resume after errors, retry and
//! cancellation for long exports, diffs and loads.
//!
//! This crate holds only its charter for now; its issue builds it on the
//! `qore-core` contracts.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
