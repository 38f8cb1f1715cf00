//! Writing Arrow batches to stdout in each output format.

use std::io::Write;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use comfy_table::{Cell, ContentArrangement, Table, presets};
use qore_core::ColumnIndicators;

use crate::opts::Format;

/// Text formats cannot hold bytes: binary columns become `\x` hex text.
fn textual(batch: &RecordBatch) -> Result<RecordBatch> {
    Ok(qore_export::binary_as_hex(batch)?)
}

/// A streaming writer for one output format.
#[allow(clippy::large_enum_variant)] // one per command run
pub(crate) enum Writer<'a> {
    /// CSV or TSV.
    Csv(qore_export::CsvEncoder, &'a mut dyn Write, SchemaRef),
    /// JSON array.
    Json(arrow::json::ArrayWriter<&'a mut dyn Write>),
    /// NDJSON.
    Ndjson(arrow::json::LineDelimitedWriter<&'a mut dyn Write>),
    /// Table: rows are buffered up to a limit, then rendered once.
    Table(TableWriter<'a>),
    /// JSON or NDJSON of results whose columns need more than Arrow's JSON
    /// writer: MongoDB documents (rebuilt exactly, as canonical Extended
    /// JSON) and text columns that hold JSON (embedded, not quoted).
    Structured(StructuredWriter<'a>),
}

/// How [`StructuredWriter`] renders a row.
enum RowMode {
    /// MongoDB documents: canonical Extended JSON of the original document.
    #[cfg(feature = "mongodb")]
    Documents,
    /// Arrow's JSON, with these columns' text parsed and embedded.
    EmbedJson(Vec<String>),
}

/// Writes rows one JSON value at a time (NDJSON) or as one array (JSON).
pub(crate) struct StructuredWriter<'a> {
    out: &'a mut dyn Write,
    array: bool,
    rows: usize,
    mode: RowMode,
}

impl StructuredWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let values: Vec<serde_json::Value> = match &self.mode {
            #[cfg(feature = "mongodb")]
            RowMode::Documents => (0..batch.num_rows())
                .map(|i| qore_drivers::mongodb::row_to_extjson(batch, i))
                .collect::<qore_core::Result<_>>()?,
            RowMode::EmbedJson(cols) => {
                let mut buf = Vec::new();
                {
                    let mut w = arrow::json::WriterBuilder::new()
                        .with_explicit_nulls(true)
                        .build::<_, arrow::json::writer::LineDelimited>(&mut buf);
                    w.write(&textual(batch)?)?;
                    w.finish()?;
                }
                let mut out = Vec::with_capacity(batch.num_rows());
                for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let mut v: serde_json::Value = serde_json::from_slice(line)?;
                    if let Some(obj) = v.as_object_mut() {
                        for c in cols {
                            if let Some(serde_json::Value::String(s)) = obj.get(c)
                                && let Ok(parsed) = serde_json::from_str::<serde_json::Value>(s)
                            {
                                obj.insert(c.clone(), parsed);
                            }
                        }
                    }
                    out.push(v);
                }
                out
            }
        };
        for v in values {
            if self.array {
                self.out
                    .write_all(if self.rows == 0 { b"[" } else { b"," })?;
            }
            serde_json::to_writer(&mut *self.out, &v)?;
            if !self.array {
                self.out.write_all(b"\n")?;
            }
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        if self.array {
            self.out
                .write_all(if self.rows == 0 { b"[]\n" } else { b"]\n" })?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// The structured mode a schema needs for JSON output, if any.
fn structured_mode(schema: &Schema) -> Option<RowMode> {
    #[cfg(feature = "mongodb")]
    if qore_drivers::mongodb::is_document_schema(schema) {
        return Some(RowMode::Documents);
    }
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| {
            f.metadata()
                .get(qore_core::metadata::JSON)
                .map(String::as_str)
                == Some("true")
        })
        .map(|f| f.name().clone())
        .collect();
    (!cols.is_empty()).then_some(RowMode::EmbedJson(cols))
}

impl<'a> Writer<'a> {
    /// A writer of `format` on `out`.
    pub(crate) fn new(
        format: Format,
        out: &'a mut dyn Write,
        schema: SchemaRef,
        max_rows: usize,
    ) -> Writer<'a> {
        Self::with_types(format, out, schema, max_rows, true)
    }

    /// Like [`Writer::new`]; `types` puts the column type under table headers.
    pub(crate) fn with_types(
        format: Format,
        out: &'a mut dyn Write,
        schema: SchemaRef,
        max_rows: usize,
        types: bool,
    ) -> Writer<'a> {
        match format {
            Format::Csv => Writer::Csv(qore_export::CsvEncoder::new(b',', true), out, schema),
            Format::Tsv => Writer::Csv(qore_export::CsvEncoder::new(b'\t', true), out, schema),
            Format::Json | Format::Ndjson if structured_mode(&schema).is_some() => {
                Writer::Structured(StructuredWriter {
                    out,
                    array: format == Format::Json,
                    rows: 0,
                    mode: structured_mode(&schema).unwrap_or(RowMode::EmbedJson(Vec::new())),
                })
            }
            Format::Json => Writer::Json(
                arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build(out),
            ),
            Format::Ndjson => Writer::Ndjson(
                arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build(out),
            ),
            Format::Table => Writer::Table(TableWriter {
                out,
                schema,
                rows: Vec::new(),
                buffered: 0,
                total: 0,
                max_rows,
                types,
            }),
        }
    }

    /// Writes one batch.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Writer::Csv(w, out, _) => w.write(batch, *out)?,
            Writer::Json(w) => w.write(&textual(batch)?)?,
            Writer::Ndjson(w) => w.write(&textual(batch)?)?,
            Writer::Structured(w) => w.write(batch)?,
            Writer::Table(t) => t.push(batch),
        }
        Ok(())
    }

    /// Finishes the output; returns (rows shown, rows seen) for the table format.
    pub(crate) fn finish(self) -> Result<(usize, usize)> {
        match self {
            Writer::Csv(mut w, out, schema) => {
                w.finish(&schema, out)?;
                out.flush()?;
            }
            Writer::Json(mut w) => {
                w.finish()?;
                let out = w.into_inner();
                writeln!(out)?;
            }
            Writer::Ndjson(mut w) => w.finish()?,
            Writer::Structured(w) => w.finish()?,
            Writer::Table(t) => return t.finish(),
        }
        Ok((0, 0))
    }
}

