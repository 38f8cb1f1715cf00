//! The plan of a change set: the exact statements `apply` runs, in order,
//! and the script that shows them.
//!
//! Each statement is built once, as SQL pieces and values. `apply` sends it
//! with placeholders and the values bound; the script writes the same
//! pieces with each value as a literal of the dialect. Nothing else differs:
//! the preview is the plan.

mod order;
mod statements;

use std::collections::{BTreeMap, BTreeSet};

use qore_core::arrow::datatypes::DataType;
use qore_core::{Dialect, Error, Result, TableRef, Value};

use crate::change::{Change, ChangeKind};
use crate::sandbox::Captured;
use crate::table::{IdentityKind, TableModel};
use order::{defer, held_references, table_order};
use statements::{delete, insert, update};
pub(crate) use statements::check_expr;

/// The tables a plan touches, by name.
pub type Models = BTreeMap<TableRef, TableModel>;

/// The name a captured row id is kept under.
pub const ROW_ID: &str = "#rowid";
/// The name a captured row version is kept under.
pub const ROW_VERSION: &str = "#version";

/// Where a value goes in a dialect's template (`row_identity_eq(HOLE)`):
/// a character no SQL of QoreDB holds (identifiers and literals refuse NUL).
const HOLE: &str = "\u{0}";

/// A template's text before and after its hole.
fn hole(template: &str) -> (&str, &str) {
    template.split_once(HOLE).unwrap_or((template, ""))
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Sql(String),
    Param(usize),
}

/// One statement of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pieces: Vec<Piece>,
    params: Vec<(Value, DataType)>,
    /// The change it carries out; `None` for a statement of the session
    /// (deferring foreign-key checks).
    pub change: Option<u64>,
    /// Whether it must touch exactly one row: none means the row changed
    /// or went away since it was read (a conflict).
    pub expect_one: bool,
    /// What its `RETURNING` clause returns, by capture name ([`ROW_ID`],
    /// [`ROW_VERSION`] or a column).
    pub returning: Vec<String>,
    /// The column whose generated value is read after the statement, where
    /// the engine has no `RETURNING` (MySQL's `LAST_INSERT_ID()`).
    pub last_insert_id: Option<String>,
}

impl Statement {
    fn new(change: Option<u64>) -> Self {
        Statement {
            pieces: Vec::new(),
            params: Vec::new(),
            change,
            expect_one: false,
            returning: Vec::new(),
            last_insert_id: None,
        }
    }

    fn sql(&mut self, s: impl Into<String>) -> &mut Self {
        let s = s.into();
        match self.pieces.last_mut() {
            Some(Piece::Sql(last)) => last.push_str(&s),
            _ => self.pieces.push(Piece::Sql(s)),
        }
        self
    }

    /// A bound value, as it is.
    fn param(&mut self, v: Value, dt: DataType) -> &mut Self {
        self.params.push((v, dt));
        self.pieces.push(Piece::Param(self.params.len()));
        self
    }

    /// A value, wrapped as the column's type needs (`typed_value`).
    fn value(&mut self, d: &dyn Dialect, v: Value, dt: DataType, source_type: &str) -> &mut Self {
        let wrap = d.typed_value(HOLE, source_type);
        let (head, tail) = hole(&wrap);
        self.sql(head);
        self.param(v, dt);
        self.sql(tail)
    }

    /// The statement with placeholders, as `apply` sends it.
    pub fn text(&self, d: &dyn Dialect) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Sql(s) => out.push_str(s),
                Piece::Param(i) => out.push_str(&d.placeholder(*i)),
            }
        }
        out
    }

    /// The values bound to the placeholders, in order.
    pub fn params(&self) -> Vec<Value> {
        self.params.iter().map(|(v, _)| v.clone()).collect()
    }

    /// The statement with every value written as a literal, as the script
    /// shows it.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidData`](qore_core::Error) for a value the dialect
    /// cannot spell as a literal (a NUL in a string).
    pub fn script_text(&self, d: &dyn Dialect) -> Result<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Sql(s) => out.push_str(s),
                Piece::Param(i) => {
                    let (v, dt) = &self.params[*i - 1];
                    // A cell of another type than its column (SQLite's
                    // dynamic typing) is written as what it is.
                    let lit = literal(d, v, dt).or_else(|e| match natural_type(v) {
                        Some(t) if &t != dt => literal(d, v, &t),
                        _ => Err(e),
                    })?;
                    out.push_str(&lit);
                }
            }
        }
        Ok(out)
    }
}

