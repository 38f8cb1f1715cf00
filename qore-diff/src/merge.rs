//! The keyed streaming merge: both sides read in key order, walked in one
//! pass, memory bounded by a few batches whatever the row count.
//!
//! The order each engine returns is checked as the rows arrive: a side
//! whose keys go backwards (an engine sorting text by a collation after
//! all) or repeat (a key that is not unique) stops the diff with an error,
//! never a wrong verdict.

use std::cmp::Ordering;

use arrow::array::RecordBatch;
use arrow::util::display::array_value_to_string;
use futures::StreamExt;
use qore_core::{Error, Result, SendableRecordBatchStream};

use crate::normalise::{Canon, Rule, canonical};
use crate::output::{Emitter, Held, Kind, Which};
use crate::spec::Tolerance;

/// Counters a merge adds to.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    pub(crate) left_rows: u64,
    pub(crate) right_rows: u64,
    pub(crate) equal: u64,
    pub(crate) added: u64,
    pub(crate) removed: u64,
    pub(crate) changed: u64,
    pub(crate) per_column: Vec<u64>,
    pub(crate) left_bytes: u64,
    pub(crate) right_bytes: u64,
}

/// What every merge of one diff shares.
#[derive(Debug)]
pub(crate) struct MergeSpec<'a> {
    pub(crate) rules: &'a [Rule],
    pub(crate) nkey: usize,
    pub(crate) multiset: bool,
    pub(crate) tolerance: Option<Tolerance>,
    pub(crate) key_names: Vec<String>,
    /// The fields each side's batches must have (left, right), in plan order.
    pub(crate) fields: [&'a [arrow::datatypes::Field]; 2],
}

/// `b` with exactly the planned columns: picked by name when the engine
/// returned others too or in another order (MongoDB documents), absent
/// ones as NULL, each cast to the planned type (a sample of documents can
/// type a field differently from one batch to the next).
fn conform(b: RecordBatch, fields: &[arrow::datatypes::Field], side: &str) -> Result<RecordBatch> {
    let same = b.num_columns() == fields.len()
        && b.schema().fields().iter().zip(fields).all(|(a, f)| a.name() == f.name() && a.data_type() == f.data_type());
    if same {
        return Ok(b);
    }
    let mut cols = Vec::with_capacity(fields.len());
    for f in fields {
        let col = match b.column_by_name(f.name()) {
            None => arrow::array::new_null_array(f.data_type(), b.num_rows()),
            Some(c) if c.data_type() == f.data_type() => c.clone(),
            Some(c) => arrow::compute::cast(c, f.data_type()).map_err(|e| {
                Error::data(format!(
                    "the {side} side's column {} arrived as {}, not {} as planned: {e}",
                    f.name(),
                    c.data_type(),
                    f.data_type()
                ))
            })?,
        };
        cols.push(col);
    }
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields.to_vec()));
    RecordBatch::try_new(schema, cols).map_err(|e| Error::data(format!("the {side} side's rows: {e}")))
}

/// One side's rows, one at a time.
struct Cursor<'a> {
    which: Which,
    stream: SendableRecordBatchStream,
    spec: &'a MergeSpec<'a>,
    batch: Option<RecordBatch>,
    canon: Vec<Canon>,
    row: usize,
    /// The previous batch's last row (canonical), for the order check.
    last: Option<(Vec<Canon>, RecordBatch, usize)>,
    held: Option<Held>,
    done: bool,
    rows: u64,
    bytes: u64,
}

impl<'a> Cursor<'a> {
    fn new(which: Which, stream: SendableRecordBatchStream, spec: &'a MergeSpec<'a>) -> Self {
        Cursor { which, stream, spec, batch: None, canon: Vec::new(), row: 0, last: None, held: None, done: false, rows: 0, bytes: 0 }
    }

