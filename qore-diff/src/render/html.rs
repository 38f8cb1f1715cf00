//! A self-contained HTML report: the differences in two panes (left,
//! right) with changed cells highlighted, a filter by kind, and the
//! summary. Like the HTML export it loads nothing from the network (a
//! Content-Security-Policy forbids it) and every value is escaped, so data
//! can never become markup.

use std::io::Write;

use futures::StreamExt;
use qore_core::{Error, Result, SendableRecordBatchStream};

use qore_export::html_escape as escape;

use super::{Layout, rows};
use crate::output::DiffSummary;

/// What the report says about its sides.
#[derive(Debug, Clone, Default)]
pub struct HtmlReport {
    /// The page title.
    pub title: String,
    /// The left side, as shown.
    pub left: String,
    /// The right side, as shown.
    pub right: String,
}

fn io(e: std::io::Error) -> Error {
    Error::io("writing the HTML report", e)
}

const STYLE: &str = "body{font:13px system-ui,sans-serif;margin:1em}table{border-collapse:collapse}\
td,th{border:1px solid #ddd;padding:2px 6px;font-family:ui-monospace,monospace;white-space:pre-wrap;vertical-align:top}\
th{background:#f4f4f4;position:sticky;top:0}tr.added td.r,tr.added td.k{background:#e6ffec}\
tr.removed td.l,tr.removed td.k{background:#ffebe9}td.x{background:#fff5b1!important;font-weight:bold}\
td.sep{border:none;width:1em}.null{color:#999}#bar label{margin-right:1em}pre{background:#f6f8fa;padding:.5em}";

const SCRIPT: &str = "for(const b of document.querySelectorAll('#bar input'))b.addEventListener('change',()=>{\
for(const r of document.querySelectorAll('tr.'+b.value))r.hidden=!b.checked})";

/// Writes the report of `stream` to `out`, rows as they come (memory stays
/// bounded), then the summary `summary()` returns once the stream ended.
///
/// # Error handling
///
/// The stream's error, or write errors of `out`.
pub async fn write_report(
    mut stream: SendableRecordBatchStream,
    out: &mut dyn Write,
    report: &HtmlReport,
    summary: impl FnOnce() -> Option<DiffSummary>,
) -> Result<u64> {
    let layout = Layout::of(&stream.schema())?;
    let mut w = |s: &str| out.write_all(s.as_bytes()).map_err(io);
    w(&format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1><p>left: <b>{}</b><br>right: <b>{}</b></p>\
         <div id=\"bar\"><label><input type=\"checkbox\" value=\"changed\" checked> changed</label>\
         <label><input type=\"checkbox\" value=\"added\" checked> added (right only)</label>\
         <label><input type=\"checkbox\" value=\"removed\" checked> removed (left only)</label></div><table><thead><tr><th>diff</th>",
        escape(&report.title),
        escape(&report.title),
        escape(&report.left),
        escape(&report.right)
    ))?;
    for k in &layout.key {
        w(&format!("<th>{}</th>", escape(k)))?;
    }
    if layout.multiset {
        w("<th>copies</th>")?;
    }
    w("<td class=\"sep\"></td>")?;
    for (l, _) in &layout.columns {
        w(&format!("<th>left.{}</th>", escape(l)))?;
    }
    w("<td class=\"sep\"></td>")?;
    for (_, r) in &layout.columns {
        w(&format!("<th>right.{}</th>", escape(r)))?;
    }
    w("</tr></thead><tbody>\n")?;
    let cell = |v: &Option<String>, class: &str| -> String {
        match v.as_deref() {
            None => format!("<td class=\"{class}\"></td>"),
            Some("NULL") => format!("<td class=\"{class} null\">NULL</td>"),
            Some(t) => format!("<td class=\"{class}\">{}</td>", escape(t)),
        }
    };
    let mut n = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let mut html = String::new();
        for row in rows(&layout, &batch)? {
            html.push_str(&format!("<tr class=\"{}\"><td>{}</td>", row.kind, row.kind));
            for k in &row.key {
                html.push_str(&format!("<td class=\"k\">{}</td>", escape(k)));
            }
            if layout.multiset {
                html.push_str(&format!("<td>{}</td>", row.copies));
            }
            html.push_str("<td class=\"sep\"></td>");
            for (l, _, x) in &row.cells {
                html.push_str(&cell(l, if *x { "l x" } else { "l" }));
            }
            html.push_str("<td class=\"sep\"></td>");
            for (_, r, x) in &row.cells {
                html.push_str(&cell(r, if *x { "r x" } else { "r" }));
            }
            html.push_str("</tr>\n");
            n += 1;
        }
        w(&html)?;
    }
    w("</tbody></table>")?;
    if let Some(s) = summary() {
        w(&format!(
            "<h2>Summary</h2><pre>{}</pre>",
            escape(&super::text::summary_text(&s, &report.left, &report.right))
        ))?;
    }
    w(&format!("<script>{SCRIPT}</script></body></html>\n"))?;
    out.flush().map_err(io)?;
    Ok(n)
}