/// The literal of `v` for a column of type `dt`: the common scalars
/// directly (a script of 10,000 edits is mostly these), the rest through
/// the SQL export's literal writer (dates and their eras, infinities,
/// intervals, decimals).
fn literal(d: &dyn Dialect, v: &Value, dt: &DataType) -> Result<String> {
    match (v, dt) {
        (Value::Null, _) => Ok("NULL".into()),
        (Value::Text(s), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
            d.quote_string(s)
        }
        (Value::Int(i), DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64) => {
            Ok(i.to_string())
        }
        (Value::Float(f), DataType::Float64) => d.float_literal(*f),
        _ => qore_export::sql_literal(d, v, dt),
    }
}

/// The type a value has by itself, for the scalars.
fn natural_type(v: &Value) -> Option<DataType> {
    Some(match v {
        Value::Bool(_) => DataType::Boolean,
        Value::Int(_) => DataType::Int64,
        Value::UInt(_) => DataType::UInt64,
        Value::Float(_) => DataType::Float64,
        Value::Text(_) => DataType::Utf8,
        Value::Bytes(_) => DataType::Binary,
        _ => return None,
    })
}

/// The statements of a change set, in the order they run, in one
/// transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The statements.
    pub statements: Vec<Statement>,
}

impl Plan {
    /// The script: `BEGIN;`, each statement with literals, `COMMIT;`.
    ///
    /// # Error handling
    ///
    /// As [`Statement::script_text`].
    pub fn script(&self, d: &dyn Dialect) -> Result<String> {
        let mut out = String::with_capacity(self.statements.len() * 96 + 16);
        out.push_str("BEGIN;\n");
        for s in &self.statements {
            out.push_str(&s.script_text(d)?);
            out.push_str(";\n");
        }
        out.push_str("COMMIT;\n");
        Ok(out)
    }
}

/// The plan that carries out `changes`.
///
/// Rows are inserted parents first, then updated, then deleted children
/// first, following the foreign keys between the tables; tables that
/// reference each other in a cycle get their checks deferred to the commit
/// where the engine can.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a change of a table without a model, a
/// column the table does not have, a generated column set, or a cycle of
/// foreign keys the engine checks at every statement.
pub fn forward(changes: &[Change], models: &Models, d: &dyn Dialect) -> Result<Plan> {
    build(changes, models, d, true)
}

/// The plan that undoes `changes` once applied: deleted rows inserted
/// again, updated cells set back, inserted rows deleted, each addressed by
/// what the apply `captured` (generated keys, new row ids).
///
/// # Error handling
///
/// [`Error::InvalidInput`] when an inserted row cannot be addressed: its key
/// is generated by the database and was not captured (undo after apply).
pub fn undo(
    changes: &[Change],
    captured: &[Captured],
    models: &Models,
    d: &dyn Dialect,
) -> Result<Plan> {
    let inverted = changes
        .iter()
        .map(|c| invert(c, captured.iter().find(|k| k.change == c.id), models))
        .collect::<Result<Vec<_>>>()?;
    build(&inverted, models, d, false)
}

fn model<'m>(models: &'m Models, table: &TableRef) -> Result<&'m TableModel> {
    models.get(table).ok_or_else(|| {
        Error::invalid(format!("no structure of {table} was loaded for this plan"))
    })
}

fn captured_value<'a>(captured: Option<&'a Captured>, name: &str) -> Option<&'a Value> {
    captured.and_then(|c| c.values.iter().find(|(n, _)| n == name).map(|(_, v)| v))
}

