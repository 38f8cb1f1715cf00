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
mod ops;
mod plan;

pub use create::{Create, read_create};
pub use ops::{OpOption, OpRequest, OpScope, Operation, check_request, operations_batch};
pub use plan::{Atomicity, MAX_RESULT_ROWS, Plan, Progress, Ran, run, run_watched};

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
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
