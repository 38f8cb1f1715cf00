//! The administration facet: maintenance operations, routines, triggers
//! and scheduled events.
//!
//! An engine's [`Admin`] only *reads* (what can run here, definitions,
//! figures) and *plans* (the exact statements an operation or an edit
//! runs). Every plan is then run by [`run`] through the session the caller
//! holds, so a decorator around that session (the safety net, the audit
//! log) sees every statement: an admin action cannot go around the
//! interceptor, and a preview (`--dry-run`) shows exactly what would run.
//!
//! Editing a routine, trigger or event never loses it: engines with
//! transactional DDL (PostgreSQL, SQLite, DuckDB) drop and recreate in one
//! transaction; MariaDB uses `CREATE OR REPLACE`, which checks the new
//! definition and the privileges before it touches the old one; engines
//! with neither validate the new body under a temporary name first and,
//! should the swap fail, put the saved definition back
//! ([`Plan::restore`]).

mod create;

pub use create::{Create, read_create};

use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use futures::TryStreamExt;
use std::sync::Arc;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::schema::TableRef;
use crate::stream::SendableRecordBatchStream;
use crate::value::Value;

/// The classes of schema objects the facet manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectClass {
    /// Functions, procedures, aggregates; DuckDB macros.
    Routine,
    /// Table triggers; PostgreSQL event triggers too.
    Trigger,
    /// Scheduled events (MariaDB/MySQL).
    Event,
}

impl ObjectClass {
    /// The class's name in messages and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ObjectClass::Routine => "routine",
            ObjectClass::Trigger => "trigger",
            ObjectClass::Event => "event",
        }
    }
}

/// Names one schema object: `[namespace.]name`, with the argument types
/// that tell PostgreSQL overloads apart and the table a PostgreSQL trigger
/// belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    /// Schema or database; `None` for the current one.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
    /// Argument types, `(integer, text)`, for an overloaded routine.
    pub signature: Option<String>,
    /// The table of a trigger (needed where trigger names are per table).
    pub table: Option<String>,
}

impl ObjectRef {
    /// Parses `name`, `namespace.name` or `name(argtypes)`; double quotes or
    /// backticks keep dots in a name.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an empty name or an unclosed `(`.
    pub fn parse(input: &str) -> Result<ObjectRef> {
        let input = input.trim();
        let (head, signature) = match input.find('(') {
            Some(open) if !inside_quotes(input, open) => {
                if !input.ends_with(')') {
                    return Err(Error::invalid(format!(
                        "`{input}`: the argument list is not closed with `)`"
                    )));
                }
                (&input[..open], Some(input[open..].to_string()))
            }
            _ => (input, None),
        };
        let table = TableRef::parse(head.trim())
            .map_err(|_| Error::invalid(format!("`{input}` is not an object name")))?;
        Ok(ObjectRef {
            namespace: table.namespace,
            name: table.name,
            signature,
            table: None,
        })
    }

    /// `namespace.name(signature)` for messages.
    pub fn display(&self) -> String {
        let mut s = match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.name),
            None => self.name.clone(),
        };
        if let Some(sig) = &self.signature {
            s.push_str(sig);
        }
        if let Some(t) = &self.table {
            s.push_str(" on ");
            s.push_str(t);
        }
        s
    }
}

fn inside_quotes(s: &str, at: usize) -> bool {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        if i == at {
            return quote.is_some();
        }
        match (quote, c) {
            (None, '"' | '`') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    false
}

/// One routine, trigger or event as the engine's catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectInfo {
    /// Schema or database.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// function, procedure, aggregate, window, macro, table macro, trigger,
    /// event trigger, event.
    pub kind: String,
    /// Routines: the arguments with their modes and types
    /// (`(IN a integer, OUT b text)`).
    pub arguments: Option<String>,
    /// Routines: the result type.
    pub returns: Option<String>,
    /// Routines: the language (sql, plpgsql, ...).
    pub language: Option<String>,
    /// Triggers: the table.
    pub table: Option<String>,
    /// Triggers: BEFORE, AFTER, INSTEAD OF.
    pub timing: Option<String>,
    /// Triggers: the events (`INSERT OR UPDATE`); event triggers: the DDL
    /// event.
    pub events: Option<String>,
    /// Events: the schedule (`EVERY 1 HOUR STARTS ...`, `AT ...`).
    pub schedule: Option<String>,
    /// Whether it fires; `None` where the engine has no such state.
    pub enabled: Option<bool>,
    /// The engine's own word for its state (PostgreSQL `origin`/`replica`/
    /// `always`/`disabled`, MariaDB `SLAVESIDE_DISABLED`, ...).
    pub status: Option<String>,
    /// Events: when it last ran.
    pub last_executed: Option<String>,
    /// Owner or definer.
    pub owner: Option<String>,
}

