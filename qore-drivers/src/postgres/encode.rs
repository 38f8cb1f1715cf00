//! Bound parameters: a [`Value`] written in the binary form of the type the
//! server inferred for its placeholder.

use qore_core::{Error, Result, Value};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgTypeKind, Postgres};

use super::decode::{Kind, PG_EPOCH_DAYS, PG_EPOCH_MICROS, numeric_from_str};

/// One parameter, already encoded for the server's type `oid`.
#[derive(Debug)]
pub(crate) struct PgParam {
    oid: u32,
    bytes: Option<Vec<u8>>,
}

impl sqlx::Type<Postgres> for PgParam {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for PgParam {
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> std::result::Result<IsNull, BoxDynError> {
        match &self.bytes {
            Some(b) => {
                buf.extend_from_slice(b);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }
    fn produces(&self) -> Option<PgTypeInfo> {
        Some(PgTypeInfo::with_oid(Oid(self.oid)))
    }
}

fn oid_of(ty: &PgTypeInfo) -> u32 {
    ty.oid().map(|o| o.0).unwrap_or(0)
}

/// Encodes parameter `index` (1-based, for messages) for type `ty`.
pub(crate) fn encode(index: usize, value: &Value, ty: &PgTypeInfo) -> Result<PgParam> {
    let oid = oid_of(ty);
    if value.is_null() {
        return Ok(PgParam { oid, bytes: None });
    }
    let kind = match Kind::from_builtin_oid(oid) {
        Some(k) => k,
        None => match ty.kind() {
            PgTypeKind::Enum(_) => Kind::Text,
            PgTypeKind::Domain(base) => return encode(index, value, base),
            _ if ty.to_string() == "citext" => Kind::Text,
            _ => Kind::Raw,
        },
    };
    let wrong = || {
        Error::invalid(format!(
            "parameter ${index} is a {ty} but the value {value} cannot be one; \
             pass text and cast it in the statement (${index}::text::{ty})"
        ))
    };
    let int = || -> Result<i128> {
        match value {
            Value::Int(i) => Ok(i128::from(*i)),
            Value::UInt(u) => Ok(i128::from(*u)),
            Value::Bool(b) => Ok(i128::from(*b)),
            Value::Text(s) => s.trim().parse().map_err(|_| wrong()),
            _ => Err(wrong()),
        }
    };
    let float = || -> Result<f64> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::UInt(u) => Ok(*u as f64),
            Value::Text(s) => s.trim().parse().map_err(|_| wrong()),
            _ => Err(wrong()),
        }
    };
    let bytes: Vec<u8> = match kind {
        Kind::Bool => match value {
            Value::Bool(b) => vec![u8::from(*b)],
            Value::Int(0) | Value::UInt(0) => vec![0],
            Value::Int(1) | Value::UInt(1) => vec![1],
            Value::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "yes" | "on" | "1" => vec![1],
                "f" | "false" | "no" | "off" | "0" => vec![0],
                _ => return Err(wrong()),
            },
            _ => return Err(wrong()),
        },
        Kind::Int2 => i16::try_from(int()?)
            .map_err(|_| wrong())?
            .to_be_bytes()
            .to_vec(),
        Kind::Int4 => i32::try_from(int()?)
            .map_err(|_| wrong())?
            .to_be_bytes()
            .to_vec(),
        Kind::Int8 => i64::try_from(int()?)
            .map_err(|_| wrong())?
            .to_be_bytes()
            .to_vec(),
        Kind::Oid => u32::try_from(int()?)
            .map_err(|_| wrong())?
            .to_be_bytes()
            .to_vec(),
        Kind::Float4 => (float()? as f32).to_be_bytes().to_vec(),
        Kind::Float8 => float()?.to_be_bytes().to_vec(),
        Kind::NumericText | Kind::Decimal(..) => {
            let text = match value {
                Value::Float(f) if !f.is_finite() => {
                    if f.is_nan() {
                        "NaN".to_string()
                    } else if *f > 0.0 {
                        "Infinity".into()
                    } else {
                        "-Infinity".into()
                    }
                }
                Value::Int(_)
                | Value::UInt(_)
                | Value::Float(_)
                | Value::Decimal { .. }
                | Value::Text(_) => value.to_string(),
                _ => return Err(wrong()),
            };
            numeric_from_str(&text).map_err(|_| wrong())?
        }
        Kind::Money => {
            let cents = match value {
                Value::Decimal {
                    value, scale: 2, ..
                } => *value,
                _ => int()?.checked_mul(100).ok_or_else(wrong)?,
            };
            i64::try_from(cents)
                .map_err(|_| wrong())?
                .to_be_bytes()
                .to_vec()
        }
        Kind::Text | Kind::Json => text_of(value).ok_or_else(wrong)?.into_bytes(),
        Kind::VersionedText => {
            let mut b = vec![1u8];
            b.extend_from_slice(text_of(value).ok_or_else(wrong)?.as_bytes());
            b
        }
        Kind::Char => match value {
            Value::Text(s) if s.len() == 1 => s.as_bytes().to_vec(),
            _ => return Err(wrong()),
        },
        Kind::Bytea => match value {
            Value::Bytes(b) => b.clone(),
            Value::Text(s) => s.as_bytes().to_vec(),
            _ => return Err(wrong()),
        },
        Kind::Date => match value {
            Value::Date(d) => d
                .checked_sub(PG_EPOCH_DAYS)
                .ok_or_else(wrong)?
                .to_be_bytes()
                .to_vec(),
            _ => return Err(wrong()),
        },
        Kind::Time => match value {
            Value::Time { value, unit } => micros(*value, *unit)
                .ok_or_else(wrong)?
                .to_be_bytes()
                .to_vec(),
            _ => return Err(wrong()),
        },
        Kind::Timestamp | Kind::TimestampTz => match value {
            Value::Timestamp { value, unit, .. } => micros(*value, *unit)
                .and_then(|m| m.checked_sub(PG_EPOCH_MICROS))
                .ok_or_else(wrong)?
                .to_be_bytes()
                .to_vec(),
            _ => return Err(wrong()),
        },
        Kind::Interval => match value {
            Value::Interval {
                months,
                days,
                nanos,
            } => {
                let mut b = (nanos / 1000).to_be_bytes().to_vec();
                b.extend_from_slice(&days.to_be_bytes());
                b.extend_from_slice(&months.to_be_bytes());
                b
            }
            Value::Duration { value, unit } => {
                let mut b = micros(*value, *unit)
                    .ok_or_else(wrong)?
                    .to_be_bytes()
                    .to_vec();
                b.extend_from_slice(&[0; 8]);
                b
            }
            _ => return Err(wrong()),
        },
        Kind::Uuid => match value {
            Value::Text(s) => parse_uuid(s).ok_or_else(wrong)?.to_vec(),
            Value::Bytes(b) if b.len() == 16 => b.clone(),
            _ => return Err(wrong()),
        },
        _ => return Err(wrong()),
    };
    Ok(PgParam {
        oid,
        bytes: Some(bytes),
    })
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Text(s) => Some(s.clone()),
        // An array travels in its text form, cast by the statement.
        Value::List(items) => super::dialect::array_text(items),
        Value::Bytes(_) | Value::Struct(_) => None,
        other => Some(other.to_string()),
    }
}

fn micros(value: i64, unit: arrow::datatypes::TimeUnit) -> Option<i64> {
    use arrow::datatypes::TimeUnit::*;
    match unit {
        Second => value.checked_mul(1_000_000),
        Millisecond => value.checked_mul(1000),
        Microsecond => Some(value),
        Nanosecond => Some(value.div_euclid(1000)),
    }
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s
        .trim()
        .trim_matches(['{', '}'])
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
