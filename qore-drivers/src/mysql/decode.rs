//! MySQL's binary result protocol, decoded straight into Arrow builders.

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use qore_core::{Error, Result};

use crate::server::builder::Col;
use crate::server::text::days_from_civil;

/// How one result column is decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    /// `DECIMAL(p, s)` read from a table, p ≤ 38.
    Decimal(u8, i8),
    /// `DECIMAL` of an expression (precision unknown) or p > 38: exact text.
    DecimalText,
    /// `BIT(n)`: big-endian bytes → UInt64.
    Bit,
    Year,
    Date,
    /// `DATETIME`: wall clock.
    DateTime,
    /// `TIMESTAMP`: an instant, in the session time zone (UTC, set at connect).
    Timestamp,
    /// `TIME`: a signed duration up to ±838:59:59.
    Time,
    Text,
    Json,
    Binary,
    /// `GEOMETRY`: MySQL's 4-byte SRID prefix is removed, leaving WKB.
    Geometry,
}

impl Kind {
    /// The Arrow type of the kind.
    pub(crate) fn arrow_type(&self) -> DataType {
        match self {
            Kind::I8 => DataType::Int8,
            Kind::U8 => DataType::UInt8,
            Kind::I16 | Kind::Year => DataType::Int16,
            Kind::U16 => DataType::UInt16,
            Kind::I32 => DataType::Int32,
            Kind::U32 => DataType::UInt32,
            Kind::I64 => DataType::Int64,
            Kind::U64 | Kind::Bit => DataType::UInt64,
            Kind::F32 => DataType::Float32,
            Kind::F64 => DataType::Float64,
            Kind::Decimal(p, s) => DataType::Decimal128(*p, *s),
            Kind::DecimalText | Kind::Text | Kind::Json => DataType::Utf8,
            Kind::Binary | Kind::Geometry => DataType::Binary,
            Kind::Date => DataType::Date32,
            Kind::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
            Kind::Time => DataType::Duration(TimeUnit::Microsecond),
        }
    }

    /// The kind of a type by its name (`INT UNSIGNED`, `VARBINARY`, ...).
    pub(crate) fn from_type_name(name: &str) -> Kind {
        match name {
            "BOOLEAN" | "TINYINT" => Kind::I8,
            "TINYINT UNSIGNED" => Kind::U8,
            "SMALLINT" => Kind::I16,
            "SMALLINT UNSIGNED" => Kind::U16,
            "INT" | "MEDIUMINT" => Kind::I32,
            "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => Kind::U32,
            "BIGINT" => Kind::I64,
            "BIGINT UNSIGNED" => Kind::U64,
            "FLOAT" => Kind::F32,
            "DOUBLE" => Kind::F64,
            "DECIMAL" => Kind::DecimalText,
            "BIT" => Kind::Bit,
            "YEAR" => Kind::Year,
            "DATE" => Kind::Date,
            "DATETIME" => Kind::DateTime,
            "TIMESTAMP" => Kind::Timestamp,
            "TIME" => Kind::Time,
            "JSON" => Kind::Json,
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                Kind::Binary
            }
            "GEOMETRY" => Kind::Geometry,
            _ => Kind::Text,
        }
    }
}

fn short(what: &str) -> Error {
    Error::data(format!("the server sent a truncated {what} value"))
}

fn le<const N: usize>(b: &[u8], what: &str) -> Result<[u8; N]> {
    b.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| short(what))
}

/// Microseconds since 1970 of a binary DATE/DATETIME/TIMESTAMP (length byte first).
fn datetime_micros(b: &[u8]) -> Result<Option<i64>> {
    let (&len, p) = b.split_first().ok_or_else(|| short("datetime"))?;
    if len == 0 {
        return Ok(None);
    }
    if p.len() < usize::from(len) || len < 4 {
        return Err(short("datetime"));
    }
    let year = i64::from(u16::from_le_bytes([p[0], p[1]]));
    let (month, day) = (u32::from(p[2]), u32::from(p[3]));
    if month == 0 || day == 0 {
        // A zero date ('2024-00-00'): MySQL's "no date". There is no calendar
        // day to give.
        return Ok(None);
    }
    let mut micros = days_from_civil(year, month, day) * 86_400_000_000;
    if len >= 7 {
        micros += (i64::from(p[4]) * 3600 + i64::from(p[5]) * 60 + i64::from(p[6])) * 1_000_000;
    }
    if len >= 11 {
        micros += i64::from(u32::from_le_bytes([p[7], p[8], p[9], p[10]]));
    }
    Ok(Some(micros))
}