impl ObjectInfo {
    /// A routine from a catalog row of seven cells: namespace, name, kind,
    /// arguments (without parentheses), result type, language, owner.
    pub fn routine_from_row(r: &[Value]) -> ObjectInfo {
        let cell = |i: usize| r.get(i).and_then(text);
        ObjectInfo {
            namespace: cell(0),
            name: cell(1).unwrap_or_default(),
            kind: cell(2).unwrap_or_default(),
            arguments: Some(format!("({})", cell(3).unwrap_or_default())),
            returns: cell(4),
            language: cell(5),
            owner: cell(6),
            ..ObjectInfo::default()
        }
    }

    /// The reference that names this object for the other calls.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            signature: None,
            table: self.table.clone(),
        }
    }
}

/// The schema of [`objects_batch`].
pub fn objects_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        s("namespace"),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        s("arguments"),
        s("returns"),
        s("language"),
        s("table"),
        s("timing"),
        s("events"),
        s("schedule"),
        Field::new("enabled", DataType::Boolean, true),
        s("status"),
        s("last_executed"),
        s("owner"),
    ]))
}

/// Objects as one Arrow batch (the same columns whatever the class; the
/// ones a class does not use are null), for a grid or any writer.
///
/// # Error handling
///
/// Never fails for well-formed infos; an Arrow error is passed on.
pub fn objects_batch(objects: &[ObjectInfo]) -> Result<RecordBatch> {
    let col = |f: &dyn Fn(&ObjectInfo) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from_iter(objects.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        col(&|o| o.namespace.as_deref()),
        col(&|o| Some(o.name.as_str())),
        col(&|o| Some(o.kind.as_str())),
        col(&|o| o.arguments.as_deref()),
        col(&|o| o.returns.as_deref()),
        col(&|o| o.language.as_deref()),
        col(&|o| o.table.as_deref()),
        col(&|o| o.timing.as_deref()),
        col(&|o| o.events.as_deref()),
        col(&|o| o.schedule.as_deref()),
        Arc::new(BooleanArray::from_iter(objects.iter().map(|o| o.enabled))),
        col(&|o| o.status.as_deref()),
        col(&|o| o.last_executed.as_deref()),
        col(&|o| o.owner.as_deref()),
    ];
    Ok(RecordBatch::try_new(objects_schema(), columns)?)
}

/// A definition as the engine gives it back (`pg_get_functiondef`,
/// `SHOW CREATE`, `sqlite_schema.sql`): a statement that recreates the
/// object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The object.
    pub info: ObjectInfo,
    /// The statement, exactly as the engine returned it.
    pub sql: String,
}

/// Whether an operation works on one table or the whole database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpScope {
    /// Needs a table.
    Table,
    /// Works on the database (a table is refused).
    Database,
    /// A table when given, else the whole database.
    Either,
}

/// One option of an operation (`--option NAME[=VALUE]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpOption {
    /// Its name (`full`, `engine`, `mode`).
    pub name: String,
    /// What it does.
    pub help: String,
    /// `None`: a flag without a value; `Some(choices)`: takes a value, one
    /// of `choices` unless that list is empty.
    pub value: Option<Vec<String>>,
}

impl OpOption {
    /// A flag.
    pub fn flag(name: &str, help: &str) -> OpOption {
        OpOption { name: name.into(), help: help.into(), value: None }
    }

    /// An option with a value from `choices` (any value when empty).
    pub fn value(name: &str, help: &str, choices: &[&str]) -> OpOption {
        OpOption {
            name: name.into(),
            help: help.into(),
            value: Some(choices.iter().map(|c| c.to_string()).collect()),
        }
    }
}

