//! Runnable examples of embedding QoreDB in another Rust program.
//!
//! `embed` opens a connection by URL, reads the catalog, and streams a query
//! as Arrow record batches: `cargo run -p qore-examples --bin embed -- [URL]`.
