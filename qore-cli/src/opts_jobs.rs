//! Options of `qore job` and `qore worker`.

use clap::{Args, Subcommand};

use crate::opts::{ExportArgs, Format};

/// Which job store.
#[derive(Debug, Clone, Args)]
pub struct StoreArg {
    /// The job store: a PostgreSQL URL (a queue shared by workers on
    /// several machines) or an SQLite file. Default: $QORE_JOB_STORE, else
    /// $XDG_DATA_HOME/qore/jobs.db.
    #[arg(long, env = "QORE_JOB_STORE")]
    pub store: Option<String>,
}

/// `qore job` actions.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum JobAction {
    /// Submit a job; prints its id on stdout.
    Submit {
        /// What to run.
        #[command(subcommand)]
        what: SubmitWhat,
    },
    /// List jobs, newest first.
    Ls {
        /// The store.
        #[command(flatten)]
        store: StoreArg,
        /// Only jobs in this state (queued, running, succeeded, failed, cancelled).
        #[arg(long)]
        state: Vec<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one job: parameters, state, progress, last error, checkpoint.
    Show {
        /// The job's id.
        id: String,
        /// The store.
        #[command(flatten)]
        store: StoreArg,
    },
    /// Print a job's log.
    Logs {
        /// The job's id.
        id: String,
        /// The store.
        #[command(flatten)]
        store: StoreArg,
    },
    /// Cancel a job: a queued one at once, a running one at its next checkpoint.
    Cancel {
        /// The job's id.
        id: String,
        /// The store.
        #[command(flatten)]
        store: StoreArg,
    },
    /// Queue a failed or cancelled job again; it resumes from its last checkpoint.
    Retry {
        /// The job's id.
        id: String,
        /// The store.
        #[command(flatten)]
        store: StoreArg,
    },
    /// Remove a job that is not running, with its log and partial output.
    Rm {
        /// The job's id.
        id: String,
        /// The store.
        #[command(flatten)]
        store: StoreArg,
    },
    /// Follow a job with a progress bar until it ends; the exit code is 0
    /// when it succeeded.
    Watch {
        /// The job's id.
        id: String,
        /// The store.
        #[command(flatten)]
        store: StoreArg,
    },
}

/// What `qore job submit` submits.
#[derive(Debug, Subcommand)]
pub enum SubmitWhat {
    /// An export, with the options of `qore export`.
    Export {
        /// The export.
        #[command(flatten)]
        args: ExportArgs,
        /// The background options.
        #[command(flatten)]
        job: JobOptions,
    },
    /// `UPDATE TABLE SET ... [WHERE ...]` in batches of --chunk-rows rows,
    /// each its own transaction; resumes after the last batch done, never
    /// running one twice.
    Update {
        /// The table and rows.
        #[command(flatten)]
        args: BatchArgs,
        /// The assignments (`price = price * 1.1`).
        #[arg(long)]
        set: String,
        /// The background options.
        #[command(flatten)]
        job: JobOptions,
    },
    /// An SQL script run in one transaction, exactly once: started again
    /// as a whole after a transient error, never run twice.
    Migrate {
        /// Where to run it.
        #[command(flatten)]
        db: crate::opts::DbArg,
        /// The script (`-` for standard input); it is stored with the job.
        #[arg(long = "file", short = 'f')]
        file: String,
        /// No progress bar and no summary line.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// The background options.
        #[command(flatten)]
        job: JobOptions,
    },
    /// A sandbox's pending changes (or, with --undo, the undo of its last
    /// apply) in one transaction, exactly once, as `qore sandbox apply`:
    /// a conflict fails the job and writes nothing.
    SandboxApply {
        /// Where to connect (whose sandbox).
        #[command(flatten)]
        db: crate::opts::DbArg,
        /// The sandbox (default: `default`).
        name: Option<String>,
        /// Apply the undo of the last apply instead.
        #[arg(long)]
        undo: bool,
        /// No confirmation on a staging or prod connection.
        #[arg(long, short = 'y')]
        yes: bool,
        /// No progress bar and no summary line.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// The background options.
        #[command(flatten)]
        job: JobOptions,
    },
    /// `DELETE FROM TABLE [WHERE ...]` in batches, like `update`.
    Delete {
        /// The table and rows.
        #[command(flatten)]
        args: BatchArgs,
        /// The background options.
        #[command(flatten)]
        job: JobOptions,
    },
}

/// A big UPDATE or DELETE, in key ranges.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// Where to connect.
    #[command(flatten)]
    pub db: crate::opts::DbArg,
    /// The table (`name` or `schema.name`); it needs a primary key (or SQLite's
    /// and DuckDB's rowid).
    #[arg(long, short = 't')]
    pub table: String,
    /// Which rows, as an SQL condition (default: all).
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// No progress bar and no summary line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// How a submitted job runs.
#[derive(Debug, Clone, Args)]
pub struct JobOptions {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,
    /// Run it here and now, in the foreground, with the same checkpoints
    /// (Ctrl-C stops it at the next one; `qore job retry` resumes it).
    #[arg(long)]
    pub run: bool,
    /// Rows between checkpoints: an export's page (50,000 by default,
    /// 262,144 for Parquet, where a page is a row group; a resume reads at
    /// most this many again), an update's or delete's batch, each its own
    /// transaction (10,000 by default).
    #[arg(long)]
    pub chunk_rows: Option<u64>,
    /// Starts allowed before a transient error fails the job for good.
    #[arg(long, default_value_t = 5)]
    pub max_attempts: u32,
    /// With --run: the lease, in seconds (a worker takes the job over this
    /// long after this process dies).
    #[arg(long, default_value_t = 30.0)]
    pub lease: f64,
}

/// `qore worker` options.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// The lease, in seconds: a job whose worker stops answering is taken
    /// over once it runs out.
    #[arg(long, default_value_t = 30.0)]
    pub lease: f64,
    /// Stop when no job is due instead of waiting for more.
    #[arg(long)]
    pub until_idle: bool,
}
