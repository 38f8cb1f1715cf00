//! QoreDB's streaming export pipeline.
//!
//! Any [`SendableRecordBatchStream`] goes into a [`Sink`] (CSV, TSV, JSON,
//! NDJSON, Parquet, Arrow IPC file or stream, a SQL INSERT script or a
//! self-contained HTML page) batch by batch, so memory is bounded by the
//! batch size, never by the size of the result. [`export_to_path`] writes to
//! a temporary file next to the target and renames it into place only when
//! everything was written: a failed or cancelled export leaves no
//! half-written file under the target name.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use qore_core::arrow::array::{Int64Array, RecordBatch};
//! use qore_core::{RecordBatchStreamAdapter, SendableRecordBatchStream};
//! use qore_export::{ExportOptions, Format, export_to_path};
//!
//! let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2])) as _)]).unwrap();
//! let stream: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(
//!     batch.schema(),
//!     futures::stream::iter([Ok(batch)]),
//! ));
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("out.csv");
//! let summary = export_to_path(stream, &path, &ExportOptions::new(Format::Csv), |_| {}).await.unwrap();
//! assert_eq!(summary.rows, 2);
//! assert_eq!(std::fs::read_to_string(&path).unwrap(), "n\n1\n2\n");
//! # });
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod csv;
mod file;
mod html;
mod json;
pub mod paged;
mod parquet_concat;
mod parquet_sink;
pub mod share;
mod sql;
pub mod text;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use futures::StreamExt;
use qore_core::{Dialect, Error, Result, SendableRecordBatchStream, TableRef};

pub use crate::csv::CsvEncoder;
pub use crate::file::{OutputPath, export_to_path};
pub use crate::html::HtmlOptions;
pub use crate::html::escape as html_escape;
pub use crate::html::script_json as html_script_json;
pub use crate::json::JsonEncoder;
pub use crate::paged::{PageState, PagedSink, ipc_stream_to_file};
pub use crate::parquet_concat::concat_parquet;
pub use crate::parquet_sink::INTERVAL_STRUCT;
pub use crate::sql::{SqlOptions, sql_literal};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values, with a header line.
    Csv,
    /// Tab-separated values, with a header line.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file (random access, `.arrow`).
    ArrowFile,
    /// Arrow IPC stream (`.arrows`).
    ArrowStream,
    /// A SQL script of INSERT statements.
    Sql,
    /// A self-contained HTML page with sorting and filtering.
    Html,
}

impl Format {
    /// Every format, for listings.
    pub const ALL: [Format; 9] = [
        Format::Csv,
        Format::Tsv,
        Format::Json,
        Format::Ndjson,
        Format::Parquet,
        Format::ArrowFile,
        Format::ArrowStream,
        Format::Sql,
        Format::Html,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
            Format::ArrowFile => "arrow",
            Format::ArrowStream => "arrows",
            Format::Sql => "sql",
            Format::Html => "html",
        }
    }

    /// Parses a format name (`csv`, `parquet`, `arrow`, ...).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] listing the known names.
    pub fn parse(name: &str) -> Result<Format> {
        let n = name.to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.name() == n)
            .or(match n.as_str() {
                "jsonl" => Some(Format::Ndjson),
                "ipc" | "feather" => Some(Format::ArrowFile),
                "htm" => Some(Format::Html),
                "pq" => Some(Format::Parquet),
                _ => None,
            })
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                Error::invalid(format!(
                    "unknown export format `{name}` (known: {})",
                    names.join(", ")
                ))
            })
    }

    /// The format a file name's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Format::parse(ext).ok()
    }
}

/// Parquet compression codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// Snappy: fast, moderate ratio.
    Snappy,
    /// Zstandard level 3: the default, better ratio at similar speed.
    Zstd,
}

impl Compression {
    /// Parses `none`, `snappy` or `zstd`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for any other name.
    pub fn parse(s: &str) -> Result<Compression> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "uncompressed" => Ok(Compression::None),
            "snappy" => Ok(Compression::Snappy),
            "zstd" => Ok(Compression::Zstd),
            other => Err(Error::invalid(format!(
                "unknown compression `{other}` (known: none, snappy, zstd)"
            ))),
        }
    }
}

