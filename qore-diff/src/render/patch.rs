//! The SQL patch that makes the right table equal to the left: rows only
//! on the left inserted, rows only on the right deleted, changed cells
//! updated, as one transaction. The statements are `qore-sandbox`'s plan
//! (the same generator as edits: foreign-key order, each engine's
//! literals), addressed by the diff's key.

use arrow::array::RecordBatch;
use futures::StreamExt;
use qore_core::{Connection, Error, Result, SendableRecordBatchStream, TableRef, Value};
use qore_sandbox::{Change, ChangeKind, IdentityKind, Models, TableModel};

use super::Layout;
use crate::output::KIND_COLUMN;

/// Reads every difference of `stream` (a keyed table diff) and returns the
/// script that applies them to `table` on `right`.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a multiset diff (rows without a key cannot
/// be addressed one by one), a right side that is not a table of a SQL
/// engine, a compared column the table cannot take; the stream's error.
pub async fn sql_patch(
    mut stream: SendableRecordBatchStream,
    right: &dyn Connection,
    table: &TableRef,
) -> Result<String> {
    let layout = Layout::of(&stream.schema())?;
    if layout.multiset {
        return Err(Error::invalid(
            "a SQL patch needs a key: rows compared as multisets cannot be addressed one by one",
        ));
    }
    let dialect = right
        .dialect()
        .ok_or_else(|| Error::invalid(format!("{} takes no SQL patch", right.engine().name())))?;
    let mut model = TableModel::load(right, table).await?;
    // The diff's key found each row: it addresses them in the patch too.
    let key_right: Vec<String> = layout
        .key
        .iter()
        .map(|k| {
            model
                .columns
                .iter()
                .find(|c| c.name == *k || c.name.eq_ignore_ascii_case(k))
                .map(|c| c.name.clone())
                .ok_or_else(|| Error::invalid(format!("key column {k} is not a column of {table}")))
        })
        .collect::<Result<_>>()?;
    model.identity.kind = IdentityKind::UniqueKey;
    model.identity.columns = key_right.clone();
    model.identity.versioned = false;
    let nk = layout.key.len();
    let mut changes = Vec::new();
    let mut id = 0u64;
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        let kinds = batch
            .column_by_name(KIND_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::StringArray>().cloned())
            .ok_or_else(|| Error::invalid("not a difference batch"))?;
        let rows = super::rows(&layout, &batch)?;
        for (r, row) in rows.iter().enumerate() {
            id += 1;
            let key: Vec<Value> = (0..nk)
                .map(|k| Value::from_array(batch.column(1 + k).as_ref(), r))
                .collect::<Result<_>>()?;
            let value = |side: usize, i: usize| Value::from_array(batch.column(1 + nk + 2 * i + side).as_ref(), r);
            let mut change = Change {
                id,
                table: model.table.clone(),
                kind: ChangeKind::Update,
                identity: IdentityKind::UniqueKey,
                key: key.clone(),
                version: None,
                before: Vec::new(),
                checks: Vec::new(),
                after: Vec::new(),
            };
            match kinds.value(r) {
                "removed" => {
                    change.kind = ChangeKind::Insert;
                    change.key.clear();
                    change.after = key_right.iter().cloned().zip(key.clone()).collect();
                    for (i, (_, rname)) in layout.columns.iter().enumerate() {
                        change.after.push((rname.clone(), value(0, i)?));
                    }
                }
                "added" => {
                    change.kind = ChangeKind::Delete;
                    change.before = key_right.iter().cloned().zip(key.clone()).collect();
                }
                _ => {
                    change.before = key_right.iter().cloned().zip(key.clone()).collect();
                    for (i, ((_, rname), (_, _, changed))) in layout.columns.iter().zip(&row.cells).enumerate() {
                        if *changed {
                            change.after.push((rname.clone(), value(0, i)?));
                        }
                    }
                }
            }
            changes.push(change);
        }
    }
    if changes.is_empty() {
        return Ok(String::from("-- the two sides are equal: nothing to apply\n"));
    }
    let mut models = Models::new();
    models.insert(model.table.clone(), model);
    qore_sandbox::forward(&changes, &models, dialect.as_ref())?.script(dialect.as_ref())
}
