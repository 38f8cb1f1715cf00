//! SQLite through rusqlite (bundled libsqlite3), first class: WAL, pragmas,
//! open options in the URL, loadable extensions on explicit request, and a
//! type mapping documented in [`types`].

mod admin;
mod catalog;
mod connection;
mod functions;
mod match_any;
mod options;
pub mod types;

pub use connection::{Checkpoint, SqliteConnection};
pub use options::{OpenMode, SqliteOptions};
