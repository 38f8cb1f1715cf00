//! The differences as an Arrow stream, and the summary of a diff.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array, new_null_array};
use arrow::compute::{can_cast_types, cast, interleave};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qore_core::{Error, Result};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::resolve::DiffPlan;

/// Schema-level metadata of a difference stream: JSON with `mode`
/// (`keyed` or `multiset`), `key` and `columns` (`[left, right]` pairs).
pub const DIFF_METADATA: &str = "qore.diff";
/// The column holding each difference's kind.
pub const KIND_COLUMN: &str = "diff";
/// The column listing, as a JSON array, the columns a changed row differs in.
pub const CHANGED_COLUMN: &str = "changed";
/// The column counting the copies of a row one side has more of (multiset).
pub const COPIES_COLUMN: &str = "copies";

/// What a difference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Only on the right.
    Added,
    /// Only on the left.
    Removed,
    /// On both, with different values.
    Changed,
}

impl Kind {
    /// `added`, `removed`, `changed`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Added => "added",
            Kind::Removed => "removed",
            Kind::Changed => "changed",
        }
    }
}

/// How many rows of what kind a diff found, and what it cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffSummary {
    /// The algorithm that ran (`stream` or `bisect`).
    pub algorithm: String,
    /// Rows read or checksummed on the left.
    pub left_rows: u64,
    /// Rows read or checksummed on the right.
    pub right_rows: u64,
    /// Rows equal on both sides.
    pub equal: u64,
    /// Rows only on the right.
    pub added: u64,
    /// Rows only on the left.
    pub removed: u64,
    /// Rows on both sides that differ.
    pub changed: u64,
    /// For each compared column (left name), how many changed rows differ in it.
    pub per_column: Vec<(String, u64)>,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// Bytes of rows downloaded from the left (Arrow buffers).
    pub left_bytes: u64,
    /// Bytes of rows downloaded from the right.
    pub right_bytes: u64,
    /// Bisection: key segments compared by checksum.
    pub segments_checked: u64,
    /// Bisection: rows downloaded because their segment differed.
    pub rows_downloaded: u64,
    /// Normalisations applied and columns left out.
    pub notes: Vec<String>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl DiffSummary {
    /// Whether no difference was found.
    pub fn is_equal(&self) -> bool {
        self.added == 0 && self.removed == 0 && self.changed == 0
    }
}

/// The type a shared column (key, or every column of a multiset diff) is
/// output as: the left's, or text when the right's cannot be cast to it.
fn shared_type(l: &Field, r: &Field) -> DataType {
    if l.data_type() == r.data_type() || can_cast_types(r.data_type(), l.data_type()) {
        l.data_type().clone()
    } else {
        DataType::Utf8
    }
}

/// The schema of the difference stream of `plan`.
pub fn diff_schema(plan: &DiffPlan) -> SchemaRef {
    let mut fields = vec![Field::new(KIND_COLUMN, DataType::Utf8, false)];
    for (i, p) in plan.key.iter().enumerate() {
        let (l, r) = (&plan.left_fields[i], &plan.right_fields[i]);
        let dt = shared_type(l, r);
        let f = Field::new(&p.left, dt.clone(), true);
        fields.push(if &dt == l.data_type() { f.with_metadata(l.metadata().clone()) } else { f });
    }
    let nk = plan.key.len();
    for (i, p) in plan.columns.iter().enumerate() {
        let l = &plan.left_fields[nk + i];
        let r = &plan.right_fields[nk + i];
        fields.push(Field::new(format!("left.{}", p.left), l.data_type().clone(), true).with_metadata(l.metadata().clone()));
        fields.push(Field::new(format!("right.{}", p.right), r.data_type().clone(), true).with_metadata(r.metadata().clone()));
    }
    if plan.multiset {
        fields.push(Field::new(COPIES_COLUMN, DataType::UInt64, false));
    } else {
        fields.push(Field::new(CHANGED_COLUMN, DataType::Utf8, true));
    }
    let meta = serde_json::json!({
        "mode": if plan.multiset { "multiset" } else { "keyed" },
        "key": plan.key.iter().map(|p| &p.left).collect::<Vec<_>>(),
        "columns": plan.columns.iter().map(|p| [&p.left, &p.right]).collect::<Vec<_>>(),
    });
    let mut md = std::collections::HashMap::new();
    md.insert(DIFF_METADATA.to_string(), meta.to_string());
    Arc::new(Schema::new(fields).with_metadata(md))
}

/// A batch of one side as the output needs it: its shared columns cast to
/// the output types, its compared columns as read.
#[derive(Debug)]
struct Slot {
    shared: Vec<ArrayRef>,
    values: Vec<ArrayRef>,
}

/// Where a difference's row is: (slot, row).
type RowRef = (usize, usize);

#[derive(Debug)]
struct Entry {
    kind: Kind,
    left: Option<RowRef>,
    right: Option<RowRef>,
    changed: Vec<u32>,
    copies: u64,
}

/// A pending slot registration: whoever holds an `Option<Held>` from an
/// older generation must register its batch again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held {
    generation: u64,
    slot: usize,
}

/// Collects differences and sends them as batches of at most
/// [`BATCH_ROWS`] rows, holding at most a few input batches meanwhile.
#[derive(Debug)]
pub(crate) struct Emitter {
    schema: SchemaRef,
    tx: mpsc::Sender<Result<RecordBatch>>,
    nkey: usize,
    value_names: Vec<String>,
    multiset: bool,
    shared_types: Vec<DataType>,
    slots: [Vec<Slot>; 2],
    generation: u64,
    entries: Vec<Entry>,
}

