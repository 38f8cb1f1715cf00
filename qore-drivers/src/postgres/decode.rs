//! PostgreSQL's binary wire format, decoded straight into Arrow builders.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use qore_core::{Error, Result};

use crate::server::builder::{Col, list_of};
use crate::server::text;

/// A PostgreSQL date (days since 2000) as Date32. ±infinity are
/// `i32::MAX` / `i32::MIN` on both sides, so they stay the sentinels every
/// renderer writes as `infinity` / `-infinity`.
pub(crate) fn pg_date(d: i32) -> Result<i32> {
    match d {
        i32::MAX | i32::MIN => Ok(d),
        d => d
            .checked_add(PG_EPOCH_DAYS)
            .filter(|v| *v != i32::MAX)
            .ok_or_else(|| Error::data("a date past Arrow's Date32 range")),
    }
}

/// A PostgreSQL timestamp (µs since 2000) as µs since 1970, keeping the
/// ±infinity sentinels; a timestamp that does not fit (after year 294247)
/// is an error, never a wrong date.
pub(crate) fn pg_timestamp(t: i64) -> Result<i64> {
    match t {
        i64::MAX | i64::MIN => Ok(t),
        t => t
            .checked_add(PG_EPOCH_MICROS)
            .filter(|v| *v != i64::MAX)
            .ok_or_else(|| {
                Error::data(
                    "a timestamp after 294247-01-10 does not fit Arrow's microsecond timestamps",
                )
            }),
    }
}

/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
pub(crate) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days from 1970-01-01 to 2000-01-01.
pub(crate) const PG_EPOCH_DAYS: i32 = 10_957;

/// How one result column is decoded: chosen from its type when the statement
/// is described, before the first row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    /// `oid`, `regclass`, `xid` and the other 32-bit unsigned identifiers.
    Oid,
    Float4,
    Float8,
    /// `numeric(p, s)` with p ≤ 38: Decimal128(p, s).
    Decimal(u8, i8),
    /// `numeric` without a precision (or above 38 digits): exact text.
    NumericText,
    /// `money`: Decimal128(19, 2), in the server's `lc_monetary` minor units.
    Money,
    /// Text types, enums, `xml`, `citext`: the bytes are UTF-8.
    Text,
    /// `json`: UTF-8 text.
    Json,
    /// `jsonb` and `jsonpath`: a version byte, then UTF-8 text.
    VersionedText,
    /// `"char"`: one byte.
    Char,
    Bytea,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Inet,
    MacAddr,
    MacAddr8,
    Bit,
    TsVector,
    Point,
    PgLsn,
    /// A range over the element kind, as PostgreSQL's text form (`[1,10)`).
    Range(Box<Kind>),
    /// A one-dimensional array of the element kind: Arrow List.
    Array(Box<Kind>),
    /// A type without a known binary layout: its raw binary form.
    Raw,
}

