//! One statement per change: INSERT, UPDATE, DELETE, with the row's
//! identity, the checks of the values the edit was based on, and what the
//! undo needs captured.

use qore_core::arrow::datatypes::DataType;
use qore_core::{Dialect, Error, Result, Value};

use super::{HOLE, ROW_ID, ROW_VERSION, Statement, hole};
use crate::change::Change;
use crate::table::{IdentityKind, TableModel};

fn quoted(d: &dyn Dialect, col: &str) -> Result<String> {
    d.quote_identifier(col)
}

pub(super) fn insert(c: &Change, m: &TableModel, d: &dyn Dialect) -> Result<Statement> {
    let table = d.quote_table(&m.table)?;
    let mut s = Statement::new(Some(c.id));
    s.expect_one = true;
    m.check_writable(&c.after)?;
    let mut overriding = false;
    for (col, _) in &c.after {
        let (_, cm) = m.column(col)?;
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
            let (Some(id), Some(cond)) = (d.row_identity(), d.row_identity_eq(HOLE)) else {
                return Err(Error::invalid(format!("{} has no row id", d.name())));
            };
            let (head, tail) = hole(&cond);
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
                equals_value(s, d, col, cm, v)?;
            }
            s.sql(format!(" {}){tail}", d.limit_clause(Some(1), None)));
        }
        IdentityKind::RowId => {
            let v = c.key.first().cloned().ok_or_else(|| {
                Error::invalid(format!("change #{} has no row id", c.id))
            })?;
            let cond = d.row_identity_eq(HOLE).ok_or_else(|| {
                Error::invalid(format!("{} has no row id", d.name()))
            })?;
            let (head, tail) = hole(&cond);
            and(s);
            s.sql(head);
            let dt = data_type_of(&v);
            s.param(v, dt);
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
                    equals_value(s, d, col, cm, v)?;
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
        let cond = d.null_safe_eq(&lhs, HOLE);
        let (head, tail) = hole(&cond);
        s.sql(head);
        s.param(v.clone(), data_type_of(v));
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

/// `column` equals `v` (NULL equal to NULL), compared as the column's type
/// allows: the condition by which an undo finds a row without a key.
fn equals_value(
    s: &mut Statement,
    d: &dyn Dialect,
    col: &str,
    cm: &crate::table::ColumnModel,
    v: &Value,
) -> Result<()> {
    let lhs = d.comparable(&quoted(d, col)?, &cm.source_type);
    let cond = d.null_safe_eq(&lhs, HOLE);
    let (head, tail) = hole(&cond);
    s.sql(head);
    s.value(d, v.clone(), cm.data_type.clone(), &cm.source_type);
    s.sql(tail);
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

pub(super) fn update(c: &Change, m: &TableModel, d: &dyn Dialect, checked: bool) -> Result<Statement> {
    if c.after.is_empty() {
        return Err(Error::invalid(format!("change #{} sets no column", c.id)));
    }
    let mut s = Statement::new(Some(c.id));
    s.expect_one = true;
    m.check_writable(&c.after)?;
    s.sql(format!("UPDATE {} SET ", d.quote_table(&m.table)?));
    for (i, (col, v)) in c.after.iter().enumerate() {
        let (_, cm) = m.column(col)?;
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

pub(super) fn delete(c: &Change, m: &TableModel, d: &dyn Dialect, checked: bool) -> Result<Statement> {
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

