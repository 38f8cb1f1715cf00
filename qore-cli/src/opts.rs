//! Command-line options.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// QoreDB: one tool for PostgreSQL, MySQL/MariaDB, SQLite, DuckDB, MongoDB and Redis.
///
/// Exit codes: 0 success, 2 error (bad input, connection or query failure).
/// Data goes to stdout; errors, warnings and progress to stderr.
#[derive(Debug, Parser)]
#[command(name = "qore", version = crate::version::text(), about, long_about = None)]
pub struct Opts {
    /// Show what happens on stderr: connects, statements, cancels,
    /// transactions (-v), and the statements' text (-vv). RUST_LOG, when
    /// set, chooses instead (e.g. RUST_LOG=qore_drivers=trace,sqlx=debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Answer yes to the safety net's confirmations (destructive statements
    /// on staging and prod); without a terminal they are refused otherwise.
    #[arg(long, global = true)]
    pub yes: bool,

    /// Let destructive and catastrophic statements through for this one
    /// invocation, prod included.
    #[arg(long, global = true)]
    pub allow_destructive: bool,

    /// Colour the output: auto (on a terminal, unless NO_COLOR is set),
    /// always, never.
    #[arg(long, global = true, value_enum, default_value_t = crate::color::ColorChoice::Auto)]
    pub color: crate::color::ColorChoice,

    /// SSH tunnel options, for any command that connects.
    #[command(flatten)]
    pub ssh: SshArgs,

    /// What to do; without a command on a terminal, `qore shell`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Reaching a server engine through SSH (the same as `ssh=...` options in
/// its URL): on any command that connects, and on `qore conn add`, which
/// saves them with the connection.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SshArgs {
    /// Reach the database through this SSH server. The URL's host and port
    /// are then the database as that server sees them (often 127.0.0.1).
    #[arg(long, global = true, value_name = "USER@HOST[:PORT]")]
    pub ssh: Option<String>,

    /// The private key to log in with (OpenSSH or PEM; Ed25519, ECDSA,
    /// RSA). An encrypted key's passphrase comes from QORE_SSH_PASSPHRASE.
    /// Without it: the agent (SSH_AUTH_SOCK).
    #[arg(long, global = true, value_name = "PATH")]
    pub ssh_key: Option<String>,

    /// Jump hosts before the SSH server, first one first (like ProxyJump).
    #[arg(long, global = true, value_name = "USER@HOST[:PORT],...")]
    pub ssh_jump: Option<String>,

    /// The known_hosts file that SSH host keys are checked against
    /// (default ~/.ssh/known_hosts).
    #[arg(long, global = true, value_name = "PATH")]
    pub ssh_known_hosts: Option<String>,

    /// Accept an SSH host that known_hosts does not list and record its key
    /// there (a changed key is refused all the same).
    #[arg(long, global = true)]
    pub ssh_accept_new: bool,
}

