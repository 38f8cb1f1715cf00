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
                expanded: false,
                auto: false,
            }),
        }
    }

    /// Table format: one record per block of `column | value` lines
    /// (`--expanded`), every value whole.
    pub(crate) fn expanded(mut self, mode: qore_shell::Expanded) -> Self {
        if let Writer::Table(t) = &mut self {
            t.expanded = mode == qore_shell::Expanded::On;
            t.auto = mode == qore_shell::Expanded::Auto;
        }
        self
    }

    /// Rows written so far (the table format counts those it keeps too).
    pub(crate) fn seen(&self) -> usize {
        match self {
            Writer::Table(t) => t.total,
            _ => 0,
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

    /// Finishes the output; returns what the table format showed.
    pub(crate) fn finish(self) -> Result<Shown> {
        match self {
            Writer::Csv(mut w, out, schema) => {
                w.finish(&schema, out)?;
                out.flush()?;
            }
            Writer::Json(mut w, out) => w.finish(out)?,
            Writer::Table(t) => return t.finish(),
        }
        Ok(Shown::default())
    }
}

/// What the table format showed: rows shown of rows seen, and the columns
/// left out because the terminal is too narrow.
#[derive(Debug, Default)]
pub(crate) struct Shown {
    pub(crate) rows: usize,
    pub(crate) total: usize,
    pub(crate) hidden: Vec<String>,
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
    expanded: bool,
    /// Expanded when the table does not fit (`\x auto`).
    auto: bool,
}

/// Widest a column gets in a table that has to fit a terminal; longer
/// values are cut with `…` (`--expanded` shows them whole).
const FIT_COLUMN: usize = 40;

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

    /// Every cell as text (`NULL` for NULL; JSON documents pretty).
    fn texts(&self) -> Result<Vec<Vec<String>>> {
        // Columns of JSON documents (Redis strings that hold JSON) are shown pretty.
        let json: Vec<bool> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.metadata().get("qore.json").is_some_and(|v| v == "true"))
            .collect();
        let mut bytes = Vec::new();
        let mut rows = Vec::with_capacity(self.buffered);
        for batch in &self.rows {
            for row in 0..batch.num_rows() {
                let mut cells = Vec::with_capacity(batch.num_columns());
                for (i, (col, is_json)) in batch.columns().iter().zip(&json).enumerate() {
                    if col.is_null(row) {
                        cells.push("NULL".to_string());
                        continue;
                    }
                    bytes.clear();
                    qore_export::text::write_text(&mut bytes, col.as_ref(), row).map_err(|e| {
                        anyhow::anyhow!("column `{}`: {e}", self.schema.field(i).name())
                    })?;
                    let text = String::from_utf8_lossy(&bytes);
                    cells.push(if *is_json && !self.expanded {
                        pretty_json(&text)
                    } else if self.expanded {
                        text.into_owned()
                    } else {
                        clip(&text)
                    });
                }
                rows.push(cells);
            }
        }
        Ok(rows)
    }

    fn finish(mut self) -> Result<Shown> {
        let texts = self.texts()?;
        if self.auto && !self.expanded && !self.fits(&texts) {
            self.expanded = true;
            return self.finish();
        }
        let names: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
        if self.expanded {
            // psql's `\x`: a header line per record, then `name | value`.
            let w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
            for (r, cells) in texts.iter().enumerate() {
                writeln!(self.out, "-[ RECORD {} ]{}", r + 1, "-".repeat(w.saturating_sub(8) + 4))?;
                for (name, v) in names.iter().zip(cells) {
                    let mut lines = v.split('\n');
                    writeln!(self.out, "{name:<w$} | {}", lines.next().unwrap_or(""))?;
                    for l in lines {
                        writeln!(self.out, "{:<w$} | {l}", "")?;
                    }
                }
            }
            return Ok(Shown { rows: self.buffered, total: self.total, hidden: Vec::new() });
        }
        let mut table = new_table();
        let headers = self.headers();
        // On a terminal (or with COLUMNS), fit it: long values cut, and the
        // columns that still do not fit left out (named on stderr), rather
        // than every cell wrapped a character at a time.
        // A terminal that reports no size (0 columns) is not fitted.
        let fit = table.width().map(usize::from).filter(|&w| w > 0);
        let shown_cols = match fit {
            Some(width) => fitting_columns(&headers, &texts, width),
            None => (0..headers.len()).collect(),
        };
        // Fitted above, or no width known: never wrapped.
        table.set_content_arrangement(ContentArrangement::Disabled);
        let cut = |t: &str| -> String {
            if fit.is_none() {
                return t.to_string();
            }
            t.lines()
                .map(|l| clip_at(l, FIT_COLUMN))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let color = crate::color::on();
        if color {
            // Styled on a pipe too when --color always says so.
            table.enforce_styling();
        }
        table.set_header(shown_cols.iter().map(|&i| {
            let c = Cell::new(cut(&headers[i]));
            if color { c.add_attribute(comfy_table::Attribute::Bold) } else { c }
        }));
        for (r, cells) in texts.iter().enumerate() {
            table.add_row(shown_cols.iter().map(|&i| {
                let c = Cell::new(cut(&cells[i]));
                // NULL dimmed, so it cannot be mistaken for the text 'NULL'.
                if color && is_null_at(&self.rows, r, i) {
                    c.add_attribute(comfy_table::Attribute::Dim).fg(comfy_table::Color::DarkGrey)
                } else {
                    c
                }
            }));
        }
        // Numbers right-aligned, so digits line up.
        for (k, &i) in shown_cols.iter().enumerate() {
            let dt = self.schema.field(i).data_type();
            if dt.is_numeric() && let Some(c) = table.column_mut(k) {
                c.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        writeln!(self.out, "{table}")?;
        let hidden = (0..names.len())
            .filter(|i| !shown_cols.contains(i))
            .map(|i| names[i].to_string())
            .collect();
        Ok(Shown { rows: self.buffered, total: self.total, hidden })
    }
}

impl TableWriter<'_> {
    fn headers(&self) -> Vec<String> {
        self.schema.fields().iter().map(|f| header_text(f, self.types)).collect()
    }

    /// Whether every column fits the terminal (always, when none is known).
    fn fits(&self, texts: &[Vec<String>]) -> bool {
        let headers = self.headers();
        match new_table().width().map(usize::from).filter(|&w| w > 0) {
            Some(width) => fitting_columns(&headers, texts, width).len() == headers.len(),
            None => true,
        }
    }
}

/// The columns, from the first, that fit `width` with values cut at
/// [`FIT_COLUMN`] (at least one).
fn fitting_columns(headers: &[String], texts: &[Vec<String>], width: usize) -> Vec<usize> {
    let widths = (0..headers.len()).map(|i| {
        let head = headers[i].lines().map(|l| l.chars().count()).max().unwrap_or(0);
        let cells = texts
            .iter()
            .map(|r| r[i].lines().map(|l| l.chars().count()).max().unwrap_or(0))
            .max()
            .unwrap_or(0);
        head.max(cells).min(FIT_COLUMN)
    });
    // Borders and padding: 3 per column and 1.
    let mut used = 1;
    let mut shown = Vec::new();
    for (i, w) in widths.enumerate() {
        if used + w + 3 <= width || shown.is_empty() {
            used += w + 3;
            shown.push(i);
        } else {
            break;
        }
    }
    shown
}

/// Whether the value at `row` (counted across `batches`) of column `col` is NULL.
fn is_null_at(batches: &[RecordBatch], mut row: usize, col: usize) -> bool {
    for b in batches {
        if row < b.num_rows() {
            return b.column(col).is_null(row);
        }
        row -= b.num_rows();
    }
    false
}

/// A table with the house style, as wide as the terminal when there is one.
pub(crate) fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    // COLUMNS, when set, wins over what the terminal says (and gives a
    // width to a pipe).
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|&w| w > 0)
    {
        table.set_width(w);
    }
    // A terminal that reports 0 columns (some pseudo-terminals) would wrap
    // every cell a character at a time.
    if table.width() == Some(0) {
        table.set_content_arrangement(ContentArrangement::Disabled);
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
    clip_at(s, 200)
}

/// `s` cut to `max` characters, the last one `…`.
fn clip_at(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// `name` over a second line with the source type and indicators.
fn header_text(f: &Field, types: bool) -> String {
    if !types {
        return f.name().to_string();
    }
    let ind = ColumnIndicators::from_field(f);
    let ty = ind
        .source_type
        .clone()
        .unwrap_or_else(|| f.data_type().to_string());
    let tags = ind.tags();
    if tags.is_empty() {
        format!("{}\n{ty}", f.name())
    } else {
        format!("{}\n{ty} {}", f.name(), tags.join(" "))
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
