//! Exports written page by page, so that a later process can carry on
//! after any page with the same bytes an uninterrupted run writes.
//!
//! A background export (`qore-jobs`) reads a table in key order, one page
//! at a time, and after each page syncs the file and saves a checkpoint. To
//! resume, it truncates the file to the checkpointed length and needs an
//! encoder in exactly the state the old one was in after that page.
//! [`PagedSink`] is that encoder for every format whose framing allows it:
//! its state after a page is a [`PageState`] (rows written, and for HTML up
//! to two compressed bytes not yet in base64), and what it writes after a
//! page never depends on anything else that came before.
//!
//! - CSV, TSV, NDJSON, JSON: text, continued with the row count.
//! - SQL: the open INSERT is continued (its row count follows from the rows).
//! - HTML: each page's rows are deflated by a fresh compressor ended with a
//!   sync flush; the concatenation is one valid raw deflate stream.
//! - Arrow IPC: each page is cut into batches of [`IPC_BATCH_ROWS`] rows
//!   (the last one shorter), so the messages do not depend on how a driver
//!   happened to batch the rows; dictionary columns are written as their
//!   values, since a continuing writer cannot know which dictionaries the
//!   earlier one sent. The Arrow *file* format ends with a footer listing
//!   every batch: it is written as a stream and turned into a file at the
//!   end by [`ipc_stream_to_file`].
//! - Parquet: not here; a footer describes every row group, so the job
//!   writes part files and joins them ([`concat_parquet`](crate::concat_parquet)).

use std::io::{Read, Write};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::BatchCoalescer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::writer::StreamWriter;
use qore_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::csv::CsvEncoder;
use crate::html::{HtmlEncoder, export_head};
use crate::json::JsonEncoder;
use crate::sql::SqlEncoder;
use crate::{ExportOptions, Format};

/// Rows per Arrow IPC batch of a paged export.
pub const IPC_BATCH_ROWS: usize = 8192;

/// Where a paged export stands after a page: what a [`PagedSink`] in a later
/// process needs to continue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageState {
    /// Rows written so far.
    pub rows: u64,
    /// Bytes of the output kept back (HTML: compressed bytes not yet in
    /// base64, at most two).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carry: Vec<u8>,
}

enum Enc {
    Csv(CsvEncoder, SchemaRef),
    Json(JsonEncoder),
    Sql(SqlEncoder),
    Html(HtmlEncoder),
    Ipc(Box<IpcEncoder>),
}

/// An export encoder that can stop after any page and be continued (see
/// the module's doc). It writes to the `out` of each call, so that the
/// caller keeps its file (to sync it, hash it, truncate it on resume).
pub struct PagedSink {
    enc: Enc,
    rows: u64,
}

