//! Arrow column builders that decoders append to, one per result column.

use std::sync::Arc;

use arrow::array::*;
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, IntervalMonthDayNano, TimeUnit};
use qore_core::{Error, Result};

/// One column under construction. The variants cover every Arrow type the
/// server drivers produce.
#[derive(Debug)]
pub(crate) enum Col {
    Bool(BooleanBuilder),
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Decimal(Decimal128Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
    Duration(DurationMicrosecondBuilder),
    List(Box<ListCol>),
}

/// A list column: offsets and validity here, the elements in a child column.
#[derive(Debug)]
pub(crate) struct ListCol {
    pub(crate) field: FieldRef,
    pub(crate) child: Col,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    len: i32,
}

impl ListCol {
    /// Closes the current list: `n` elements were appended to `child`.
    pub(crate) fn end_list(&mut self, n: usize) -> Result<()> {
        self.len = self
            .len
            .checked_add(i32::try_from(n).map_err(|_| too_big())?)
            .ok_or_else(too_big)?;
        self.offsets.push(self.len);
        self.nulls.append_non_null();
        Ok(())
    }
}

fn too_big() -> Error {
    Error::data("a list column holds more than 2^31 elements in one batch")
}

impl Col {
    /// A builder for `dt`, which must be one of the types listed on [`Col`].
    pub(crate) fn new(dt: &DataType, capacity: usize) -> Result<Col> {
        Ok(match dt {
            DataType::Boolean => Col::Bool(BooleanBuilder::with_capacity(capacity)),
            DataType::Int8 => Col::I8(Int8Builder::with_capacity(capacity)),
            DataType::Int16 => Col::I16(Int16Builder::with_capacity(capacity)),
            DataType::Int32 => Col::I32(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => Col::I64(Int64Builder::with_capacity(capacity)),
            DataType::UInt8 => Col::U8(UInt8Builder::with_capacity(capacity)),
            DataType::UInt16 => Col::U16(UInt16Builder::with_capacity(capacity)),
            DataType::UInt32 => Col::U32(UInt32Builder::with_capacity(capacity)),
            DataType::UInt64 => Col::U64(UInt64Builder::with_capacity(capacity)),
            DataType::Float32 => Col::F32(Float32Builder::with_capacity(capacity)),
            DataType::Float64 => Col::F64(Float64Builder::with_capacity(capacity)),
            DataType::Decimal128(p, s) => Col::Decimal(
                Decimal128Builder::with_capacity(capacity).with_precision_and_scale(*p, *s)?,
            ),
            DataType::Utf8 => Col::Utf8(StringBuilder::with_capacity(capacity, capacity * 8)),
            DataType::Binary => Col::Binary(BinaryBuilder::with_capacity(capacity, capacity * 8)),
            DataType::Date32 => Col::Date(Date32Builder::with_capacity(capacity)),
            DataType::Time64(TimeUnit::Microsecond) => {
                Col::Time(Time64MicrosecondBuilder::with_capacity(capacity))
            }
            DataType::Timestamp(TimeUnit::Microsecond, tz) => Col::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone_opt(tz.clone()),
            ),
            DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano) => {
                Col::Interval(IntervalMonthDayNanoBuilder::with_capacity(capacity))
            }
            DataType::Duration(TimeUnit::Microsecond) => {
                Col::Duration(DurationMicrosecondBuilder::with_capacity(capacity))
            }
            DataType::List(field) => {
                let mut offsets = Vec::with_capacity(capacity + 1);
                offsets.push(0);
                Col::List(Box::new(ListCol {
                    field: field.clone(),
                    child: Col::new(field.data_type(), capacity)?,
                    offsets,
                    nulls: NullBufferBuilder::new(capacity),
                    len: 0,
                }))
            }
            other => {
                return Err(Error::Internal(format!(
                    "no column builder for Arrow type {other}"
                )));
            }
        })
    }

    /// Appends a NULL.
    pub(crate) fn append_null(&mut self) {
        match self {
            Col::Bool(b) => b.append_null(),
            Col::I8(b) => b.append_null(),
            Col::I16(b) => b.append_null(),
            Col::I32(b) => b.append_null(),
            Col::I64(b) => b.append_null(),
            Col::U8(b) => b.append_null(),
            Col::U16(b) => b.append_null(),
            Col::U32(b) => b.append_null(),
            Col::U64(b) => b.append_null(),
            Col::F32(b) => b.append_null(),
            Col::F64(b) => b.append_null(),
            Col::Decimal(b) => b.append_null(),
            Col::Utf8(b) => b.append_null(),
            Col::Binary(b) => b.append_null(),
            Col::Date(b) => b.append_null(),
            Col::Time(b) => b.append_null(),
            Col::Timestamp(b) => b.append_null(),
            Col::Interval(b) => b.append_null(),
            Col::Duration(b) => b.append_null(),
            Col::List(l) => {
                l.offsets.push(l.len);
                l.nulls.append_null();
            }
        }
    }

    /// Appends a string to a text column.
    pub(crate) fn append_str(&mut self, s: &str) -> Result<()> {
        match self {
            Col::Utf8(b) => {
                b.append_value(s);
                Ok(())
            }
            other => Err(mismatch(other, "text")),
        }
    }

    /// Appends an interval to an interval column.
    pub(crate) fn append_interval(&mut self, months: i32, days: i32, nanos: i64) -> Result<()> {
        match self {
            Col::Interval(b) => {
                b.append_value(IntervalMonthDayNano::new(months, days, nanos));
                Ok(())
            }
            other => Err(mismatch(other, "interval")),
        }
    }

    /// Builds the array and resets the builder.
    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::I8(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::U8(b) => Arc::new(b.finish()),
            Col::U16(b) => Arc::new(b.finish()),
            Col::U32(b) => Arc::new(b.finish()),
            Col::U64(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Decimal(b) => Arc::new(b.finish()),
            Col::Utf8(b) => Arc::new(b.finish()),
            Col::Binary(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Time(b) => Arc::new(b.finish()),
            Col::Timestamp(b) => Arc::new(b.finish()),
            Col::Interval(b) => Arc::new(b.finish()),
            Col::Duration(b) => Arc::new(b.finish()),
            Col::List(l) => {
                let values = l.child.finish();
                let offsets = std::mem::replace(&mut l.offsets, vec![0]);
                l.len = 0;
                let nulls: Option<NullBuffer> = l.nulls.finish();
                Arc::new(ListArray::new(
                    l.field.clone(),
                    OffsetBuffer::new(offsets.into()),
                    values,
                    nulls,
                ))
            }
        }
    }
}

fn mismatch(_col: &Col, what: &str) -> Error {
    Error::Internal(format!(
        "a decoder wrote {what} into a column of another type"
    ))
}

/// A list field with nullable elements named `item`, as Arrow expects.
pub(crate) fn list_of(dt: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", dt, true)))
}