impl SshArgs {
    /// The URL options these flags stand for.
    pub fn url_options(&self) -> Vec<(String, String)> {
        let mut o = Vec::new();
        for (k, v) in [("ssh", &self.ssh), ("ssh_key", &self.ssh_key), ("ssh_jump", &self.ssh_jump), ("ssh_known_hosts", &self.ssh_known_hosts)] {
            if let Some(v) = v {
                o.push((k.to_string(), v.clone()));
            }
        }
        if self.ssh_accept_new {
            o.push(("ssh_accept_new".into(), "true".into()));
        }
        o
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table that fits the terminal, with structure indicators in the header.
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Where to connect.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArg {
    /// A connection URL (duckdb:, sqlite:PATH, postgres://...), a path to a
    /// .duckdb/.db/.sqlite file, the name of a saved connection, or
    /// snapshot:NAME (a saved result, as a table NAME).
    /// Defaults to $QORE_DB, else an in-memory DuckDB.
    #[arg(long, short = 'd', env = "QORE_DB")]
    pub db: Option<String>,
}

/// An engine, for `qore check --engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
    /// SQLite.
    Sqlite,
    /// DuckDB.
    Duckdb,
    /// MongoDB.
    Mongodb,
    /// Redis.
    Redis,
}

impl From<EngineArg> for qore_core::Engine {
    fn from(e: EngineArg) -> Self {
        match e {
            EngineArg::Postgres => qore_core::Engine::Postgres,
            EngineArg::Mysql => qore_core::Engine::MySql,
            EngineArg::Sqlite => qore_core::Engine::Sqlite,
            EngineArg::Duckdb => qore_core::Engine::DuckDb,
            EngineArg::Mongodb => qore_core::Engine::MongoDb,
            EngineArg::Redis => qore_core::Engine::Redis,
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// An interactive SQL shell (plain `qore` on a terminal starts it):
    /// history per connection, completion of keywords, tables and columns,
    /// backslash commands (`\?` lists them), transactions across
    /// statements, Ctrl-C cancels the running statement.
    Shell {
        /// Where to connect.
        #[command(flatten)]
        db: DbArg,
    },
    /// Run SQL and print the result.
    Query {
        /// Where to connect.
        #[command(flatten)]
        db: DbArg,
        /// The SQL; several statements separated by `;` run in order and the
        /// last one's rows are printed. Read from stdin when absent.
        sql: Option<String>,
        /// Read the SQL from a file.
        #[arg(long, short = 'f', conflicts_with = "sql")]
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Table format only: rows to show (0 = all). Other formats print every row.
        #[arg(long, default_value_t = 1000)]
        max_rows: usize,
        /// Print each statement's figures on stderr: time to the first
        /// batch, total time, rows, bytes, batches.
        #[arg(long)]
        profile: bool,
        /// Table format: one block of `column | value` lines per row, every
        /// value whole (for wide rows).
        #[arg(long, short = 'x')]
        expanded: bool,
    },
    /// List namespaces, tables and views with row counts.
    Ls {
        /// Where to connect.
        #[command(flatten)]
        db: DbArg,
        /// Only this namespace (schema, database, attached file). For Redis:
        /// a key pattern (`user:*`); keys are listed with SCAN, never KEYS.
        namespace: Option<String>,
        /// Redis only: list keys of this type (string, hash, list, set, zset, stream).
        #[arg(long = "type")]
        key_type: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Table format only: rows to show (0 = all).
        #[arg(long, default_value_t = 1000)]
        max_rows: usize,
    },
    /// Export a query or a table to a file, streaming, in any format.
    ///
    /// The file is written under a temporary name and renamed when complete:
    /// a failed or interrupted export (Ctrl-C) leaves no partial file.
    Export(ExportArgs),
    /// Background jobs: submit, list, show, follow, cancel, retry, remove.
    ///
    /// Jobs live in a store (an SQLite file by default, or PostgreSQL for a
    /// queue shared by several machines) and survive a crash: an export
    /// resumes from its last checkpoint with the same bytes.
    Job {
        /// What to do.
        #[command(subcommand)]
        action: crate::opts_jobs::JobAction,
    },
    /// Run background jobs until Ctrl-C (running jobs stop at their next
    /// checkpoint and go back to the queue).
    Worker(crate::opts_jobs::WorkerArgs),
    /// Show a table's columns with indicators, then its indexes and constraints.
    Describe {
        /// Where to connect.
        #[command(flatten)]
        db: DbArg,
        /// Table name, `name` or `namespace.name` (double-quote parts with dots).
        table: String,
        /// Output format (json prints the whole structure as one document).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Manage saved connections (never stores a password).
    Conn {
        /// What to do with saved connections.
        #[command(subcommand)]
        action: ConnAction,
    },
    /// Classify statements with the safety net without running them: prints
    /// JSON (verdict, kind, findings with their rules, each statement) and
    /// exits 0 whatever the verdict.
    Check {
        /// Read the statements as this connection's engine would (nothing is
        /// opened; a saved connection's password is not asked for).
        #[command(flatten)]
        db: DbArg,
        /// Read them in this engine's dialect instead.
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        /// The statements. Read from stdin when absent.
        sql: Option<String>,
        /// Read the statements from a file.
        #[arg(long, short = 'f', conflicts_with = "sql")]
        file: Option<PathBuf>,
    },
    /// Show the audit log (one record per statement run through qore:
    /// decision, outcome, rows, time; never a password). $QORE_AUDIT_LOG
    /// names another file, or `off`.
    Audit {
        /// Only the last N records.
        #[arg(long)]
        tail: Option<usize>,
        /// Only records at or after this time (RFC 3339 prefix, UTC:
        /// `2026-11-30`, `2026-11-30T14:00`).
        #[arg(long)]
        since: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Edit one row: set cells of the row a key names, insert a row, or
    /// delete one; written at once (with a check that nobody changed the
    /// row since it was read), or recorded in a sandbox.
    Edit(crate::opts_edit::EditArgs),
    /// Sandboxes: local changes, their migration script, apply, discard.
    Sandbox {
        /// What to do.
        #[command(subcommand)]
        action: crate::opts_edit::SandboxAction,
    },
    /// Show the row a foreign key (real or virtual) points to, or the rows
    /// that point to a row.
    Peek(crate::opts_edit::PeekArgs),
    /// Compare two tables or query results, on any engines and servers:
    /// exit 0 when equal, 1 when different, 2 on error.
    Diff(Box<crate::opts_diff::DiffArgs>),
    /// Draw the ER diagram of a namespace: SVG, PNG, an interactive HTML
    /// page, Mermaid, DOT, PlantUML or DBML.
    Erd(Box<crate::erd::ErdArgs>),
    /// Virtual relations: foreign keys the database does not enforce.
    Relation {
        /// What to do.
        #[command(subcommand)]
        action: crate::opts_edit::RelationAction,
    },
    /// Save results as snapshots and look at them later: `qore snapshot save
    /// NAME [--db ...] (SQL | --table T)`, `ls`, `show NAME`, `rm NAME`,
    /// `export NAME -o FILE`. Snapshots live in $XDG_DATA_HOME/qore/snapshots
    /// (a NAME holding a `/` or ending in .arrow is a path instead).
    Snapshot {
        /// What to do.
        #[command(subcommand)]
        action: SnapshotAction,
    },
    /// Share a result as one encrypted HTML page that opens in a browser
    /// with the key in the link (`#k=...`, never sent to a server):
    /// `qore share [--db ...] (SQL | --table T | --snapshot NAME) -o FILE
    /// [--passphrase] [--expires 7d] [--upload TARGET]`. Prints the link.
    Share(Box<crate::share::ShareArgs>),
    /// Find a string anywhere in a database: every table and column, pushed
    /// down to the engine, several tables at once; exit 1 when nothing is found.
    Search(Box<crate::search::SearchArgs>),
    /// Maintenance: what can run here (`ops`), run one (`run`, `--dry-run`
    /// prints the SQL), size and health figures (`figures`).
    Admin {
        /// What to do.
        #[command(subcommand)]
        action: crate::admin::AdminAction,
    },
    /// Stored routines: functions, procedures, aggregates; DuckDB macros.
    Routine {
        /// What to do.
        #[command(subcommand)]
        action: crate::admin::ObjectAction,
    },
    /// Triggers (PostgreSQL event triggers too).
    Trigger {
        /// What to do.
        #[command(subcommand)]
        action: crate::admin::ObjectAction,
    },
    /// Scheduled events (MariaDB/MySQL) and the event scheduler.
    Event {
        /// What to do.
        #[command(subcommand)]
        action: crate::admin::ObjectAction,
    },
    /// Print a completion script for a shell: `source <(qore completions bash)`,
    /// `qore completions zsh > ~/.zfunc/_qore`, `qore completions fish | source`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a
    /// directory (`qore man --dir /usr/local/share/man/man1`).
    Man {
        /// Write qore.1 and qore-COMMAND.1 there instead of printing qore.1.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write the sample shop database (SQLite, or DuckDB with --duckdb).
    Demo {
        /// Where to write it (default: qore-demo.db, or qore-demo.duckdb with --duckdb).
        path: Option<PathBuf>,
        /// Write a DuckDB database instead of SQLite.
        #[arg(long)]
        duckdb: bool,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// `qore conn` actions.
#[derive(Debug, Subcommand)]
pub enum ConnAction {
    /// Save a connection under a name. A password in the URL is not saved:
    /// set QORE_PASSWORD_<NAME> or answer the prompt when connecting.
    Add {
        /// Name to save it under (letters, digits, `-`, `_`).
        name: String,
        /// Connection URL.
        url: String,
        /// Environment label: dev, staging or prod.
        #[arg(long, default_value = "dev")]
        env: qore_core::Environment,
        /// Open it read-only: the engine refuses writes (SQL engines).
        #[arg(long)]
        read_only: bool,
        /// Replace an existing connection of that name.
        #[arg(long)]
        force: bool,
    },
    /// List saved connections.
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove a saved connection.
    Rm {
        /// Its name.
        name: String,
    },
    /// Open a connection (a saved name, a URL, or a file) and report each
    /// step: the SSH tunnel's hops and time, the time to connect, ping
    /// latency, TLS, the server's version and the session's id.
    Test {
        /// A saved connection's name, a URL or a file path.
        name: String,
        /// How many pings to time.
        #[arg(long, default_value_t = 5)]
        pings: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Options of `qore export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Where to connect.
    #[command(flatten)]
    pub db: DbArg,
    /// The SQL whose rows to export (or --table).
    pub sql: Option<String>,
    /// Export a whole table (`name` or `schema.name`).
    #[arg(long, short = 't', conflicts_with = "sql")]
    pub table: Option<String>,
    /// Output file; `-` for standard output.
    #[arg(long, short = 'o')]
    pub output: String,
    /// csv, tsv, json, ndjson, parquet, arrow (IPC file), arrows (IPC
    /// stream), sql, html. Default: from the file extension.
    #[arg(long)]
    pub format: Option<String>,
    /// Parquet compression: zstd (default), snappy, none.
    #[arg(long, default_value = "zstd")]
    pub compression: String,
    /// SQL format: the table the INSERTs target (default: --table's).
    #[arg(long)]
    pub sql_table: Option<String>,
    /// SQL format: start with a CREATE TABLE from the result's schema.
    #[arg(long)]
    pub create_table: bool,
    /// SQL format: rows per INSERT statement.
    #[arg(long, default_value_t = 500)]
    pub rows_per_insert: usize,
    /// HTML format: the page title.
    #[arg(long)]
    pub title: Option<String>,
    /// HTML format: leave the query and the source connection out of the
    /// page (by default both are shown, the URL without its password).
    #[arg(long)]
    pub no_source: bool,
    /// No progress bar and no summary line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Submit it as a background job instead (prints the job id; `qore
    /// worker` runs it, resumable from its checkpoints).
    #[arg(long)]
    pub background: bool,
}

/// `qore snapshot` actions.
#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Run SQL (or read a table) and save its result as snapshot NAME.
    Save {
        /// The snapshot's name (letters, digits, _ - .), or a path to a .arrow file.
        name: String,
        /// Where to connect.
        #[command(flatten)]
        db: DbArg,
        /// The statement whose result to save.
        sql: Option<String>,
        /// Save a whole table instead (with its structure indicators).
        #[arg(long, conflicts_with = "sql")]
        table: Option<String>,
        /// Replace a snapshot of that name.
        #[arg(long)]
        force: bool,
    },
    /// List the snapshots: name, rows, size, when, engine, source, query.
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show a snapshot's metadata, columns and first rows.
    Show {
        /// The snapshot.
        name: String,
        /// Rows to show.
        #[arg(long, default_value_t = 10)]
        rows: usize,
    },
    /// Remove a snapshot.
    Rm {
        /// The snapshot.
        name: String,
    },
    /// Write a snapshot in any format of `qore export` (from the file's
    /// extension, or --format).
    Export {
        /// The snapshot.
        name: String,
        /// The file to write (`-`: stdout).
        #[arg(short, long)]
        output: String,
        /// csv, tsv, json, ndjson, parquet, arrow, arrows, xlsx, html, sql ...
        #[arg(long)]
        format: Option<String>,
    },
}