impl Kind {
    /// The Arrow type values of this kind become.
    pub(crate) fn arrow_type(&self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int2 => DataType::Int16,
            Kind::Int4 => DataType::Int32,
            Kind::Int8 => DataType::Int64,
            Kind::Oid => DataType::UInt32,
            Kind::Float4 => DataType::Float32,
            Kind::Float8 => DataType::Float64,
            Kind::Decimal(p, s) => DataType::Decimal128(*p, *s),
            Kind::Money => DataType::Decimal128(19, 2),
            Kind::NumericText
            | Kind::Text
            | Kind::Json
            | Kind::VersionedText
            | Kind::Char
            | Kind::TimeTz
            | Kind::Uuid
            | Kind::Inet
            | Kind::MacAddr
            | Kind::MacAddr8
            | Kind::Bit
            | Kind::TsVector
            | Kind::Point
            | Kind::PgLsn
            | Kind::Range(_) => DataType::Utf8,
            Kind::Bytea | Kind::Raw => DataType::Binary,
            Kind::Date => DataType::Date32,
            Kind::Time => DataType::Time64(TimeUnit::Microsecond),
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
            Kind::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            Kind::Array(elem) => list_of(elem.arrow_type()),
        }
    }

    /// The kind of a built-in type OID, `None` for types that are not built in.
    pub(crate) fn from_builtin_oid(oid: u32) -> Option<Kind> {
        Some(match oid {
            16 => Kind::Bool,
            17 => Kind::Bytea,
            18 => Kind::Char,
            19 | 25 | 142 | 1042 | 1043 | 705 => Kind::Text,
            20 => Kind::Int8,
            21 => Kind::Int2,
            23 => Kind::Int4,
            24 | 26 | 28 | 29 | 2202..=2206 | 3734 | 3769 | 4089 | 4096 => Kind::Oid,
            114 => Kind::Json,
            3802 | 4072 => Kind::VersionedText,
            600 => Kind::Point,
            650 | 869 => Kind::Inet,
            700 => Kind::Float4,
            701 => Kind::Float8,
            774 => Kind::MacAddr8,
            790 => Kind::Money,
            829 => Kind::MacAddr,
            1082 => Kind::Date,
            1083 => Kind::Time,
            1114 => Kind::Timestamp,
            1184 => Kind::TimestampTz,
            1186 => Kind::Interval,
            1266 => Kind::TimeTz,
            1560 | 1562 => Kind::Bit,
            1700 => Kind::NumericText,
            2950 => Kind::Uuid,
            3220 => Kind::PgLsn,
            3614 => Kind::TsVector,
            3904 => Kind::Range(Box::new(Kind::Int4)),
            3926 => Kind::Range(Box::new(Kind::Int8)),
            3906 => Kind::Range(Box::new(Kind::NumericText)),
            3908 => Kind::Range(Box::new(Kind::Timestamp)),
            3910 => Kind::Range(Box::new(Kind::TimestampTz)),
            3912 => Kind::Range(Box::new(Kind::Date)),
            _ => return None,
        })
    }

    /// The precision and scale of a `numeric` type modifier (`-1`: none).
    pub(crate) fn numeric_with_typmod(typmod: i32) -> Kind {
        if typmod < 4 {
            return Kind::NumericText;
        }
        let t = typmod - 4;
        let (p, s) = ((t >> 16) & 0xffff, t & 0x7ff);
        match (u8::try_from(p), i8::try_from(s)) {
            (Ok(p), Ok(s)) if p <= 38 && (s as u8) <= p => Kind::Decimal(p, s),
            _ => Kind::NumericText,
        }
    }
}

fn short(what: &str) -> Error {
    Error::data(format!("the server sent a truncated {what} value"))
}

fn be_i16(b: &[u8], at: usize) -> Result<i16> {
    b.get(at..at + 2)
        .map(|s| i16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| short("binary"))
}

fn be_i32(b: &[u8], at: usize) -> Result<i32> {
    b.get(at..at + 4)
        .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| short("binary"))
}

fn be_i64(b: &[u8], at: usize) -> Result<i64> {
    b.get(at..at + 8)
        .map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            i64::from_be_bytes(a)
        })
        .ok_or_else(|| short("binary"))
}

fn exact<const N: usize>(b: &[u8], what: &str) -> Result<[u8; N]> {
    b.try_into().map_err(|_| short(what))
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(b)
        .map_err(|_| Error::data(format!("the server sent {what} that is not UTF-8")))
}

