//! A single cell, with lossless conversion to and from Arrow arrays.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Decimal128Builder,
    DurationMicrosecondArray, DurationMillisecondArray, DurationNanosecondArray,
    DurationSecondArray, FixedSizeBinaryBuilder, LargeBinaryBuilder, LargeStringBuilder, ListArray,
    NullArray, StringBuilder, StructArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, make_array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::*;

use crate::error::{Error, Result};

/// One cell value: what edits, keys and peeks carry.
///
/// Conversions keep every bit: a value read from an Arrow array with
/// [`Value::from_array`] and written back with [`Value::to_array`] and the
/// same type is equal to the original.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any signed integer width.
    Int(i64),
    /// Any unsigned integer width.
    UInt(u64),
    /// Float16, Float32 or Float64 (all exactly representable as f64).
    Float(f64),
    /// A fixed-point decimal: `value * 10^-scale`.
    Decimal {
        /// The unscaled integer.
        value: i128,
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: i8,
    },
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Time of day since midnight, in `unit`.
    Time {
        /// Count of units.
        value: i64,
        /// The unit.
        unit: TimeUnit,
    },
    /// An instant or wall-clock time since the epoch, in `unit`.
    Timestamp {
        /// Count of units since 1970-01-01T00:00:00.
        value: i64,
        /// The unit.
        unit: TimeUnit,
        /// Time zone, `None` for a wall-clock timestamp.
        tz: Option<Arc<str>>,
    },
    /// A duration in `unit`.
    Duration {
        /// Count of units.
        value: i64,
        /// The unit.
        unit: TimeUnit,
    },
    /// A calendar interval.
    Interval {
        /// Months.
        months: i32,
        /// Days.
        days: i32,
        /// Nanoseconds.
        nanos: i64,
    },
    /// A list.
    List(Vec<Value>),
    /// A struct, fields in order.
    Struct(Vec<(String, Value)>),
}

fn unsupported(dt: &DataType) -> Error {
    Error::NotSupported(format!(
        "Arrow type {dt} has no single-cell Value mapping yet"
    ))
}

fn expect_err(dt: &DataType, v: &Value) -> Error {
    Error::data(format!(
        "value {v:?} cannot be stored in a column of Arrow type {dt}"
    ))
}