    fn name(&self) -> &'static str {
        match self.which {
            Which::Left => "left",
            Which::Right => "right",
        }
    }

    /// Makes a row current; `false` at the end.
    async fn ready(&mut self) -> Result<bool> {
        loop {
            if let Some(b) = &self.batch
                && self.row < b.num_rows()
            {
                return Ok(true);
            }
            if self.done {
                return Ok(false);
            }
            match self.stream.next().await {
                None => {
                    self.done = true;
                    if let Some(b) = self.batch.take() {
                        let n = b.num_rows();
                        self.last = Some((std::mem::take(&mut self.canon), b, n - 1));
                    }
                    return Ok(false);
                }
                Some(Err(e)) => return Err(e.context(format!("reading the {} side", self.name()))),
                Some(Ok(b)) if b.num_rows() == 0 => continue,
                Some(Ok(b)) => {
                    let b = conform(b, self.spec.fields[self.which as usize], self.name())?;
                    let canon = b
                        .columns()
                        .iter()
                        .zip(self.spec.rules)
                        .enumerate()
                        .map(|(i, (a, r))| canonical(a, r, b.schema().field(i).name()))
                        .collect::<Result<Vec<_>>>()?;
                    self.bytes += b.get_array_memory_size() as u64;
                    if let Some(old) = self.batch.take() {
                        let n = old.num_rows();
                        self.last = Some((std::mem::replace(&mut self.canon, canon), old, n - 1));
                    } else {
                        self.canon = canon;
                    }
                    self.batch = Some(b);
                    self.row = 0;
                    self.held = None;
                    self.check_order()?;
                }
            }
        }
    }

    fn batch(&self) -> &RecordBatch {
        self.batch.as_ref().expect("ready() made a row current")
    }

    /// Checks the current row against the one before it.
    fn check_order(&self) -> Result<()> {
        let n = self.spec.nkey;
        let (prev_canon, prev_batch, prev_row) = if self.row > 0 {
            (&self.canon, self.batch(), self.row - 1)
        } else {
            match &self.last {
                Some((c, b, r)) => (c, b, *r),
                None => return Ok(()),
            }
        };
        match cmp_rows(prev_canon, prev_row, &self.canon, self.row, n) {
            Ordering::Less => Ok(()),
            Ordering::Equal if self.spec.multiset => Ok(()),
            Ordering::Equal => Err(Error::invalid(format!(
                "the key ({}) is not unique on the {} side: {} appears more than once; \
                 give a unique key with --key, or compare rows as multisets with --multiset",
                self.spec.key_names.join(", "),
                self.name(),
                key_text(self.batch(), self.row, n)
            ))),
            Ordering::Greater => Err(Error::data(format!(
                "the {} side's rows did not arrive in key order ({} came after {}): its engine \
                 orders the key differently from the byte order asked for, so the diff stopped \
                 rather than report false differences",
                self.name(),
                key_text(self.batch(), self.row, n),
                key_text(prev_batch, prev_row, n)
            ))),
        }
    }

    async fn advance(&mut self) -> Result<bool> {
        self.rows += 1;
        self.row += 1;
        if self.batch.as_ref().is_some_and(|b| self.row < b.num_rows()) {
            self.check_order()?;
            return Ok(true);
        }
        self.ready().await
    }

    fn hold(&mut self, e: &mut Emitter) -> Result<(usize, usize)> {
        let b = self.batch.as_ref().expect("ready() made a row current");
        let slot = e.hold(self.which, b, &mut self.held)?;
        Ok((slot, self.row))
    }
}

fn cmp_rows(a: &[Canon], i: usize, b: &[Canon], j: usize, n: usize) -> Ordering {
    for k in 0..n {
        match a[k].cmp_at(i, &b[k], j) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    Ordering::Equal
}

/// The key of row `row` as text, for messages.
pub(crate) fn key_text(b: &RecordBatch, row: usize, n: usize) -> String {
    let parts: Vec<String> = (0..n.min(b.num_columns()))
        .map(|k| array_value_to_string(b.column(k), row).unwrap_or_else(|_| "?".into()))
        .collect();
    format!("({})", parts.join(", "))
}

/// Merges two streams read in key order, sending each difference to `e`.
pub(crate) async fn merge(
    spec: &MergeSpec<'_>,
    left: SendableRecordBatchStream,
    right: SendableRecordBatchStream,
    e: &mut Emitter,
    counts: &mut Counts,
) -> Result<()> {
    if counts.per_column.len() < spec.rules.len() - spec.nkey {
        counts.per_column.resize(spec.rules.len() - spec.nkey, 0);
    }
    let mut l = Cursor::new(Which::Left, left, spec);
    let mut r = Cursor::new(Which::Right, right, spec);
    let (lr, rr) = futures::join!(l.ready(), r.ready());
    let (lh, rh) = (lr?, rr?);
    let result = if spec.multiset {
        merge_multiset(spec, &mut l, &mut r, lh, rh, e, counts).await
    } else {
        merge_keyed(spec, &mut l, &mut r, lh, rh, e, counts).await
    };
    counts.left_rows += l.rows;
    counts.right_rows += r.rows;
    counts.left_bytes += l.bytes;
    counts.right_bytes += r.bytes;
    result
}

async fn merge_keyed(
    spec: &MergeSpec<'_>,
    l: &mut Cursor<'_>,
    r: &mut Cursor<'_>,
    mut lh: bool,
    mut rh: bool,
    e: &mut Emitter,
    counts: &mut Counts,
) -> Result<()> {
    let n = spec.nkey;
    let total = spec.rules.len();
    while lh || rh {
        let ord = match (lh, rh) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => cmp_rows(&l.canon, l.row, &r.canon, r.row, n),
        };
        match ord {
            Ordering::Less => {
                emit(e, Kind::Removed, Some(&mut *l), None, Vec::new(), 1).await?;
                counts.removed += 1;
                lh = l.advance().await?;
            }
            Ordering::Greater => {
                emit(e, Kind::Added, None, Some(&mut *r), Vec::new(), 1).await?;
                counts.added += 1;
                rh = r.advance().await?;
            }
            Ordering::Equal => {
                let mut changed = Vec::new();
                for c in n..total {
                    if !l.canon[c].eq_at(l.row, &r.canon[c], r.row, spec.tolerance) {
                        changed.push((c - n) as u32);
                    }
                }
                if changed.is_empty() {
                    counts.equal += 1;
                } else {
                    for &c in &changed {
                        counts.per_column[c as usize] += 1;
                    }
                    counts.changed += 1;
                    emit(e, Kind::Changed, Some(&mut *l), Some(&mut *r), changed, 1).await?;
                }
                lh = l.advance().await?;
                rh = r.advance().await?;
            }
        }
    }
    Ok(())
}

