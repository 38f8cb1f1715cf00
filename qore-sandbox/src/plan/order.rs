//! The order of a plan's statements: tables by their foreign keys, and
//! what needs the engine's deferred checks (or cannot run in one
//! transaction at all).

use std::collections::{BTreeMap, BTreeSet};

use qore_core::{Dialect, Error, Result, TableRef};

use super::{Models, Statement, model};
use crate::change::{Change, ChangeKind};

/// The touched tables, parents before children, and the tables caught in a
/// cycle of foreign keys (a table that references itself counts).
pub(super) fn table_order(touched: &BTreeSet<&TableRef>, models: &Models) -> (Vec<TableRef>, BTreeSet<TableRef>) {
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
pub(super) fn held_references(changes: &[Change], models: &Models, d: &dyn Dialect) -> Result<()> {
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

pub(super) fn defer(cyclic: &BTreeSet<TableRef>, models: &Models, d: &dyn Dialect) -> Result<Statement> {
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
