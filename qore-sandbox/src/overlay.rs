//! The overlay: a table (or a query over it) read through a sandbox, its
//! pending changes applied on the fly — edited cells replaced, deleted rows
//! hidden, inserted rows added at the end — each marked so that a renderer
//! can highlight it. Batch by batch: memory is one batch plus the sandbox.
//!
//! Two columns are appended to every batch, named in the schema metadata
//! under [`MARKS`]: [`CHANGE_COLUMN`] (`update`, `insert`, or NULL for an
//! untouched row) and [`EDITED_COLUMN`] (the edited columns of the row,
//! comma-separated).

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use qore_core::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use qore_core::arrow::compute::filter_record_batch;
use qore_core::arrow::datatypes::{DataType, Field, Metadata, Schema, SchemaRef};
use qore_core::{
    Connection, Error, RecordBatchStreamAdapter, Result, SendableRecordBatchStream, TableRef,
    Value,
};

use crate::change::{Change, ChangeKind};
use crate::edit::Editor;
use crate::sandbox::Sandbox;
use crate::table::{IdentityKind, TableModel};

/// Schema metadata key: the names of the two mark columns, comma-separated.
pub const MARKS: &str = "qore.sandbox.marks";
/// The mark column that says what a row's pending change is.
pub const CHANGE_COLUMN: &str = "qore_change";
/// The mark column that lists a row's edited columns.
pub const EDITED_COLUMN: &str = "qore_edited";

/// The pending changes of one table, by the identity of their row.
struct Pending {
    by_key: HashMap<String, Change>,
    inserts: Vec<Change>,
}

fn key_text(values: &[Value]) -> String {
    format!("{values:?}")
}

/// Streams `table` with `sandbox`'s pending changes applied.
///
/// # Error handling
///
/// As [`TableModel::load`]; engine errors as they come.
pub async fn read_table(
    conn: &dyn Connection,
    sandbox: &Sandbox,
    table: &TableRef,
) -> Result<SendableRecordBatchStream> {
    let mut editor = Editor::new(conn)?;
    let model = editor.model(table).await?.clone();
    let d = editor.dialect();
    let mut select = vec!["*".to_string()];
    let rowid = model.identity.kind == IdentityKind::RowId;
    if rowid {
        select.push(format!(
            "{} AS {}",
            d.row_identity_expr().unwrap_or_default(),
            d.quote_identifier("qore_rowid")?
        ));
    }
    let sql = format!(
        "SELECT {} FROM {}",
        select.join(", "),
        d.quote_table(&model.table)?
    );
    let stream = conn.query(&sql, &[]).await?;
    let changes: Vec<Change> = sandbox.changes_of(&model.table).cloned().collect();
    overlay_with(stream, &model, changes, rowid.then_some("qore_rowid"))
}

/// Applies `changes` (of `model`'s table) to `stream`, a result that holds
/// the table's key columns (a table without a key: every column).
///
/// # Error handling
///
/// [`Error::InvalidInput`] when the result lacks a key column, or the
/// table's rows are addressed by a row id (read it with [`read_table`]).
pub fn overlay(
    stream: SendableRecordBatchStream,
    model: &TableModel,
    changes: Vec<Change>,
) -> Result<SendableRecordBatchStream> {
    if model.identity.kind == IdentityKind::RowId {
        return Err(Error::invalid(format!(
            "{} has no key: its rows are told apart by the engine's row id, which a query does not return; read the table through the sandbox instead",
            model.table
        )));
    }
    overlay_with(stream, model, changes, None)
}

fn overlay_with(
    stream: SendableRecordBatchStream,
    model: &TableModel,
    changes: Vec<Change>,
    rowid: Option<&str>,
) -> Result<SendableRecordBatchStream> {
    let input = stream.schema();
    let key_at: Vec<usize> = match rowid {
        Some(name) => vec![index_of(&input, name, model)?],
        None => model
            .identity
            .columns
            .iter()
            .map(|c| index_of(&input, c, model))
            .collect::<Result<_>>()?,
    };
    // The row id column is read, not shown.
    let shown: Vec<usize> = (0..input.fields().len())
        .filter(|i| rowid.is_none_or(|n| input.field(*i).name() != n))
        .collect();
    let schema = marked_schema(
        shown.iter().map(|i| input.field(*i).as_ref().clone()),
        input.metadata().clone(),
    );
    let mut pending = Pending {
        by_key: HashMap::new(),
        inserts: Vec::new(),
    };
    for c in changes {
        match c.kind {
            ChangeKind::Insert => pending.inserts.push(c),
            _ => {
                pending.by_key.insert(key_text(&c.key), c);
            }
        }
    }
    let pending = Arc::new(pending);
    let out_schema = schema.clone();
    let p = pending.clone();
    // A change applies to one row: of identical rows of a table without
    // any key, the first one (the database changes one of them too).
    let mut consumed = std::collections::HashSet::new();
    let body = stream.map(move |batch| {
        let batch = batch?;
        apply_batch(&batch, &out_schema, &shown, &key_at, &p, &mut consumed)
    });
    let tail_schema = schema.clone();
    let tail = futures::stream::once(futures::future::lazy(move |_| {
        inserted(&tail_schema, &pending)
    }))
    .filter(|r| futures::future::ready(!matches!(r, Ok(b) if b.num_rows() == 0)));
    Ok(Box::pin(RecordBatchStreamAdapter::new(
        schema,
        body.chain(tail),
    )))
}