/// Appends one non-NULL value of `kind`, given its binary form, to `col`.
pub(crate) fn decode(kind: &Kind, b: &[u8], col: &mut Col) -> Result<()> {
    match (kind, col) {
        (Kind::Bool, Col::Bool(c)) => c.append_value(exact::<1>(b, "bool")?[0] != 0),
        (Kind::Int2, Col::I16(c)) => c.append_value(i16::from_be_bytes(exact(b, "int2")?)),
        (Kind::Int4, Col::I32(c)) => c.append_value(i32::from_be_bytes(exact(b, "int4")?)),
        (Kind::Int8, Col::I64(c)) => c.append_value(i64::from_be_bytes(exact(b, "int8")?)),
        (Kind::Oid, Col::U32(c)) => c.append_value(u32::from_be_bytes(exact(b, "oid")?)),
        (Kind::Float4, Col::F32(c)) => c.append_value(f32::from_be_bytes(exact(b, "float4")?)),
        (Kind::Float8, Col::F64(c)) => c.append_value(f64::from_be_bytes(exact(b, "float8")?)),
        (Kind::Decimal(_, s), Col::Decimal(c)) => c.append_value(numeric_to_i128(b, *s)?),
        (Kind::Money, Col::Decimal(c)) => {
            c.append_value(i128::from(i64::from_be_bytes(exact(b, "money")?)))
        }
        (Kind::NumericText, c) => c.append_str(&numeric_to_string(b)?)?,
        (Kind::Text | Kind::Json, c) => c.append_str(utf8(b, "text")?)?,
        (Kind::VersionedText, c) => match b.split_first() {
            Some((1, rest)) => c.append_str(utf8(rest, "jsonb")?)?,
            _ => return Err(Error::data("unknown jsonb binary version")),
        },
        (Kind::Char, c) => {
            let s: String = b.iter().map(|&x| char::from(x)).collect();
            c.append_str(&s)?
        }
        (Kind::Bytea | Kind::Raw, Col::Binary(c)) => c.append_value(b),
        (Kind::Date, Col::Date(c)) => {
            c.append_value(pg_date(i32::from_be_bytes(exact(b, "date")?))?)
        }
        (Kind::Time, Col::Time(c)) => c.append_value(i64::from_be_bytes(exact(b, "time")?)),
        (Kind::Timestamp | Kind::TimestampTz, Col::Timestamp(c)) => {
            c.append_value(pg_timestamp(i64::from_be_bytes(exact(b, "timestamp")?))?)
        }
        (Kind::Interval, c) => {
            let micros = be_i64(b, 0)?;
            let days = be_i32(b, 8)?;
            let months = be_i32(b, 12)?;
            let nanos = micros
                .checked_mul(1000)
                .ok_or_else(|| Error::data("an interval's time part overflows nanoseconds"))?;
            c.append_interval(months, days, nanos)?
        }
        (k, Col::List(l)) => {
            let Kind::Array(elem) = k else {
                return Err(Error::Internal("list column for a non-array".into()));
            };
            let n = decode_array(elem, b, &mut l.child)?;
            l.end_list(n)?
        }
        (k, c) => c.append_str(&to_text(k, b)?)?,
    }
    Ok(())
}

/// Appends the elements of a binary array to `child`; returns how many.
fn decode_array(elem: &Kind, b: &[u8], child: &mut Col) -> Result<usize> {
    let ndim = be_i32(b, 0)?;
    if ndim == 0 {
        return Ok(0);
    }
    if ndim != 1 {
        return Err(Error::data(format!(
            "a {ndim}-dimensional array cannot be a flat list; select it with array_to_json(...) or ::text"
        )));
    }
    let len = usize::try_from(be_i32(b, 12)?).map_err(|_| short("array"))?;
    let mut at = 20;
    for _ in 0..len {
        let n = be_i32(b, at)?;
        at += 4;
        if n < 0 {
            child.append_null();
            continue;
        }
        let n = n as usize;
        let v = b.get(at..at + n).ok_or_else(|| short("array element"))?;
        decode(elem, v, child)?;
        at += n;
    }
    Ok(len)
}

