//! Integration tests against a real server.
#![allow(clippy::unwrap_used)]