/// A maintenance operation and whether it can run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Its name on the command line (`vacuum`, `optimize`, `integrity_check`).
    pub name: String,
    /// What it does, in one line.
    pub help: String,
    /// Table, database or either.
    pub scope: OpScope,
    /// Its options.
    pub options: Vec<OpOption>,
    /// Why it cannot run here (engine version, storage engine, privilege,
    /// table kind); `None` when it can.
    pub refused: Option<String>,
}

impl OpOption {
    /// `name`, `name=a|b|c` or `name=VALUE`, as `--option` takes it.
    pub fn usage(&self) -> String {
        match &self.value {
            None => self.name.clone(),
            Some(c) if c.is_empty() => format!("{}=VALUE", self.name),
            Some(c) => format!("{}={}", self.name, c.join("|")),
        }
    }
}

/// Operations as one Arrow batch: operation, scope, available, why not,
/// options (as `--option` takes them), what it does.
///
/// # Error handling
///
/// An Arrow error is passed on.
pub fn operations_batch(operations: &[Operation]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("operation", DataType::Utf8, false),
        Field::new("scope", DataType::Utf8, false),
        Field::new("available", DataType::Boolean, false),
        Field::new("refused_because", DataType::Utf8, true),
        Field::new("options", DataType::Utf8, false),
        Field::new("help", DataType::Utf8, false),
    ]));
    let scope = |s: OpScope| match s {
        OpScope::Table => "table",
        OpScope::Database => "database",
        OpScope::Either => "table or database",
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(operations.iter().map(|o| o.name.as_str()))),
        Arc::new(StringArray::from_iter_values(operations.iter().map(|o| scope(o.scope)))),
        Arc::new(BooleanArray::from_iter(operations.iter().map(|o| Some(o.refused.is_none())))),
        Arc::new(StringArray::from_iter(operations.iter().map(|o| o.refused.as_deref()))),
        Arc::new(StringArray::from_iter_values(
            operations.iter().map(|o| o.options.iter().map(OpOption::usage).collect::<Vec<_>>().join(", ")),
        )),
        Arc::new(StringArray::from_iter_values(operations.iter().map(|o| o.help.as_str()))),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

impl Operation {
    /// An operation; `refused` says why it cannot run here, if it cannot.
    pub fn new(name: &str, help: &str, scope: OpScope, options: Vec<OpOption>, refused: Option<String>) -> Operation {
        Operation { name: name.into(), help: help.into(), scope, options, refused }
    }
}

/// What to run: an operation, its table, its options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpRequest {
    /// The operation's name.
    pub op: String,
    /// The table, for a table operation.
    pub table: Option<TableRef>,
    /// Options as given (`name`, optional `value`).
    pub options: Vec<(String, Option<String>)>,
}

impl OpRequest {
    /// Whether flag `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    /// The value of option `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }
}

/// Checks `request` against the listed `operations`: the operation exists
/// and is not refused, the scope is right, every option is known and has
/// a value exactly when it takes one, from its choices. Engines call it
/// first in [`Admin::plan_operation`], so that an operation is refused
/// before any SQL is sent.
///
/// # Error handling
///
/// [`Error::NotSupported`] naming the reason for an operation refused
/// here or unknown to the engine; [`Error::InvalidInput`] for a wrong
/// scope or option.
pub fn check_request<'a>(operations: &'a [Operation], request: &OpRequest, engine: &str) -> Result<&'a Operation> {
    let Some(op) = operations.iter().find(|o| o.name.eq_ignore_ascii_case(&request.op)) else {
        let known: Vec<&str> = operations.iter().map(|o| o.name.as_str()).collect();
        return Err(Error::NotSupported(format!(
            "{engine} has no maintenance operation `{}` (it has: {})",
            request.op,
            known.join(", ")
        )));
    };
    if let Some(why) = &op.refused {
        return Err(Error::NotSupported(format!("`{}` cannot run here: {why}", op.name)));
    }
    match (op.scope, &request.table) {
        (OpScope::Table, None) => {
            return Err(Error::invalid(format!("`{}` works on a table: name one", op.name)));
        }
        (OpScope::Database, Some(t)) => {
            return Err(Error::invalid(format!(
                "`{}` works on the whole database, not on a table (`{}`)",
                op.name, t.name
            )));
        }
        _ => {}
    }
    for (name, value) in &request.options {
        let Some(o) = op.options.iter().find(|o| &o.name == name) else {
            let known: Vec<&str> = op.options.iter().map(|o| o.name.as_str()).collect();
            return Err(Error::invalid(format!(
                "`{}` has no option `{name}`{}",
                op.name,
                if known.is_empty() { " (it takes none)".to_string() } else { format!(" (it has: {})", known.join(", ")) }
            )));
        };
        match (&o.value, value) {
            (None, Some(v)) => {
                return Err(Error::invalid(format!("option `{name}` of `{}` is a flag: `={v}` is not allowed", op.name)));
            }
            (Some(_), None) => {
                return Err(Error::invalid(format!("option `{name}` of `{}` needs a value (`{name}=...`)", op.name)));
            }
            (Some(choices), Some(v)) if !choices.is_empty() && !choices.iter().any(|c| c.eq_ignore_ascii_case(v)) => {
                return Err(Error::invalid(format!(
                    "option `{name}` of `{}` takes {}, not `{v}`",
                    op.name,
                    choices.join(", ")
                )));
            }
            _ => {}
        }
    }
    Ok(op)
}

