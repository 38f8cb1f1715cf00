//! Checksum bisection: the engines count and checksum key segments, and
//! only the segments whose checksums differ are downloaded and merged.
//!
//! Unlike reladiff, one `GROUP BY` per side and level computes every
//! segment's checksum in one scan, the two sides run at once, adjacent
//! differing segments are read as one range, and when most segments
//! differ the whole range is streamed instead (downloading everything
//! through bisection would cost the checksums on top).
//!
//! A checksum can only tell segments apart, never make them equal: every
//! column's text in it is exact (shortest round-trip floats, all six
//! fractional digits of instants), so two engines spelling one value
//! differently cost a download, never a missed difference.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use futures::StreamExt;
use qore_core::{Connection, Dialect, Error, Result};

use crate::merge::{Counts, MergeSpec, merge};
use crate::normalise::Rule;
use crate::output::Emitter;
use crate::resolve::{DiffPlan, Reader};

/// Segments per level below the first.
const FACTOR: i128 = 32;
/// Share of rows in differing segments above which the range is streamed.
const STREAM_SHARE: f64 = 0.5;

/// Whether bisection can run on `plan`: one integer key and both engines
/// computing MD5 checksums.
pub(crate) fn eligible(plan: &DiffPlan) -> std::result::Result<(), String> {
    if plan.multiset {
        return Err("rows are compared as multisets (no key)".into());
    }
    if plan.key.len() != 1 || !is_int(plan.left_fields[0].data_type()) || !is_int(plan.right_fields[0].data_type()) {
        return Err("bisection needs a key of one integer column".into());
    }
    for (side, r) in [("left", &plan.left), ("right", &plan.right)] {
        match &r.dialect {
            Some(d) if d.checksum_aggregate("x").is_some() && d.md5_text("x").is_some() => {}
            _ => return Err(format!("the {side} engine ({}) cannot compute checksums", r.engine.name())),
        }
    }
    Ok(())
}

fn is_int(dt: &DataType) -> bool {
    dt.is_integer()
}

/// The exact text of column `i` of a side, with a length prefix so that
/// no two rows' texts run together, and `N` for NULL.
fn column_text(d: &dyn Dialect, col: &str, dt: &DataType, rule: &Rule) -> String {
    let t = match (rule, dt) {
        (_, DataType::Boolean) => format!("CASE WHEN {col} THEN '1' ELSE '0' END"),
        (Rule::Decimal { scale }, _) => d.cast_text(&format!("CAST({col} AS DECIMAL(38, {scale}))")),
        (Rule::Instant { .. }, DataType::Date32 | DataType::Date64) => d
            .instant_text(&format!("CAST({col} AS TIMESTAMP)"))
            .unwrap_or_else(|| d.cast_text(col)),
        (Rule::Instant { .. }, DataType::Timestamp(_, Some(_))) => d
            .instant_text(&d.utc_instant(col))
            .unwrap_or_else(|| d.cast_text(col)),
        (Rule::Instant { .. }, _) => d.instant_text(col).unwrap_or_else(|| d.cast_text(col)),
        (Rule::Binary, DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_)) => d.hex_text(col),
        _ => d.cast_text(col),
    };
    format!(
        "CASE WHEN {col} IS NULL THEN 'N' ELSE CONCAT({}, ':', {t}) END",
        d.cast_text(&d.char_length(&t))
    )
}

/// The checksum aggregate of a side's rows.
fn checksum_sql(r: &Reader, plan: &DiffPlan, left: bool) -> Result<String> {
    let d = r.dialect.as_ref().ok_or_else(|| Error::Internal("bisection without SQL".into()))?;
    let fields = if left { &plan.left_fields } else { &plan.right_fields };
    let mut parts = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        parts.push(column_text(d.as_ref(), &r.column_sql(i)?, f.data_type(), &plan.rules[i]));
    }
    let row = format!("CONCAT({})", parts.join(", '|', "));
    d.checksum_aggregate(&row)
        .ok_or_else(|| Error::Internal("checksum without an aggregate".into()))
}

/// A segment's count and checksum.
type Sums = (i64, i128);

