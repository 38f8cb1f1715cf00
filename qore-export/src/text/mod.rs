//! Exact text and JSON for every Arrow value: the one renderer behind CSV and
//! TSV (for the types without a fast path), JSON and NDJSON, the table view
//! and the HTML page.
//!
//! Nothing is rendered through chrono or Arrow's display, which print
//! `ERROR: Cast error ...` as if it were data for values outside their range
//! (PostgreSQL's `24:00:00`, dates past year 262143). A value that cannot be
//! rendered is an [`Error::Data`], never text in the output.
//!
//! Conventions (documented in the README):
//! - ±infinity of dates and timestamps are Arrow's extreme values (DuckDB's
//!   and PostgreSQL's own sentinels): Date32 `i32::MAX` / `i32::MIN` (and
//!   `i32::MIN + 1`), timestamps `i64::MAX` / `i64::MIN` (and `i64::MIN + 1`),
//!   written as `infinity` / `-infinity`.
//! - Times run from `00:00:00` to `24:00:00` inclusive.
//! - Intervals are ISO 8601 durations with a sign per component, as
//!   PostgreSQL's `iso_8601` style writes them (`P1Y2M-3DT4H5M6.5S`).
//! - Lists, structs and maps are JSON text in text formats.
//! - In JSON, NaN and ±infinity of floats are the strings `"NaN"`,
//!   `"Infinity"`, `"-Infinity"`; decimals and 64-bit integers are exact
//!   JSON numbers; columns marked `qore.json` are embedded verbatim when
//!   they hold valid JSON (any depth, any number size), else a string.

use arrow::array::*;
use arrow::datatypes::*;
use qore_core::calendar::civil_from_days;
use qore_core::{Error, Result};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `Some(true)` for +infinity, `Some(false)` for -infinity, of a Date32.
pub fn date_infinity(days: i32) -> Option<bool> {
    match days {
        i32::MAX => Some(true),
        i32::MIN => Some(false),
        v if v == i32::MIN + 1 => Some(false),
        _ => None,
    }
}

/// `Some(true)` for +infinity, `Some(false)` for -infinity, of a timestamp
/// in any unit.
pub fn timestamp_infinity(v: i64) -> Option<bool> {
    match v {
        i64::MAX => Some(true),
        i64::MIN => Some(false),
        v if v == i64::MIN + 1 => Some(false),
        _ => None,
    }
}

