//! Maintenance operations: what an engine lists, and the check every
//! request passes before any SQL is planned.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};
use crate::schema::TableRef;

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
