//! Writing Arrow batches to stdout in each output format.

use std::io::Write;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::{Field, SchemaRef};
use comfy_table::{Cell, ContentArrangement, Table, presets};
use qore_core::ColumnIndicators;

use crate::opts::Format;

/// A streaming writer for one output format.
#[allow(clippy::large_enum_variant)] // one per command run
pub(crate) enum Writer<'a> {
    /// CSV or TSV.
    Csv(qore_export::CsvEncoder, &'a mut dyn Write, SchemaRef),
    /// JSON array or NDJSON, by the export pipeline's encoder (exact
    /// numbers, JSON text embedded, non-finite floats as strings).
    Json(qore_export::JsonEncoder, &'a mut dyn Write),
    /// Table: rows are buffered up to a limit, then rendered once.
    Table(TableWriter<'a>),
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
            Format::Json | Format::Ndjson => Writer::Json(
                qore_export::JsonEncoder::new(&schema, format == Format::Json),
                out,
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
            Writer::Json(w, out) => w.write(batch, *out)?,
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
            Writer::Json(mut w, out) => w.finish(out)?,
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
        // Columns of JSON documents (Redis strings that hold JSON) are shown pretty.
        let json: Vec<bool> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.metadata().get("qore.json").is_some_and(|v| v == "true"))
            .collect();
        let mut bytes = Vec::new();
        for batch in &self.rows {
            for row in 0..batch.num_rows() {
                let mut cells = Vec::with_capacity(batch.num_columns());
                for (i, (col, is_json)) in batch.columns().iter().zip(&json).enumerate() {
                    if col.is_null(row) {
                        cells.push(Cell::new("NULL"));
                        continue;
                    }
                    bytes.clear();
                    qore_export::text::write_text(&mut bytes, col.as_ref(), row).map_err(|e| {
                        anyhow::anyhow!("column `{}`: {e}", self.schema.field(i).name())
                    })?;
                    let text = String::from_utf8_lossy(&bytes);
                    cells.push(Cell::new(if *is_json {
                        pretty_json(&text)
                    } else {
                        clip(&text)
                    }));
                }
                table.add_row(cells);
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

/// A JSON document indented for reading (every token as the source
/// wrote it); anything else clipped.
fn pretty_json(text: &str) -> String {
    if qore_export::text::is_json(text.as_bytes()) {
        clip_lines(&qore_export::text::pretty_json(text))
    } else {
        clip(text)
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

/// Writes rows of text under `headers` in `format` (listings: saved
/// connections, sandboxes, changes, relations).
pub(crate) fn write_text_rows(
    format: Format,
    out: &mut dyn Write,
    headers: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<()> {
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Schema};
    let schema = std::sync::Arc::new(Schema::new(
        headers
            .iter()
            .map(|h| Field::new(*h, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..headers.len())
        .map(|i| {
            std::sync::Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.get(i).map(String::as_str).unwrap_or("")),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let mut w = Writer::with_types(format, out, schema, 0, false);
    w.write(&batch)?;
    w.finish()?;
    Ok(())
}