fn two(buf: &mut Vec<u8>, v: u64) {
    buf.push(b'0' + (v / 10 % 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

pub(crate) fn int<I: itoa::Integer>(buf: &mut Vec<u8>, v: I) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Days since 1970 as ISO 8601 `YYYY-MM-DD`: astronomical years (year 0
/// is 1 BC), at least four digits, a `-` before years before 0.
pub(crate) fn date(buf: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    if y < 0 {
        buf.push(b'-');
    }
    let a = y.unsigned_abs();
    if a <= 9999 {
        two(buf, a / 100);
        two(buf, a % 100);
    } else {
        int(buf, a);
    }
    buf.push(b'-');
    two(buf, u64::from(m));
    buf.push(b'-');
    two(buf, u64::from(d));
}

/// A Date32, with the infinity sentinels.
pub(crate) fn date32(buf: &mut Vec<u8>, days: i32) {
    match date_infinity(days) {
        Some(true) => buf.extend_from_slice(b"infinity"),
        Some(false) => buf.extend_from_slice(b"-infinity"),
        None => date(buf, i64::from(days)),
    }
}

/// `.fff`, `.ffffff` or `.fffffffff`: the shortest group of three digits
/// that holds `nanos` exactly; nothing when zero.
fn fraction(buf: &mut Vec<u8>, nanos: u64) {
    if nanos == 0 {
        return;
    }
    buf.push(b'.');
    let mut digits = [0u8; 9];
    let mut f = nanos;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    let len = if nanos.is_multiple_of(1_000_000) {
        3
    } else if nanos.is_multiple_of(1000) {
        6
    } else {
        9
    };
    buf.extend_from_slice(&digits[..len]);
}

/// `HH:MM:SS[.f]` of a time of day (up to and including 24:00:00).
fn clock(buf: &mut Vec<u8>, secs: u64, nanos: u64) {
    two(buf, secs / 3600);
    buf.push(b':');
    two(buf, secs / 60 % 60);
    buf.push(b':');
    two(buf, secs % 60);
    fraction(buf, nanos);
}

fn unit_per_sec(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// A timestamp of `unit` as `YYYY-MM-DDTHH:MM:SS[.f]`, `Z` when zoned (the
/// instant is shown in UTC whatever the zone), or `±infinity`.
pub(crate) fn timestamp(buf: &mut Vec<u8>, v: i64, unit: TimeUnit, zoned: bool) {
    match timestamp_infinity(v) {
        Some(true) => return buf.extend_from_slice(b"infinity"),
        Some(false) => return buf.extend_from_slice(b"-infinity"),
        None => {}
    }
    let per = unit_per_sec(unit);
    let secs = v.div_euclid(per);
    let sub = v.rem_euclid(per) as u64 * (1_000_000_000 / per as u64);
    date(buf, secs.div_euclid(86_400));
    buf.push(b'T');
    clock(buf, secs.rem_euclid(86_400) as u64, sub);
    if zoned {
        buf.push(b'Z');
    }
}

/// A time of day in `unit`; `24:00:00` is PostgreSQL's end of day.
fn time_of_day(buf: &mut Vec<u8>, v: i64, unit: TimeUnit) -> Result<()> {
    let per = unit_per_sec(unit);
    if v < 0 || v > 86_400 * per {
        return Err(Error::data(format!(
            "a time of day of {v} {} is outside 00:00:00..24:00:00",
            unit_name(unit)
        )));
    }
    clock(
        buf,
        (v / per) as u64,
        (v % per) as u64 * (1_000_000_000 / per as u64),
    );
    Ok(())
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "µs",
        TimeUnit::Nanosecond => "ns",
    }
}

/// A signed duration as `[-]H:MM:SS[.f]` (hours unbounded: MySQL's TIME).
fn duration(buf: &mut Vec<u8>, v: i64, unit: TimeUnit) {
    let per = unit_per_sec(unit) as u64;
    if v < 0 {
        buf.push(b'-');
    }
    let a = v.unsigned_abs();
    let secs = a / per;
    let h = secs / 3600;
    if h < 10 {
        buf.push(b'0');
    }
    int(buf, h);
    buf.push(b':');
    two(buf, secs / 60 % 60);
    buf.push(b':');
    two(buf, secs % 60);
    fraction(buf, a % per * (1_000_000_000 / per));
}

/// An interval as an ISO 8601 duration with a sign per component.
pub(crate) fn interval(buf: &mut Vec<u8>, months: i32, days: i32, nanos: i64) {
    buf.push(b'P');
    let (y, m) = (months / 12, months % 12);
    if y != 0 {
        int(buf, y);
        buf.push(b'Y');
    }
    if m != 0 {
        int(buf, m);
        buf.push(b'M');
    }
    if days != 0 {
        int(buf, days);
        buf.push(b'D');
    }
    if nanos != 0 {
        buf.push(b'T');
        let neg = nanos < 0;
        let a = nanos.unsigned_abs();
        let secs = a / 1_000_000_000;
        let (h, mi, s, f) = (secs / 3600, secs / 60 % 60, secs % 60, a % 1_000_000_000);
        for (v, tag) in [(h, b'H'), (mi, b'M')] {
            if v != 0 {
                if neg {
                    buf.push(b'-');
                }
                int(buf, v);
                buf.push(tag);
            }
        }
        if s != 0 || f != 0 {
            if neg {
                buf.push(b'-');
            }
            int(buf, s);
            fraction(buf, f);
            buf.push(b'S');
        }
    } else if months == 0 && days == 0 {
        buf.extend_from_slice(b"T0S");
    }
}

/// Floats in text: shortest round-trip digits; `NaN`, `inf`, `-inf`.
pub(crate) fn float_text(buf: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        buf.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else if v.is_nan() {
        buf.extend_from_slice(b"NaN");
    } else if v > 0.0 {
        buf.extend_from_slice(b"inf");
    } else {
        buf.extend_from_slice(b"-inf");
    }
}

/// An unscaled decimal at `scale` as text (`-12.50`); a negative scale
/// appends zeros.
pub(crate) fn decimal(buf: &mut Vec<u8>, v: i128, scale: i8) {
    if v < 0 {
        buf.push(b'-');
    }
    let mut ib = itoa::Buffer::new();
    let digits = ib.format(v.unsigned_abs()).as_bytes();
    if scale <= 0 {
        buf.extend_from_slice(digits);
        if v != 0 {
            buf.extend(std::iter::repeat_n(b'0', usize::from(scale.unsigned_abs())));
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        buf.extend_from_slice(b"0.");
        buf.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        buf.extend_from_slice(digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        buf.extend_from_slice(int);
        buf.push(b'.');
        buf.extend_from_slice(frac);
    }
}

fn hex(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(b"\\x");
    for b in bytes {
        buf.push(HEX[usize::from(b >> 4)]);
        buf.push(HEX[usize::from(b & 15)]);
    }
}

fn binary_value(a: &dyn Array, row: usize) -> Option<&[u8]> {
    if let Some(b) = a.as_binary_opt::<i32>() {
        Some(b.value(row))
    } else if let Some(b) = a.as_binary_opt::<i64>() {
        Some(b.value(row))
    } else if let Some(b) = a.as_fixed_size_binary_opt() {
        Some(b.value(row))
    } else {
        a.as_binary_view_opt().map(|b| b.value(row))
    }
}

pub(super) fn string_value(a: &dyn Array, row: usize) -> Option<&str> {
    if let Some(s) = a.as_string_opt::<i32>() {
        Some(s.value(row))
    } else if let Some(s) = a.as_string_opt::<i64>() {
        Some(s.value(row))
    } else {
        a.as_string_view_opt().map(|s| s.value(row))
    }
}

/// The index into a dictionary's values of row `row`.
pub(super) fn dictionary_key(keys: &dyn Array, row: usize) -> Option<usize> {
    macro_rules! key {
        ($($t:ty),*) => {$(
            if let Some(k) = keys.as_primitive_opt::<$t>() {
                return usize::try_from(k.value(row)).ok();
            }
        )*};
    }
    key!(
        Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type
    );
    None
}

pub(super) fn unsupported(dt: &DataType) -> Error {
    Error::data(format!(
        "values of Arrow type {dt} cannot be written as text"
    ))
}

/// Writes the text form of the non-null value `a[row]` into `buf`.
///
/// # Error handling
///
/// [`Error::Data`] for a value that has no exact text (a time of day past
/// 24:00:00, a type this renderer does not know).
pub fn write_text(buf: &mut Vec<u8>, a: &dyn Array, row: usize) -> Result<()> {
    macro_rules! prim {
        ($t:ty) => {
            a.as_primitive::<$t>().value(row)
        };
    }
    match a.data_type() {
        DataType::Null => {}
        DataType::Boolean => buf.extend_from_slice(if a.as_boolean().value(row) {
            b"true"
        } else {
            b"false"
        }),
        DataType::Int8 => int(buf, prim!(Int8Type)),
        DataType::Int16 => int(buf, prim!(Int16Type)),
        DataType::Int32 => int(buf, prim!(Int32Type)),
        DataType::Int64 => int(buf, prim!(Int64Type)),
        DataType::UInt8 => int(buf, prim!(UInt8Type)),
        DataType::UInt16 => int(buf, prim!(UInt16Type)),
        DataType::UInt32 => int(buf, prim!(UInt32Type)),
        DataType::UInt64 => int(buf, prim!(UInt64Type)),
        DataType::Float16 => float_text(buf, f64::from(prim!(Float16Type))),
        DataType::Float32 => float_text(buf, f64::from(prim!(Float32Type))),
        DataType::Float64 => float_text(buf, prim!(Float64Type)),
        DataType::Decimal32(_, s) => decimal(buf, i128::from(prim!(Decimal32Type)), *s),
        DataType::Decimal64(_, s) => decimal(buf, i128::from(prim!(Decimal64Type)), *s),
        DataType::Decimal128(_, s) => decimal(buf, prim!(Decimal128Type), *s),
        DataType::Decimal256(_, s) => {
            let v = prim!(Decimal256Type);
            match v.to_i128() {
                Some(v) => decimal(buf, v, *s),
                None => {
                    // Rare: more than 38 digits. i256's own digits, then the point.
                    let digits = v.to_string();
                    let (neg, digits) = match digits.strip_prefix('-') {
                        Some(d) => (true, d),
                        None => (false, digits.as_str()),
                    };
                    if neg {
                        buf.push(b'-');
                    }
                    let scale = usize::from(s.unsigned_abs());
                    if *s > 0 && digits.len() > scale {
                        let (i, f) = digits.split_at(digits.len() - scale);
                        buf.extend_from_slice(i.as_bytes());
                        buf.push(b'.');
                        buf.extend_from_slice(f.as_bytes());
                    } else if *s > 0 {
                        buf.extend_from_slice(b"0.");
                        buf.extend(std::iter::repeat_n(b'0', scale - digits.len()));
                        buf.extend_from_slice(digits.as_bytes());
                    } else {
                        buf.extend_from_slice(digits.as_bytes());
                        buf.extend(std::iter::repeat_n(b'0', scale));
                    }
                }
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let s = string_value(a, row).ok_or_else(|| unsupported(a.data_type()))?;
            buf.extend_from_slice(s.as_bytes());
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::FixedSizeBinary(_)
        | DataType::BinaryView => {
            let b = binary_value(a, row).ok_or_else(|| unsupported(a.data_type()))?;
            hex(buf, b);
        }
        DataType::Date32 => date32(buf, prim!(Date32Type)),
        DataType::Date64 => {
            let ms = prim!(Date64Type);
            match timestamp_infinity(ms) {
                Some(true) => buf.extend_from_slice(b"infinity"),
                Some(false) => buf.extend_from_slice(b"-infinity"),
                None => date(buf, ms.div_euclid(86_400_000)),
            }
        }
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => prim!(TimestampSecondType),
                TimeUnit::Millisecond => prim!(TimestampMillisecondType),
                TimeUnit::Microsecond => prim!(TimestampMicrosecondType),
                TimeUnit::Nanosecond => prim!(TimestampNanosecondType),
            };
            timestamp(buf, v, *unit, tz.is_some());
        }
        DataType::Time32(TimeUnit::Second) => {
            time_of_day(buf, i64::from(prim!(Time32SecondType)), TimeUnit::Second)?
        }
        DataType::Time32(_) => time_of_day(
            buf,
            i64::from(prim!(Time32MillisecondType)),
            TimeUnit::Millisecond,
        )?,
        DataType::Time64(TimeUnit::Nanosecond) => {
            time_of_day(buf, prim!(Time64NanosecondType), TimeUnit::Nanosecond)?
        }
        DataType::Time64(_) => {
            time_of_day(buf, prim!(Time64MicrosecondType), TimeUnit::Microsecond)?
        }
        DataType::Duration(unit) => {
            let v = match unit {
                TimeUnit::Second => prim!(DurationSecondType),
                TimeUnit::Millisecond => prim!(DurationMillisecondType),
                TimeUnit::Microsecond => prim!(DurationMicrosecondType),
                TimeUnit::Nanosecond => prim!(DurationNanosecondType),
            };
            duration(buf, v, *unit);
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            interval(buf, prim!(IntervalYearMonthType), 0, 0)
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = prim!(IntervalDayTimeType);
            interval(buf, 0, v.days, i64::from(v.milliseconds) * 1_000_000)
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = prim!(IntervalMonthDayNanoType);
            interval(buf, v.months, v.days, v.nanoseconds)
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::Struct(_)
        | DataType::Map(..) => write_json(buf, a, row, false)?,
        DataType::Dictionary(..) => {
            let d = a.as_any_dictionary();
            let k = dictionary_key(d.keys(), row).ok_or_else(|| unsupported(a.data_type()))?;
            let values = d.values();
            if values.is_null(k) {
                return Ok(());
            }
            write_text(buf, values.as_ref(), k)?
        }
        DataType::Union(..) => {
            let u = a.as_union();
            let child = u.child(u.type_id(row));
            let at = u.value_offset(row);
            if !child.is_null(at) {
                write_text(buf, child.as_ref(), at)?
            }
        }
        DataType::RunEndEncoded(..) => {
            let values = arrow::compute::cast(&a.slice(row, 1), &run_value_type(a))?;
            if !values.is_null(0) {
                write_text(buf, values.as_ref(), 0)?
            }
        }
    }
    Ok(())
}

pub(super) fn run_value_type(a: &dyn Array) -> DataType {
    match a.data_type() {
        DataType::RunEndEncoded(_, v) => v.data_type().clone(),
        other => other.clone(),
    }
}

pub(super) fn list_items(a: &dyn Array, row: usize) -> Option<ArrayRef> {
    if let Some(l) = a.as_list_opt::<i32>() {
        Some(l.value(row))
    } else if let Some(l) = a.as_list_opt::<i64>() {
        Some(l.value(row))
    } else if let Some(l) = a.as_fixed_size_list_opt() {
        Some(l.value(row))
    } else if let Some(l) = a.as_list_view_opt::<i32>() {
        Some(l.value(row))
    } else {
        a.as_list_view_opt::<i64>().map(|l| l.value(row))
    }
}

mod json;
mod names;

pub use json::{is_json, json_string, pretty_json, write_json};
pub use names::{ORIGINAL_NAME, unique_field_names};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn text(a: &dyn Array, row: usize) -> Result<String> {
        let mut b = Vec::new();
        write_text(&mut b, a, row)?;
        Ok(String::from_utf8(b).unwrap_or_default())
    }

    fn json(a: &dyn Array, row: usize, embed: bool) -> String {
        let mut b = Vec::new();
        write_json(&mut b, a, row, embed).unwrap_or_default();
        String::from_utf8(b).unwrap_or_default()
    }

    #[test]
    fn infinity_and_edges_of_time() {
        let d = Date32Array::from(vec![i32::MAX, i32::MIN, 0, 2_145_042_905]);
        assert_eq!(text(&d, 0).unwrap(), "infinity");
        assert_eq!(text(&d, 1).unwrap(), "-infinity");
        assert_eq!(text(&d, 2).unwrap(), "1970-01-01");
        assert_eq!(text(&d, 3).unwrap(), "5874897-12-31");
        let t = TimestampMicrosecondArray::from(vec![i64::MAX, i64::MIN, 1_500_000])
            .with_timezone("UTC");
        assert_eq!(text(&t, 0).unwrap(), "infinity");
        assert_eq!(text(&t, 1).unwrap(), "-infinity");
        assert_eq!(text(&t, 2).unwrap(), "1970-01-01T00:00:01.500Z");
        assert_eq!(json(&t, 0, false), "\"infinity\"");
        let tod = Time64MicrosecondArray::from(vec![86_400_000_000, 86_400_000_001, 1]);
        assert_eq!(text(&tod, 0).unwrap(), "24:00:00");
        assert!(text(&tod, 1).is_err());
        assert_eq!(text(&tod, 2).unwrap(), "00:00:00.000001");
    }

    #[test]
    fn intervals_are_iso_8601() {
        let i = IntervalMonthDayNanoArray::from(vec![
            IntervalMonthDayNano::new(14, 3, 3_723_500_000_000),
            IntervalMonthDayNano::new(-1, -2, -1_000_000_000),
            IntervalMonthDayNano::new(0, 0, 0),
        ]);
        assert_eq!(text(&i, 0).unwrap(), "P1Y2M3DT1H2M3.500S");
        assert_eq!(text(&i, 1).unwrap(), "P-1M-2DT-1S");
        assert_eq!(text(&i, 2).unwrap(), "PT0S");
    }

    #[test]
    fn lists_are_unambiguous() {
        let l = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None]),
            Some(vec![]),
            Some(vec![None]),
        ]);
        assert_eq!(text(&l, 0).unwrap(), "[1,null]");
        assert_eq!(text(&l, 1).unwrap(), "[]");
        assert_eq!(text(&l, 2).unwrap(), "[null]");
        let mut b = ListBuilder::new(StringBuilder::new());
        b.values().append_value("a");
        b.values().append_null();
        b.values().append_value("");
        b.values().append_value("com,ma");
        b.append(true);
        let l = b.finish();
        assert_eq!(text(&l, 0).unwrap(), r#"["a",null,"","com,ma"]"#);
    }

    #[test]
    fn floats_in_json_stay_distinct_from_null() {
        let f = Float64Array::from(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]);
        assert_eq!(json(&f, 0, false), "\"NaN\"");
        assert_eq!(json(&f, 1, false), "\"Infinity\"");
        assert_eq!(json(&f, 2, false), "\"-Infinity\"");
        assert_eq!(json(&f, 3, false), "-0.0");
    }

    #[test]
    fn json_text_is_embedded_verbatim() {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let s = StringArray::from(vec![
            r#"{"big":12345678901234567890123}"#,
            r#"{"a":1,"a":2}"#,
            "[1.0, 1.50]",
            "1e400",
            deep.as_str(),
            "{not json",
        ]);
        assert_eq!(json(&s, 0, true), r#"{"big":12345678901234567890123}"#);
        assert_eq!(json(&s, 1, true), r#"{"a":1,"a":2}"#);
        assert_eq!(json(&s, 2, true), "[1.0, 1.50]");
        assert_eq!(json(&s, 3, true), "1e400");
        assert_eq!(json(&s, 4, true), deep);
        assert_eq!(json(&s, 5, true), r#""{not json""#);
        assert_eq!(json(&s, 0, false), r#""{\"big\":12345678901234567890123}""#);
    }

    #[test]
    fn duplicate_names_get_suffixes() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("id", DataType::Int64, true),
            Field::new("id_2", DataType::Int64, true),
            Field::new("id", DataType::Int64, true),
        ]));
        let u = unique_field_names(&schema);
        let names: Vec<&str> = u.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "id_3", "id_2", "id_4"]);
        assert_eq!(
            u.field(1).metadata().get(ORIGINAL_NAME).map(String::as_str),
            Some("id")
        );
    }

    #[test]
    fn pretty_keeps_tokens() {
        let p = pretty_json(r#"{"big":12345678901234567890123,"l":[],"s":"a,b"}"#);
        assert!(p.contains("12345678901234567890123"), "{p}");
        assert!(p.contains("\"a,b\""), "{p}");
        assert!(p.contains("\"l\": []"), "{p}");
    }

    proptest! {
        /// The validator agrees with serde_json on what serde_json can parse.
        #[test]
        fn validator_agrees_with_serde(s in "[\\[\\]{}\",:0-9a-z .eE+\\-\\\\]{0,24}") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&s) {
                let _ = v;
                prop_assert!(is_json(s.as_bytes()), "{}", s);
            } else if is_json(s.as_bytes()) {
                // Only numbers serde cannot hold may differ: none in this alphabet's short strings.
                prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(&s).is_ok(), "{}", s);
            }
        }

        /// Any string survives JSON escaping.
        #[test]
        fn strings_round_trip(s in "\\PC{0,40}") {
            let mut b = Vec::new();
            json_string(&mut b, &s);
            let back: String = serde_json::from_slice(&b).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, s);
        }

        /// Dates render and parse back to the same day.
        #[test]
        fn dates_round_trip(days in -1_000_000i32..3_000_000) {
            let mut b = Vec::new();
            date32(&mut b, days);
            let s = String::from_utf8(b).unwrap_or_default();
            let (y, rest) = s.rsplit_once('-').and_then(|(ym, d)| ym.rsplit_once('-').map(|(y, m)| ((y.to_string(), m.to_string()), d.to_string()))).map(|((y, m), d)| (y, (m, d))).unwrap_or_default();
            let (m, d) = rest;
            let days_back = qore_core::calendar::days_from_civil(y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0));
            prop_assert_eq!(days_back, i64::from(days));
        }
    }
}