/// Buffers up to `max_rows` rows and renders one table that fits the terminal.
pub(crate) struct TableWriter<'a> {
    out: &'a mut dyn Write,
    schema: SchemaRef,
    rows: Vec<RecordBatch>,
    buffered: usize,
    total: usize,
    max_rows: usize,
    types: bool,
}

impl TableWriter<'_> {
    fn push(&mut self, batch: &RecordBatch) {
        self.total += batch.num_rows();
        let room = if self.max_rows == 0 {
            batch.num_rows()
        } else {
            self.max_rows.saturating_sub(self.buffered)
        };
        if room > 0 {
            let take = room.min(batch.num_rows());
            self.rows.push(batch.slice(0, take));
            self.buffered += take;
        }
    }

    fn finish(self) -> Result<(usize, usize)> {
        let mut table = new_table();
        table.set_header(
            self.schema
                .fields()
                .iter()
                .map(|f| header_cell(f, self.types)),
        );
        let opts = FormatOptions::default().with_null("NULL");
        // Columns of JSON documents (Redis strings that hold JSON) are shown pretty.
        let json: Vec<bool> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.metadata().get("qore.json").is_some_and(|v| v == "true"))
            .collect();
        for batch in &self.rows {
            let fmts = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                table.add_row(fmts.iter().zip(&json).map(|(f, is_json)| {
                    let text = f.value(row).to_string();
                    Cell::new(if *is_json {
                        pretty_json(&text)
                    } else {
                        clip(&text)
                    })
                }));
            }
        }
        writeln!(self.out, "{table}")?;
        Ok((self.buffered, self.total))
    }
}

/// A table with the house style, as wide as the terminal when there is one.
pub(crate) fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !std::io::IsTerminal::is_terminal(&std::io::stdout())
        && let Some(w) = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<u16>().ok())
    {
        table.set_width(w);
    }
    table
}

/// A JSON document indented for reading; anything else unchanged.
fn pretty_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v)
            .map(|p| clip_lines(&p))
            .unwrap_or_else(|_| clip(text)),
        Err(_) => clip(text),
    }
}

/// At most 40 lines of a long pretty document.
fn clip_lines(s: &str) -> String {
    const MAX: usize = 40;
    let lines: Vec<&str> = s.lines().collect();
    if lines.len() <= MAX {
        return s.to_string();
    }
    format!(
        "{}\n… {} more lines",
        lines[..MAX].join("\n"),
        lines.len() - MAX
    )
}

/// Long cells are clipped so one value cannot swallow the screen.
fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX - 1).collect();
    out.push('…');
    out
}

/// `name` over a second line with the source type and indicators.
fn header_cell(f: &Field, types: bool) -> Cell {
    if !types {
        return Cell::new(f.name());
    }
    let ind = ColumnIndicators::from_field(f);
    let ty = ind
        .source_type
        .clone()
        .unwrap_or_else(|| f.data_type().to_string());
    let tags = ind.tags();
    if tags.is_empty() {
        Cell::new(format!("{}\n{ty}", f.name()))
    } else {
        Cell::new(format!("{}\n{ty} {}", f.name(), tags.join(" ")))
    }
}
