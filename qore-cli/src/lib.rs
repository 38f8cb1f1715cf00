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

mod admin;
mod commands;
mod edit;
pub mod connections;
mod export;
mod format;
mod opts;
mod opts_edit;
mod opts_diff;
mod opts_jobs;
mod jobs;
mod diff;
mod erd;
mod version;
mod pager;
mod shell;
mod snapshot;
mod share;
mod search;
pub mod color;

use std::io::Write;
use std::process::ExitCode;

pub use opts::{Command, ConnAction, DbArg, ExportArgs, Format, Opts, SnapshotAction};
pub use opts_edit::{EditArgs, PeekArgs, RelationAction, SandboxAction};

/// Sends the libraries' `tracing` events to stderr: none by default, QoreDB's
/// own at debug level with `-v`, at trace level (statement text) with
/// `-vv`; `RUST_LOG` overrides.
fn init_tracing(verbose: u8) {
    let ours = ["qore_core", "qore_drivers", "qore_export", "qore_cli"];
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => match verbose {
            0 => "off".to_string(),
            1 => ours.map(|c| format!("{c}=debug")).join(","),
            _ => ours.map(|c| format!("{c}=trace")).join(","),
        },
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter);
    // Server notices (PostgreSQL RAISE NOTICE / WARNING, MySQL and MariaDB
    // SHOW WARNINGS) reach the driver as events of their own target: shown
    // on stderr whatever -v says.
    let notices = Notices.with_filter(tracing_subscriber::filter::filter_fn(|m| {
        matches!(m.target(), "sqlx::postgres::notice" | "qore::notice") && *m.level() <= tracing::Level::INFO
    }));
    // Already set (a second `run` in one process): keep the first.
    let _ = tracing_subscriber::registry().with(log).with(notices).try_init();
}

/// Prints server notices on stderr as `qore: NOTICE: text`, as psql does.
struct Notices;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Notices {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                if f.name() == "message" {
                    self.0 = v.to_string();
                }
            }
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "message" && self.0.is_empty() {
                    self.0 = format!("{v:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        let severity = match *event.metadata().level() {
            tracing::Level::ERROR => "ERROR",
            tracing::Level::WARN => "WARNING",
            _ => "NOTICE",
        };
        let _ = writeln!(std::io::stderr(), "qore: {severity}: {}", m.0);
    }
}

/// Runs one command.
///
/// # Error handling
///
/// Every failure is an `Err` with context; the binary prints it as
/// `qore: <message>` on stderr and exits with 2.
///
/// # Signals
///
/// SIGINT, SIGTERM and SIGHUP stop the command: its future is dropped, so
/// result streams ask their servers to cancel the running statement and
/// exports remove their temporary files; `run` waits for that clean-up
/// (at most [`CLEANUP_GRACE`]) and returns exit code 128 + the signal's
/// number (130, 143, 129). A second signal, or a command stuck in a system
/// call for longer than the grace period, exits the process at once.
pub fn run(opts: Opts, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    init_tracing(opts.verbose);
    color::set(opts.color);
    connections::set_ssh(opts.ssh.url_options());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let flags = connections::SafetyFlags {
        yes: opts.yes,
        allow_destructive: opts.allow_destructive,
    };
    let command = match opts.command {
        Some(c) => c,
        None => {
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin())
                && std::io::IsTerminal::is_terminal(&std::io::stdout());
            if !terminal {
                anyhow::bail!("no command given: `qore --help` lists them (on a terminal, plain `qore` starts the shell)");
            }
            Command::Shell {
                db: DbArg {
                    db: std::env::var("QORE_DB").ok().filter(|v| !v.is_empty()),
                },
            }
        }
    };
    if let Command::Shell { db } = command {
        // The shell handles Ctrl-C itself (it cancels the running statement
        // and goes on); SIGTERM and SIGHUP still end it.
        return rt.block_on(async {
            let (tx, _rx) = tokio::sync::watch::channel(None::<Signal>);
            #[allow(clippy::disallowed_methods)] // aborted below, or dies with the runtime
            let watcher = tokio::spawn(watch_signals(tx, false));
            let r = shell::run(db.db, flags, out, err).await;
            watcher.abort();
            r
        });
    }
    if matches!(command, Command::Worker(_) | Command::Job { .. }) {
        // Workers stop gracefully: the first signal stops their jobs at the
        // next checkpoint (`jobs::graceful_stop`), the second exits.
        return rt.block_on(commands::dispatch(command, flags, out, err));
    }
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::watch::channel(None::<Signal>);
        // Aborted when the command ends on its own; during the clean-up
        // after a signal it goes on watching for a second one.
        #[allow(clippy::disallowed_methods)] // aborted below, or dies with the runtime
        let watcher = tokio::spawn(watch_signals(tx, true));
        let mut command = Box::pin(commands::dispatch(
            command,
            flags,
            out,
            err,
        ));
        let outcome = tokio::select! {
            r = &mut command => Ok(r),
            s = rx.wait_for(Option::is_some) => Err(s.ok().and_then(|s| *s)),
        };
        // Dropping the command starts the clean-up (cancels, temp files).
        drop(command);
        match outcome {
            Ok(r) => {
                watcher.abort();
                r
            }
            Err(signal) => {
                let signal = signal.unwrap_or(Signal::Int);
                qore_core::cleanup::settle(CLEANUP_GRACE).await;
                let _ = writeln!(
                    err,
                    "qore: interrupted by {}; running statements were cancelled, nothing was written",
                    signal.name()
                );
                Ok(ExitCode::from(signal.exit_code()))
            }
        }
    })
}