/// `fields` and the two mark columns, with the schema metadata that names
/// them.
pub(crate) fn marked_schema(
    fields: impl Iterator<Item = Field>,
    mut meta: Metadata,
) -> SchemaRef {
    let mut fields: Vec<Field> = fields.collect();
    fields.push(Field::new(CHANGE_COLUMN, DataType::Utf8, true));
    fields.push(Field::new(EDITED_COLUMN, DataType::Utf8, true));
    meta.insert(MARKS.to_string(), format!("{CHANGE_COLUMN},{EDITED_COLUMN}"));
    Arc::new(Schema::new_with_metadata(fields, meta))
}

fn index_of(schema: &Schema, name: &str, model: &TableModel) -> Result<usize> {
    schema.index_of(name).map_err(|_| {
        Error::invalid(format!(
            "the result has no column `{name}`, which tells rows of {} apart ({}): select it too",
            model.table, model.identity
        ))
    })
}

fn apply_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
    shown: &[usize],
    key_at: &[usize],
    pending: &Pending,
    consumed: &mut std::collections::HashSet<String>,
) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let mut keep = Vec::with_capacity(n);
    let mut kinds: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut edited: Vec<Option<String>> = Vec::with_capacity(n);
    let mut touched: Vec<(usize, &Change)> = Vec::new();
    for r in 0..n {
        let key: Vec<Value> = key_at
            .iter()
            .map(|i| Value::from_array(batch.column(*i).as_ref(), r))
            .collect::<Result<_>>()?;
        let change = if pending.by_key.is_empty() {
            None
        } else {
            let k = key_text(&key);
            match pending.by_key.get(&k) {
                Some(c) if consumed.insert(k) => Some(c),
                _ => None,
            }
        };
        match change {
            Some(c) if c.kind == ChangeKind::Delete => {
                keep.push(false);
                kinds.push(None);
                edited.push(None);
            }
            Some(c) => {
                keep.push(true);
                kinds.push(Some("update"));
                edited.push(Some(c.edited_columns()));
                touched.push((r, c));
            }
            None => {
                keep.push(true);
                kinds.push(None);
                edited.push(None);
            }
        }
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(shown.len() + 2);
    for &i in shown {
        let col = batch.column(i);
        let name = batch.schema().field(i).name().clone();
        if !touched.iter().any(|(_, c)| c.after_value(&name).is_some()) {
            columns.push(col.clone());
            continue;
        }
        let mut values: Vec<Value> = (0..n)
            .map(|r| Value::from_array(col.as_ref(), r))
            .collect::<Result<_>>()?;
        for (r, c) in &touched {
            if let Some(v) = c.after_value(&name) {
                values[*r] = v.clone();
            }
        }
        columns.push(Value::to_array(&values, col.data_type())?);
    }
    columns.push(Arc::new(StringArray::from(kinds)));
    columns.push(Arc::new(StringArray::from(edited)));
    let out = RecordBatch::try_new(schema.clone(), columns)?;
    if keep.iter().all(|k| *k) {
        return Ok(out);
    }
    Ok(filter_record_batch(&out, &BooleanArray::from(keep))?)
}

/// The inserted rows, as one batch (columns they leave out: NULL, as the
/// database's default is not known until apply).
fn inserted(schema: &SchemaRef, pending: &Pending) -> Result<RecordBatch> {
    let n = pending.inserts.len();
    let fields = schema.fields();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
    for f in &fields[..fields.len() - 2] {
        let values: Vec<Value> = pending
            .inserts
            .iter()
            .map(|c| c.after_value(f.name()).cloned().unwrap_or(Value::Null))
            .collect();
        columns.push(Value::to_array(&values, f.data_type())?);
    }
    columns.push(Arc::new(StringArray::from(vec![Some("insert"); n])));
    columns.push(Arc::new(StringArray::from(
        pending
            .inserts
            .iter()
            .map(|c| Some(c.edited_columns()))
            .collect::<Vec<_>>(),
    )));
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
