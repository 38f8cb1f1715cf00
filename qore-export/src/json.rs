//! JSON and NDJSON rows, written with [`crate::text`]: exact numbers,
//! non-finite floats as strings, JSON text columns embedded verbatim, and a
//! value that cannot be rendered as an error instead of text in the data.

use std::io::Write;

use arrow::array::{
    Array, AsArray, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Schema, TimeUnit};
use qore_core::{Error, Result};

use crate::text::{json_string, write_json};

/// A column the encoder writes without going through [`write_json`].
enum Fast<'a> {
    I64(&'a Int64Array),
    I32(&'a Int32Array),
    /// Text that is not to be embedded as JSON.
    Str(&'a StringArray),
    Dec(&'a Decimal128Array, i8),
    Ts(&'a TimestampMicrosecondArray, bool),
    Other,
}

impl<'a> Fast<'a> {
    fn of(c: &'a dyn Array, embed: bool) -> Fast<'a> {
        match c.data_type() {
            DataType::Int64 => Fast::I64(c.as_primitive()),
            DataType::Int32 => Fast::I32(c.as_primitive()),
            DataType::Utf8 if !embed => Fast::Str(c.as_string()),
            DataType::Decimal128(_, s) => Fast::Dec(c.as_primitive(), *s),
            // `text::timestamp` writes the infinity sentinels itself.
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                Fast::Ts(c.as_primitive(), tz.is_some())
            }
            _ => Fast::Other,
        }
    }
}

/// Writes batches as one JSON array of objects, or one object per line.
#[derive(Debug)]
pub struct JsonEncoder {
    array: bool,
    rows: u64,
    /// `"name":` of each column, escaped once.
    keys: Vec<Vec<u8>>,
    /// Columns marked `qore.json`: their text is embedded as JSON.
    embed: Vec<bool>,
    /// MongoDB documents: each row is rebuilt and written as canonical
    /// Extended JSON, exact to the BSON type.
    documents: bool,
    buf: Vec<u8>,
}

impl JsonEncoder {
    /// An encoder for `schema`: a JSON array when `array`, else NDJSON.
    pub fn new(schema: &Schema, array: bool) -> Self {
        let keys = schema
            .fields()
            .iter()
            .map(|f| {
                let mut k = Vec::new();
                json_string(&mut k, f.name());
                k.push(b':');
                k
            })
            .collect();
        let embed = schema
            .fields()
            .iter()
            .map(|f| {
                f.metadata()
                    .get(qore_core::metadata::JSON)
                    .map(String::as_str)
                    == Some("true")
            })
            .collect();
        #[cfg(feature = "mongodb")]
        let documents = qore_drivers::mongodb::is_document_schema(schema);
        #[cfg(not(feature = "mongodb"))]
        let documents = false;
        JsonEncoder {
            array,
            rows: 0,
            keys,
            embed,
            documents,
            buf: Vec::with_capacity(1 << 16),
        }
    }

    /// An encoder that carries on an output that already holds `rows` rows
    /// (a resumed export): a JSON array goes on with a separator instead of
    /// opening again.
    pub fn continuing(schema: &Schema, array: bool, rows: u64) -> Self {
        let mut e = JsonEncoder::new(schema, array);
        e.rows = rows;
        e
    }

    /// Encodes `batch` and writes it to `out`.
    ///
    /// # Error handling
    ///
    /// [`Error::Data`] for a value without an exact rendering;
    /// [`Error::Io`] when `out` fails.
    pub fn write(&mut self, batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
        let io = |e| Error::io("cannot write the JSON output", e);
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        // The common column types skip the per-value type dispatch.
        let cols: Vec<Fast<'_>> = batch
            .columns()
            .iter()
            .zip(&self.embed)
            .map(|(c, embed)| Fast::of(c.as_ref(), *embed))
            .collect();
        for row in 0..batch.num_rows() {
            if self.array {
                buf.extend_from_slice(if self.rows == 0 { b"[" } else { b",\n" });
            }
            if self.documents {
                document(&mut buf, batch, row)?;
                if !self.array {
                    buf.push(b'\n');
                }
                self.rows += 1;
                continue;
            }
            buf.push(b'{');
            for (i, col) in batch.columns().iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(&self.keys[i]);
                match &cols[i] {
                    _ if col.is_null(row) => buf.extend_from_slice(b"null"),
                    Fast::I64(a) => crate::text::int(&mut buf, a.value(row)),
                    Fast::I32(a) => crate::text::int(&mut buf, a.value(row)),
                    Fast::Str(a) => json_string(&mut buf, a.value(row)),
                    Fast::Dec(a, scale) => crate::text::decimal(&mut buf, a.value(row), *scale),
                    Fast::Ts(a, zoned) => {
                        buf.push(b'"');
                        crate::text::timestamp(
                            &mut buf,
                            a.value(row),
                            TimeUnit::Microsecond,
                            *zoned,
                        );
                        buf.push(b'"');
                    }
                    Fast::Other => {
                        write_json(&mut buf, col.as_ref(), row, self.embed[i]).map_err(|e| {
                            Error::data(format!("column `{}`: {e}", batch.schema().field(i).name()))
                        })?
                    }
                }
            }
            buf.push(b'}');
            if !self.array {
                buf.push(b'\n');
            }
            self.rows += 1;
            if buf.len() >= 1 << 16 {
                out.write_all(&buf).map_err(io)?;
                buf.clear();
            }
        }
        out.write_all(&buf).map_err(io)?;
        self.buf = buf;
        Ok(())
    }

    /// Closes the array (`[]` when there were no rows) and flushes.
    pub fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        let io = |e| Error::io("cannot write the JSON output", e);
        if self.array {
            out.write_all(if self.rows == 0 { b"[]\n" } else { b"]\n" })
                .map_err(io)?;
        }
        out.flush().map_err(io)
    }
}

/// One MongoDB document as canonical Extended JSON.
#[cfg(feature = "mongodb")]
fn document(buf: &mut Vec<u8>, batch: &RecordBatch, row: usize) -> Result<()> {
    let v = qore_drivers::mongodb::row_to_extjson(batch, row)?;
    serde_json::to_writer(&mut *buf, &v)
        .map_err(|e| Error::data(format!("row {row} cannot be written as JSON: {e}")))
}

#[cfg(not(feature = "mongodb"))]
fn document(_: &mut Vec<u8>, _: &RecordBatch, _: usize) -> Result<()> {
    Err(Error::Internal(
        "document rows without MongoDB support".into(),
    ))
}
