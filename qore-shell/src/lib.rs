//! QoreDB's interactive session, without a terminal: what the `qore shell`
//! and a GUI's SQL editor share.
//!
//! - [`input`]: where a statement ends (SQL `;` with compound bodies kept
//!   whole, MongoDB brackets, Redis lines) and backslash command lines.
//! - [`meta`]: the backslash commands (`\d`, `\dt`, `\x`, `\set`, ...),
//!   parsed apart from running them.
//! - [`vars`]: `:NAME`, `:'NAME'`, `:"NAME"` substitution, quoted by the
//!   engine's dialect.
//! - [`complete`]: completion from the catalog, cached, never waiting on a
//!   server during a keypress.
//! - [`highlight`]: syntax classes by the engine's lexical rules.
//! - [`listing`]: catalog listings as Arrow.
//!
//! A [`Shell`] runs [`Step`]s on one session and tracks what psql's prompt
//! shows: whether a transaction is open or failed. What to draw and how is
//! the frontend's business: every outcome is data (Arrow, table details,
//! messages) or an [`Outcome`] asking the frontend to act (connect, edit).
//!
//! # Example
//!
//! ```
//! use qore_shell::{Outcome, Shell, TxState};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = qore_drivers::connect("sqlite::memory:").await?;
//! let mut shell = Shell::new(db, "memory".into(), vec![]);
//! let (steps, rest) = shell.feed("create table t(id integer primary key, name text);\nbegin;\ninsert into t values (1, 'a');");
//! assert!(rest.is_empty());
//! for step in &steps {
//!     shell.run(step).await?;
//! }
//! assert_eq!(shell.transaction(), TxState::Open);
//! let (steps, _) = shell.feed("rollback;");
//! shell.run(&steps[0]).await?;
//! assert_eq!(shell.transaction(), TxState::Idle);
//! // Completion answers from a cache that `load` fills.
//! let completer = shell.completer();
//! let text = "select * from t";
//! completer.load(&completer.needs(text, text.len())).await?;
//! assert_eq!(completer.complete(text, text.len())[0].value, "t");
//! # Ok::<(), qore_core::Error>(())
//! # }).unwrap();
//! ```

pub mod complete;
pub mod highlight;
pub mod input;
pub mod listing;
pub mod meta;
pub mod vars;
mod words;
mod tracked;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::RecordBatch;
use futures::StreamExt;
use qore_core::read::Source;
use qore_core::{ConnectionRef, Engine, Error, Result, SendableRecordBatchStream, TableDetails, TableKind, TableRef};
use qore_safety::Kind;

pub use complete::{Completer, Needs, Suggestion, SuggestionKind};
pub use input::{Step, Syntax, is_complete};
pub use meta::{Expanded, Meta, OutputFormat};
pub use vars::Variables;

/// Where the session's transaction stands, as the prompt shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxState {
    /// No transaction: each statement commits on its own.
    #[default]
    Idle,
    /// Inside BEGIN ... COMMIT.
    Open,
    /// A statement failed inside the transaction and the engine refuses
    /// everything but ROLLBACK (PostgreSQL, DuckDB).
    Failed,
}

/// How results are shown; the frontend reads these, the backslash
/// commands change them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `\x`.
    pub expanded: Expanded,
    /// `\timing`.
    pub timing: bool,
    /// `\format`.
    pub format: OutputFormat,
    /// `\o FILE`: results go to this file instead of the screen.
    pub output: Option<PathBuf>,
}

/// What running a step gave.
#[allow(missing_debug_implementations)]
pub enum Outcome {
    /// Rows to show; consume the stream to the end (dropping it cancels the
    /// statement on the server).
    Rows(SendableRecordBatchStream),
    /// A write's count: `UPDATE 9` (verb empty when it has none).
    Written {
        /// INSERT, UPDATE, DELETE, MERGE, REPLACE or "".
        verb: &'static str,
        /// Rows affected.
        rows: u64,
    },
    /// A statement without rows or count (DDL, BEGIN, SET).
    Done,
    /// `\d NAME`: the table's structure.
    Table(Box<TableDetails>),
    /// A catalog listing.
    Listing(RecordBatch),
    /// A message for the user (a setting changed, help).
    Message(String),
    /// `\c TARGET`: open it, then [`Shell::reconnect`].
    Connect(String),
    /// `\e`: let the user edit this text, then [`feed`](Shell::feed) it back.
    Edit(String),
    /// `\i FILE`: these steps, to run in order (stop at the first error).
    Run(Vec<Step>),
    /// `\export FILE` done.
    Exported(qore_export::Summary),
    /// `\q`.
    Quit,
}

