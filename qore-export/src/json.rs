//! JSON and NDJSON rows, written with [`crate::text`]: exact numbers,
//! non-finite floats as strings, JSON text columns embedded verbatim, and a
//! value that cannot be rendered as an error instead of text in the data.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use qore_core::{Error, Result};

use crate::text::{json_string, write_json};

/// Writes batches as one JSON array of objects, or one object per line.
#[derive(Debug)]
pub struct JsonEncoder {
    array: bool,
    rows: u64,
    /// `"name":` of each column, escaped once.
    keys: Vec<Vec<u8>>,
    /// Columns marked `qore.json`: their text is embedded as JSON.
    embed: Vec<bool>,
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
        JsonEncoder {
            array,
            rows: 0,
            keys,
            embed,
            buf: Vec::with_capacity(1 << 16),
        }
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
        for row in 0..batch.num_rows() {
            if self.array {
                buf.extend_from_slice(if self.rows == 0 { b"[" } else { b",\n" });
            }
            buf.push(b'{');
            for (i, col) in batch.columns().iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(&self.keys[i]);
                write_json(&mut buf, col.as_ref(), row, self.embed[i]).map_err(|e| {
                    Error::data(format!("column `{}`: {e}", batch.schema().field(i).name()))
                })?;
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