async fn single_row(conn: &dyn Connection, sql: &str) -> Result<Vec<RecordBatch>> {
    let mut s = conn.query(sql, &[]).await?;
    let mut out = Vec::new();
    while let Some(b) = s.next().await {
        out.push(b?);
    }
    Ok(out)
}

fn int_at(b: &RecordBatch, col: usize, row: usize) -> Result<Option<i128>> {
    let a = b.column(col);
    if a.is_null(row) {
        return Ok(None);
    }
    let c = cast(&a.slice(row, 1), &DataType::Decimal128(38, 0))
        .map_err(|e| Error::data(format!("reading a checksum ({}): {e}", a.data_type())))?;
    Ok(Some(c.as_primitive::<arrow::datatypes::Decimal128Type>().value(0)))
}

/// Per bucket of `width` keys from `lo`, within `[from, to)`: count and sum.
async fn buckets(
    conn: &dyn Connection,
    r: &Reader,
    checksum: &str,
    lo: i128,
    width: i128,
    from: i128,
    to: i128,
) -> Result<BTreeMap<i128, Sums>> {
    let d = r.dialect.as_ref().ok_or_else(|| Error::Internal("bisection without SQL".into()))?;
    let k = r.column_sql(0)?;
    let bucket = d.int_div(&format!("{k} - ({lo})"), &width.to_string());
    let sql = format!(
        "SELECT {bucket} AS qore_bucket, count(*) AS qore_rows, {checksum} AS qore_sum FROM {}{} GROUP BY {bucket}",
        r.from(),
        r.where_clause(&[format!("{k} >= {from}"), format!("{k} < {to}")])
    );
    let mut out = BTreeMap::new();
    for b in single_row(conn, &sql).await? {
        for row in 0..b.num_rows() {
            let Some(bucket) = int_at(&b, 0, row)? else { continue };
            let n = int_at(&b, 1, row)?.unwrap_or(0) as i64;
            let sum = int_at(&b, 2, row)?.unwrap_or(0);
            out.insert(bucket, (n, sum));
        }
    }
    Ok(out)
}

/// What a bisection did.
#[derive(Debug, Default)]
pub(crate) struct BisectStats {
    pub(crate) segments: u64,
    pub(crate) downloaded: u64,
    pub(crate) streamed_all: bool,
}

