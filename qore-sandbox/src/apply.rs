//! Applying a plan: every statement in one transaction, values bound, each
//! row's checks verified; a conflict rolls everything back and is reported
//! three-way (what the edit was based on, what it wanted, what the database
//! holds now).

use futures::TryStreamExt;
use qore_core::arrow::array::RecordBatch;
use qore_core::{Connection, Error, Result, TableRef, Value};
use serde::Serialize;

use crate::change::{Change, ChangeKind};
use crate::plan::{Models, Plan};
use crate::sandbox::Captured;
use crate::table::IdentityKind;

/// A change whose row someone else changed (or removed) since it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// The change.
    pub change: u64,
    /// Its table.
    pub table: TableRef,
    /// What it does.
    pub kind: ChangeKind,
    /// The row as the edit read it.
    #[serde(serialize_with = "cells_text")]
    pub original: Vec<(String, Value)>,
    /// The cells the edit sets.
    #[serde(serialize_with = "cells_text")]
    pub yours: Vec<(String, Value)>,
    /// The row as the database holds it now; `None` when it is gone (or,
    /// for a row addressed by its row id or all its values, cannot be
    /// found again once changed).
    #[serde(serialize_with = "opt_cells_text")]
    pub current: Option<Vec<(String, Value)>>,
}

