//! Checksum bisection: the engines count and checksum key segments, and
//! only the segments whose checksums differ are downloaded and merged.
//!
//! Unlike reladiff (32 segments per level, one query each), one `GROUP BY`
//! per side computes every segment's checksum in one scan, with segments of
//! about 64 rows, so a thousand scattered changes cost a thousand small
//! segments, read back in a few range queries, rather than most of the
//! table. A segment above `segment_rows` (a dense key region) is split
//! again the same way. When differing segments hold more than 30% of the
//! rows, both sides are streamed whole instead. The two sides always run
//! at once.
//!
//! Two sides of the same engine with the same column types use the
//! engine's native row hash (PostgreSQL: `hashtextextended` of the row's
//! text); otherwise MD5 of each row's exact text. Either way a checksum can
//! only tell segments apart, never make them equal: every column's text is
//! exact (shortest round-trip floats, six fractional digits of instants,
//! length-prefixed text), so two engines spelling one value differently
//! (`1e+300` and `1e300`) cost a download, never a missed difference.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use futures::StreamExt;
use qore_core::metadata::SOURCE_TYPE;
use qore_core::{Connection, Dialect, Error, Result};

use crate::merge::{Counts, MergeSpec, merge};
use crate::normalise::Rule;
use crate::output::Emitter;
use crate::resolve::{DiffPlan, Reader};


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

/// The exact text of one column: numbers, instants and booleans as text
/// that can hold neither `|` nor `N` (so `N` marks NULL), anything else
/// length-prefixed so that no two rows' texts run together.
fn column_text(d: &dyn Dialect, col: &str, dt: &DataType, rule: &Rule) -> String {
    let plain = |t: String| format!("COALESCE({t}, 'N')");
    match (rule, dt) {
        (_, DataType::Boolean) => format!("CASE WHEN {col} THEN '1' WHEN NOT {col} THEN '0' ELSE 'N' END"),
        (Rule::Decimal { scale: 0 }, dt) if dt.is_integer() => plain(d.cast_text(col)),
        (Rule::Decimal { scale }, _) => plain(d.cast_text(&format!("CAST({col} AS DECIMAL(38, {scale}))"))),
        (Rule::Float { .. }, _) => plain(d.cast_text(col)),
        (Rule::Instant { .. }, DataType::Date32 | DataType::Date64) => plain(
            d.instant_text(&format!("CAST({col} AS TIMESTAMP)"))
                .unwrap_or_else(|| d.cast_text(col)),
        ),
        (Rule::Instant { .. }, DataType::Timestamp(_, Some(_))) => plain(
            d.instant_text(&d.utc_instant(col))
                .unwrap_or_else(|| d.cast_text(col)),
        ),
        (Rule::Instant { .. }, DataType::Timestamp(_, None)) => {
            plain(d.instant_text(col).unwrap_or_else(|| d.cast_text(col)))
        }
        (Rule::Binary, DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_)) => {
            prefixed(d, col, &d.hex_text(col))
        }
        // Text read as Utf8 may be json, uuid, enum... on the engine: cast.
        _ => prefixed(d, col, &d.cast_text(col)),
    }
}

fn prefixed(d: &dyn Dialect, col: &str, t: &str) -> String {
    format!(
        "CASE WHEN {col} IS NULL THEN 'N' ELSE CONCAT({}, ':', {t}) END",
        d.cast_text(&d.char_length(t))
    )
}

/// A side's dialect and quoted columns.
type SideSql = (Arc<dyn Dialect>, Vec<String>);

/// Each side's dialect and quoted columns.
fn sides(plan: &DiffPlan) -> Result<[SideSql; 2]> {
    let sql = |r: &Reader| -> Result<SideSql> {
        let d = r.dialect.clone().ok_or_else(|| Error::Internal("bisection without SQL".into()))?;
        Ok((d, (0..plan.rules.len()).map(|i| r.column_sql(i)).collect::<Result<_>>()?))
    };
    Ok([sql(&plan.left)?, sql(&plan.right)?])
}