/// How a plan keeps the database whole when one of its statements fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atomicity {
    /// Each statement stands alone (maintenance; a single `CREATE OR
    /// REPLACE`).
    None,
    /// All statements in one transaction (engines with transactional DDL).
    Transaction,
    /// No transaction: when a statement at or after index `from` fails,
    /// run `statements` to put back what was there.
    Restore {
        /// The first statement that changes the old object.
        from: usize,
        /// What puts it back.
        statements: Vec<String>,
    },
}

/// The exact statements an admin action runs, in order: what `--dry-run`
/// prints and what [`run`] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The statements.
    pub statements: Vec<String>,
    /// How a failure part way is undone.
    pub atomicity: Atomicity,
    /// Where the engine reports the progress of these statements: a query
    /// for another session that returns `phase`, `done`, `total` (one row
    /// while they run, none otherwise). See [`run_watched`].
    pub progress: Option<String>,
}

impl Plan {
    /// One statement on its own.
    pub fn single(sql: impl Into<String>) -> Plan {
        Plan { statements: vec![sql.into()], atomicity: Atomicity::None, progress: None }
    }

    /// Several statements that run one after another.
    pub fn sequence(statements: Vec<String>) -> Plan {
        Plan { statements, atomicity: Atomicity::None, progress: None }
    }

    /// Statements that run in one transaction.
    pub fn transaction(statements: Vec<String>) -> Plan {
        Plan { statements, atomicity: Atomicity::Transaction, progress: None }
    }

    /// The same plan, with the query that reports its progress.
    pub fn with_progress(mut self, query: impl Into<String>) -> Plan {
        self.progress = Some(query.into());
        self
    }
}

/// How far a running operation is, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// The engine's name for what it is doing now (`scanning heap`,
    /// `waiting for writers before build`).
    pub phase: Option<String>,
    /// Units done (blocks, tuples: the engine's unit).
    pub done: Option<u64>,
    /// Units in all, when known.
    pub total: Option<u64>,
}