/// The text form of a value that is shown as text.
pub(crate) fn to_text(kind: &Kind, b: &[u8]) -> Result<String> {
    Ok(match kind {
        Kind::Int2 => be_i16(b, 0)?.to_string(),
        Kind::Int4 => be_i32(b, 0)?.to_string(),
        Kind::Int8 => be_i64(b, 0)?.to_string(),
        Kind::NumericText | Kind::Decimal(..) => numeric_to_string(b)?,
        Kind::Text | Kind::Json => utf8(b, "text")?.to_string(),
        Kind::Date => match be_i32(b, 0)? {
            i32::MAX => "infinity".into(),
            i32::MIN => "-infinity".into(),
            d => text::date(i64::from(d) + i64::from(PG_EPOCH_DAYS)),
        },
        Kind::Timestamp | Kind::TimestampTz => {
            let t = be_i64(b, 0)?;
            match t {
                i64::MAX => "infinity".into(),
                i64::MIN => "-infinity".into(),
                t if *kind == Kind::TimestampTz => {
                    format!("{}+00", text::timestamp(t.saturating_add(PG_EPOCH_MICROS)))
                }
                t => text::timestamp(t.saturating_add(PG_EPOCH_MICROS)),
            }
        }
        Kind::TimeTz => {
            let micros = be_i64(b, 0)?;
            // PostgreSQL stores the zone as seconds *west* of UTC.
            let west = be_i32(b, 8)?;
            format!("{}{}", text::time(micros), text::offset(-west))
        }
        Kind::Uuid => {
            let u: [u8; 16] = exact(b, "uuid")?;
            let h: String = u.iter().map(|x| format!("{x:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        }
        Kind::Inet => inet(b)?,
        Kind::MacAddr | Kind::MacAddr8 => b
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        Kind::Bit => {
            let bits = usize::try_from(be_i32(b, 0)?).map_err(|_| short("bit"))?;
            let data = b.get(4..).ok_or_else(|| short("bit"))?;
            if data.len() * 8 < bits {
                return Err(short("bit"));
            }
            (0..bits)
                .map(|i| {
                    if data[i / 8] & (0x80 >> (i % 8)) != 0 {
                        '1'
                    } else {
                        '0'
                    }
                })
                .collect()
        }
        Kind::TsVector => tsvector(b)?,
        Kind::Point => {
            let x = f64::from_be_bytes(exact(b.get(0..8).ok_or_else(|| short("point"))?, "point")?);
            let y =
                f64::from_be_bytes(exact(b.get(8..16).ok_or_else(|| short("point"))?, "point")?);
            format!("({x},{y})")
        }
        Kind::PgLsn => {
            let v = u64::from_be_bytes(exact(b, "pg_lsn")?);
            format!("{:X}/{:X}", v >> 32, v & 0xffff_ffff)
        }
        Kind::Range(elem) => range(elem, b)?,
        other => {
            return Err(Error::Internal(format!("no text form for {other:?}")));
        }
    })
}

fn range(elem: &Kind, b: &[u8]) -> Result<String> {
    let flags = *b.first().ok_or_else(|| short("range"))?;
    if flags & 0x01 != 0 {
        return Ok("empty".into());
    }
    let mut at = 1;
    let mut bound = |inf: bool| -> Result<String> {
        if inf {
            return Ok(String::new());
        }
        let n = usize::try_from(be_i32(b, at)?).map_err(|_| short("range"))?;
        let v = b.get(at + 4..at + 4 + n).ok_or_else(|| short("range"))?;
        at += 4 + n;
        let t = to_text(elem, v)?;
        // Quoted like PostgreSQL's range_out does for bounds with separators.
        Ok(
            if t.is_empty() || t.contains([' ', ',', '"', '(', ')', '[', ']', '\\']) {
                format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                t
            },
        )
    };
    let lower = bound(flags & 0x08 != 0)?;
    let upper = bound(flags & 0x10 != 0)?;
    Ok(format!(
        "{}{lower},{upper}{}",
        if flags & 0x02 != 0 { '[' } else { '(' },
        if flags & 0x04 != 0 { ']' } else { ')' }
    ))
}

fn inet(b: &[u8]) -> Result<String> {
    let (family, bits, is_cidr, n) = match b {
        [f, bits, c, n, ..] => (*f, *bits, *c != 0, usize::from(*n)),
        _ => return Err(short("inet")),
    };
    let addr = b.get(4..4 + n).ok_or_else(|| short("inet"))?;
    let (text, full) = match (family, addr.len()) {
        (2, 4) => (
            Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
            32,
        ),
        (3, 16) => (
            Ipv6Addr::from(<[u8; 16]>::try_from(addr).map_err(|_| short("inet"))?).to_string(),
            128,
        ),
        _ => return Err(Error::data("unknown inet address family")),
    };
    Ok(if is_cidr || bits != full {
        format!("{text}/{bits}")
    } else {
        text
    })
}

fn tsvector(b: &[u8]) -> Result<String> {
    let count = usize::try_from(be_i32(b, 0)?).map_err(|_| short("tsvector"))?;
    let mut at = 4;
    let mut parts = Vec::with_capacity(count);
    for _ in 0..count {
        let end = b[at..]
            .iter()
            .position(|&x| x == 0)
            .ok_or_else(|| short("tsvector"))?;
        let lexeme = utf8(&b[at..at + end], "a lexeme")?;
        at += end + 1;
        let npos = be_i16(b, at)? as u16;
        at += 2;
        let mut s = format!("'{}'", lexeme.replace('\\', "\\\\").replace('\'', "''"));
        for i in 0..npos {
            let p = be_i16(b, at)? as u16;
            at += 2;
            s.push(if i == 0 { ':' } else { ',' });
            s.push_str(&(p & 0x3fff).to_string());
            match p >> 14 {
                3 => s.push('A'),
                2 => s.push('B'),
                1 => s.push('C'),
                _ => {}
            }
        }
        parts.push(s);
    }
    Ok(parts.join(" "))
}

/// A `numeric` in binary form: sign, weight (of the first base-10000 digit),
/// display scale and the base-10000 digits.
struct Numeric<'a> {
    sign: u16,
    weight: i16,
    dscale: u16,
    digits: &'a [u8],
}

const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

fn parse_numeric(b: &[u8]) -> Result<Numeric<'_>> {
    let ndigits = usize::try_from(be_i16(b, 0)?).map_err(|_| short("numeric"))?;
    let n = Numeric {
        weight: be_i16(b, 2)?,
        sign: be_i16(b, 4)? as u16,
        dscale: be_i16(b, 6)? as u16,
        digits: b.get(8..8 + 2 * ndigits).ok_or_else(|| short("numeric"))?,
    };
    Ok(n)
}

impl Numeric<'_> {
    fn digit(&self, i: usize) -> i128 {
        i128::from(i16::from_be_bytes([
            self.digits[2 * i],
            self.digits[2 * i + 1],
        ]))
    }
    fn ndigits(&self) -> usize {
        self.digits.len() / 2
    }
}

