//! Renderers of a diff: side by side for a terminal ([`text`]), an HTML
//! report ([`html`]), a SQL patch ([`patch`]). Data formats (JSON, CSV,
//! Parquet, ...) are `qore-export`'s, fed the difference stream.

pub mod html;
pub mod patch;
pub mod text;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Schema;
use qore_core::{Error, Result};

use crate::output::{CHANGED_COLUMN, COPIES_COLUMN, DIFF_METADATA, KIND_COLUMN};

/// Where things are in a difference batch.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Multiset diff (no key; `copies` column).
    pub multiset: bool,
    /// Key column names (every column of a multiset diff).
    pub key: Vec<String>,
    /// Compared column pairs (left, right).
    pub columns: Vec<(String, String)>,
}

impl Layout {
    /// Reads the layout from a difference stream's schema.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a schema that is not a diff's.
    pub fn of(schema: &Schema) -> Result<Layout> {
        let meta = schema
            .metadata()
            .get(DIFF_METADATA)
            .ok_or_else(|| Error::invalid("not a difference stream (no qore.diff metadata)"))?;
        let v: serde_json::Value = serde_json::from_str(meta)
            .map_err(|e| Error::invalid(format!("bad qore.diff metadata: {e}")))?;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
        };
        Ok(Layout {
            multiset: v["mode"] == "multiset",
            key: strings(&v["key"]),
            columns: v["columns"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let p = strings(p);
                            (p.first().cloned().unwrap_or_default(), p.get(1).cloned().unwrap_or_default())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// One difference of a batch, read back.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// `added`, `removed` or `changed`.
    pub kind: &'a str,
    /// The key (every column of a multiset diff), as text.
    pub key: Vec<String>,
    /// For each compared column: left and right values as text (`None`
    /// where the row is not on that side) and whether it changed.
    pub cells: Vec<(Option<String>, Option<String>, bool)>,
    /// Copies (multiset diffs).
    pub copies: u64,
}

/// The text of a cell: `NULL`, or the value as `qore-export` writes it.
pub fn cell_text(a: &dyn Array, row: usize) -> String {
    if a.is_null(row) {
        return "NULL".into();
    }
    let mut buf = Vec::new();
    match qore_export::text::write_text(&mut buf, a, row) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => arrow::util::display::array_value_to_string(a, row).unwrap_or_else(|_| "?".into()),
    }
}

/// Reads the differences of `batch` back as rows.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a batch that is not a diff's.
pub fn rows<'a>(layout: &Layout, batch: &'a RecordBatch) -> Result<Vec<Row<'a>>> {
    let bad = || Error::invalid("not a difference batch");
    let kinds = batch.column_by_name(KIND_COLUMN).ok_or_else(bad)?.as_string_opt::<i32>().ok_or_else(bad)?;
    let nk = layout.key.len();
    let changed = batch.column_by_name(CHANGED_COLUMN).and_then(|c| c.as_string_opt::<i32>().cloned());
    let copies = batch.column_by_name(COPIES_COLUMN).and_then(|c| c.as_primitive_opt::<arrow::datatypes::UInt64Type>().cloned());
    let mut out = Vec::with_capacity(batch.num_rows());
    for r in 0..batch.num_rows() {
        let kind = kinds.value(r);
        let key = (0..nk).map(|k| cell_text(batch.column(1 + k).as_ref(), r)).collect();
        let names: Vec<String> = changed
            .as_ref()
            .filter(|c| !c.is_null(r))
            .and_then(|c| serde_json::from_str(c.value(r)).ok())
            .unwrap_or_default();
        let cells = layout
            .columns
            .iter()
            .enumerate()
            .map(|(i, (l, _))| {
                let (lc, rc) = (batch.column(1 + nk + 2 * i), batch.column(2 + nk + 2 * i));
                let left = (kind != "added").then(|| cell_text(lc.as_ref(), r));
                let right = (kind != "removed").then(|| cell_text(rc.as_ref(), r));
                (left, right, names.iter().any(|n| n == l))
            })
            .collect();
        out.push(Row { kind, key, cells, copies: copies.as_ref().map_or(1, |c| c.value(r)) });
    }
    Ok(out)
}

/// How [`write`] renders a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per difference, changed cells marked (the terminal view).
    SideBySide,
    /// Only the summary.
    Summary,
    /// The self-contained HTML report.
    Html,
    /// The SQL patch making the right table equal to the left.
    Sql,
    /// A data format of `qore-export` (JSON, NDJSON, CSV, Parquet, ...).
    Data(qore_export::Format),
}

impl Format {
    /// Parses `side-by-side`, `summary`, `html`, `sql` or an export format
    /// (`json`, `ndjson`, `csv`, `parquet`, ...).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the accepted formats.
    pub fn parse(s: &str) -> Result<Format> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "side-by-side" | "text" | "diff" => Format::SideBySide,
            "summary" => Format::Summary,
            "html" => Format::Html,
            "sql" => Format::Sql,
            other => match qore_export::Format::parse(other) {
                Ok(f) => Format::Data(f),
                Err(_) => {
                    return Err(Error::invalid(format!(
                        "unknown diff format `{s}`: use side-by-side, summary, json, ndjson, csv, parquet, html or sql"
                    )));
                }
            },
        })
    }
}

/// What [`write`] needs besides the diff.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Terminal view options.
    pub text: text::TextOptions,
    /// The left side as shown in reports.
    pub left: String,
    /// The right side as shown in reports.
    pub right: String,
    /// The SQL patch's target: the right connection and table.
    pub patch_target: Option<(qore_core::ConnectionRef, qore_core::TableRef)>,
}

/// Renders every difference of `diff` as `format` into `out` and returns
/// the summary (whatever the format: it counts every row compared).
///
/// # Error handling
///
/// The diff's error (a side failing mid-way gives an error, never a
/// summary), write errors, and [`Error::InvalidInput`] for a SQL patch
/// without a right table.
pub async fn write(
    diff: crate::Diff,
    format: Format,
    mut out: Box<dyn std::io::Write + Send>,
    o: &WriteOptions,
) -> Result<crate::DiffSummary> {
    let summary = diff.summary_handle();
    let stream = diff.stream;
    match format {
        Format::SideBySide => {
            text::write_differences(stream, &mut out, o.text).await?;
        }
        Format::Summary => {
            let mut s = stream;
            while let Some(b) = futures::StreamExt::next(&mut s).await {
                b?;
            }
        }
        Format::Html => {
            let report = html::HtmlReport {
                title: format!("qore diff: {} vs {}", o.left, o.right),
                left: o.left.clone(),
                right: o.right.clone(),
            };
            let h = summary.clone();
            html::write_report(stream, &mut out, &report, move || h.get()).await?;
        }
        Format::Sql => {
            let (conn, table) = o.patch_target.as_ref().ok_or_else(|| {
                Error::invalid("a SQL patch is written for a right side that is a table (--table)")
            })?;
            let script = patch::sql_patch(stream, conn.as_ref(), table).await?;
            out.write_all(script.as_bytes()).map_err(|e| Error::io("writing the patch", e))?;
            out.flush().map_err(|e| Error::io("writing the patch", e))?;
        }
        Format::Data(f) => {
            qore_export::export_to_writer(stream, out, &qore_export::ExportOptions::new(f), |_| {}).await?;
        }
    }
    summary.get().ok_or_else(|| Error::Internal("the diff ended without a summary".into()))
}