/// [`run`], and while it runs, the plan's progress query on `watcher` (a
/// second session of the same database) every `every`, each report passed
/// to `on_progress`. Without a progress query it is [`run`].
///
/// # Error handling
///
/// The plan's errors, as [`run`]. A failed progress read is skipped: it
/// does not stop the operation, and the next one is tried.
///
/// # Cancellation
///
/// Dropping the future stops the running statement (the driver cancels it
/// on the server) and the polling.
pub async fn run_watched(
    conn: &dyn Connection,
    watcher: &dyn Connection,
    plan: &Plan,
    every: Duration,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Ran> {
    let Some(query) = &plan.progress else {
        return run(conn, plan).await;
    };
    let work = run(conn, plan);
    let poll = async {
        loop {
            tokio::time::sleep(every).await;
            if let Ok(rows) = fetch_rows(watcher, query, &[]).await
                && let Some(r) = rows.first()
            {
                let number = |i: usize| r.get(i).and_then(int).and_then(|n| u64::try_from(n).ok());
                on_progress(&Progress { phase: r.first().and_then(text), done: number(1), total: number(2) });
            }
        }
    };
    futures::pin_mut!(work, poll);
    match futures::future::select(work, poll).await {
        futures::future::Either::Left((ran, _)) => ran,
        // The polling loop does not end.
        futures::future::Either::Right(_) => Err(Error::Internal("the progress polling ended".into())),
    }
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The rows the statements returned (CHECK TABLE's report, an
    /// integrity check, a routine's results); the last statement that
    /// returned columns wins. When none did, one row per statement with its
    /// time.
    pub schema: SchemaRef,
    /// Those rows.
    pub batches: Vec<RecordBatch>,
    /// Every statement with how long it took.
    pub timings: Vec<(String, Duration)>,
}

/// Rows kept from one statement's result, at most: a maintenance report or a
/// routine's result set is small, and a routine that returns more should be
/// read with a query.
pub const MAX_RESULT_ROWS: usize = 100_000;

/// Runs `plan` on `conn` (the caller's session, with its interceptors):
/// statement by statement, in one transaction when the plan says so, and
/// with the plan's restore statements when a statement fails part way.
///
/// # Error handling
///
/// The failing statement's error, with the statement named. When a restore
/// ran, the error says so; when the restore failed too, both errors are in
/// the message and the old definition is in it, so nothing is lost.
///
/// # Cancellation
///
/// Dropping the future stops the running statement (the driver cancels it
/// on the server); a transaction rolls back.
pub async fn run(conn: &dyn Connection, plan: &Plan) -> Result<Ran> {
    let mut out = Collected::default();
    match &plan.atomicity {
        Atomicity::Transaction => {
            let tx = conn.begin().await?;
            for sql in &plan.statements {
                let started = Instant::now();
                let stream = tx.query(sql, &[]).await.map_err(|e| in_statement(e, sql))?;
                out.take(sql, stream, started).await?;
            }
            tx.commit().await?;
        }
        Atomicity::None => {
            for sql in &plan.statements {
                let started = Instant::now();
                let stream = conn.query(sql, &[]).await.map_err(|e| in_statement(e, sql))?;
                out.take(sql, stream, started).await?;
            }
        }
        Atomicity::Restore { from, statements } => {
            for (i, sql) in plan.statements.iter().enumerate() {
                let started = Instant::now();
                let step = async {
                    let stream = conn.query(sql, &[]).await?;
                    out.take(sql, stream, started).await
                };
                if let Err(e) = step.await {
                    let e = in_statement(e, sql);
                    if i < *from {
                        return Err(e);
                    }
                    for r in statements {
                        if let Err(re) = conn.execute(r, &[]).await {
                            return Err(Error::Internal(format!(
                                "{e}; putting the old definition back failed too ({re}); it was:\n{}",
                                statements.join(";\n")
                            )));
                        }
                    }
                    return Err(e.context("the old definition was put back"));
                }
            }
        }
    }
    out.finish()
}

fn in_statement(e: Error, sql: &str) -> Error {
    let short: String = sql.chars().take(120).collect();
    let ellipsis = if short.len() < sql.len() { "..." } else { "" };
    e.context(format!("in `{}{ellipsis}`", short.replace('\n', " ")))
}

#[derive(Default)]
struct Collected {
    result: Option<(SchemaRef, Vec<RecordBatch>)>,
    timings: Vec<(String, Duration)>,
}

impl Collected {
    async fn take(&mut self, sql: &str, mut stream: SendableRecordBatchStream, started: Instant) -> Result<()> {
        let schema = stream.schema();
        let mut batches = Vec::new();
        let mut rows = 0;
        while let Some(b) = stream.try_next().await? {
            rows += b.num_rows();
            if rows > MAX_RESULT_ROWS {
                return Err(Error::invalid(format!(
                    "`{sql}` returned more than {MAX_RESULT_ROWS} rows; read such results with a query"
                )));
            }
            batches.push(b);
        }
        self.timings.push((sql.to_string(), started.elapsed()));
        if !schema.fields().is_empty() {
            self.result = Some((schema, batches));
        }
        Ok(())
    }

    fn finish(self) -> Result<Ran> {
        let (schema, batches) = match self.result {
            Some(r) => r,
            None => {
                let schema = Arc::new(Schema::new(vec![
                    Field::new("statement", DataType::Utf8, false),
                    Field::new("elapsed_ms", DataType::UInt64, false),
                ]));
                let statements = StringArray::from_iter_values(self.timings.iter().map(|(s, _)| s.as_str()));
                let ms = UInt64Array::from_iter_values(
                    self.timings.iter().map(|(_, d)| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                );
                let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(statements), Arc::new(ms)])?;
                (schema, vec![batch])
            }
        };
        Ok(Ran { schema, batches, timings: self.timings })
    }
}

/// The state of the engine's event scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    /// Running now.
    pub running: bool,
    /// Why it cannot be switched (disabled at server start), when it cannot.
    pub locked: Option<String>,
}