/// Four decimal digits, zero-padded (a base-10000 digit of `numeric`).
fn itoa_u16(d: u16) -> String {
    let b = [
        b'0' + (d / 1000 % 10) as u8,
        b'0' + (d / 100 % 10) as u8,
        b'0' + (d / 10 % 10) as u8,
        b'0' + (d % 10) as u8,
    ];
    b.iter().map(|&c| char::from(c)).collect()
}

/// The exact decimal text of a binary `numeric`.
pub(crate) fn numeric_to_string(b: &[u8]) -> Result<String> {
    let n = parse_numeric(b)?;
    match n.sign {
        NUMERIC_NAN => return Ok("NaN".into()),
        NUMERIC_PINF => return Ok("Infinity".into()),
        NUMERIC_NINF => return Ok("-Infinity".into()),
        _ => {}
    }
    let mut out = String::new();
    if n.sign == NUMERIC_NEG {
        out.push('-');
    }
    // Integer part: digit groups 0..=weight.
    if n.weight < 0 {
        out.push('0');
    } else {
        for i in 0..=(n.weight as usize) {
            let d = if i < n.ndigits() { n.digit(i) } else { 0 };
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&itoa_u16(d as u16));
            }
        }
    }
    if n.dscale > 0 {
        out.push('.');
        let mut frac = String::new();
        let first = i32::from(n.weight) + 1; // index of the first fractional group
        let mut i = first;
        while frac.len() < usize::from(n.dscale) {
            let d = if i >= 0 && (i as usize) < n.ndigits() {
                n.digit(i as usize)
            } else {
                0
            };
            frac.push_str(&itoa_u16(d as u16));
            i += 1;
        }
        frac.truncate(usize::from(n.dscale));
        out.push_str(&frac);
    }
    Ok(out)
}

