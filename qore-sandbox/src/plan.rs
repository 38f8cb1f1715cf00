//! The plan of a change set: the exact statements `apply` runs, in order,
//! and the script that shows them.
//!
//! Each statement is built once, as SQL pieces and values. `apply` sends it
//! with placeholders and the values bound; the script writes the same
//! pieces with each value as a literal of the dialect. Nothing else differs:
//! the preview is the plan.

use std::collections::{BTreeMap, BTreeSet};

use qore_core::arrow::datatypes::DataType;
use qore_core::{Dialect, Error, Result, TableRef, Value};

use crate::change::{Change, ChangeKind};
use crate::sandbox::Captured;
use crate::table::{IdentityKind, TableModel};

/// The tables a plan touches, by name.
pub type Models = BTreeMap<TableRef, TableModel>;

/// The name a captured row id is kept under.
pub const ROW_ID: &str = "#rowid";
/// The name a captured row version is kept under.
pub const ROW_VERSION: &str = "#version";

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

    /// A value, wrapped as the column's type needs (`typed_value`).
    fn value(&mut self, d: &dyn Dialect, v: Value, dt: DataType, source_type: &str) -> &mut Self {
        let wrap = d.typed_value("\u{0}", source_type);
        let (head, tail) = wrap.split_once('\u{0}').unwrap_or(("", ""));
        self.sql(head);
        self.params.push((v, dt));
        self.pieces.push(Piece::Param(self.params.len()));
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
                    out.push_str(&qore_export::sql_literal(d, v, dt)?);
                }
            }
        }
        Ok(out)
    }
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
    if reorders {
        plan.statements.push(defer(&cyclic, models, d)?);
    }
    let of_kind = |k: ChangeKind, t: &TableRef| {
        changes
            .iter()
            .filter(move |c| c.kind == k && &c.table == t)
            .collect::<Vec<_>>()
    };
    for t in &order {
        for c in of_kind(ChangeKind::Insert, t) {
            plan.statements.push(insert(c, model(models, t)?, d)?);
        }
    }
    for t in &order {
        for c in of_kind(ChangeKind::Update, t) {
            plan.statements
                .push(update(c, model(models, t)?, d, checked)?);
        }
    }
    for t in order.iter().rev() {
        for c in of_kind(ChangeKind::Delete, t) {
            plan.statements
                .push(delete(c, model(models, t)?, d, checked)?);
        }
    }
    Ok(plan)
}