/// The administration facet of an engine. Reads and plans only; [`run`]
/// runs the plans through the caller's session.
///
/// Every method has a default that says the engine does not have it, so an
/// engine implements what it has.
#[async_trait]
pub trait Admin: Send + Sync {
    /// The engine's name for messages.
    fn admin_engine(&self) -> &'static str;

    /// Every maintenance operation of this engine for `table` (or the
    /// database), each with the reason it is refused here if it is.
    async fn operations(&self, table: Option<&TableRef>) -> Result<Vec<Operation>> {
        let _ = table;
        Err(not_here(self.admin_engine(), "maintenance operations"))
    }

    /// The statements `request` runs, after checking it with
    /// [`check_request`] against [`Admin::operations`].
    async fn plan_operation(&self, request: &OpRequest) -> Result<Plan> {
        let _ = request;
        Err(not_here(self.admin_engine(), "maintenance operations"))
    }

    /// Size and health figures of `table` or the database: dead tuples and
    /// bloat, free pages, data and free bytes, as the engine reports them.
    async fn figures(&self, table: Option<&TableRef>) -> Result<SendableRecordBatchStream> {
        let _ = table;
        Err(not_here(self.admin_engine(), "size and health figures"))
    }

    /// The objects of `class` in `namespace` (the current one when `None`).
    async fn objects(&self, class: ObjectClass, namespace: Option<&str>) -> Result<Vec<ObjectInfo>> {
        let _ = namespace;
        Err(not_here(self.admin_engine(), plural(class)))
    }

    /// The full definition of one object.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] for an unknown object; [`Error::InvalidInput`]
    /// when the name is ambiguous (overloads, a trigger name on several
    /// tables), listing the candidates.
    async fn definition(&self, class: ObjectClass, object: &ObjectRef) -> Result<Definition> {
        let _ = object;
        Err(not_here(self.admin_engine(), plural(class)))
    }

    /// The plan that creates an object from `sql` (a `CREATE` statement of
    /// this class, checked before anything runs).
    async fn plan_create(&self, class: ObjectClass, sql: &str) -> Result<Plan> {
        let _ = sql;
        Err(not_here(self.admin_engine(), plural(class)))
    }

    /// The plan that replaces `object` with `sql` without ever losing it.
    async fn plan_replace(&self, class: ObjectClass, object: &ObjectRef, sql: &str) -> Result<Plan> {
        let _ = (object, sql);
        Err(not_here(self.admin_engine(), plural(class)))
    }

    /// The plan that drops `object`.
    async fn plan_drop(&self, class: ObjectClass, object: &ObjectRef) -> Result<Plan> {
        let _ = object;
        Err(not_here(self.admin_engine(), plural(class)))
    }

    /// The plan that enables or disables a trigger or event.
    ///
    /// # Error handling
    ///
    /// [`Error::NotSupported`] saying so where the engine cannot disable one.
    async fn plan_enable(&self, class: ObjectClass, object: &ObjectRef, enabled: bool) -> Result<Plan> {
        let _ = (object, enabled);
        Err(not_here(self.admin_engine(), &format!("enabling or disabling {}", plural(class))))
    }

    /// The plan that calls routine `object` with `args` (text, typed by
    /// the routine's parameters; `None` for an OUT parameter), returning
    /// its result and OUT/INOUT parameters as rows.
    async fn plan_call(&self, object: &ObjectRef, args: &[Option<String>]) -> Result<Plan> {
        let _ = (object, args);
        Err(not_here(self.admin_engine(), "calling routines"))
    }

    /// The event scheduler's state.
    async fn scheduler(&self) -> Result<Scheduler> {
        Err(not_here(self.admin_engine(), "scheduled events"))
    }

    /// The plan that switches the event scheduler on or off.
    async fn plan_scheduler(&self, on: bool) -> Result<Plan> {
        let _ = on;
        Err(not_here(self.admin_engine(), "scheduled events"))
    }
}