/// One interactive session on one connection.
pub struct Shell {
    conn: ConnectionRef,
    label: String,
    syntax: Syntax,
    settings: Settings,
    vars: Variables,
    tx: Arc<Mutex<TxState>>,
    completer: Completer,
    connections: Vec<String>,
    last: Option<String>,
    buffer: String,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("label", &self.label)
            .field("engine", &self.conn.engine())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Shell {
    /// A shell on `conn`; `label` names it in the prompt (a saved
    /// connection's name, or the database); `connections` are the saved
    /// names `\c` completes.
    pub fn new(conn: ConnectionRef, label: String, connections: Vec<String>) -> Shell {
        let completer = Completer::new(conn.clone(), connections.clone());
        Shell {
            syntax: Syntax::of(conn.engine()),
            conn,
            label,
            settings: Settings::default(),
            vars: Variables::default(),
            tx: Arc::default(),
            completer,
            connections,
            last: None,
            buffer: String::new(),
        }
    }

    /// The session.
    pub fn connection(&self) -> &ConnectionRef {
        &self.conn
    }

    /// The prompt's name for this session.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// How input is written on this engine.
    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// The display settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The variables.
    pub fn variables(&self) -> &Variables {
        &self.vars
    }

    /// The transaction state.
    pub fn transaction(&self) -> TxState {
        *self.tx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A completer sharing this session's cache (it follows `\c`: ask again
    /// after [`reconnect`](Shell::reconnect)).
    pub fn completer(&self) -> Completer {
        self.completer.clone()
    }

    /// The last statement run, for `\e` and `\export`.
    pub fn last_statement(&self) -> Option<&str> {
        self.last.as_deref()
    }

    /// Switches to another session (after [`Outcome::Connect`]); settings
    /// and variables stay, the transaction state and caches start afresh.
    pub fn reconnect(&mut self, conn: ConnectionRef, label: String) {
        let vars = std::mem::take(&mut self.vars);
        let settings = std::mem::take(&mut self.settings);
        *self = Shell::new(conn, label, std::mem::take(&mut self.connections));
        self.vars = vars;
        self.settings = settings;
        self.completer.set_variables(self.vars.names().map(str::to_string).collect());
    }

    /// Adds typed text (one line or many) to the input; returns the steps
    /// it completes and what is still pending (shown as a continuation).
    pub fn feed(&mut self, text: &str) -> (Vec<Step>, String) {
        let mut all = std::mem::take(&mut self.buffer);
        if !all.is_empty() && !all.ends_with('\n') {
            all.push('\n');
        }
        all.push_str(text);
        let (steps, rest) = input::steps(&all, self.syntax);
        self.buffer = if rest.trim().is_empty() { String::new() } else { rest.clone() };
        (steps, rest)
    }

    /// Whether unfinished input waits for more (the prompt shows `->`).
    pub fn pending(&self) -> bool {
        !self.buffer.trim().is_empty()
    }

    /// Drops pending input (Ctrl-C at a continuation prompt).
    pub fn clear_input(&mut self) {
        self.buffer.clear();
    }

    /// Runs one step.
    ///
    /// # Error handling
    ///
    /// The statement's or command's error; the shell stays usable (a
    /// failed statement inside a PostgreSQL or DuckDB transaction turns
    /// the state to [`TxState::Failed`]).
    pub async fn run(&mut self, step: &Step) -> Result<Outcome> {
        match step {
            Step::Statement(sql) => self.statement(sql).await,
            Step::Meta(line) => self.meta(&meta::parse(line)?).await,
        }
    }

    async fn statement(&mut self, sql: &str) -> Result<Outcome> {
        let sql = match self.syntax {
            Syntax::Sql(flavor) => self.vars.substitute(sql, flavor, self.conn.dialect().as_deref())?,
            _ => sql.to_string(),
        };
        self.last = Some(sql.clone());
        let engine = self.conn.engine();
        let kind = qore_safety::classify(engine, &sql).kind;
        let recorder = tracked::Recorder::new(self.tx.clone(), engine, kind, &sql);
        if kind == Kind::Ddl {
            self.completer.invalidate();
        }
        let annotate = self.settings.format == OutputFormat::Table;
        let result = run_statement(&self.conn, &sql, kind, annotate).await;
        match result {
            Ok(Outcome::Rows(stream)) => Ok(Outcome::Rows(Box::pin(tracked::Tracked::new(stream, recorder)))),
            Ok(o) => {
                recorder.finished(true);
                Ok(o)
            }
            Err(e) => {
                recorder.finished(false);
                Err(e)
            }
        }
    }

    fn catalog(&self) -> Result<&dyn qore_core::Catalog> {
        self.conn
            .catalog()
            .ok_or_else(|| Error::NotSupported(format!("{} has no catalog to list", self.conn.engine())))
    }

    /// Runs one backslash command.
    ///
    /// # Error handling
    ///
    /// A clear error for a command this engine cannot answer, a missing
    /// file, or a table that does not exist.
    pub async fn meta(&mut self, m: &Meta) -> Result<Outcome> {
        use listing::{Filter, Namespaces};
        let tables = |kinds: &[TableKind], pattern: &Option<String>| Filter {
            kinds: kinds.to_vec(),
            pattern: pattern.clone(),
        };
        let on = |b: bool| if b { "on" } else { "off" };
        Ok(match m {
            Meta::Describe(Some(name)) => {
                let t = TableRef::parse(name)?;
                Outcome::Table(Box::new(self.catalog()?.table(&t).await?))
            }
            Meta::Describe(None) => {
                Outcome::Listing(listing::relations(self.catalog()?, &Namespaces::Default, &Filter::default()).await?)
            }
            Meta::Tables(p) => Outcome::Listing(
                listing::relations(
                    self.catalog()?,
                    &Namespaces::Default,
                    &tables(
                        &[TableKind::Table, TableKind::PartitionedTable, TableKind::ForeignTable, TableKind::Collection],
                        p,
                    ),
                )
                .await?,
            ),
            Meta::Views(p) => Outcome::Listing(
                listing::relations(
                    self.catalog()?,
                    &Namespaces::Default,
                    &tables(&[TableKind::View, TableKind::MaterializedView], p),
                )
                .await?,
            ),
            Meta::Indexes(p) => Outcome::Listing(listing::indexes(self.catalog()?, p.as_deref()).await?),
            Meta::Functions(p) => {
                let admin = self.conn.admin().ok_or_else(|| {
                    Error::NotSupported(format!("{} has no routines to list", self.conn.engine()))
                })?;
                let routines: Vec<_> = admin
                    .objects(qore_core::admin::ObjectClass::Routine, None)
                    .await?
                    .into_iter()
                    .filter(|r| p.as_deref().is_none_or(|p| qore_core::glob::glob_match(p, &r.name)))
                    .collect();
                Outcome::Listing(qore_core::admin::objects_batch(&routines)?)
            }
            Meta::Namespaces => Outcome::Listing(listing::namespaces(self.catalog()?, false).await?),
            Meta::Databases => Outcome::Listing(listing::namespaces(self.catalog()?, true).await?),
            Meta::Connect(target) => {
                if self.transaction() != TxState::Idle {
                    return Err(Error::invalid(
                        "a transaction is open: COMMIT or ROLLBACK before \\c (switching would roll it back)",
                    ));
                }
                Outcome::Connect(target.clone())
            }
            Meta::Expanded(mode) => {
                self.settings.expanded = mode.unwrap_or(match self.settings.expanded {
                    Expanded::Off => Expanded::On,
                    _ => Expanded::Off,
                });
                Outcome::Message(format!("Expanded display is {}.", self.settings.expanded.name()))
            }
            Meta::Timing(t) => {
                self.settings.timing = t.unwrap_or(!self.settings.timing);
                Outcome::Message(format!("Timing is {}.", on(self.settings.timing)))
            }
            Meta::Format(None) => Outcome::Message(format!("Output format is {}.", self.settings.format.name())),
            Meta::Format(Some(f)) => {
                self.settings.format = *f;
                Outcome::Message(format!("Output format is {}.", f.name()))
            }
            Meta::Output(path) => {
                if let Some(p) = path {
                    // Fail now, not at the next result.
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(p)
                        .map_err(|e| Error::io(format!("cannot write results to {}", p.display()), e))?;
                }
                self.settings.output = path.clone();
                Outcome::Message(match path {
                    Some(p) => format!("Results go to {}.", p.display()),
                    None => "Results go to the screen.".into(),
                })
            }
            Meta::Edit => Outcome::Edit(if self.buffer.trim().is_empty() {
                self.last.clone().map(|s| format!("{s};")).unwrap_or_default()
            } else {
                std::mem::take(&mut self.buffer)
            }),
            Meta::Include(path) => Outcome::Run(self.script(path)?),
            Meta::Set(None) => Outcome::Message(
                self.vars.iter().map(|(k, v)| format!("{k} = '{v}'\n")).collect::<String>(),
            ),
            Meta::Set(Some((name, value))) => {
                self.vars.set(name, value)?;
                self.completer.set_variables(self.vars.names().map(str::to_string).collect());
                Outcome::Done
            }
            Meta::Unset(name) => {
                if !self.vars.unset(name) {
                    return Err(Error::NotFound(format!("variable `{name}`")));
                }
                self.completer.set_variables(self.vars.names().map(str::to_string).collect());
                Outcome::Done
            }
            Meta::Export(path) => Outcome::Exported(self.export_last(path).await?),
            Meta::Quit => Outcome::Quit,
            Meta::Help => Outcome::Message(meta::help()),
        })
    }

    /// The steps of a script file.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] naming the file; an unfinished last statement is an
    /// error rather than silently skipped.
    pub fn script(&self, path: &Path) -> Result<Vec<Step>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read script {}", path.display()), e))?;
        let (mut steps, rest) = input::steps(&text, self.syntax);
        if !rest.trim().is_empty() {
            // A script's last statement may leave out its `;`.
            if input::is_open_literal(&rest, self.syntax) {
                return Err(Error::invalid(format!(
                    "{} ends inside a string or comment: {}",
                    path.display(),
                    rest.trim().chars().take(60).collect::<String>()
                )));
            }
            steps.push(Step::Statement(rest.trim().to_string()));
        }
        Ok(steps)
    }

    /// Runs the last statement again into `path`, in the format its
    /// extension names, through the export pipeline (streamed, written to
    /// a temporary file and renamed, so a failure leaves nothing behind).
    ///
    /// # Error handling
    ///
    /// An error when there is no last statement, when it was not a read
    /// (running it again would write again), or when the extension names
    /// no format.
    pub async fn export_last(&self, path: &Path) -> Result<qore_export::Summary> {
        let Some(sql) = self.last.as_deref() else {
            return Err(Error::invalid("nothing to export yet: run a query first"));
        };
        let kind = qore_safety::classify(self.conn.engine(), sql).kind;
        if kind != Kind::Read && !matches!(self.conn.engine(), Engine::MongoDb | Engine::Redis) {
            return Err(Error::invalid(
                "\\export runs the last statement again, and it was not a query: export a SELECT",
            ));
        }
        let format = qore_export::Format::from_path(path).ok_or_else(|| {
            Error::invalid(format!(
                "cannot tell the format from `{}`: use an extension such as .csv, .parquet, .json, .html",
                path.display()
            ))
        })?;
        let mut options = qore_export::ExportOptions::new(format);
        if format == qore_export::Format::Sql {
            let table = qore_core::sql::single_table_source(sql).ok_or_else(|| {
                Error::invalid("a .sql export needs a statement that reads one table (the INSERTs target it)")
            })?;
            let dialect = self
                .conn
                .dialect()
                .ok_or_else(|| Error::NotSupported(format!("{} speaks no SQL", self.conn.engine())))?;
            options.sql = qore_export::sql_options(table, dialect);
        }
        let opened = qore_core::read::open(&*self.conn, &Source::Statement(sql.to_string()), true).await?;
        options.html.query = Some(sql.to_string());
        qore_export::export_to_path(opened.stream, path, &options, |_| {}).await
    }
}

/// Runs one statement the way a person reading the answer wants it: a
/// write without `RETURNING` as a command with its count (`UPDATE 9`),
/// structure and transaction control as commands (`OK`; DuckDB would
/// answer them with an empty `Success` column), anything else as rows,
/// with the structure indicators of its table when `annotate`. `kind` is
/// the statement's classification (`qore_safety::classify`).
///
/// # Error handling
///
/// The engine's error; a statement without columns is drained, so its
/// error (if any) is this call's.
pub async fn run_statement(conn: &ConnectionRef, sql: &str, kind: Kind, annotate: bool) -> Result<Outcome> {
    let engine = conn.engine();
    if let Some(verb) = qore_safety::row_write_verb(engine, sql) {
        let n = conn.execute(sql, &[]).await?.rows_affected;
        return Ok(Outcome::Written { verb, rows: n });
    }
    if matches!(kind, Kind::Ddl | Kind::TransactionControl) && !matches!(engine, Engine::MongoDb | Engine::Redis) {
        conn.execute(sql, &[]).await?;
        return Ok(Outcome::Done);
    }
    let mut stream = qore_core::read::open(&**conn, &Source::Statement(sql.to_string()), annotate)
        .await?
        .stream;
    if stream.schema().fields().is_empty() {
        while let Some(b) = stream.next().await {
            b?;
        }
        return Ok(Outcome::Done);
    }
    Ok(Outcome::Rows(stream))
}