impl Value {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Reads row `row` of `array`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when `row` is out of bounds, [`Error::NotSupported`]
    /// for Arrow types without a mapping (unions, maps, 256-bit decimals).
    pub fn from_array(array: &dyn Array, row: usize) -> Result<Value> {
        if row >= array.len() {
            return Err(Error::invalid(format!(
                "row {row} is past the end of a {}-row array",
                array.len()
            )));
        }
        if array.is_null(row) {
            return Ok(Value::Null);
        }
        let dt = array.data_type();
        Ok(match dt {
            DataType::Null => Value::Null,
            DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
            DataType::Int8 => Value::Int(array.as_primitive::<Int8Type>().value(row).into()),
            DataType::Int16 => Value::Int(array.as_primitive::<Int16Type>().value(row).into()),
            DataType::Int32 => Value::Int(array.as_primitive::<Int32Type>().value(row).into()),
            DataType::Int64 => Value::Int(array.as_primitive::<Int64Type>().value(row)),
            DataType::UInt8 => Value::UInt(array.as_primitive::<UInt8Type>().value(row).into()),
            DataType::UInt16 => Value::UInt(array.as_primitive::<UInt16Type>().value(row).into()),
            DataType::UInt32 => Value::UInt(array.as_primitive::<UInt32Type>().value(row).into()),
            DataType::UInt64 => Value::UInt(array.as_primitive::<UInt64Type>().value(row)),
            DataType::Float16 => {
                Value::Float(array.as_primitive::<Float16Type>().value(row).to_f64())
            }
            DataType::Float32 => {
                Value::Float(array.as_primitive::<Float32Type>().value(row).into())
            }
            DataType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(row)),
            DataType::Decimal128(p, s) => Value::Decimal {
                value: array.as_primitive::<Decimal128Type>().value(row),
                precision: *p,
                scale: *s,
            },
            DataType::Utf8 => Value::Text(array.as_string::<i32>().value(row).to_string()),
            DataType::LargeUtf8 => Value::Text(array.as_string::<i64>().value(row).to_string()),
            DataType::Utf8View => Value::Text(array.as_string_view().value(row).to_string()),
            DataType::Binary => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
            DataType::LargeBinary => Value::Bytes(array.as_binary::<i64>().value(row).to_vec()),
            DataType::BinaryView => Value::Bytes(array.as_binary_view().value(row).to_vec()),
            DataType::FixedSizeBinary(_) => {
                Value::Bytes(array.as_fixed_size_binary().value(row).to_vec())
            }
            DataType::Date32 => Value::Date(array.as_primitive::<Date32Type>().value(row)),
            DataType::Date64 => {
                let ms = array.as_primitive::<Date64Type>().value(row);
                Value::Timestamp {
                    value: ms,
                    unit: TimeUnit::Millisecond,
                    tz: None,
                }
            }
            DataType::Time32(TimeUnit::Second) => Value::Time {
                value: array.as_primitive::<Time32SecondType>().value(row).into(),
                unit: TimeUnit::Second,
            },
            DataType::Time32(_) => Value::Time {
                value: array
                    .as_primitive::<Time32MillisecondType>()
                    .value(row)
                    .into(),
                unit: TimeUnit::Millisecond,
            },
            DataType::Time64(TimeUnit::Microsecond) => Value::Time {
                value: array.as_primitive::<Time64MicrosecondType>().value(row),
                unit: TimeUnit::Microsecond,
            },
            DataType::Time64(_) => Value::Time {
                value: array.as_primitive::<Time64NanosecondType>().value(row),
                unit: TimeUnit::Nanosecond,
            },
            DataType::Timestamp(unit, tz) => {
                let value = match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().value(row)
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().value(row)
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().value(row)
                    }
                };
                Value::Timestamp {
                    value,
                    unit: *unit,
                    tz: tz.clone(),
                }
            }
            DataType::Duration(unit) => {
                let value = match unit {
                    TimeUnit::Second => array.as_primitive::<DurationSecondType>().value(row),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<DurationMillisecondType>().value(row)
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<DurationMicrosecondType>().value(row)
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<DurationNanosecondType>().value(row)
                    }
                };
                Value::Duration { value, unit: *unit }
            }
            DataType::Interval(IntervalUnit::MonthDayNano) => {
                let v = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
                Value::Interval {
                    months: v.months,
                    days: v.days,
                    nanos: v.nanoseconds,
                }
            }
            DataType::List(_) => list_values(array.as_list::<i32>().value(row).as_ref())?,
            DataType::LargeList(_) => list_values(array.as_list::<i64>().value(row).as_ref())?,
            DataType::Struct(fields) => {
                let s = array.as_struct();
                let mut out = Vec::with_capacity(fields.len());
                for (f, col) in fields.iter().zip(s.columns()) {
                    out.push((f.name().clone(), Value::from_array(col.as_ref(), row)?));
                }
                Value::Struct(out)
            }
            DataType::Dictionary(_, _) => {
                let taken = arrow::compute::take(
                    array,
                    &arrow::array::UInt32Array::from(vec![row as u32]),
                    None,
                )?;
                let plain = arrow::compute::cast(&taken, dict_value_type(dt))?;
                Value::from_array(plain.as_ref(), 0)?
            }
            other => return Err(unsupported(other)),
        })
    }

    /// Builds an array of `data_type` from `values`.
    ///
    /// # Error handling
    ///
    /// [`Error::Data`] when a value does not fit the type (a text in an
    /// integer column, an integer out of range), naming the value and type.
    pub fn to_array(values: &[Value], data_type: &DataType) -> Result<ArrayRef> {
        macro_rules! prim {
            ($t:ty, $pat:pat => $e:expr) => {{
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    out.push(match v {
                        Value::Null => None,
                        $pat => Some($e),
                        other => return Err(expect_err(data_type, other)),
                    });
                }
                Arc::new(
                    arrow::array::PrimitiveArray::<$t>::from(out).with_data_type(data_type.clone()),
                ) as ArrayRef
            }};
        }
        macro_rules! int {
            ($t:ty, $n:ty) => {{
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    out.push(match v {
                        Value::Null => None,
                        Value::Int(i) => {
                            Some(<$n>::try_from(*i).map_err(|_| expect_err(data_type, v))?)
                        }
                        Value::UInt(u) => {
                            Some(<$n>::try_from(*u).map_err(|_| expect_err(data_type, v))?)
                        }
                        other => return Err(expect_err(data_type, other)),
                    });
                }
                Arc::new(arrow::array::PrimitiveArray::<$t>::from(out)) as ArrayRef
            }};
        }
        Ok(match data_type {
            DataType::Null => {
                if let Some(v) = values.iter().find(|v| !v.is_null()) {
                    return Err(expect_err(data_type, v));
                }
                Arc::new(NullArray::new(values.len()))
            }
            DataType::Boolean => {
                let mut b = BooleanBuilder::with_capacity(values.len());
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Bool(x) => b.append_value(*x),
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Int8 => int!(Int8Type, i8),
            DataType::Int16 => int!(Int16Type, i16),
            DataType::Int32 => int!(Int32Type, i32),
            DataType::Int64 => int!(Int64Type, i64),
            DataType::UInt8 => int!(UInt8Type, u8),
            DataType::UInt16 => int!(UInt16Type, u16),
            DataType::UInt32 => int!(UInt32Type, u32),
            DataType::UInt64 => int!(UInt64Type, u64),
            DataType::Float16 => prim!(Float16Type, Value::Float(f) => half::f16::from_f64(*f)),
            DataType::Float32 => prim!(Float32Type, Value::Float(f) => *f as f32),
            DataType::Float64 => prim!(Float64Type, Value::Float(f) => *f),
            DataType::Decimal128(p, s) => {
                let mut b = Decimal128Builder::with_capacity(values.len());
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Decimal { value, scale, .. } if scale == s => b.append_value(*value),
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                Arc::new(b.finish().with_precision_and_scale(*p, *s)?)
            }
            DataType::Utf8 | DataType::Utf8View => {
                let mut b = StringBuilder::with_capacity(values.len(), 0);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Text(s) => b.append_value(s),
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                let a: ArrayRef = Arc::new(b.finish());
                if data_type == &DataType::Utf8View {
                    arrow::compute::cast(&a, data_type)?
                } else {
                    a
                }
            }
            DataType::LargeUtf8 => {
                let mut b = LargeStringBuilder::with_capacity(values.len(), 0);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Text(s) => b.append_value(s),
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Binary | DataType::BinaryView => {
                let mut b = BinaryBuilder::with_capacity(values.len(), 0);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Bytes(x) => b.append_value(x),
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                let a: ArrayRef = Arc::new(b.finish());
                if data_type == &DataType::BinaryView {
                    arrow::compute::cast(&a, data_type)?
                } else {
                    a
                }
            }
            DataType::LargeBinary => {
                let mut b = LargeBinaryBuilder::with_capacity(values.len(), 0);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Bytes(x) => b.append_value(x),
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::FixedSizeBinary(n) => {
                let mut b = FixedSizeBinaryBuilder::with_capacity(values.len(), *n);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Bytes(x) => b.append_value(x)?,
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Date32 => prim!(Date32Type, Value::Date(d) => *d),
            DataType::Date64 => prim!(Date64Type,
                Value::Timestamp { value, unit: TimeUnit::Millisecond, tz: None } => *value),
            DataType::Time32(TimeUnit::Second) => prim!(Time32SecondType,
                Value::Time { value, unit: TimeUnit::Second } => narrow32(*value, data_type)?),
            DataType::Time32(_) => prim!(Time32MillisecondType,
                Value::Time { value, unit: TimeUnit::Millisecond } => narrow32(*value, data_type)?),
            DataType::Time64(TimeUnit::Microsecond) => prim!(Time64MicrosecondType,
                Value::Time { value, unit: TimeUnit::Microsecond } => *value),
            DataType::Time64(_) => prim!(Time64NanosecondType,
                Value::Time { value, unit: TimeUnit::Nanosecond } => *value),
            DataType::Timestamp(u, tz) => {
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    out.push(match v {
                        Value::Null => None,
                        Value::Timestamp {
                            value,
                            unit,
                            tz: vtz,
                        } if unit == u && vtz == tz => Some(*value),
                        other => return Err(expect_err(data_type, other)),
                    });
                }
                let a: ArrayRef = match u {
                    TimeUnit::Second => Arc::new(TimestampSecondArray::from(out)),
                    TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::from(out)),
                    TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::from(out)),
                    TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(out)),
                };
                make_array(
                    a.to_data()
                        .into_builder()
                        .data_type(data_type.clone())
                        .build()?,
                )
            }
            DataType::Duration(u) => {
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    out.push(match v {
                        Value::Null => None,
                        Value::Duration { value, unit } if unit == u => Some(*value),
                        other => return Err(expect_err(data_type, other)),
                    });
                }
                match u {
                    TimeUnit::Second => Arc::new(DurationSecondArray::from(out)) as ArrayRef,
                    TimeUnit::Millisecond => Arc::new(DurationMillisecondArray::from(out)),
                    TimeUnit::Microsecond => Arc::new(DurationMicrosecondArray::from(out)),
                    TimeUnit::Nanosecond => Arc::new(DurationNanosecondArray::from(out)),
                }
            }
            DataType::Interval(IntervalUnit::MonthDayNano) => prim!(IntervalMonthDayNanoType,
                Value::Interval { months, days, nanos } => IntervalMonthDayNano::new(*months, *days, *nanos)),
            DataType::List(field) => {
                let mut offsets = Vec::with_capacity(values.len() + 1);
                offsets.push(0i32);
                let mut children = Vec::new();
                let mut valid = Vec::with_capacity(values.len());
                for v in values {
                    match v {
                        Value::Null => valid.push(false),
                        Value::List(items) => {
                            valid.push(true);
                            children.extend(items.iter().cloned());
                        }
                        other => return Err(expect_err(data_type, other)),
                    }
                    let len = i32::try_from(children.len())
                        .map_err(|_| Error::data("list values exceed i32 offsets"))?;
                    offsets.push(len);
                }
                let child = Value::to_array(&children, field.data_type())?;
                Arc::new(ListArray::try_new(
                    field.clone(),
                    OffsetBuffer::new(offsets.into()),
                    child,
                    Some(NullBuffer::from(valid)),
                )?)
            }
            DataType::Struct(fields) => {
                let mut columns: Vec<Vec<Value>> =
                    vec![Vec::with_capacity(values.len()); fields.len()];
                let mut valid = Vec::with_capacity(values.len());
                for v in values {
                    match v {
                        Value::Null => {
                            valid.push(false);
                            columns.iter_mut().for_each(|c| c.push(Value::Null));
                        }
                        Value::Struct(items) if items.len() == fields.len() => {
                            valid.push(true);
                            for (c, (_, item)) in columns.iter_mut().zip(items) {
                                c.push(item.clone());
                            }
                        }
                        other => return Err(expect_err(data_type, other)),
                    }
                }
                let arrays = fields
                    .iter()
                    .zip(&columns)
                    .map(|(f, c)| Value::to_array(c, f.data_type()))
                    .collect::<Result<Vec<_>>>()?;
                Arc::new(StructArray::try_new(
                    fields.clone(),
                    arrays,
                    Some(NullBuffer::from(valid)),
                )?)
            }
            other => return Err(unsupported(other)),
        })
    }
}