/// How long an interrupted command may take to cancel its statements on
/// the server and remove its temporary files.
pub const CLEANUP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The signals that stop a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Int,
    Term,
    Hup,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT (Ctrl-C)",
            Signal::Term => "SIGTERM",
            Signal::Hup => "SIGHUP",
        }
    }

    fn exit_code(self) -> u8 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
            Signal::Hup => 129,
        }
    }
}

/// Reports the first signal; exits the process on a second one, or when
/// the command has not let go [`CLEANUP_GRACE`] (plus a second) after the
/// first (a write blocked on a full pipe or a FIFO nobody reads).
///
/// Without `interrupt` SIGINT is left alone (the shell answers it).
async fn watch_signals(tx: tokio::sync::watch::Sender<Option<Signal>>, interrupt: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let int = if interrupt { signal(SignalKind::interrupt()).ok() } else { None };
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    if interrupt && int.is_none() {
        return;
    }
    let mut int = int;
    let next = async |int: &mut Option<tokio::signal::unix::Signal>,
                      term: &mut tokio::signal::unix::Signal,
                      hup: &mut tokio::signal::unix::Signal| {
        let ctrl_c = async {
            match int {
                Some(i) => i.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ctrl_c => Signal::Int,
            _ = term.recv() => Signal::Term,
            _ = hup.recv() => Signal::Hup,
        }
    };
    let first = next(&mut int, &mut term, &mut hup).await;
    if !interrupt {
        // The shell: nothing to clean up but the audit records.
        qore_safety::flush_audit_logs(std::time::Duration::from_millis(500));
        std::process::exit(i32::from(first.exit_code()));
    }
    let _ = tx.send(Some(first));
    let code = tokio::select! {
        s = next(&mut int, &mut term, &mut hup) => s.exit_code(),
        _ = tokio::time::sleep(CLEANUP_GRACE + std::time::Duration::from_secs(1)) => first.exit_code(),
    };
    // No destructor runs past this point: the audit records of statements
    // that ended must reach the disk first.
    qore_safety::flush_audit_logs(std::time::Duration::from_millis(500));
    std::process::exit(i32::from(code));
}

/// The message printed for an error: its chain of causes joined by `: `,
/// leaving out a cause whose text the message already holds (an I/O error
/// that names itself twice), with every URL's password redacted.
pub fn error_message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    qore_core::redact_urls(&msg)
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