/// The change that takes a row from after `c` back to before it.
fn invert(c: &Change, captured: Option<&Captured>, models: &Models) -> Result<Change> {
    let m = model(models, &c.table)?;
    let after_row = c.row_after();
    let key_after = |row: &[(String, Value)]| -> Result<Vec<Value>> {
        match m.identity.kind {
            // Not captured (the engine cannot return it): an updated row
            // keeps its row id; an inserted one is found by its values.
            IdentityKind::RowId => Ok(captured_value(captured, ROW_ID)
                .cloned()
                .map(|v| vec![v])
                .unwrap_or_else(|| c.key.clone())),
            _ => m
                .identity
                .columns
                .iter()
                .map(|col| {
                    row.iter()
                        .find(|(n, _)| n == col)
                        .map(|(_, v)| v.clone())
                        .or_else(|| captured_value(captured, col).cloned())
                        .ok_or_else(|| undo_needs_apply(c))
                })
                .collect(),
        }
    };
    let version = captured_value(captured, ROW_VERSION).cloned();
    Ok(match c.kind {
        ChangeKind::Insert => Change {
            kind: ChangeKind::Delete,
            key: key_after(&after_row)?,
            version,
            before: after_row,
            checks: Vec::new(),
            after: Vec::new(),
            ..c.clone()
        },
        ChangeKind::Update => Change {
            kind: ChangeKind::Update,
            key: key_after(&after_row)?,
            version,
            before: after_row,
            checks: Vec::new(),
            after: c
                .after
                .iter()
                .map(|(col, _)| {
                    (
                        col.clone(),
                        c.before_value(col).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect(),
            ..c.clone()
        },
        ChangeKind::Delete => Change {
            kind: ChangeKind::Insert,
            key: Vec::new(),
            version: None,
            checks: Vec::new(),
            after: c
                .before
                .iter()
                .filter(|(col, _)| m.column(col).is_ok_and(|(_, cm)| !cm.generated))
                .cloned()
                .collect(),
            before: Vec::new(),
            ..c.clone()
        },
    })
}

fn undo_needs_apply(c: &Change) -> Error {
    Error::invalid(format!(
        "the undo of change #{} ({} into {}) needs the key the database generates for the row: write the undo script after apply",
        c.id,
        c.kind.label(),
        c.table
    ))
}

fn build(changes: &[Change], models: &Models, d: &dyn Dialect, checked: bool) -> Result<Plan> {
    for c in changes {
        model(models, &c.table)?;
    }
    let touched: BTreeSet<&TableRef> = changes.iter().map(|c| &c.table).collect();
    let (order, cyclic) = table_order(&touched, models);
    if d.references_held_until_commit() {
        held_references(changes, models, d)?;
    }
    let mut plan = Plan::default();
    // A cycle through several tables needs the deferral for any insert or
    // delete; a table that references itself only when several of its
    // rows go in (or out) together.
    let reorders = cyclic.iter().any(|t| {
        let self_only = models
            .get(t)
            .is_some_and(|m| !m.foreign_keys.iter().any(|fk| {
                !qore_core::relations::same_table(&fk.target, t)
                    && cyclic.iter().any(|o| qore_core::relations::same_table(&fk.target, o))
            }));
        let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k && &c.table == t).count();
        let (ins, del) = (count(ChangeKind::Insert), count(ChangeKind::Delete));
        if self_only { ins > 1 || del > 1 } else { ins + del > 0 }
    });
    // Where the engine cannot defer the checks, rows of a cycle go in with
    // their cyclic references NULL and get them by an UPDATE after all
    // inserts; rows going out lose them by an UPDATE before any delete.
    let mut split = order::Split::default();
    if reorders {
        match defer(&cyclic, models, d) {
            Ok(st) => plan.statements.push(st),
            Err(refused) => split = order::two_phase(changes, &cyclic, models, refused)?,
        }
    }
    let of_kind = |k: ChangeKind, t: &TableRef| {
        changes
            .iter()
            .filter(move |c| c.kind == k && &c.table == t)
            .map(|c| split.replaced.get(&c.id).unwrap_or(c))
            .collect::<Vec<_>>()
    };
    for t in &order {
        for c in of_kind(ChangeKind::Insert, t) {
            plan.statements.push(insert(c, model(models, t)?, d)?);
        }
    }
    for c in &split.after_inserts {
        plan.statements
            .push(update(c, model(models, &c.table)?, d, false)?);
    }
    for t in &order {
        for c in of_kind(ChangeKind::Update, t) {
            plan.statements
                .push(update(c, model(models, t)?, d, checked)?);
        }
    }
    for c in &split.before_deletes {
        plan.statements
            .push(update(c, model(models, &c.table)?, d, checked)?);
    }
    for t in order.iter().rev() {
        for c in of_kind(ChangeKind::Delete, t) {
            plan.statements
                .push(delete(c, model(models, t)?, d, checked)?);
        }
    }
    Ok(plan)
}