const BATCH_ROWS: usize = 8192;
const MAX_SLOTS: usize = 16;

/// Which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Left = 0,
    Right = 1,
}

impl Emitter {
    pub(crate) fn new(plan: &DiffPlan, schema: SchemaRef, tx: mpsc::Sender<Result<RecordBatch>>) -> Emitter {
        let nkey = plan.key.len();
        let shared_types: Vec<DataType> = (0..nkey)
            .map(|i| shared_type(&plan.left_fields[i], &plan.right_fields[i]))
            .collect();
        let null_slot = |fields: &[Field]| Slot {
            shared: shared_types.iter().map(|t| new_null_array(t, 1)).collect(),
            values: fields[nkey..].iter().map(|f| new_null_array(f.data_type(), 1)).collect(),
        };
        Emitter {
            slots: [vec![null_slot(&plan.left_fields)], vec![null_slot(&plan.right_fields)]],
            schema,
            tx,
            nkey,
            value_names: plan.columns.iter().map(|p| p.left.clone()).collect(),
            multiset: plan.multiset,
            shared_types,
            generation: 0,
            entries: Vec::new(),
        }
    }

    /// Registers `batch` (a side's columns in plan order) unless `held`
    /// still names it; returns its slot.
    pub(crate) fn hold(&mut self, which: Which, batch: &RecordBatch, held: &mut Option<Held>) -> Result<usize> {
        if let Some(h) = held
            && h.generation == self.generation
        {
            return Ok(h.slot);
        }
        let mut shared = Vec::with_capacity(self.nkey);
        for (i, t) in self.shared_types.iter().enumerate() {
            let a = batch.column(i);
            shared.push(if a.data_type() == t {
                a.clone()
            } else {
                cast(a, t).map_err(|e| Error::data(format!("key column {i}: {e}")))?
            });
        }
        let values = batch.columns()[self.nkey..].to_vec();
        let slots = &mut self.slots[which as usize];
        slots.push(Slot { shared, values });
        let slot = slots.len() - 1;
        *held = Some(Held { generation: self.generation, slot });
        Ok(slot)
    }

    /// Whether the next entry should go after a flush.
    pub(crate) fn full(&self) -> bool {
        self.entries.len() >= BATCH_ROWS
            || self.slots[0].len() > MAX_SLOTS
            || self.slots[1].len() > MAX_SLOTS
    }

    /// Adds a difference (after [`full`](Self::full) was answered with a flush).
    pub(crate) fn push(&mut self, kind: Kind, left: Option<RowRef>, right: Option<RowRef>, changed: Vec<u32>, copies: u64) {
        self.entries.push(Entry { kind, left, right, changed, copies });
    }

    /// Sends what is pending and forgets the held batches.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if !self.entries.is_empty() {
            let batch = self.build()?;
            if self.tx.send(Ok(batch)).await.is_err() {
                return Err(Error::Cancelled);
            }
            self.entries.clear();
        }
        for s in &mut self.slots {
            s.truncate(1);
        }
        self.generation += 1;
        Ok(())
    }

    fn build(&self) -> Result<RecordBatch> {
        let n = self.entries.len();
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        cols.push(Arc::new(StringArray::from_iter_values(self.entries.iter().map(|e| e.kind.label()))));
        let arrow_err = |e: arrow::error::ArrowError| Error::Internal(format!("building differences: {e}"));
        // Shared columns: from the left where the row is there, else the right.
        for k in 0..self.nkey {
            let mut sources: Vec<&dyn Array> = Vec::new();
            let lbase = 0;
            for s in &self.slots[0] {
                sources.push(s.shared[k].as_ref());
            }
            let rbase = sources.len();
            for s in &self.slots[1] {
                sources.push(s.shared[k].as_ref());
            }
            let idx: Vec<(usize, usize)> = self
                .entries
                .iter()
                .map(|e| match (e.left, e.right) {
                    (Some((s, r)), _) => (lbase + s, r),
                    (None, Some((s, r))) => (rbase + s, r),
                    (None, None) => (lbase, 0),
                })
                .collect();
            cols.push(interleave(&sources, &idx).map_err(arrow_err)?);
        }
        for c in 0..self.value_names.len() {
            for (side, pick) in [(0usize, true), (1usize, false)] {
                let sources: Vec<&dyn Array> = self.slots[side].iter().map(|s| s.values[c].as_ref()).collect();
                let idx: Vec<(usize, usize)> = self
                    .entries
                    .iter()
                    .map(|e| if pick { e.left } else { e.right }.unwrap_or((0, 0)))
                    .collect();
                cols.push(interleave(&sources, &idx).map_err(arrow_err)?);
            }
        }
        if self.multiset {
            cols.push(Arc::new(UInt64Array::from_iter_values(self.entries.iter().map(|e| e.copies))));
        } else {
            cols.push(Arc::new(
                self.entries
                    .iter()
                    .map(|e| {
                        (e.kind == Kind::Changed).then(|| {
                            serde_json::to_string(
                                &e.changed.iter().map(|&i| &self.value_names[i as usize]).collect::<Vec<_>>(),
                            )
                            .unwrap_or_default()
                        })
                    })
                    .collect::<StringArray>(),
            ));
        }
        debug_assert_eq!(cols.len(), self.schema.fields().len());
        RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| Error::Internal(format!("building differences ({n} rows): {e}")))
    }
}