impl std::fmt::Debug for PagedSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagedSink").field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl PagedSink {
    /// Can `format` be written page by page? Everything but Parquet.
    pub fn supports(format: Format) -> bool {
        format != Format::Parquet
    }

    /// The schema of what this sink writes for rows of `schema`: the same,
    /// except that Arrow IPC formats write dictionary columns as values.
    pub fn output_schema(format: Format, schema: &SchemaRef) -> SchemaRef {
        match format {
            Format::ArrowFile | Format::ArrowStream => plain_schema(schema),
            _ => schema.clone(),
        }
    }

    /// A sink for rows of `schema`. Without `resume`, it starts the output
    /// (header, head of the script or page) in `out`; with it, it carries
    /// on after the page that `resume` was returned for, by a sink of the
    /// same schema and options.
    ///
    /// # Error handling
    ///
    /// [`Error::NotSupported`] for Parquet; [`Error::InvalidInput`] for
    /// options the format cannot take (SQL without a table); [`Error::Io`]
    /// when `out` fails.
    pub fn new(
        schema: &SchemaRef,
        options: &ExportOptions,
        resume: Option<&PageState>,
        out: &mut dyn Write,
    ) -> Result<PagedSink> {
        let io = |e| Error::io("cannot write the output", e);
        let rows = resume.map_or(0, |r| r.rows);
        let enc = match options.format {
            Format::Csv | Format::Tsv => {
                let delim = if options.format == Format::Tsv { b'\t' } else { b',' };
                // The header goes out with the first row (or at the end of
                // an empty output): after pages without rows it is not there.
                let enc = match resume {
                    Some(r) if r.rows > 0 => CsvEncoder::continuing(delim, options.header),
                    _ => CsvEncoder::new(delim, options.header),
                };
                Enc::Csv(enc, schema.clone())
            }
            Format::Json | Format::Ndjson => {
                let array = options.format == Format::Json;
                Enc::Json(match resume {
                    None => JsonEncoder::new(schema, array),
                    Some(r) => JsonEncoder::continuing(schema, array, r.rows),
                })
            }
            Format::Sql => match resume {
                None => {
                    let (enc, head) = SqlEncoder::new(schema.clone(), &options.sql)?;
                    out.write_all(head.as_bytes()).map_err(io)?;
                    Enc::Sql(enc)
                }
                Some(r) => Enc::Sql(SqlEncoder::continuing(schema.clone(), &options.sql, r.rows)?),
            },
            Format::Html => match resume {
                None => {
                    out.write_all(export_head(schema, &options.html).as_bytes()).map_err(io)?;
                    Enc::Html(HtmlEncoder::new(Vec::new()))
                }
                Some(r) => {
                    if r.carry.len() > 2 {
                        return Err(Error::invalid(format!(
                            "an HTML page's state carries {} bytes; at most 2 are possible",
                            r.carry.len()
                        )));
                    }
                    Enc::Html(HtmlEncoder::new(r.carry.clone()))
                }
            },
            Format::ArrowFile | Format::ArrowStream => {
                Enc::Ipc(Box::new(IpcEncoder::new(schema, resume.is_none(), out)?))
            }
            Format::Parquet => {
                return Err(Error::NotSupported(
                    "Parquet cannot be written page by page: its footer describes every row group \
                     (write part files and join them with concat_parquet)"
                        .into(),
                ));
            }
        };
        Ok(PagedSink { enc, rows })
    }

    /// Writes one batch of the page.
    ///
    /// # Error handling
    ///
    /// [`Error::Data`] for a value the format cannot hold, [`Error::Io`]
    /// when `out` fails.
    pub fn write(&mut self, batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
        match &mut self.enc {
            Enc::Csv(e, _) => e.write(batch, out)?,
            Enc::Json(e) => e.write(batch, out)?,
            Enc::Sql(e) => e.write(batch, out)?,
            Enc::Html(e) => e.write(batch, out)?,
            Enc::Ipc(e) => e.write(batch, out)?,
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Ends a page: everything so far is in `out` (but [`PageState::carry`]),
    /// and the state returned lets a later sink continue.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when `out` fails.
    pub fn end_page(&mut self, out: &mut dyn Write) -> Result<PageState> {
        let carry = match &mut self.enc {
            Enc::Html(e) => e.end_page(out)?,
            Enc::Ipc(e) => {
                e.end_page(out)?;
                Vec::new()
            }
            _ => Vec::new(),
        };
        Ok(PageState { rows: self.rows, carry })
    }

    /// Ends the output (closing bracket, COMMIT, page script, end of
    /// stream); the sink is spent.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when `out` fails.
    pub fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        match &mut self.enc {
            Enc::Csv(e, schema) => e.finish(schema, out),
            Enc::Json(e) => e.finish(out),
            Enc::Sql(e) => e.finish(out),
            Enc::Html(e) => e.finish(out),
            Enc::Ipc(e) => e.finish(out),
        }
    }

    /// Rows written so far, by this sink and the ones it continues.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// `schema` with every dictionary column as its value type.
fn plain_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema.fields().iter().any(|f| matches!(f.data_type(), DataType::Dictionary(..))) {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, v) => f.as_ref().clone().with_data_type(v.as_ref().clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// An Arrow IPC stream whose batches are cut at fixed row counts.
struct IpcEncoder {
    writer: StreamWriter<Vec<u8>>,
    coalescer: BatchCoalescer,
    schema: SchemaRef,
}

impl IpcEncoder {
    fn new(schema: &SchemaRef, head: bool, out: &mut dyn Write) -> Result<IpcEncoder> {
        let schema = plain_schema(schema);
        let mut writer = StreamWriter::try_new(Vec::new(), &schema)?;
        let schema_message = std::mem::take(writer.get_mut());
        if head {
            out.write_all(&schema_message)
                .map_err(|e| Error::io("cannot write the Arrow stream", e))?;
        }
        Ok(IpcEncoder {
            writer,
            coalescer: BatchCoalescer::new(schema.clone(), IPC_BATCH_ROWS),
            schema,
        })
    }

    fn write(&mut self, batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
        let batch = if Arc::ptr_eq(&batch.schema(), &self.schema) || batch.schema() == self.schema {
            batch.clone()
        } else {
            let columns = batch
                .columns()
                .iter()
                .zip(self.schema.fields())
                .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            RecordBatch::try_new(self.schema.clone(), columns)?
        };
        self.coalescer.push_batch(batch)?;
        self.emit(out)
    }

    fn emit(&mut self, out: &mut dyn Write) -> Result<()> {
        while let Some(b) = self.coalescer.next_completed_batch() {
            self.writer.write(&b)?;
        }
        self.drain(out)
    }

    fn drain(&mut self, out: &mut dyn Write) -> Result<()> {
        let bytes = self.writer.get_mut();
        out.write_all(bytes)
            .map_err(|e| Error::io("cannot write the Arrow stream", e))?;
        bytes.clear();
        Ok(())
    }

    fn end_page(&mut self, out: &mut dyn Write) -> Result<()> {
        self.coalescer.finish_buffered_batch()?;
        self.emit(out)
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        self.end_page(out)?;
        self.writer.finish()?;
        self.drain(out)
    }
}

/// Turns a finished Arrow IPC stream into an Arrow IPC file with the same
/// schema and batches; returns the bytes written.
///
/// # Error handling
///
/// [`Error::Data`] when `from` is not a whole Arrow stream, [`Error::Io`]
/// when `to` fails.
pub fn ipc_stream_to_file(from: impl Read, to: impl Write) -> Result<u64> {
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::BufReader::new(from), None)
        .map_err(|e| Error::data(format!("not an Arrow stream: {e}")))?;
    let counting = crate::Counting {
        inner: std::io::BufWriter::new(to),
        bytes: Arc::new(std::sync::atomic::AtomicU64::new(0)),
    };
    let bytes = counting.bytes.clone();
    let mut writer = arrow::ipc::writer::FileWriter::try_new(counting, &reader.schema())?;
    for batch in reader {
        let batch = batch.map_err(|e| Error::data(format!("a damaged Arrow stream: {e}")))?;
        writer.write(&batch)?;
    }
    writer.finish()?;
    writer
        .get_mut()
        .flush()
        .map_err(|e| Error::io("cannot write the Arrow file", e))?;
    Ok(bytes.load(std::sync::atomic::Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use proptest::prelude::*;

    fn batch(from: i64, n: usize) -> RecordBatch {
        let ids: Int64Array = (from..from + n as i64).collect();
        let names: StringArray = (from..from + n as i64)
            .map(|i| if i % 7 == 0 { None } else { Some(format!("n{i} é \"q\" , ;")) })
            .collect();
        RecordBatch::try_from_iter([("id", Arc::new(ids) as ArrayRef), ("name", Arc::new(names) as ArrayRef)])
            .unwrap()
    }

    fn options(format: Format) -> ExportOptions {
        let mut o = ExportOptions::new(format);
        o.sql.table = Some(qore_core::TableRef::parse("t").unwrap());
        o.sql.rows_per_insert = 7;
        o
    }

    /// Writes `pages` (each a list of batch sizes) with a stop and a new
    /// sink after every page whose index is in `stops`.
    fn run(format: Format, pages: &[Vec<usize>], stops: &[usize]) -> Vec<u8> {
        let schema = batch(0, 1).schema();
        let o = options(format);
        let mut out = Vec::new();
        let mut sink = PagedSink::new(&schema, &o, None, &mut out).unwrap();
        let mut next = 0i64;
        for (i, page) in pages.iter().enumerate() {
            for &n in page {
                sink.write(&batch(next, n), &mut out).unwrap();
                next += n as i64;
            }
            let state = sink.end_page(&mut out).unwrap();
            if stops.contains(&i) {
                let json = serde_json::to_string(&state).unwrap();
                let back: PageState = serde_json::from_str(&json).unwrap();
                sink = PagedSink::new(&schema, &o, Some(&back), &mut out).unwrap();
            }
        }
        sink.finish(&mut out).unwrap();
        out
    }

    fn reference(format: Format, rows: usize) -> Vec<u8> {
        let schema = batch(0, 1).schema();
        let mut out = Vec::new();
        let mut sink = PagedSink::new(&schema, &options(format), None, &mut out).unwrap();
        if rows > 0 {
            sink.write(&batch(0, rows), &mut out).unwrap();
        }
        sink.finish(&mut out).unwrap();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Stopping after any page and continuing writes the same bytes as
        /// not stopping; for the text formats, the same bytes as one sink
        /// that never saw a page at all.
        #[test]
        fn a_continued_sink_writes_the_same_bytes(
            pages in proptest::collection::vec(proptest::collection::vec(0usize..40, 0..4), 1..6),
            stops in proptest::collection::vec(0usize..6, 0..4),
        ) {
            let rows: usize = pages.iter().flatten().sum();
            for format in [Format::Csv, Format::Ndjson, Format::Json, Format::Sql, Format::Html, Format::ArrowStream] {
                let straight = run(format, &pages, &[]);
                let stopped = run(format, &pages, &stops);
                prop_assert_eq!(&straight, &stopped, "{}", format.name());
                if matches!(format, Format::Csv | Format::Ndjson | Format::Json | Format::Sql) {
                    prop_assert_eq!(&straight, &reference(format, rows), "{}", format.name());
                }
            }
        }
    }

    #[test]
    fn html_pages_are_one_deflate_stream_with_every_row() {
        use base64::Engine;
        let out = String::from_utf8(run(Format::Html, &[vec![30, 5], vec![], vec![17]], &[0, 1])).unwrap();
        let start = out.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + out[start..].find("</script>").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(&out[start..end]).unwrap();
        let mut text = String::new();
        flate2::read::DeflateDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 52);
        assert_eq!(lines[0], "[0,null]");
        assert_eq!(lines[51], "[51,\"n51 é \\\"q\\\" , ;\"]");
    }

    #[test]
    fn ipc_pages_have_fixed_batches_and_become_a_file() {
        let stream = run(Format::ArrowStream, &[vec![3, 9000, 10], vec![5]], &[0]);
        let reader = arrow::ipc::reader::StreamReader::try_new(&stream[..], None).unwrap();
        let sizes: Vec<usize> = reader.map(|b| b.unwrap().num_rows()).collect();
        assert_eq!(sizes, vec![8192, 821, 5]);
        let mut file = Vec::new();
        let n = ipc_stream_to_file(&stream[..], &mut file).unwrap();
        assert_eq!(n as usize, file.len());
        let reader = arrow::ipc::reader::FileReader::try_new(std::io::Cursor::new(file), None).unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 9018);
        let e = ipc_stream_to_file(&b"not arrow"[..], Vec::new()).unwrap_err();
        assert!(e.to_string().contains("Arrow"), "{e}");
    }

    #[test]
    fn parquet_is_refused_and_a_bad_state_is_named() {
        let schema = batch(0, 1).schema();
        let e = PagedSink::new(&schema, &options(Format::Parquet), None, &mut Vec::new()).unwrap_err();
        assert!(matches!(e, Error::NotSupported(_)), "{e}");
        let bad = PageState { rows: 3, carry: vec![1, 2, 3] };
        let e = PagedSink::new(&schema, &options(Format::Html), Some(&bad), &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("at most 2"), "{e}");
    }
}