/// Both sides' native row checksums, when both sides are the same engine
/// with the same column types and the engine has one.
pub(crate) fn native(plan: &DiffPlan) -> Option<(String, String)> {
    let [(ld, lc), (rd, rc)] = sides(plan).ok()?;
    let same_types = plan.left_fields.iter().zip(&plan.right_fields).all(|(l, r)| {
        l.data_type() == r.data_type() && l.metadata().get(SOURCE_TYPE) == r.metadata().get(SOURCE_TYPE)
    });
    if ld.name() != rd.name() || !same_types {
        return None;
    }
    Some((ld.native_row_checksum(&lc)?, rd.native_row_checksum(&rc)?))
}

/// Both sides' native value checksums (no text built), where every
/// column's type allows them; see [`native`] for when sides are native.
fn native_fast(plan: &DiffPlan) -> Option<(String, String)> {
    native(plan)?;
    let [(ld, lc), (rd, rc)] = sides(plan).ok()?;
    let types = |fields: &[arrow::datatypes::Field]| -> Option<Vec<String>> {
        fields.iter().map(|f| f.metadata().get(SOURCE_TYPE).cloned()).collect()
    };
    let (lt, rt) = (types(&plan.left_fields)?, types(&plan.right_fields)?);
    Some((ld.native_value_checksum(&lc, &lt)?, rd.native_value_checksum(&rc, &rt)?))
}

