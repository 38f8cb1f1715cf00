//! The `qore` command-line tool: argument parsing, output formatting, and
//! saved connections, on top of `qore-core` and `qore-drivers`.
//!
//! [`run`] executes parsed [`Opts`] and writes data to `out` and messages to
//! `err`, so the binary stays a thin shell and tests can drive it in-process.
//!
//! # Example
//!
//! ```
//! use clap::Parser;
//! let opts = qore_cli::Opts::parse_from(["qore", "query", "--db", "duckdb:", "--format", "csv", "SELECT 1 AS one"]);
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! qore_cli::run(opts, &mut out, &mut err).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "one\n1\n");
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod commands;
pub mod connections;
mod export;
mod format;
mod opts;

use std::io::Write;
use std::process::ExitCode;

pub use opts::{Command, ConnAction, DbArg, EnvLabel, ExportArgs, Format, Opts};

/// Runs one command.
///
/// # Error handling
///
/// Every failure is an `Err` with context; the binary prints it as
/// `qore: <message>` on stderr and exits with 2.
pub fn run(opts: Opts, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(commands::dispatch(opts.command, out, err))
}

/// Whether an error is a closed stdout (`qore ... | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<arrow::error::ArrowError>()
                .is_some_and(|a| a.to_string().contains("Broken pipe"))
            || c.downcast_ref::<qore_core::Error>()
                .is_some_and(|q| q.to_string().contains("Broken pipe"))
    })
}
