//! The order of a plan's statements: tables by their foreign keys, and
//! what needs the engine's deferred checks (or cannot run in one
//! transaction at all).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use qore_core::{Dialect, Error, Result, TableRef, Value};

use super::{Models, Statement, model};
use crate::change::{Change, ChangeKind};
use crate::table::{IdentityKind, TableModel};

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

/// A cycle written in two phases: changes replaced (inserts without their
/// cyclic references, deletes without the checks of the references an
/// UPDATE took away first), and the UPDATEs that go around them.
#[derive(Debug, Default)]
pub(super) struct Split {
    /// Changes to write instead of the originals, by change number.
    pub(super) replaced: HashMap<u64, Change>,
    /// UPDATEs that set the cyclic references of inserted rows.
    pub(super) after_inserts: Vec<Change>,
    /// UPDATEs that clear the cyclic references of rows to delete.
    pub(super) before_deletes: Vec<Change>,
}

/// The columns of `m` that refer into the cycle.
fn cyclic_columns(m: &TableModel, cyclic: &BTreeSet<TableRef>) -> Vec<String> {
    m.foreign_keys
        .iter()
        .filter(|fk| {
            cyclic
                .iter()
                .any(|o| qore_core::relations::same_table(&fk.target, o))
        })
        .flat_map(|fk| fk.columns.clone())
        .collect()
}

/// Plans a cycle in two phases (NULL first, the reference by an UPDATE);
/// `refused` (why the checks cannot be deferred) when a reference cannot be
/// NULL or a row has no key to come back to.
pub(super) fn two_phase(
    changes: &[Change],
    cyclic: &BTreeSet<TableRef>,
    models: &Models,
    refused: Error,
) -> Result<Split> {
    let mut split = Split::default();
    for c in changes.iter().filter(|c| cyclic.contains(&c.table)) {
        let m = model(models, &c.table)?;
        let cols = cyclic_columns(m, cyclic);
        let keyed = matches!(
            m.identity.kind,
            IdentityKind::PrimaryKey | IdentityKind::UniqueKey
        );
        let nullable = |col: &String| m.column(col).is_ok_and(|(_, cm)| cm.nullable);
        match c.kind {
            ChangeKind::Insert => {
                let moved: Vec<(String, Value)> = c
                    .after
                    .iter()
                    .filter(|(k, v)| cols.contains(k) && !v.is_null())
                    .cloned()
                    .collect();
                if moved.is_empty() {
                    continue;
                }
                let key: Option<Vec<Value>> = m
                    .identity
                    .columns
                    .iter()
                    .map(|k| c.after_value(k).cloned())
                    .collect();
                let (Some(key), true) = (key, keyed && moved.iter().all(|(k, _)| nullable(k)))
                else {
                    return Err(refused);
                };
                let mut first = c.clone();
                for cell in first.after.iter_mut() {
                    if moved.iter().any(|(k, _)| *k == cell.0) {
                        cell.1 = Value::Null;
                    }
                }
                split.replaced.insert(c.id, first);
                split.after_inserts.push(Change {
                    kind: ChangeKind::Update,
                    key,
                    before: c.after.clone(),
                    checks: Vec::new(),
                    after: moved,
                    ..c.clone()
                });
            }
            ChangeKind::Delete => {
                let moved: Vec<String> = cols
                    .iter()
                    .filter(|k| c.before_value(k).is_some_and(|v| !v.is_null()))
                    .cloned()
                    .collect();
                if moved.is_empty() {
                    continue;
                }
                if !keyed || !moved.iter().all(nullable) {
                    return Err(refused);
                }
                split.before_deletes.push(Change {
                    kind: ChangeKind::Update,
                    after: moved.iter().map(|k| (k.clone(), Value::Null)).collect(),
                    ..c.clone()
                });
                // The delete's checks of those columns ran in the UPDATE.
                let mut last = c.clone();
                last.checks.retain(|(k, _)| !moved.contains(k));
                split.replaced.insert(c.id, last);
            }
            ChangeKind::Update => {}
        }
    }
    Ok(split)
}