/// The checksum aggregates of both sides: the native ones where
/// [`native`] finds them, else MD5 of each row's exact text; and whether
/// the native ones were used.
fn checksums(plan: &DiffPlan) -> Result<(String, String, bool)> {
    if let Some((l, r)) = native(plan) {
        return Ok((l, r, true));
    }
    let [(ld, lc), (rd, rc)] = sides(plan)?;
    let md5 = |d: &Arc<dyn Dialect>, cols: &[String], fields: &[arrow::datatypes::Field]| -> Result<String> {
        let parts: Vec<String> = cols
            .iter()
            .zip(fields)
            .zip(&plan.rules)
            .map(|((c, f), rule)| column_text(d.as_ref(), c, f.data_type(), rule))
            .collect();
        d.checksum_aggregate(&format!("CONCAT({})", parts.join(", '|', ")))
            .ok_or_else(|| Error::Internal("checksum without an aggregate".into()))
    };
    Ok((md5(&ld, &lc, &plan.left_fields)?, md5(&rd, &rc, &plan.right_fields)?, false))
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
        let col = |i: usize| -> Result<arrow::array::Decimal128Array> {
            let c = cast(b.column(i), &DataType::Decimal128(38, 0))
                .map_err(|e| Error::data(format!("reading checksums ({}): {e}", b.column(i).data_type())))?;
            Ok(c.as_primitive::<arrow::datatypes::Decimal128Type>().clone())
        };
        let (bucket, rows, sum) = (col(0)?, col(1)?, col(2)?);
        for r in 0..b.num_rows() {
            if bucket.is_null(r) {
                continue;
            }
            let sum = if sum.is_null(r) { 0 } else { sum.value(r) };
            out.insert(bucket.value(r), (rows.value(r) as i64, sum));
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
    pub(crate) native: bool,
    pub(crate) value_hash: bool,
}

/// Rows per segment a level aims at (up to [`MAX_SEGMENTS`] segments):
/// small enough that scattered changes touch few rows' worth of segments,
/// while the checksum query costs one scan whatever the segment count.
const SEGMENT_TARGET: i128 = 64;
/// At most this many segments per level: the engine's aggregate stays
/// in memory (PostgreSQL's default `work_mem` spills a 150,000-group hash
/// aggregate to disk), and a bigger table gets bigger first segments,
/// split again only where they differ.
const MAX_SEGMENTS: i128 = 16_384;
/// Ranges read by one download query.
const RANGES_PER_QUERY: usize = 256;

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
    let (lsum, rsum, native) = checksums(plan)?;
    stats.native = native;
    let mut fast = native_fast(plan);
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
    let Some(lo) = lmin.into_iter().chain(rmin).min() else {
        return Ok(stats); // both empty
    };
    let hi = lmax.into_iter().chain(rmax).max().unwrap_or(lo) + 1;
    let total = ln.max(rn).max(1);
    let seg = i128::from(segment_rows.max(1));
    // A segment split again gets at least 32 parts, so that every level
    // narrows it and the last level (width 1) is always downloaded.
    let width_for = |span: i128, rows: i128, min_parts: i128| -> i128 {
        let n = (rows / SEGMENT_TARGET).clamp(min_parts, MAX_SEGMENTS);
        ((span + n - 1) / n).max(1)
    };
    // Segments to download, and segments to split further (depth first,
    // in key order).
    let mut ranges: Vec<(i128, i128)> = Vec::new();
    let mut pending = vec![(lo, width_for(hi - lo, total, 1), lo, hi)];
    let mut differing_rows: i128 = 0;
    let mut checked_rows: (u64, u64) = (0, 0);
    while let Some((base, w, from, to)) = pending.pop() {
        let (lb, rb) = loop {
            let (l, r) = match &fast {
                Some((l, r)) => (l.as_str(), r.as_str()),
                None => (lsum.as_str(), rsum.as_str()),
            };
            let (lb, rb) = futures::join!(
                buckets(left, &plan.left, l, base, w, from, to),
                buckets(right, &plan.right, r, base, w, from, to)
            );
            let undefined = |e: &Result<BTreeMap<i128, Sums>>| {
                matches!(e, Err(e) if e.kind() == qore_core::ErrorKind::UndefinedObject)
            };
            if fast.is_some() && (undefined(&lb) || undefined(&rb)) {
                // A server without the value hash (PostgreSQL before 14):
                // the row-text hash.
                fast = None;
                continue;
            }
            break (lb, rb);
        };
        let (lb, rb) = (lb.map_err(|e| e.context("checksums of the left side"))?, rb.map_err(|e| e.context("checksums of the right side"))?);
        let mut keys: Vec<i128> = lb.keys().chain(rb.keys()).copied().collect();
        keys.sort_unstable();
        keys.dedup();
        stats.segments += keys.len() as u64;
        let mut deeper = Vec::new();
        for b in keys {
            let (l, r) = (lb.get(&b).copied().unwrap_or((0, 0)), rb.get(&b).copied().unwrap_or((0, 0)));
            if l == r {
                // Equal segments are counted here; the others by the merge.
                counts.equal += l.0 as u64;
                checked_rows.0 += l.0 as u64;
                checked_rows.1 += r.0 as u64;
                continue;
            }
            let rows = i128::from(l.0.max(r.0));
            let (s, t) = ((base + b * w).max(from), (base + (b + 1) * w).min(to));
            if rows <= seg || w <= 1 {
                differing_rows += rows;
                ranges.push((s, t));
            } else {
                deeper.push((s, width_for(t - s, rows, 32), s, t));
            }
        }
        pending.extend(deeper.into_iter().rev());
        if differing_rows * 10 > total * 3 {
            break;
        }
    }
    stats.value_hash = fast.is_some();
    if differing_rows * 10 > total * 3 {
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
    counts.left_rows += checked_rows.0;
    counts.right_rows += checked_rows.1;
    ranges.sort_unstable();
    let mut merged: Vec<(i128, i128)> = Vec::new();
    for (s, t) in ranges {
        match merged.last_mut() {
            Some(last) if last.1 == s => last.1 = t,
            _ => merged.push((s, t)),
        }
    }
    // Several ranges per query, in key order: one round trip for many
    // small segments.
    for chunk in merged.chunks(RANGES_PER_QUERY) {
        let cond = |r: &Reader| -> Result<Vec<String>> {
            let k = r.column_sql(0)?;
            let parts: Vec<String> = chunk.iter().map(|(s, t)| format!("({k} >= {s} AND {k} < {t})")).collect();
            Ok(vec![format!("({})", parts.join(" OR "))])
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