async fn emit(
    e: &mut Emitter,
    kind: Kind,
    l: Option<&mut Cursor<'_>>,
    r: Option<&mut Cursor<'_>>,
    changed: Vec<u32>,
    copies: u64,
) -> Result<()> {
    if e.full() {
        e.flush().await?;
    }
    let lref = l.map(|c| c.hold(e)).transpose()?;
    let rref = r.map(|c| c.hold(e)).transpose()?;
    e.push(kind, lref, rref, changed, copies);
    Ok(())
}

/// A run of equal rows on one side: a one-row copy of it and its length.
async fn group(c: &mut Cursor<'_>) -> Result<(RecordBatch, Vec<Canon>, u64, bool)> {
    let rep = c.batch().slice(c.row, 1);
    let rep_canon: Vec<Canon> = rep
        .columns()
        .iter()
        .zip(c.spec.rules)
        .map(|(a, r)| canonical(a, r, "row"))
        .collect::<Result<_>>()?;
    let n = c.spec.nkey;
    let mut copies = 0;
    loop {
        copies += 1;
        if !c.advance().await? {
            return Ok((rep, rep_canon, copies, false));
        }
        if cmp_rows(&rep_canon, 0, &c.canon, c.row, n) != Ordering::Equal {
            return Ok((rep, rep_canon, copies, true));
        }
    }
}

async fn merge_multiset(
    spec: &MergeSpec<'_>,
    l: &mut Cursor<'_>,
    r: &mut Cursor<'_>,
    mut lh: bool,
    mut rh: bool,
    e: &mut Emitter,
    counts: &mut Counts,
) -> Result<()> {
    let n = spec.nkey;
    let mut lg = None;
    let mut rg = None;
    loop {
        if lg.is_none() && lh {
            let (b, c, k, more) = group(l).await?;
            lg = Some((b, c, k));
            lh = more;
        }
        if rg.is_none() && rh {
            let (b, c, k, more) = group(r).await?;
            rg = Some((b, c, k));
            rh = more;
        }
        let ord = match (&lg, &rg) {
            (None, None) => return Ok(()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((_, a, _)), Some((_, b, _))) => cmp_rows(a, 0, b, 0, n),
        };
        match ord {
            Ordering::Less => {
                let (b, _, k) = lg.take().expect("matched Some");
                surplus(e, Which::Left, &b, k).await?;
                counts.removed += k;
            }
            Ordering::Greater => {
                let (b, _, k) = rg.take().expect("matched Some");
                surplus(e, Which::Right, &b, k).await?;
                counts.added += k;
            }
            Ordering::Equal => {
                let (lb, _, lk) = lg.take().expect("matched Some");
                let (rb, _, rk) = rg.take().expect("matched Some");
                counts.equal += lk.min(rk);
                if lk > rk {
                    surplus(e, Which::Left, &lb, lk - rk).await?;
                    counts.removed += lk - rk;
                } else if rk > lk {
                    surplus(e, Which::Right, &rb, rk - lk).await?;
                    counts.added += rk - lk;
                }
            }
        }
    }
}

/// Reports `copies` more copies of the one-row batch `row` on side `w`.
async fn surplus(e: &mut Emitter, w: Which, row: &RecordBatch, copies: u64) -> Result<()> {
    if e.full() {
        e.flush().await?;
    }
    let at = (e.hold(w, row, &mut None)?, 0);
    match w {
        Which::Left => e.push(Kind::Removed, Some(at), None, Vec::new(), copies),
        Which::Right => e.push(Kind::Added, None, Some(at), Vec::new(), copies),
    }
    Ok(())
}