/// Appends one non-NULL value of `kind`, given its binary form, to `col`.
pub(crate) fn decode(kind: &Kind, b: &[u8], col: &mut Col) -> Result<()> {
    match (kind, col) {
        (Kind::I8, Col::I8(c)) => c.append_value(i8::from_le_bytes(le(b, "tinyint")?)),
        (Kind::U8, Col::U8(c)) => c.append_value(u8::from_le_bytes(le(b, "tinyint")?)),
        (Kind::I16, Col::I16(c)) | (Kind::Year, Col::I16(c)) => {
            c.append_value(i16::from_le_bytes(le(b, "smallint")?))
        }
        (Kind::U16, Col::U16(c)) => c.append_value(u16::from_le_bytes(le(b, "smallint")?)),
        (Kind::I32, Col::I32(c)) => c.append_value(i32::from_le_bytes(le(b, "int")?)),
        (Kind::U32, Col::U32(c)) => c.append_value(u32::from_le_bytes(le(b, "int")?)),
        (Kind::I64, Col::I64(c)) => c.append_value(i64::from_le_bytes(le(b, "bigint")?)),
        (Kind::U64, Col::U64(c)) => c.append_value(u64::from_le_bytes(le(b, "bigint")?)),
        (Kind::F32, Col::F32(c)) => c.append_value(f32::from_le_bytes(le(b, "float")?)),
        (Kind::F64, Col::F64(c)) => c.append_value(f64::from_le_bytes(le(b, "double")?)),
        (Kind::Decimal(_, s), Col::Decimal(c)) => {
            let text = std::str::from_utf8(b).map_err(|_| short("decimal"))?;
            c.append_value(parse_decimal(text, *s)?)
        }
        (Kind::DecimalText | Kind::Text | Kind::Json, c) => {
            let s = std::str::from_utf8(b).map_err(|_| {
                Error::data("the server sent text that is not UTF-8 (is the column's character set utf8mb4?)")
            })?;
            c.append_str(s)?
        }
        (Kind::Bit, Col::U64(c)) => {
            if b.len() > 8 {
                return Err(short("bit"));
            }
            c.append_value(b.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
        }
        (Kind::Binary, Col::Binary(c)) => c.append_value(b),
        (Kind::Geometry, Col::Binary(c)) => {
            c.append_value(b.get(4..).ok_or_else(|| short("geometry"))?)
        }
        (Kind::Date, Col::Date(c)) => match datetime_micros(b)? {
            Some(m) => c.append_value(
                i32::try_from(m.div_euclid(86_400_000_000)).map_err(|_| short("date"))?,
            ),
            None => c.append_null(),
        },
        (Kind::DateTime | Kind::Timestamp, Col::Timestamp(c)) => match datetime_micros(b)? {
            Some(m) => c.append_value(m),
            None => c.append_null(),
        },
        (Kind::Time, Col::Duration(c)) => {
            let (&len, p) = b.split_first().ok_or_else(|| short("time"))?;
            if len == 0 {
                c.append_value(0);
            } else {
                if p.len() < usize::from(len) || len < 8 {
                    return Err(short("time"));
                }
                let neg = p[0] == 1;
                let days = i64::from(u32::from_le_bytes([p[1], p[2], p[3], p[4]]));
                let secs =
                    days * 86_400 + i64::from(p[5]) * 3600 + i64::from(p[6]) * 60 + i64::from(p[7]);
                let mut micros = secs * 1_000_000;
                if len >= 12 {
                    micros += i64::from(u32::from_le_bytes([p[8], p[9], p[10], p[11]]));
                }
                c.append_value(if neg { -micros } else { micros })
            }
        }
        (k, _) => {
            return Err(Error::Internal(format!(
                "no decoder for {k:?} into its column"
            )));
        }
    }
    Ok(())
}

/// The unscaled integer of a decimal string at `scale`.
pub(crate) fn parse_decimal(text: &str, scale: i8) -> Result<i128> {
    let bad = || Error::data(format!("`{text}` is not a decimal of scale {scale}"));
    let b = text.as_bytes();
    let (neg, body) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let scale = usize::try_from(scale).map_err(|_| bad())?;
    let mut v: i128 = 0;
    let mut frac_digits = 0usize;
    let mut seen_point = false;
    let mut any = false;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                if seen_point {
                    frac_digits += 1;
                    if frac_digits > scale {
                        return Err(bad());
                    }
                }
                v = v
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i128::from(c - b'0')))
                    .ok_or_else(bad)?;
                any = true;
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err(bad()),
        }
    }
    if !any && !body.is_empty() {
        return Err(bad());
    }
    for _ in frac_digits..scale {
        v = v.checked_mul(10).ok_or_else(bad)?;
    }
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("-12.5", 2).unwrap(), -1250);
        assert_eq!(parse_decimal("0", 0).unwrap(), 0);
        assert!(parse_decimal("1.234", 2).is_err());
        assert!(parse_decimal("1e5", 2).is_err());
    }

    proptest! {
        #[test]
        fn decimal_text_round_trip(v in -(10i128.pow(37))..10i128.pow(37), scale in 0i8..10) {
            let digits = v.unsigned_abs().to_string();
            let s = scale as usize;
            let padded = format!("{:0>width$}", digits, width = s + 1);
            let (i, f) = padded.split_at(padded.len() - s);
            let text = format!("{}{i}{}{f}", if v < 0 { "-" } else { "" }, if s > 0 { "." } else { "" });
            prop_assert_eq!(parse_decimal(&text, scale).unwrap(), v);
        }
    }
}