/// The touched tables, parents before children, and the tables caught in a
/// cycle of foreign keys (a table that references itself counts).
fn table_order(touched: &BTreeSet<&TableRef>, models: &Models) -> (Vec<TableRef>, BTreeSet<TableRef>) {
    let parents = |t: &TableRef| -> BTreeSet<TableRef> {
        models
            .get(t)
            .map(|m| {
                m.foreign_keys
                    .iter()
                    .filter_map(|fk| {
                        touched
                            .iter()
                            .find(|o| qore_core::relations::same_table(&fk.target, o))
                            .map(|o| (*o).clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut pending: BTreeMap<TableRef, BTreeSet<TableRef>> = touched
        .iter()
        .map(|t| {
            let mut p = parents(t);
            p.remove(*t);
            ((*t).clone(), p)
        })
        .collect();
    let mut cyclic: BTreeSet<TableRef> = touched
        .iter()
        .filter(|t| parents(t).contains(**t))
        .map(|t| (*t).clone())
        .collect();
    let mut order = Vec::new();
    loop {
        let ready: Vec<TableRef> = pending
            .iter()
            .filter(|(_, p)| p.iter().all(|x| !pending.contains_key(x)))
            .map(|(t, _)| t.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for t in ready {
            pending.remove(&t);
            order.push(t);
        }
    }
    // What is left references itself through a cycle: keep their given
    // order and defer the checks.
    for t in pending.into_keys() {
        cyclic.insert(t.clone());
        order.push(t);
    }
    (order, cyclic)
}

/// Refuses, before anything runs, a plan that deletes parent rows in the
/// same transaction as rows that referenced them are deleted or pointed
/// elsewhere, on an engine that holds such references until the commit.
fn held_references(changes: &[Change], models: &Models, d: &dyn Dialect) -> Result<()> {
    for parent in changes.iter().filter(|c| c.kind == ChangeKind::Delete) {
        for child in changes.iter().filter(|c| c.kind != ChangeKind::Insert) {
            let m = model(models, &child.table)?;
            let fk = m.foreign_keys.iter().find(|fk| {
                qore_core::relations::same_table(&fk.target, &parent.table)
                    && (child.kind == ChangeKind::Delete
                        || fk.columns.iter().any(|col| child.after_value(col).is_some()))
                    && fk.columns.iter().zip(&fk.target_columns).all(|(a, b)| {
                        let v = child.before_value(a);
                        v.is_some_and(|v| !v.is_null()) && v == parent.before_value(b)
                    })
            });
            if let Some(fk) = fk {
                return Err(Error::invalid(format!(
                    "{} keeps a row that referenced another ({}) until the commit: change #{} ({} of {}) \
                     and change #{} (delete of {}) cannot be applied in one transaction; \
                     apply change #{} first, from a sandbox of its own",
                    d.name(),
                    fk.columns.join(", "),
                    child.id,
                    child.kind.label(),
                    child.table,
                    parent.id,
                    parent.table,
                    child.id
                )));
            }
        }
    }
    Ok(())
}

fn defer(cyclic: &BTreeSet<TableRef>, models: &Models, d: &dyn Dialect) -> Result<Statement> {
    let names: Vec<String> = cyclic.iter().map(|t| t.to_string()).collect();
    let Some(sql) = d.defer_foreign_keys() else {
        return Err(Error::invalid(format!(
            "{} reference each other through foreign keys and {} checks them at every statement: \
             apply the rows of one table in a sandbox of its own first",
            names.join(", "),
            d.name()
        )));
    };
    if d.deferral_needs_deferrable() {
        for t in cyclic {
            let m = model(models, t)?;
            if let Some(fk) = m
                .foreign_keys
                .iter()
                .find(|fk| cyclic.iter().any(|o| qore_core::relations::same_table(&fk.target, o)) && !fk.deferrable)
            {
                return Err(Error::invalid(format!(
                    "{} reference each other through foreign keys, and the one of {t} ({}) is not DEFERRABLE: \
                     make it DEFERRABLE, or apply the rows of one table in a sandbox of its own first",
                    names.join(", "),
                    fk.columns.join(", ")
                )));
            }
        }
    }
    let mut s = Statement::new(None);
    s.sql(sql);
    Ok(s)
}

fn quoted(d: &dyn Dialect, col: &str) -> Result<String> {
    d.quote_identifier(col)
}

fn insert(c: &Change, m: &TableModel, d: &dyn Dialect) -> Result<Statement> {
    let table = d.quote_table(&m.table)?;
    let mut s = Statement::new(Some(c.id));
    s.expect_one = true;
    let mut overriding = false;
    for (col, _) in &c.after {
        let (_, cm) = m.column(col)?;
        if cm.generated {
            return Err(Error::invalid(format!(
                "{}.{col} is a generated column: its value is computed, not given",
                m.table
            )));
        }
        overriding |= cm.always_identity;
    }
    if c.after.is_empty() {
        s.sql(d.insert_defaults(&table));
    } else {
        let cols = c
            .after
            .iter()
            .map(|(col, _)| quoted(d, col))
            .collect::<Result<Vec<_>>>()?;
        s.sql(format!("INSERT INTO {table} ({})", cols.join(", ")));
        if overriding && let Some(o) = d.overriding_identity() {
            s.sql(format!(" {o}"));
        }
        s.sql(" VALUES (");
        for (i, (col, v)) in c.after.iter().enumerate() {
            if i > 0 {
                s.sql(", ");
            }
            let (_, cm) = m.column(col)?;
            s.value(d, v.clone(), cm.data_type.clone(), &cm.source_type);
        }
        s.sql(")");
    }
    // What the undo needs to find the row again.
    let mut wanted: Vec<(String, String)> = Vec::new();
    match m.identity.kind {
        IdentityKind::RowId if d.returns_row_identity() => {
            if let Some(e) = d.row_identity_expr() {
                wanted.push((ROW_ID.into(), e));
            }
            if let Some(v) = d.row_version_expr() {
                wanted.push((ROW_VERSION.into(), v.into()));
            }
        }
        IdentityKind::RowId => {}
        IdentityKind::PrimaryKey | IdentityKind::UniqueKey => {
            for col in &m.identity.columns {
                if c.after_value(col).is_none() {
                    wanted.push((col.clone(), quoted(d, col)?));
                }
            }
        }
        IdentityKind::AllColumns | IdentityKind::DocumentId => {}
    }
    returning(&mut s, wanted, d);
    Ok(s)
}

/// Adds `RETURNING` for the wanted captures where the engine has it, else
/// reads a generated key with `LAST_INSERT_ID()`-style where it can.
fn returning(s: &mut Statement, wanted: Vec<(String, String)>, d: &dyn Dialect) {
    if wanted.is_empty() {
        return;
    }
    if d.supports_returning() {
        s.sql(" RETURNING ");
        for (i, (name, expr)) in wanted.into_iter().enumerate() {
            if i > 0 {
                s.sql(", ");
            }
            s.sql(expr);
            s.returning.push(name);
        }
    } else if wanted.len() == 1 && wanted[0].0 != ROW_ID {
        s.last_insert_id = Some(wanted.into_iter().next().map(|w| w.0).unwrap_or_default());
    }
}

/// `WHERE` + the identity of the row + the checks of `columns`.
fn where_row(
    s: &mut Statement,
    c: &Change,
    m: &TableModel,
    d: &dyn Dialect,
    check_columns: Option<&[String]>,
) -> Result<()> {
    let mut first = true;
    let mut and = |s: &mut Statement| {
        s.sql(if first { " WHERE " } else { " AND " });
        first = false;
    };
    match m.identity.kind {
        IdentityKind::RowId if c.key.is_empty() => {
            // One of the rows that hold these values (identical rows
            // cannot be told apart).
            let (Some(id), Some(cond)) = (d.row_identity(), d.row_identity_eq("\u{0}")) else {
                return Err(Error::invalid(format!("{} has no row id", d.name())));
            };
            let (head, tail) = cond.split_once('\u{0}').unwrap_or((&cond, ""));
            and(s);
            s.sql(format!("{head}(SELECT {id} FROM {}", d.quote_table(&m.table)?));
            let mut first = true;
            for (col, v) in &c.before {
                let (_, cm) = m.column(col)?;
                if !comparable(&cm.data_type) {
                    continue;
                }
                s.sql(if first { " WHERE " } else { " AND " });
                first = false;
                let lhs = d.comparable(&quoted(d, col)?, &cm.source_type);
                let eq = d.null_safe_eq(&lhs, "\u{0}");
                let (h, t) = eq.split_once('\u{0}').unwrap_or((&eq, ""));
                s.sql(h);
                s.value(d, v.clone(), cm.data_type.clone(), &cm.source_type);
                s.sql(t);
            }
            s.sql(format!(" {}){tail}", d.limit_clause(Some(1), None)));
        }
        IdentityKind::RowId => {
            let v = c.key.first().cloned().ok_or_else(|| {
                Error::invalid(format!("change #{} has no row id", c.id))
            })?;
            let cond = d.row_identity_eq("\u{0}").ok_or_else(|| {
                Error::invalid(format!("{} has no row id", d.name()))
            })?;
            let (head, tail) = cond.split_once('\u{0}').unwrap_or((&cond, ""));
            and(s);
            s.sql(head);
            let dt = data_type_of(&v);
            s.params.push((v, dt));
            s.pieces.push(Piece::Param(s.params.len()));
            s.sql(tail);
            if let (Some(ver), Some(expr)) = (&c.version, d.row_version_expr()) {
                and(s);
                s.sql(format!("{expr} = "));
                s.value(d, ver.clone(), data_type_of(ver), "");
            }
        }
        IdentityKind::PrimaryKey | IdentityKind::UniqueKey => {
            if c.key.len() != m.identity.columns.len() {
                return Err(Error::invalid(format!(
                    "change #{} has {} key value(s), {} has {} key column(s)",
                    c.id,
                    c.key.len(),
                    m.table,
                    m.identity.columns.len()
                )));
            }
            for (col, v) in m.identity.columns.iter().zip(&c.key) {
                let (_, cm) = m.column(col)?;
                and(s);
                s.sql(format!("{} = ", quoted(d, col)?));
                s.value(d, v.clone(), cm.data_type.clone(), &cm.source_type);
            }
        }
        IdentityKind::AllColumns | IdentityKind::DocumentId => {
            // Without checks (an undo), the row is found by its values.
            if c.checks.is_empty() {
                for (col, v) in &c.before {
                    let (_, cm) = m.column(col)?;
                    if !comparable(&cm.data_type) {
                        continue;
                    }
                    and(s);
                    let lhs = d.comparable(&quoted(d, col)?, &cm.source_type);
                    let cond = d.null_safe_eq(&lhs, "\u{0}");
                    let (head, tail) = cond.split_once('\u{0}').unwrap_or((&cond, ""));
                    s.sql(head);
                    s.value(d, v.clone(), cm.data_type.clone(), &cm.source_type);
                    s.sql(tail);
                }
            }
        }
    }
    let every = m.identity.kind == IdentityKind::AllColumns;
    // A row version already tells any later write apart.
    let versioned = m.identity.kind == IdentityKind::RowId && c.version.is_some();
    for (col, v) in c.checks.iter().filter(|_| !versioned) {
        let keyed = matches!(m.identity.kind, IdentityKind::PrimaryKey | IdentityKind::UniqueKey)
            && m.identity.columns.contains(col);
        let wanted = every || check_columns.is_none_or(|cols| cols.contains(col));
        if !wanted || keyed {
            continue;
        }
        let (_, cm) = m.column(col)?;
        and(s);
        let lhs = check_expr(d, &quoted(d, col)?, &cm.data_type);
        let cond = d.null_safe_eq(&lhs, "\u{0}");
        let (head, tail) = cond.split_once('\u{0}').unwrap_or((&cond, ""));
        s.sql(head);
        let dt = data_type_of(v);
        s.params.push((v.clone(), dt));
        s.pieces.push(Piece::Param(s.params.len()));
        s.sql(tail);
    }
    if first {
        return Err(Error::invalid(format!(
            "change #{} of {} does not say which row it changes",
            c.id, m.table
        )));
    }
    Ok(())
}

/// The expression whose value a check compares: the engine's exact text of
/// the cell, or the bytes themselves for binary columns.
pub(crate) fn check_expr(d: &dyn Dialect, col_sql: &str, dt: &DataType) -> String {
    if is_binary(dt) {
        col_sql.to_string()
    } else {
        d.exact_text(col_sql)
    }
}

pub(crate) fn is_binary(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_)
    )
}

fn comparable(dt: &DataType) -> bool {
    !matches!(
        dt,
        DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) | DataType::Map(..)
    )
}

fn data_type_of(v: &Value) -> DataType {
    match v {
        Value::Bytes(_) => DataType::Binary,
        Value::Int(_) => DataType::Int64,
        Value::UInt(_) => DataType::UInt64,
        _ => DataType::Utf8,
    }
}

fn limit_one(s: &mut Statement, m: &TableModel, d: &dyn Dialect) {
    if m.identity.kind == IdentityKind::AllColumns && d.dml_limit() {
        s.sql(" LIMIT 1");
    }
}

fn update(c: &Change, m: &TableModel, d: &dyn Dialect, checked: bool) -> Result<Statement> {
    if c.after.is_empty() {
        return Err(Error::invalid(format!("change #{} sets no column", c.id)));
    }
    let mut s = Statement::new(Some(c.id));
    s.expect_one = true;
    s.sql(format!("UPDATE {} SET ", d.quote_table(&m.table)?));
    for (i, (col, v)) in c.after.iter().enumerate() {
        let (_, cm) = m.column(col)?;
        if cm.generated {
            return Err(Error::invalid(format!(
                "{}.{col} is a generated column: its value is computed, not set",
                m.table
            )));
        }
        if i > 0 {
            s.sql(", ");
        }
        s.sql(format!("{} = ", quoted(d, col)?));
        s.value(d, v.clone(), cm.data_type.clone(), &cm.source_type);
    }
    let changed: Vec<String> = c.after.iter().map(|(col, _)| col.clone()).collect();
    let mut c = c.clone();
    if !checked {
        c.checks.clear();
    }
    where_row(&mut s, &c, m, d, Some(&changed))?;
    limit_one(&mut s, m, d);
    if m.identity.kind == IdentityKind::RowId {
        let mut wanted = Vec::new();
        if let Some(e) = d.row_identity_expr() {
            wanted.push((ROW_ID.to_string(), e));
        }
        if let Some(v) = d.row_version_expr() {
            wanted.push((ROW_VERSION.to_string(), v.to_string()));
        }
        if d.returns_row_identity() {
            returning(&mut s, wanted, d);
        }
    }
    Ok(s)
}

fn delete(c: &Change, m: &TableModel, d: &dyn Dialect, checked: bool) -> Result<Statement> {
    let mut s = Statement::new(Some(c.id));
    s.expect_one = true;
    s.sql(format!("DELETE FROM {}", d.quote_table(&m.table)?));
    let mut c = c.clone();
    if !checked {
        c.checks.clear();
    }
    where_row(&mut s, &c, m, d, None)?;
    limit_one(&mut s, m, d);
    Ok(s)
}