/// The unscaled integer of a binary `numeric` at `scale` (for Decimal128).
pub(crate) fn numeric_to_i128(b: &[u8], scale: i8) -> Result<i128> {
    let n = parse_numeric(b)?;
    if matches!(n.sign, NUMERIC_NAN | NUMERIC_PINF | NUMERIC_NINF) {
        return Err(Error::data(
            "NaN or Infinity in a numeric(p, s) column has no Decimal128 form; select it with ::text",
        ));
    }
    let overflow = || Error::data("a numeric value does not fit its declared precision");
    let scale = i32::from(scale);
    let mut acc: i128 = 0;
    // Exponent (base 10) of the last digit taken into `acc`.
    let mut last: Option<i32> = None;
    for i in 0..n.ndigits() {
        let group = n.digit(i) as u32;
        // Exponent of the group's last decimal digit.
        let e = 4 * (i32::from(n.weight) - i as i32);
        let dropped = (-scale - e).clamp(0, 4) as u32;
        if dropped == 4 {
            if group != 0 {
                return Err(Error::data(
                    "a numeric value has more decimals than its column's scale",
                ));
            }
            continue;
        }
        let div = 10u32.pow(dropped);
        if !group.is_multiple_of(div) {
            return Err(Error::data(
                "a numeric value has more decimals than its column's scale",
            ));
        }
        let keep = 4 - dropped;
        acc = acc
            .checked_mul(i128::from(10u32.pow(keep)))
            .and_then(|a| a.checked_add(i128::from(group / div)))
            .ok_or_else(overflow)?;
        last = Some(e + dropped as i32);
    }
    if let Some(e) = last {
        let up = u32::try_from(e + scale).unwrap_or(0);
        acc = acc
            .checked_mul(10i128.checked_pow(up).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
    }
    Ok(if n.sign == NUMERIC_NEG { -acc } else { acc })
}

/// The binary `numeric` of a decimal string (`-12.3400`, `1e5` not accepted).
pub(crate) fn numeric_from_str(s: &str) -> Result<Vec<u8>> {
    let bad = || Error::invalid(format!("`{s}` is not a decimal number"));
    let t = s.trim();
    let special = match t.to_ascii_lowercase().as_str() {
        "nan" => Some(NUMERIC_NAN),
        "infinity" | "+infinity" | "inf" => Some(NUMERIC_PINF),
        "-infinity" | "-inf" => Some(NUMERIC_NINF),
        _ => None,
    };
    if let Some(sign) = special {
        let mut out = vec![0, 0, 0, 0];
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        return Ok(out);
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let dscale = u16::try_from(frac.len()).map_err(|_| bad())?;
    let int = int.trim_start_matches('0');
    // Pad the integer part on the left and the fraction on the right to
    // whole groups of four digits.
    let ipad = (4 - int.len() % 4) % 4;
    let fpad = (4 - frac.len() % 4) % 4;
    let digits_str = format!("{}{int}{frac}{}", "0".repeat(ipad), "0".repeat(fpad));
    let mut groups: Vec<i16> = digits_str
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |a, d| a * 10 + i16::from(d - b'0')))
        .collect();
    let mut weight = i32::try_from((int.len() + ipad) / 4).map_err(|_| bad())? - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let mut out = Vec::with_capacity(8 + groups.len() * 2);
    out.extend_from_slice(
        &i16::try_from(groups.len())
            .map_err(|_| bad())?
            .to_be_bytes(),
    );
    out.extend_from_slice(&i16::try_from(weight).map_err(|_| bad())?.to_be_bytes());
    let sign: u16 = if neg && !groups.is_empty() {
        NUMERIC_NEG
    } else {
        0
    };
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numeric_text() {
        for s in [
            "0",
            "1",
            "-1",
            "12345.6789",
            "0.0001",
            "10000",
            "-0.5",
            "123456789012345678901234567890.123456789",
        ] {
            let b = numeric_from_str(s).unwrap();
            assert_eq!(numeric_to_string(&b).unwrap(), s);
        }
        assert_eq!(
            numeric_to_i128(&numeric_from_str("-12.5").unwrap(), 3).unwrap(),
            -12_500
        );
        assert_eq!(
            numeric_to_string(&numeric_from_str("NaN").unwrap()).unwrap(),
            "NaN"
        );
        assert!(numeric_from_str("1e5").is_err());
        assert!(numeric_from_str("").is_err());
    }

    proptest! {
        #[test]
        fn numeric_round_trip(neg in any::<bool>(), int in "[1-9][0-9]{0,40}|0", frac in "[0-9]{0,30}") {
            let s = format!("{}{int}{}{frac}", if neg && int != "0" { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
            let b = numeric_from_str(&s).unwrap();
            prop_assert_eq!(numeric_to_string(&b).unwrap(), s.clone());
            let scale = frac.len() as i8;
            if int.len() + frac.len() <= 38 && scale <= 38 {
                let unscaled: i128 = format!("{}{int}{frac}", if neg && int != "0" { "-" } else { "" }).parse().unwrap();
                prop_assert_eq!(numeric_to_i128(&b, scale).unwrap(), unscaled);
            }
        }
    }
}
