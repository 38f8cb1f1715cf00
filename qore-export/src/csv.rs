//! A CSV/TSV encoder that formats each Arrow type straight into bytes.
//!
//! arrow-csv formats every value through `Display` and chrono; this writes
//! integers, decimals, dates and UTC timestamps digit by digit, which makes
//! exports about twice as fast. Other types (lists, structs, intervals,
//! times) go through [`crate::text`], which renders every value exactly or
//! fails.
//!
//! NULL is an empty field and an empty string is `""`, as psql writes them,
//! so the two stay apart.

use std::io::Write;

use arrow::array::*;
use arrow::datatypes::*;
use qore_core::{Error, Result};

use crate::text::{float_text as float, int};

/// Writes RFC 4180 CSV (or TSV with `delimiter = b'\t'`).
pub struct CsvEncoder {
    delimiter: u8,
    header: bool,
    wrote_header: bool,
    line: Vec<u8>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for CsvEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvEncoder")
            .field("delimiter", &self.delimiter)
            .finish_non_exhaustive()
    }
}

enum Col<'a> {
    Null,
    Bool(&'a BooleanArray),
    I8(&'a Int8Array),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    U8(&'a UInt8Array),
    U16(&'a UInt16Array),
    U32(&'a UInt32Array),
    U64(&'a UInt64Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Dec(&'a Decimal128Array, i8),
    Str(&'a StringArray),
    LargeStr(&'a LargeStringArray),
    StrView(&'a StringViewArray),
    Bin(&'a dyn Array),
    Date(&'a Date32Array),
    TsUtc(&'a TimestampMicrosecondArray, bool),
    Other(&'a dyn Array),
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl CsvEncoder {
    /// An encoder; `header` writes the column names first.
    pub fn new(delimiter: u8, header: bool) -> Self {
        CsvEncoder {
            delimiter,
            header,
            wrote_header: false,
            line: Vec::with_capacity(256),
            buf: Vec::with_capacity(1 << 16),
        }
    }

    /// An encoder that carries on an output whose header (if any) is
    /// already written: what a resumed export appends is byte for byte what
    /// an uninterrupted one would have written there.
    pub fn continuing(delimiter: u8, header: bool) -> Self {
        let mut e = CsvEncoder::new(delimiter, header);
        e.wrote_header = true;
        e
    }

    fn quoted(&self, s: &[u8], out: &mut Vec<u8>) {
        if s.is_empty() {
            // Not NULL: an empty string is quoted.
            out.extend_from_slice(b"\"\"");
            return;
        }
        let needs = s
            .iter()
            .any(|&c| c == self.delimiter || c == b'"' || c == b'\n' || c == b'\r');
        if !needs {
            out.extend_from_slice(s);
            return;
        }
        out.push(b'"');
        for &c in s {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    }

    /// Encodes `batch` and writes it to `out`.
    pub fn write(&mut self, batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
        let io = |e| Error::io("cannot write the CSV output", e);
        if self.header && !self.wrote_header {
            let mut line = Vec::new();
            for (i, f) in batch.schema().fields().iter().enumerate() {
                if i > 0 {
                    line.push(self.delimiter);
                }
                self.quoted(f.name().as_bytes(), &mut line);
            }
            line.push(b'\n');
            out.write_all(&line).map_err(io)?;
        }
        self.wrote_header = true;
        let cols: Vec<Col<'_>> = batch.columns().iter().map(|c| column(c.as_ref())).collect();
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut line = std::mem::take(&mut self.line);
        for row in 0..batch.num_rows() {
            for (i, (col, arr)) in cols.iter().zip(batch.columns()).enumerate() {
                if i > 0 {
                    buf.push(self.delimiter);
                }
                if arr.is_null(row) {
                    continue;
                }
                match col {
                    Col::Null => {}
                    Col::Bool(a) => {
                        buf.extend_from_slice(if a.value(row) { b"true" } else { b"false" })
                    }
                    Col::I8(a) => int(&mut buf, a.value(row)),
                    Col::I16(a) => int(&mut buf, a.value(row)),
                    Col::I32(a) => int(&mut buf, a.value(row)),
                    Col::I64(a) => int(&mut buf, a.value(row)),
                    Col::U8(a) => int(&mut buf, a.value(row)),
                    Col::U16(a) => int(&mut buf, a.value(row)),
                    Col::U32(a) => int(&mut buf, a.value(row)),
                    Col::U64(a) => int(&mut buf, a.value(row)),
                    Col::F32(a) => float(&mut buf, f64::from(a.value(row))),
                    Col::F64(a) => float(&mut buf, a.value(row)),
                    Col::Dec(a, scale) => crate::text::decimal(&mut buf, a.value(row), *scale),
                    Col::Str(a) => self.quoted(a.value(row).as_bytes(), &mut buf),
                    Col::LargeStr(a) => self.quoted(a.value(row).as_bytes(), &mut buf),
                    Col::StrView(a) => self.quoted(a.value(row).as_bytes(), &mut buf),
                    Col::Bin(a) => {
                        let bytes: &[u8] = if let Some(b) = a.as_binary_opt::<i32>() {
                            b.value(row)
                        } else if let Some(b) = a.as_binary_opt::<i64>() {
                            b.value(row)
                        } else if let Some(b) = a.as_fixed_size_binary_opt() {
                            b.value(row)
                        } else {
                            a.as_binary_view().value(row)
                        };
                        buf.extend_from_slice(b"\\x");
                        for b in bytes {
                            buf.push(HEX[usize::from(b >> 4)]);
                            buf.push(HEX[usize::from(b & 15)]);
                        }
                    }
                    Col::Date(a) => crate::text::date32(&mut buf, a.value(row)),
                    Col::TsUtc(a, z) => {
                        crate::text::timestamp(&mut buf, a.value(row), TimeUnit::Microsecond, *z)
                    }
                    Col::Other(a) => {
                        line.clear();
                        crate::text::write_text(&mut line, *a, row).map_err(|e| {
                            Error::data(format!("column `{}`: {e}", batch.schema().field(i).name()))
                        })?;
                        self.quoted(&line, &mut buf);
                    }
                }
            }
            buf.push(b'\n');
            if buf.len() >= 1 << 16 {
                out.write_all(&buf).map_err(io)?;
                buf.clear();
            }
        }
        out.write_all(&buf).map_err(io)?;
        self.buf = buf;
        self.line = line;
        Ok(())
    }

    /// Writes the header of an empty result (nothing was written yet).
    pub fn finish(&mut self, schema: &Schema, out: &mut dyn Write) -> Result<()> {
        if self.header && !self.wrote_header {
            self.write(
                &RecordBatch::new_empty(std::sync::Arc::new(schema.clone())),
                out,
            )?;
        }
        Ok(())
    }
}

fn column(c: &dyn Array) -> Col<'_> {
    match c.data_type() {
        DataType::Null => Col::Null,
        DataType::Boolean => Col::Bool(c.as_boolean()),
        DataType::Int8 => Col::I8(c.as_primitive()),
        DataType::Int16 => Col::I16(c.as_primitive()),
        DataType::Int32 => Col::I32(c.as_primitive()),
        DataType::Int64 => Col::I64(c.as_primitive()),
        DataType::UInt8 => Col::U8(c.as_primitive()),
        DataType::UInt16 => Col::U16(c.as_primitive()),
        DataType::UInt32 => Col::U32(c.as_primitive()),
        DataType::UInt64 => Col::U64(c.as_primitive()),
        DataType::Float32 => Col::F32(c.as_primitive()),
        DataType::Float64 => Col::F64(c.as_primitive()),
        DataType::Decimal128(_, s) => Col::Dec(c.as_primitive(), *s),
        DataType::Utf8 => Col::Str(c.as_string()),
        DataType::LargeUtf8 => Col::LargeStr(c.as_string()),
        DataType::Utf8View => Col::StrView(c.as_string_view()),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::FixedSizeBinary(_)
        | DataType::BinaryView => Col::Bin(c),
        DataType::Date32 => Col::Date(c.as_primitive()),
        DataType::Timestamp(TimeUnit::Microsecond, None) => Col::TsUtc(c.as_primitive(), false),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz))
            if tz.as_ref() == "UTC" || tz.as_ref() == "+00:00" =>
        {
            Col::TsUtc(c.as_primitive(), true)
        }
        _ => Col::Other(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn arrow_csv(batch: &RecordBatch) -> String {
        let mut out = Vec::new();
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut out);
        w.write(batch).unwrap();
        drop(w);
        String::from_utf8(out).unwrap()
    }

    fn ours(batch: &RecordBatch) -> String {
        let mut out = Vec::new();
        CsvEncoder::new(b',', true).write(batch, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    proptest! {
        /// Same text as arrow-csv for the types it formats itself (but for
        /// empty strings, which arrow-csv writes like NULL: see below).
        #[test]
        fn matches_arrow_csv(
            ints in proptest::collection::vec(proptest::option::of(any::<i64>()), 1..20),
            text in proptest::collection::vec(proptest::option::of("[a-z,\"\\n ]{1,8}"), 1..20),
            dec in proptest::collection::vec(proptest::option::of(-10i128.pow(20)..10i128.pow(20)), 1..20),
            ts in proptest::collection::vec(proptest::option::of(-10_000_000_000_000_000i64..10_000_000_000_000_000), 1..20),
            days in proptest::collection::vec(proptest::option::of(-719_000i32..2_900_000), 1..20),
        ) {
            let n = ints.len().min(text.len()).min(dec.len()).min(ts.len()).min(days.len());
            let batch = RecordBatch::try_from_iter(vec![
                ("i", Arc::new(Int64Array::from(ints[..n].to_vec())) as ArrayRef),
                ("t", Arc::new(StringArray::from(text[..n].to_vec())) as ArrayRef),
                ("d", Arc::new(Decimal128Array::from(dec[..n].to_vec()).with_precision_and_scale(38, 3).unwrap()) as ArrayRef),
                ("ts", Arc::new(TimestampMicrosecondArray::from(ts[..n].to_vec()).with_timezone("UTC")) as ArrayRef),
                ("tsn", Arc::new(TimestampMicrosecondArray::from(ts[..n].to_vec())) as ArrayRef),
                ("day", Arc::new(Date32Array::from(days[..n].to_vec())) as ArrayRef),
            ]).unwrap();
            prop_assert_eq!(ours(&batch), arrow_csv(&batch));
        }
    }

    #[test]
    fn null_and_empty_string_stay_apart() {
        let batch = RecordBatch::try_from_iter(vec![(
            "s",
            Arc::new(StringArray::from(vec![Some(""), None, Some("x")])) as ArrayRef,
        )])
        .unwrap();
        assert_eq!(ours(&batch), "s\n\"\"\n\nx\n");
    }

    #[test]
    fn binary_is_hex_and_floats_are_shortest() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "b",
                Arc::new(BinaryArray::from(vec![Some(&[0u8, 255][..]), None])) as ArrayRef,
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![Some(0.1), Some(f64::NAN)])) as ArrayRef,
            ),
        ])
        .unwrap();
        assert_eq!(ours(&batch), "b,f\n\\x00ff,0.1\n,NaN\n");
    }
}
