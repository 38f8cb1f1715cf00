//! Sandboxed editing for QoreDB: change sets of cell edits kept locally as an
//! overlay on query results, turned into a migration script of exactly those
//! edits (through the connection's `Dialect`) and applied in one transaction.
//!
//! This crate holds only its charter for now; its issue builds it on the
//! `qore-core` contracts.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