fn cells_text<S: serde::Serializer>(
    cells: &[(String, Value)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_map(cells.iter().map(|(c, v)| (c, v.to_string())))
}

fn opt_cells_text<S: serde::Serializer>(
    cells: &Option<Vec<(String, Value)>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match cells {
        Some(c) => cells_text(c, s),
        None => s.serialize_none(),
    }
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApplyReport {
    /// Statements run.
    pub statements: usize,
    /// Rows written.
    pub rows: u64,
    /// Values the database generated (keys, row ids), per change.
    pub captured: Vec<Captured>,
    /// Conflicts found; when there is any, nothing was written.
    pub conflicts: Vec<Conflict>,
}

impl ApplyReport {
    /// Whether the transaction committed.
    pub fn committed(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// Two statements an apply runs inside its transaction for a caller that
/// must know afterwards whether it committed (a background job that may be
/// started again after a crash): `first` before any change (an INSERT of a
/// row keyed by the job, so that a second start fails on its key, or waits
/// for the first one's transaction and then fails), `last` made from the
/// report just before COMMIT (to record what the apply captured).
pub struct ApplyMark {
    /// Runs first.
    pub first: String,
    /// Makes the statement that runs last, from what the apply did.
    #[allow(clippy::type_complexity)]
    pub last: Box<dyn Fn(&ApplyReport) -> Result<String> + Send + Sync>,
}

impl std::fmt::Debug for ApplyMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyMark").field("first", &self.first).finish_non_exhaustive()
    }
}

/// Runs `plan` (built from `changes`) in one transaction on `conn`.
///
/// Every statement that must touch one row and touches none is a conflict:
/// the remaining statements still run (to find every conflict), then the
/// transaction rolls back and the report lists each conflicting row with
/// its current values.
///
/// # Error handling
///
/// Any engine error rolls back and returns `Err` naming the change
/// (`change #3: ...`) with the engine's error kind kept; a statement that
/// touches several rows where it must touch one rolls back too.
pub async fn apply(
    conn: &dyn Connection,
    plan: &Plan,
    changes: &[Change],
    models: &Models,
) -> Result<ApplyReport> {
    apply_marked(conn, plan, changes, models, None).await
}

/// [`apply`], with `mark`'s statements in the same transaction.
///
/// # Error handling
///
/// As [`apply`]; `mark.first`'s error (a unique violation when another
/// start committed) is returned as it is, before any change ran.
pub async fn apply_marked(
    conn: &dyn Connection,
    plan: &Plan,
    changes: &[Change],
    models: &Models,
    mark: Option<&ApplyMark>,
) -> Result<ApplyReport> {
    let d = conn
        .dialect()
        .ok_or_else(|| Error::NotSupported(format!("{} is not SQL", conn.engine().name())))?;
    let mut report = ApplyReport::default();
    let mut conflicted: Vec<u64> = Vec::new();
    {
        let tx = conn.begin().await?;
        if let Some(m) = mark {
            tx.execute(&m.first, &[]).await?;
        }
        for st in &plan.statements {
            let named = |e: Error| match st.change {
                Some(id) => e.context(format!("change #{id}")),
                None => e,
            };
            let text = st.text(d.as_ref());
            let params = st.params();
            let (affected, returned) = if st.returning.is_empty() {
                let out = tx.execute(&text, &params).await.map_err(named)?;
                (out.rows_affected, None)
            } else {
                let batches: Vec<RecordBatch> = tx
                    .query(&text, &params)
                    .await
                    .map_err(named)?
                    .try_collect()
                    .await
                    .map_err(named)?;
                let n: usize = batches.iter().map(|b| b.num_rows()).sum();
                let first = batches.iter().find(|b| b.num_rows() > 0);
                let values = match first {
                    Some(b) => Some(
                        st.returning
                            .iter()
                            .enumerate()
                            .map(|(i, name)| {
                                Ok((name.clone(), Value::from_array(b.column(i).as_ref(), 0)?))
                            })
                            .collect::<Result<Vec<_>>>()?,
                    ),
                    None => None,
                };
                (n as u64, values)
            };
            report.statements += 1;
            report.rows += affected;
            let Some(id) = st.change else { continue };
            if st.expect_one && affected == 0 {
                conflicted.push(id);
                continue;
            }
            if st.expect_one && affected > 1 {
                return Err(Error::data(format!(
                    "change #{id} would write {affected} rows instead of one; nothing was applied"
                )));
            }
            let mut values = returned.unwrap_or_default();
            if let (Some(col), Some(q)) = (&st.last_insert_id, d.last_insert_id()) {
                let batches: Vec<RecordBatch> =
                    tx.query(q, &[]).await?.try_collect().await.map_err(named)?;
                if let Some(b) = batches.iter().find(|b| b.num_rows() > 0) {
                    values.push((col.clone(), Value::from_array(b.column(0).as_ref(), 0)?));
                }
            }
            if !values.is_empty() {
                report.captured.push(Captured { change: id, values });
            }
        }
        if conflicted.is_empty() {
            if let Some(m) = mark {
                tx.execute(&(m.last)(&report)?, &[]).await?;
            }
            tx.commit().await?;
            return Ok(report);
        }
        tx.rollback().await?;
    }
    report.captured.clear();
    for id in conflicted {
        let Some(c) = changes.iter().find(|c| c.id == id) else {
            continue;
        };
        let current = current_row(conn, c, models).await?;
        report.conflicts.push(Conflict {
            change: id,
            table: c.table.clone(),
            kind: c.kind,
            original: c.before.clone(),
            yours: c.after.clone(),
            current,
        });
    }
    Ok(report)
}

/// The row `c` addressed, as the database holds it now.
async fn current_row(
    conn: &dyn Connection,
    c: &Change,
    models: &Models,
) -> Result<Option<Vec<(String, Value)>>> {
    let (Some(d), Some(m)) = (conn.dialect(), models.get(&c.table)) else {
        return Ok(None);
    };
    let cond = match m.identity.kind {
        IdentityKind::PrimaryKey | IdentityKind::UniqueKey => m
            .identity
            .columns
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (_, cm) = m.column(k)?;
                Ok(format!(
                    "{} = {}",
                    d.quote_identifier(k)?,
                    d.typed_value(&d.placeholder(i + 1), &cm.source_type)
                ))
            })
            .collect::<Result<Vec<_>>>()?,
        IdentityKind::RowId => match d.row_identity_eq(&d.placeholder(1)) {
            Some(c) => vec![c],
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let sql = format!(
        "SELECT * FROM {} WHERE {}",
        d.quote_table(&m.table)?,
        cond.join(" AND ")
    );
    let batches: Vec<RecordBatch> = conn.query(&sql, &c.key).await?.try_collect().await?;
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    b.schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| Ok((f.name().clone(), Value::from_array(b.column(i).as_ref(), 0)?)))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