/// What to write and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The output format.
    pub format: Format,
    /// CSV/TSV: write the header line (default true).
    pub header: bool,
    /// Parquet: the codec (default zstd).
    pub compression: Compression,
    /// SQL script options (the table name, the dialect, batch size).
    pub sql: SqlOptions,
    /// HTML page options (title, query text).
    pub html: HtmlOptions,
}

impl ExportOptions {
    /// Defaults for `format`.
    pub fn new(format: Format) -> Self {
        ExportOptions {
            format,
            header: true,
            compression: Compression::Zstd,
            sql: SqlOptions::default(),
            html: HtmlOptions::default(),
        }
    }
}

/// What an export did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Rows written.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Wall time from the first poll to the last byte.
    pub duration: Duration,
}

/// Progress so far, given to the callback after every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Rows written so far.
    pub rows: u64,
    /// Bytes written so far.
    pub bytes: u64,
    /// Time since the export started.
    pub elapsed: Duration,
}

/// Counts what goes through a writer.
struct Counting<W> {
    inner: W,
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A destination that takes batches one at a time.
pub trait Sink: Send {
    /// Writes one batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Writes whatever ends the output (footer, closing bracket) and flushes.
    fn finish(self: Box<Self>) -> Result<()>;
}

type Out = Box<dyn Write + Send>;

struct CsvSink {
    enc: CsvEncoder,
    schema: SchemaRef,
    out: Out,
}

impl Sink for CsvSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.enc.write(batch, &mut self.out)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.enc.finish(&self.schema, &mut self.out)?;
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write the output", e))
    }
}

struct JsonSink {
    enc: JsonEncoder,
    out: Out,
}

impl Sink for JsonSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.enc.write(batch, &mut self.out)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.enc.finish(&mut self.out)
    }
}

/// Text formats have no bytes: binary columns become `\x`-prefixed
/// lower-case hex text (PostgreSQL's bytea spelling).
///
/// # Error handling
///
/// [`Error::Data`] when a binary value cannot be read.
pub fn binary_as_hex(batch: &RecordBatch) -> Result<RecordBatch> {
    use arrow::array::{Array, ArrayRef, StringArray};
    use arrow::datatypes::DataType;
    let binary = |dt: &DataType| {
        matches!(
            dt,
            DataType::Binary
                | DataType::LargeBinary
                | DataType::FixedSizeBinary(_)
                | DataType::BinaryView
        )
    };
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| binary(f.data_type()))
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, col) in batch.schema().fields().iter().zip(batch.columns()) {
        if binary(f.data_type()) {
            let hex: StringArray = (0..col.len())
                .map(|i| {
                    qore_core::Value::from_array(col.as_ref(), i)
                        .map(|v| (!v.is_null()).then(|| v.to_string()))
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .collect();
            fields.push(f.as_ref().clone().with_data_type(DataType::Utf8));
            cols.push(Arc::new(hex));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(col.clone());
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            fields,
            batch.schema().metadata().clone(),
        )),
        cols,
    )?)
}

impl Sink for parquet_sink::ParquetSink<Out> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch
            .schema()
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Interval(_)))
        {
            return parquet_sink::ParquetSink::write(
                self,
                &parquet_sink::intervals_as_structs(batch)?,
            );
        }
        parquet_sink::ParquetSink::write(self, batch)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        let mut out = (*self).finish()?;
        out.flush()
            .map_err(|e| Error::io("cannot write the output", e))
    }
}

struct IpcFileSink(arrow::ipc::writer::FileWriter<Out>);
struct IpcStreamSink(arrow::ipc::writer::StreamWriter<Out>);

impl Sink for IpcFileSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.0.finish()?;
        self.0
            .get_mut()
            .flush()
            .map_err(|e| Error::io("cannot write the output", e))
    }
}

impl Sink for IpcStreamSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.0.finish()?;
        self.0
            .get_mut()
            .flush()
            .map_err(|e| Error::io("cannot write the output", e))
    }
}