fn narrow32(v: i64, dt: &DataType) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::data(format!("{v} does not fit {dt}")))
}

fn dict_value_type(dt: &DataType) -> &DataType {
    match dt {
        DataType::Dictionary(_, v) => v,
        other => other,
    }
}

fn list_values(child: &dyn Array) -> Result<Value> {
    (0..child.len())
        .map(|i| Value::from_array(child, i))
        .collect::<Result<Vec<_>>>()
        .map(Value::List)
}

impl fmt::Display for Value {
    /// A human rendering: ISO dates and times, decimals with their scale.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Decimal {
                value,
                precision,
                scale,
            } => {
                let a = arrow::array::Decimal128Array::from(vec![*value])
                    .with_precision_and_scale(*precision, *scale)
                    .map_err(|_| fmt::Error)?;
                f.write_str(&a.value_as_string(0))
            }
            Value::Text(s) => f.write_str(s),
            Value::Bytes(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Struct(items) => {
                f.write_str("{")?;
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            temporal => {
                let dt = match temporal {
                    Value::Date(_) => DataType::Date32,
                    Value::Time { unit, .. } => match unit {
                        TimeUnit::Second | TimeUnit::Millisecond => DataType::Time32(*unit),
                        _ => DataType::Time64(*unit),
                    },
                    Value::Timestamp { unit, tz, .. } => DataType::Timestamp(*unit, tz.clone()),
                    Value::Duration { unit, .. } => DataType::Duration(*unit),
                    _ => DataType::Interval(IntervalUnit::MonthDayNano),
                };
                let a = Value::to_array(std::slice::from_ref(self), &dt).map_err(|_| fmt::Error)?;
                let s =
                    arrow::util::display::array_value_to_string(&a, 0).map_err(|_| fmt::Error)?;
                f.write_str(&s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: Vec<Value>, dt: DataType) {
        let arr = Value::to_array(&values, &dt).unwrap();
        assert_eq!(arr.data_type(), &dt);
        let back: Vec<Value> = (0..arr.len())
            .map(|i| Value::from_array(arr.as_ref(), i).unwrap())
            .collect();
        assert_eq!(back, values);
    }

    fn opt(v: Option<Value>) -> Value {
        v.unwrap_or(Value::Null)
    }

    proptest! {
        #[test]
        fn ints(v in proptest::collection::vec(proptest::option::of(any::<i64>()), 0..20)) {
            round_trip(v.into_iter().map(|x| opt(x.map(Value::Int))).collect(), DataType::Int64);
        }
        #[test]
        fn small_ints(v in proptest::collection::vec(proptest::option::of(any::<i16>()), 0..20)) {
            round_trip(v.into_iter().map(|x| opt(x.map(|x| Value::Int(x.into())))).collect(), DataType::Int16);
        }
        #[test]
        fn floats(v in proptest::collection::vec(proptest::option::of(any::<f32>()), 0..20)) {
            let vals: Vec<Value> = v.into_iter().map(|x| opt(x.map(|x| Value::Float(x.into())))).collect();
            let arr = Value::to_array(&vals, &DataType::Float32).unwrap();
            for (i, v) in vals.iter().enumerate() {
                let back = Value::from_array(arr.as_ref(), i).unwrap();
                match (v, back) {
                    (Value::Float(a), Value::Float(b)) => prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())),
                    (a, b) => prop_assert_eq!(a, &b),
                }
            }
        }
        #[test]
        fn text_and_bytes(s in proptest::collection::vec(proptest::option::of("\\PC*"), 0..10),
                          b in proptest::collection::vec(proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)), 0..10)) {
            round_trip(s.into_iter().map(|x| opt(x.map(Value::Text))).collect(), DataType::Utf8);
            round_trip(b.into_iter().map(|x| opt(x.map(Value::Bytes))).collect(), DataType::Binary);
        }
        #[test]
        fn decimals_and_time(d in any::<i64>(), t in any::<i64>()) {
            round_trip(vec![Value::Decimal { value: d.into(), precision: 38, scale: 4 }, Value::Null], DataType::Decimal128(38, 4));
            let tz: Option<Arc<str>> = Some("UTC".into());
            round_trip(vec![Value::Timestamp { value: t, unit: TimeUnit::Nanosecond, tz: tz.clone() }],
                       DataType::Timestamp(TimeUnit::Nanosecond, tz));
        }
        #[test]
        fn lists(v in proptest::collection::vec(proptest::option::of(proptest::collection::vec(any::<i32>(), 0..4)), 0..8)) {
            let vals = v.into_iter().map(|x| opt(x.map(|l| Value::List(l.into_iter().map(|i| Value::Int(i.into())).collect())))).collect();
            round_trip(vals, DataType::List(Arc::new(Field::new("item", DataType::Int32, true))));
        }
    }

    #[test]
    fn mismatches_are_errors() {
        let err = Value::to_array(&[Value::Text("x".into())], &DataType::Int64).unwrap_err();
        assert!(err.to_string().contains("Int64"), "{err}");
        assert!(Value::to_array(&[Value::Int(300)], &DataType::Int8).is_err());
        assert_eq!(Value::Date(0).to_string(), "1970-01-01");
        assert_eq!(
            Value::Decimal {
                value: 12345,
                precision: 10,
                scale: 2
            }
            .to_string(),
            "123.45"
        );
    }
}