/// Runs the whole diff of `plan` by bisection.
pub(crate) async fn run(
    plan: &DiffPlan,
    left: &dyn Connection,
    right: &dyn Connection,
    spec: &MergeSpec<'_>,
    segment_rows: u64,
    e: &mut Emitter,
    counts: &mut Counts,
) -> Result<BisectStats> {
    let mut stats = BisectStats::default();
    let lsum = checksum_sql(&plan.left, plan, true)?;
    let rsum = checksum_sql(&plan.right, plan, false)?;
    // The key range of both sides together.
    let range = |r: &Reader| -> Result<String> {
        let k = r.column_sql(0)?;
        Ok(format!("SELECT min({k}), max({k}), count(*) FROM {}{}", r.from(), r.where_clause(&[])))
    };
    let (lq, rq) = (range(&plan.left)?, range(&plan.right)?);
    let (lr, rr) = futures::join!(single_row(left, &lq), single_row(right, &rq));
    let (lr, rr) = (lr.map_err(|e| e.context("the left side"))?, rr.map_err(|e| e.context("the right side"))?);
    let bounds = |bs: &[RecordBatch]| -> Result<(Option<i128>, Option<i128>, i128)> {
        let b = bs.iter().find(|b| b.num_rows() > 0).ok_or_else(|| Error::data("no answer to min/max/count"))?;
        Ok((int_at(b, 0, 0)?, int_at(b, 1, 0)?, int_at(b, 2, 0)?.unwrap_or(0)))
    };
    let (lmin, lmax, ln) = bounds(&lr)?;
    let (rmin, rmax, rn) = bounds(&rr)?;
    let lo = match (lmin, rmin) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => match a.or(b) {
            Some(v) => v,
            None => return Ok(stats), // both empty
        },
    };
    let hi = lmax.into_iter().chain(rmax).max().unwrap_or(lo) + 1;
    let total = ln.max(rn).max(1);
    let seg = i128::from(segment_rows.max(1));
    let first = (total / seg).clamp(1, 4096) + 1;
    let width = ((hi - lo) + first - 1) / first;
    // Ranges to download, merged when adjacent.
    let mut ranges: Vec<(i128, i128)> = Vec::new();
    let mut pending = vec![(lo, width.max(1), lo, hi)];
    let mut differing_rows: i128 = 0;
    while let Some((base, w, from, to)) = pending.pop() {
        let (lb, rb) = futures::join!(
            buckets(left, &plan.left, &lsum, base, w, from, to),
            buckets(right, &plan.right, &rsum, base, w, from, to)
        );
        let (lb, rb) = (lb.map_err(|e| e.context("checksums of the left side"))?, rb.map_err(|e| e.context("checksums of the right side"))?);
        let mut keys: Vec<i128> = lb.keys().chain(rb.keys()).copied().collect();
        keys.sort_unstable();
        keys.dedup();
        stats.segments += keys.len() as u64;
        let mut deeper = Vec::new();
        for b in keys {
            let (l, r) = (lb.get(&b).copied().unwrap_or((0, 0)), rb.get(&b).copied().unwrap_or((0, 0)));
            let (ln, rn) = (l.0, r.0);
            counts.left_rows += ln as u64;
            counts.right_rows += rn as u64;
            if l == r {
                counts.equal += ln as u64;
                continue;
            }
            let (s, t) = ((base + b * w).max(from), (base + (b + 1) * w).min(to));
            if i128::from(ln.max(rn)) <= seg || w <= 1 {
                differing_rows += i128::from(ln.max(rn));
                ranges.push((s, t));
                // Rows of a downloaded segment are counted by the merge.
                counts.left_rows -= ln as u64;
                counts.right_rows -= rn as u64;
            } else {
                let sub = (w + FACTOR - 1) / FACTOR;
                deeper.push((s, sub.max(1), s, t));
                // Counted again one level down.
                counts.left_rows -= ln as u64;
                counts.right_rows -= rn as u64;
            }
        }
        // Depth-first in key order: the last pushed is popped first.
        pending.extend(deeper.into_iter().rev());
        if (differing_rows as f64) > STREAM_SHARE * total as f64 {
            break;
        }
    }
    if (differing_rows as f64) > STREAM_SHARE * total as f64 {
        // Most rows are in differing segments: one ordered read of each
        // side beats downloading segment by segment.
        stats.streamed_all = true;
        *counts = Counts::default();
        let (lq, rq) = plan.statements()?;
        let (ls, rs) = futures::join!(left.query(&lq, &[]), right.query(&rq, &[]));
        let (ls, rs) = (ls.map_err(|e| e.context("the left side"))?, rs.map_err(|e| e.context("the right side"))?);
        merge(spec, ls, rs, e, counts).await?;
        return Ok(stats);
    }
    ranges.sort_unstable();
    let mut merged: Vec<(i128, i128)> = Vec::new();
    for (s, t) in ranges {
        match merged.last_mut() {
            Some(last) if last.1 == s => last.1 = t,
            _ => merged.push((s, t)),
        }
    }
    for (s, t) in merged {
        let cond = |r: &Reader| -> Result<Vec<String>> {
            let k = r.column_sql(0)?;
            Ok(vec![format!("{k} >= {s}"), format!("{k} < {t}")])
        };
        let (lq, rq) = (plan.left.statement(&cond(&plan.left)?)?, plan.right.statement(&cond(&plan.right)?)?);
        let (ls, rs) = futures::join!(left.query(&lq, &[]), right.query(&rq, &[]));
        let (ls, rs) = (ls.map_err(|e| e.context("the left side"))?, rs.map_err(|e| e.context("the right side"))?);
        let before = counts.left_rows.max(counts.right_rows);
        merge(spec, ls, rs, e, counts).await?;
        stats.downloaded += counts.left_rows.max(counts.right_rows) - before;
    }
    Ok(stats)
}
