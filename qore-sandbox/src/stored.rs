//! Values as the sandbox file stores them: every [`Value`] tagged with its
//! kind and written so that it reads back bit for bit (floats as their
//! shortest exact text, NaN and infinities included; decimals as their
//! unscaled integer; bytes as hex).

use std::sync::Arc;

use qore_core::arrow::datatypes::TimeUnit;
use qore_core::{Error, Result, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
enum Stored {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// `{:?}` text: exact, and `NaN`/`inf`/`-inf` parse back.
    Float(String),
    Decimal {
        value: String,
        precision: u8,
        scale: i8,
    },
    Text(String),
    Bytes(String),
    Date(i32),
    Time {
        value: i64,
        unit: String,
    },
    Timestamp {
        value: i64,
        unit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tz: Option<String>,
    },
    Duration {
        value: i64,
        unit: String,
    },
    Interval {
        months: i32,
        days: i32,
        nanos: i64,
    },
    List(Vec<Stored>),
    Struct(Vec<(String, Stored)>),
}

fn unit_name(u: TimeUnit) -> String {
    match u {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
    .into()
}

fn unit_of(s: &str) -> Result<TimeUnit> {
    Ok(match s {
        "s" => TimeUnit::Second,
        "ms" => TimeUnit::Millisecond,
        "us" => TimeUnit::Microsecond,
        "ns" => TimeUnit::Nanosecond,
        other => return Err(Error::data(format!("unknown time unit `{other}`"))),
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Hex digits as bytes; `None` for an odd count or a non-hex character.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl From<&Value> for Stored {
    fn from(v: &Value) -> Self {
        match v {
            Value::Bool(b) => Stored::Bool(*b),
            Value::Int(i) => Stored::Int(*i),
            Value::UInt(u) => Stored::UInt(*u),
            Value::Float(f) => Stored::Float(format!("{f:?}")),
            Value::Decimal {
                value,
                precision,
                scale,
            } => Stored::Decimal {
                value: value.to_string(),
                precision: *precision,
                scale: *scale,
            },
            Value::Text(s) => Stored::Text(s.clone()),
            Value::Bytes(b) => Stored::Bytes(hex(b)),
            Value::Date(d) => Stored::Date(*d),
            Value::Time { value, unit } => Stored::Time {
                value: *value,
                unit: unit_name(*unit),
            },
            Value::Timestamp { value, unit, tz } => Stored::Timestamp {
                value: *value,
                unit: unit_name(*unit),
                tz: tz.as_ref().map(|t| t.to_string()),
            },
            Value::Duration { value, unit } => Stored::Duration {
                value: *value,
                unit: unit_name(*unit),
            },
            Value::Interval {
                months,
                days,
                nanos,
            } => Stored::Interval {
                months: *months,
                days: *days,
                nanos: *nanos,
            },
            Value::List(items) => Stored::List(items.iter().map(Stored::from).collect()),
            Value::Struct(fields) => Stored::Struct(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Stored::from(v)))
                    .collect(),
            ),
            // Value is non-exhaustive; NULL and anything newer store as NULL
            // only for NULL itself.
            _ => Stored::Null,
        }
    }
}

impl TryFrom<Stored> for Value {
    type Error = Error;
    fn try_from(s: Stored) -> Result<Value> {
        Ok(match s {
            Stored::Null => Value::Null,
            Stored::Bool(b) => Value::Bool(b),
            Stored::Int(i) => Value::Int(i),
            Stored::UInt(u) => Value::UInt(u),
            Stored::Float(t) => Value::Float(
                t.parse()
                    .map_err(|_| Error::data(format!("bad stored float `{t}`")))?,
            ),
            Stored::Decimal {
                value,
                precision,
                scale,
            } => Value::Decimal {
                value: value
                    .parse()
                    .map_err(|_| Error::data(format!("bad stored decimal `{value}`")))?,
                precision,
                scale,
            },
            Stored::Text(t) => Value::Text(t),
            Stored::Bytes(h) => Value::Bytes(
                unhex(&h).ok_or_else(|| Error::data("bad hex in a stored value"))?,
            ),
            Stored::Date(d) => Value::Date(d),
            Stored::Time { value, unit } => Value::Time {
                value,
                unit: unit_of(&unit)?,
            },
            Stored::Timestamp { value, unit, tz } => Value::Timestamp {
                value,
                unit: unit_of(&unit)?,
                tz: tz.map(Arc::from),
            },
            Stored::Duration { value, unit } => Value::Duration {
                value,
                unit: unit_of(&unit)?,
            },
            Stored::Interval {
                months,
                days,
                nanos,
            } => Value::Interval {
                months,
                days,
                nanos,
            },
            Stored::List(items) => Value::List(
                items
                    .into_iter()
                    .map(Value::try_from)
                    .collect::<Result<_>>()?,
            ),
            Stored::Struct(fields) => Value::Struct(
                fields
                    .into_iter()
                    .map(|(k, v)| Ok((k, Value::try_from(v)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }
}

/// `#[serde(with = "values")]` for a list of values.
pub(crate) mod values {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &[Value],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(Stored::from))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<Value>, D::Error> {
        Vec::<Stored>::deserialize(d)?
            .into_iter()
            .map(|s| Value::try_from(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// `#[serde(with = "cells")]` for `(column, value)` pairs.
pub(crate) mod cells {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &[(String, Value)],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|(c, v)| (c, Stored::from(v))))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<(String, Value)>, D::Error> {
        Vec::<(String, Stored)>::deserialize(d)?
            .into_iter()
            .map(|(c, s)| {
                Value::try_from(s)
                    .map(|v| (c, v))
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

/// `#[serde(with = "opt_value")]` for an optional value.
pub(crate) mod opt_value {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &Option<Value>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        v.as_ref().map(Stored::from).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Value>, D::Error> {
        Option::<Stored>::deserialize(d)?
            .map(|s| Value::try_from(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<u64>().prop_map(Value::UInt),
            any::<f64>().prop_map(Value::Float),
            (any::<i64>(), 1u8..38, 0i8..10).prop_map(|(v, p, s)| Value::Decimal {
                value: i128::from(v),
                precision: p,
                scale: s
            }),
            any::<String>().prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
            any::<i32>().prop_map(Value::Date),
            (any::<i64>(), proptest::option::of("[A-Za-z/_+:0-9]{1,20}")).prop_map(|(v, tz)| {
                Value::Timestamp {
                    value: v,
                    unit: TimeUnit::Microsecond,
                    tz: tz.map(Arc::from),
                }
            }),
            (any::<i32>(), any::<i32>(), any::<i64>()).prop_map(|(months, days, nanos)| {
                Value::Interval {
                    months,
                    days,
                    nanos,
                }
            }),
        ]
    }

    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => {
                x.to_bits() == y.to_bits() || x.is_nan() && y.is_nan()
            }
            (Value::List(x), Value::List(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            _ => a == b,
        }
    }

    proptest! {
        #[test]
        fn values_round_trip_bit_for_bit(v in proptest::collection::vec(leaf(), 0..6)) {
            let v = Value::List(v);
            let json = serde_json::to_string(&Stored::from(&v)).unwrap();
            let back = Value::try_from(serde_json::from_str::<Stored>(&json).unwrap()).unwrap();
            prop_assert!(same(&back, &v), "{back:?} != {v:?}");
        }
    }

    #[test]
    fn bad_stored_values_are_errors() {
        for bad in [
            r#"{"t":"float","v":"x"}"#,
            r#"{"t":"bytes","v":"abc"}"#,
            r#"{"t":"time","v":{"value":1,"unit":"h"}}"#,
        ] {
            let s: Stored = serde_json::from_str(bad).unwrap();
            assert!(Value::try_from(s).is_err(), "{bad}");
        }
    }
}