/// Makes the sink for `options.format` over `out`.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for options the format cannot take (a SQL script
/// without a table name), [`Error::Data`] when the schema cannot be written
/// in the format.
pub fn sink(
    schema: SchemaRef,
    out: Box<dyn Write + Send>,
    options: &ExportOptions,
) -> Result<Box<dyn Sink>> {
    let out: Out = Box::new(BufWriter::with_capacity(1 << 16, out));
    Ok(match options.format {
        Format::Csv | Format::Tsv => Box::new(CsvSink {
            enc: CsvEncoder::new(
                if options.format == Format::Tsv {
                    b'\t'
                } else {
                    b','
                },
                options.header,
            ),
            schema,
            out,
        }),
        Format::Json | Format::Ndjson => Box::new(JsonSink {
            enc: JsonEncoder::new(&schema, options.format == Format::Json),
            out,
        }),
        Format::Parquet => {
            use parquet::basic::{Compression as C, ZstdLevel};
            let codec = match options.compression {
                Compression::None => C::UNCOMPRESSED,
                Compression::Snappy => C::SNAPPY,
                Compression::Zstd => {
                    C::ZSTD(ZstdLevel::try_new(3).map_err(parquet_sink::parquet_err)?)
                }
            };
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(codec)
                .set_created_by("qore".into())
                .build();
            // Parquet has no month-day-nanosecond interval: such columns
            // become structs (see `INTERVAL_STRUCT`).
            let schema = Arc::new(parquet_sink::intervals_as_structs_schema(&schema));
            Box::new(parquet_sink::ParquetSink::new(out, schema, props)?)
        }
        Format::ArrowFile => Box::new(IpcFileSink(arrow::ipc::writer::FileWriter::try_new(
            out, &schema,
        )?)),
        Format::ArrowStream => Box::new(IpcStreamSink(arrow::ipc::writer::StreamWriter::try_new(
            out, &schema,
        )?)),
        Format::Sql => Box::new(sql::SqlSink::new(schema, out, &options.sql)?),
        Format::Html => Box::new(html::HtmlSink::new(schema, out, &options.html)?),
    })
}

/// Streams `stream` into `sink`, calling `progress` after every batch.
///
/// # Cancellation
///
/// Dropping the returned future stops reading (and so drops the stream,
/// which stops the statement on the engine).
pub async fn export<F>(
    mut stream: SendableRecordBatchStream,
    mut sink: Box<dyn Sink>,
    bytes: impl Fn() -> u64,
    mut progress: F,
) -> Result<Summary>
where
    F: FnMut(&Progress),
{
    let started = Instant::now();
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        sink.write(&batch)?;
        rows += batch.num_rows() as u64;
        progress(&Progress {
            rows,
            bytes: bytes(),
            elapsed: started.elapsed(),
        });
    }
    sink.finish()?;
    Ok(Summary {
        rows,
        bytes: bytes(),
        duration: started.elapsed(),
    })
}

/// Exports `stream` to a writer (standard output, a socket, ...).
pub async fn export_to_writer<F>(
    stream: SendableRecordBatchStream,
    out: Box<dyn Write + Send>,
    options: &ExportOptions,
    progress: F,
) -> Result<Summary>
where
    F: FnMut(&Progress),
{
    // Duplicate column names (`select o.id, c.id`) are made unique the
    // same way for every format.
    let schema = text::unique_field_names(&stream.schema());
    let stream: SendableRecordBatchStream = if Arc::ptr_eq(&schema, &stream.schema()) {
        stream
    } else {
        Box::pin(qore_core::WithSchema::new(schema, stream)?)
    };
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counting = Counting {
        inner: out,
        bytes: counter.clone(),
    };
    let s = sink(stream.schema(), Box::new(counting), options)?;
    export(
        stream,
        s,
        || counter.load(std::sync::atomic::Ordering::Relaxed),
        progress,
    )
    .await
}

/// A convenience for [`SqlOptions`]: INSERTs into `table` spelled by `dialect`.
pub fn sql_options(table: TableRef, dialect: Arc<dyn Dialect>) -> SqlOptions {
    SqlOptions {
        table: Some(table),
        dialect: Some(dialect),
        ..SqlOptions::default()
    }
}