fn plural(class: ObjectClass) -> &'static str {
    match class {
        ObjectClass::Routine => "routines",
        ObjectClass::Trigger => "triggers",
        ObjectClass::Event => "scheduled events",
    }
}

/// The error of an engine without `what`.
pub fn not_here(engine: &str, what: &str) -> Error {
    Error::NotSupported(format!("{engine} has no {what}"))
}

/// Reads a small catalog result (a listing, a definition) as rows of
/// [`Value`]s.
///
/// # Error handling
///
/// The statement's error.
pub async fn fetch_rows(conn: &dyn Connection, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
    let mut stream = conn.query(sql, params).await?;
    let mut rows = Vec::new();
    while let Some(b) = stream.try_next().await? {
        for r in 0..b.num_rows() {
            let mut row = Vec::with_capacity(b.num_columns());
            for c in b.columns() {
                row.push(Value::from_array(c.as_ref(), r)?);
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

/// A cell as text (`None` for NULL).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.to_string()),
    }
}

/// A cell as an integer (text digits too: some catalogs answer in text).
pub fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::UInt(u) => i64::try_from(*u).ok(),
        Value::Float(f) => Some(*f as i64),
        Value::Text(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn op(name: &str, scope: OpScope, options: Vec<OpOption>, refused: Option<&str>) -> Operation {
        Operation { name: name.into(), help: String::new(), scope, options, refused: refused.map(String::from) }
    }

    #[test]
    fn requests_are_checked_before_any_sql() {
        let ops = vec![
            op("vacuum", OpScope::Either, vec![OpOption::flag("full", ""), OpOption::value("mode", "", &["a", "b"])], None),
            op("repair", OpScope::Table, vec![], Some("InnoDB tables cannot be repaired")),
            op("checkpoint", OpScope::Database, vec![], None),
        ];
        let t = Some(TableRef::new("t"));
        let req = |op: &str, table: Option<TableRef>, options: Vec<(&str, Option<&str>)>| OpRequest {
            op: op.into(),
            table,
            options: options.into_iter().map(|(n, v)| (n.to_string(), v.map(String::from))).collect(),
        };
        assert!(check_request(&ops, &req("VACUUM", None, vec![("full", None)]), "x").is_ok());
        let e = check_request(&ops, &req("repair", t.clone(), vec![]), "x").unwrap_err();
        assert!(matches!(&e, Error::NotSupported(m) if m.contains("InnoDB")), "{e}");
        let e = check_request(&ops, &req("shrink", None, vec![]), "PostgreSQL").unwrap_err();
        assert!(e.to_string().contains("vacuum, repair, checkpoint"), "{e}");
        assert!(check_request(&ops, &req("checkpoint", t.clone(), vec![]), "x").is_err());
        assert!(check_request(&ops, &req("vacuum", None, vec![("full", Some("1"))]), "x").is_err());
        assert!(check_request(&ops, &req("vacuum", None, vec![("mode", None)]), "x").is_err());
        assert!(check_request(&ops, &req("vacuum", None, vec![("mode", Some("c"))]), "x").is_err());
        assert!(check_request(&ops, &req("vacuum", None, vec![("mode", Some("B"))]), "x").is_ok());
        assert!(check_request(&ops, &req("vacuum", None, vec![("fast", None)]), "x").is_err());
    }

    #[test]
    fn object_names_parse() {
        let r = ObjectRef::parse("app.total(integer, text)").unwrap();
        assert_eq!(r.namespace.as_deref(), Some("app"));
        assert_eq!(r.name, "total");
        assert_eq!(r.signature.as_deref(), Some("(integer, text)"));
        let r = ObjectRef::parse("\"a.b(c\"").unwrap();
        assert_eq!((r.namespace, r.name.as_str(), r.signature), (None, "a.b(c", None));
        assert!(ObjectRef::parse("f(int").is_err());
        assert!(ObjectRef::parse("").is_err());
    }

    proptest! {
        #[test]
        fn plain_names_round_trip(ns in "[a-z_][a-z0-9_]{0,8}", name in "[a-z_][a-z0-9_]{0,8}") {
            let r = ObjectRef::parse(&format!("{ns}.{name}")).unwrap();
            prop_assert_eq!(r.namespace.as_deref(), Some(ns.as_str()));
            prop_assert_eq!(r.name, name);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,30}") {
            let _ = ObjectRef::parse(&s);
        }
    }
}
