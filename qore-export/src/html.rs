//! A self-contained HTML page: the data compressed and embedded, a small
//! interface in plain JavaScript (sort, filter, pages), no network at all.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use qore_core::{ColumnIndicators, Error, Result};

use crate::Sink;

/// Options of the HTML format.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions {
    /// The page title (default "qore export").
    pub title: Option<String>,
    /// The query that produced the data, shown in the header.
    pub query: Option<String>,
    /// Where the data came from (a redacted URL, a saved connection name).
    pub source: Option<String>,
    /// When the export ran, as text (RFC 3339); the caller's clock.
    pub exported_at: Option<String>,
}

pub(crate) struct HtmlSink {
    enc: HtmlEncoder,
    out: Box<dyn Write + Send>,
}

/// Escapes text for HTML element content and attribute values
/// (`& < > " '`), so that data can never become markup.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// [`escape`], and every character outside ASCII as a numeric reference:
/// a page's text then reads the same whatever encoding it is decoded with.
pub(crate) fn escape_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape(s).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("&#x{:x};", c as u32));
        }
    }
    out
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&`
/// escaped, so no `</script>` can end it early, and every character outside
/// ASCII as `\uXXXX`, so the text survives any page encoding.
pub fn script_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            // Outside ASCII only inside JSON strings, where escapes are valid.
            c if !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn numeric(dt: &DataType) -> bool {
    dt.is_numeric()
}

/// What the page's script needs about the data: the columns (names, source
/// types, indicators and their meanings), the legend, and the header facts.
pub(crate) fn page_meta(schema: &SchemaRef, options: &HtmlOptions) -> serde_json::Value {
    let columns: Vec<serde_json::Value> = schema
        .fields()
        .iter()
        .map(|f| {
            let ind = ColumnIndicators::from_field(f);
            serde_json::json!({
                "name": f.name(),
                "type": f.metadata().get(qore_core::metadata::SOURCE_TYPE).cloned().unwrap_or_else(|| f.data_type().to_string()),
                "numeric": numeric(f.data_type()),
                "tag_help": ind.tags().iter().map(|t| qore_core::metadata::explain(t).unwrap_or("")).collect::<Vec<_>>(),
                "tags": ind.tags(),
            })
        })
        .collect();
    let tags: Vec<String> = schema
        .fields()
        .iter()
        .flat_map(|f| ColumnIndicators::from_field(f).tags())
        .collect();
    let legend: Vec<(String, &str)> = qore_core::metadata::legend_of(tags.iter().map(String::as_str))
        .into_iter()
        .map(|(t, m)| (t.trim_end_matches('→').to_string(), m))
        .collect();
    serde_json::json!({
        "legend": legend,
        "title": options.title.clone().unwrap_or_else(|| "qore export".into()),
        "query": options.query,
        "source": options.source,
        "exported_at": options.exported_at,
        "columns": columns,
    })
}

/// Which page: the plain export or the encrypted share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    Export,
    Share,
}

/// Everything before the data: the document head (one CSP that allows no
/// connection of any kind), the grid's markup and the metadata element.
/// ASCII only, so that the share page can declare a single-byte encoding
/// for its binary data block.
pub(crate) fn page_head(page: Page, title: &str, meta_json: &str) -> String {
    let (charset, csp_extra, unlock) = match page {
        Page::Export => ("utf-8", "", ""),
        Page::Share => (
            // Every byte is one character in windows-1252 (WHATWG), so the
            // data block carries raw bytes instead of base64.
            "windows-1252",
            "; form-action 'none'; base-uri 'none'",
            "<div id=\"unlock\" hidden><p id=\"about\"></p>\
             <label>Passphrase <input id=\"pass\" type=\"password\" autocomplete=\"off\"></label>\
             <button id=\"open\">Open</button></div><p id=\"error\" role=\"alert\" hidden></p>",
        ),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"{charset}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'{csp_extra}\">\
         <title>{title}</title><style>{CSS}</style></head><body>\
         <header><h1 id=\"title\"></h1><div id=\"facts\"></div><div id=\"legend\"></div><pre id=\"query\"></pre></header>{unlock}\
         <div id=\"bar\"><input id=\"filter\" type=\"search\" placeholder=\"Filter all columns\" aria-label=\"Filter all columns\">\
         <span id=\"count\">loading&hellip;</span><span id=\"pager\"><button id=\"prev\">&lsaquo; Prev</button>\
         <span id=\"page\"></span><button id=\"next\">Next &rsaquo;</button></span></div>\
         <div id=\"wrap\"><table id=\"grid\"><thead></thead><tbody></tbody></table></div>\
         <script type=\"application/json\" id=\"meta\">{meta_json}</script>\n\
         <script type=\"application/octet-stream\" id=\"data\">",
        title = escape_ascii(title),
    )
}

/// Renders rows as the page's data: one JSON array per line, numbers bare
/// (finite ones of numeric columns), everything else as the text the other
/// formats write, NULL as `null`.
#[derive(Default)]
pub(crate) struct RowLines {
    line: Vec<u8>,
    cell: Vec<u8>,
}

impl RowLines {
    /// Writes every row of `batch` to `out`; returns how many.
    pub(crate) fn write(&mut self, batch: &RecordBatch, out: &mut dyn Write) -> Result<u64> {
        let numeric: Vec<bool> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| numeric(f.data_type()))
            .collect();
        for row in 0..batch.num_rows() {
            self.line.clear();
            self.line.push(b'[');
            for (i, col) in batch.columns().iter().enumerate() {
                if i > 0 {
                    self.line.push(b',');
                }
                if col.is_null(row) {
                    self.line.extend_from_slice(b"null");
                    continue;
                }
                self.cell.clear();
                crate::text::write_text(&mut self.cell, col.as_ref(), row).map_err(|e| {
                    Error::data(format!("column `{}`: {e}", batch.schema().field(i).name()))
                })?;
                let text = std::str::from_utf8(&self.cell)
                    .map_err(|_| Error::data("a rendered value is not UTF-8"))?;
                match text.parse::<f64>() {
                    Ok(n) if numeric[i] && n.is_finite() => self.line.extend_from_slice(text.as_bytes()),
                    _ => serde_json::to_writer(&mut self.line, text)
                        .map_err(|e| Error::data(e.to_string()))?,
                }
            }
            self.line.extend_from_slice(b"]\n");
            out.write_all(&self.line)
                .map_err(|e| Error::io("cannot write the HTML page", e))?;
        }
        Ok(batch.num_rows() as u64)
    }
}

impl HtmlSink {
    pub(crate) fn new(
        schema: SchemaRef,
        mut out: Box<dyn Write + Send>,
        options: &HtmlOptions,
    ) -> Result<Self> {
        out.write_all(export_head(&schema, options).as_bytes())
            .map_err(|e| Error::io("cannot write the HTML page", e))?;
        Ok(HtmlSink {
            enc: HtmlEncoder::new(Vec::new()),
            out,
        })
    }
}

/// Everything of an export page before its data.
pub(crate) fn export_head(schema: &SchemaRef, options: &HtmlOptions) -> String {
    let meta = page_meta(schema, options);
    page_head(
        Page::Export,
        options.title.as_deref().unwrap_or("qore export"),
        &script_json(&meta),
    )
}

/// Everything of an export page after its data.
pub(crate) fn export_tail() -> String {
    format!("</script>\n<script>{GRID_JS}{EXPORT_JS}</script></body></html>\n")
}

/// The page's data block without its writer: rows as JSON lines, deflated,
/// in base64. A paged export ends each page with [`end_page`]: a sync
/// flush, then a fresh compressor, so that nothing after the page depends
/// on the compressor's memory of it and a later process can carry on with
/// the same bytes; the base64 digits of the last incomplete 3-byte group
/// are carried over instead of written.
///
/// [`end_page`]: HtmlEncoder::end_page
pub(crate) struct HtmlEncoder {
    deflate: DeflateEncoder<Vec<u8>>,
    /// Compressed bytes not yet in base64 (fewer than 3).
    carry: Vec<u8>,
    rows: RowLines,
}

impl HtmlEncoder {
    /// An encoder whose base64 starts with the compressed bytes `carry`.
    pub(crate) fn new(carry: Vec<u8>) -> HtmlEncoder {
        HtmlEncoder {
            deflate: DeflateEncoder::new(Vec::new(), Compression::new(6)),
            carry,
            rows: RowLines::default(),
        }
    }

    /// Moves the compressed bytes so far out as base64, keeping the last
    /// incomplete group; with `last`, everything, padded.
    fn drain(&mut self, out: &mut dyn Write, last: bool) -> Result<()> {
        use base64::Engine;
        self.carry.append(self.deflate.get_mut());
        let whole = if last { self.carry.len() } else { self.carry.len() / 3 * 3 };
        if whole == 0 {
            return Ok(());
        }
        let text = STANDARD.encode(&self.carry[..whole]);
        self.carry.drain(..whole);
        out.write_all(text.as_bytes())
            .map_err(|e| Error::io("cannot write the HTML page", e))
    }

    /// Writes every row of `batch`.
    pub(crate) fn write(&mut self, batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
        self.rows.write(batch, &mut self.deflate)?;
        self.drain(out, false)
    }

    /// Ends a page (see the type's doc); returns the bytes carried over.
    pub(crate) fn end_page(&mut self, out: &mut dyn Write) -> Result<Vec<u8>> {
        let io = |e| Error::io("cannot write the HTML page", e);
        self.deflate.flush().map_err(io)?;
        self.drain(out, false)?;
        let old = std::mem::replace(&mut self.deflate, DeflateEncoder::new(Vec::new(), Compression::new(6)));
        // Dropping an encoder finishes its stream into its own buffer, which
        // goes nowhere.
        drop(old);
        Ok(self.carry.clone())
    }

    /// Ends the data: the final deflate block, the padded base64, the page's
    /// script and closing tags.
    pub(crate) fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        let io = |e| Error::io("cannot write the HTML page", e);
        self.deflate.try_finish().map_err(io)?;
        self.drain(out, true)?;
        out.write_all(export_tail().as_bytes()).map_err(io)
    }
}

impl Sink for HtmlSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.enc.write(batch, &mut self.out)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.enc.finish(&mut self.out)?;
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write the HTML page", e))
    }
}

const CSS: &str = r#"
:root{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330;background:#fff}
body{margin:0}header{padding:12px 16px;background:#f4f6fa;border-bottom:1px solid #dde2ea}
h1{font-size:18px;margin:0 0 4px}#facts{font-size:13px;color:#566}#query{font-size:12px;background:#fff;border:1px solid #dde2ea;padding:6px 8px;margin:8px 0 0;white-space:pre-wrap;max-height:6em;overflow:auto}
#query:empty{display:none}#legend{font-size:11px;color:#667;margin-top:2px}#legend:empty{display:none}#bar{display:flex;gap:12px;align-items:center;padding:8px 16px;border-bottom:1px solid #dde2ea;position:sticky;top:0;background:#fff;z-index:2}
#filter{flex:0 1 320px;padding:5px 8px;font-size:14px}#count{font-size:13px;color:#445}#pager{margin-left:auto;font-size:13px;display:flex;gap:6px;align-items:center}
#wrap{overflow:auto;max-height:calc(100vh - 150px)}table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #e3e7ee;padding:3px 8px;text-align:left;vertical-align:top;white-space:pre;max-width:40em;overflow:hidden;text-overflow:ellipsis}
th{background:#f8f9fb;position:sticky;top:0;z-index:1}th .name{cursor:pointer;font-weight:600;user-select:none}
th .type{display:block;font-weight:400;font-size:11px;color:#778}th .tag{display:inline-block;font-size:10px;font-weight:600;padding:0 4px;margin:2px 2px 0 0;border-radius:3px;background:#e6ecf8;color:#2a4a8a}
th input{display:block;width:100%;box-sizing:border-box;margin-top:3px;font-size:12px;padding:2px 4px}td.num{text-align:right;font-variant-numeric:tabular-nums}td.null{color:#aab;font-style:italic}
tr:nth-child(even) td{background:#fbfcfe}
#unlock,#error{margin:12px 16px;font-size:14px}#unlock input{margin:0 8px;padding:4px 6px}#error{color:#a11;font-weight:600}
"#;

/// The grid: `qoreGrid(meta, rows)` draws the header and the rows (sort,
/// filters, pages). ASCII only (see [`page_head`]).
pub(crate) const GRID_JS: &str = r#"
function qoreGrid(meta, rows){
'use strict';
const cols = meta.columns;
const PAGE = 100;
let view = rows, page = 0, sortCol = -1, sortDir = 1;
const colFilters = cols.map(function(){ return ''; });
let globalFilter = '';
document.title = meta.title;
document.getElementById('title').textContent = meta.title;
const facts = [];
if (meta.source) facts.push('Source: ' + meta.source);
if (meta.exported_at) facts.push('Exported ' + meta.exported_at);
(meta.facts || []).forEach(function(f){ facts.push(f); });
document.getElementById('facts').textContent = facts.join(' \u00b7 ');
document.getElementById('legend').textContent = (meta.legend || []).map(function(l){ return l[0] + ' ' + l[1]; }).join(' \u00b7 ');
document.getElementById('query').textContent = meta.query || '';
const thead = document.querySelector('#grid thead'), tbody = document.querySelector('#grid tbody');
const hr = document.createElement('tr');
cols.forEach(function(c, i){
  const th = document.createElement('th');
  const name = document.createElement('span');
  name.className = 'name'; name.textContent = c.name; name.title = 'Sort by ' + c.name;
  name.addEventListener('click', function(){ sortBy(i); });
  th.appendChild(name);
  const type = document.createElement('span'); type.className = 'type'; type.textContent = c.type; th.appendChild(type);
  (c.tags || []).forEach(function(t, j){ const s = document.createElement('span'); s.className = 'tag'; s.textContent = t; s.title = (c.tag_help || [])[j] || ''; th.appendChild(s); });
  const f = document.createElement('input'); f.type = 'search'; f.placeholder = 'filter'; f.setAttribute('aria-label', 'Filter ' + c.name);
  f.addEventListener('input', function(){ colFilters[i] = f.value.toLowerCase(); apply(); });
  th.appendChild(f);
  hr.appendChild(th);
});
thead.appendChild(hr);
document.getElementById('filter').addEventListener('input', function(e){ globalFilter = e.target.value.toLowerCase(); apply(); });
document.getElementById('prev').addEventListener('click', function(){ if (page > 0) { page--; render(); } });
document.getElementById('next').addEventListener('click', function(){ if ((page + 1) * PAGE < view.length) { page++; render(); } });
function cellText(v){ return v === null ? '' : String(v); }
// Rows arrive as JSON lines and are parsed when first needed: the first
// page shows after 100 parses, not 100,000.
let parsed = false;
function parseAll(){
  if (parsed) return;
  for (let k = 0; k < rows.length; k++) if (typeof rows[k] === 'string') rows[k] = JSON.parse(rows[k]);
  parsed = true;
}
function sortBy(i){
  parseAll();
  if (sortCol === i) sortDir = -sortDir; else { sortCol = i; sortDir = 1; }
  const num = cols[i].numeric;
  const cmp = function(a, b){
    const x = a[i], y = b[i];
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    if (num) return (Number(x) - Number(y)) * sortDir;
    return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
  };
  rows.sort(cmp);
  document.querySelectorAll('th .name').forEach(function(n, j){
    n.textContent = cols[j].name + (j === sortCol ? (sortDir > 0 ? ' \u25b2' : ' \u25bc') : '');
  });
  apply();
}
function apply(){
  parseAll();
  view = rows.filter(function(r){
    for (let i = 0; i < cols.length; i++) {
      if (colFilters[i] && cellText(r[i]).toLowerCase().indexOf(colFilters[i]) < 0) return false;
    }
    if (!globalFilter) return true;
    for (let i = 0; i < r.length; i++) if (cellText(r[i]).toLowerCase().indexOf(globalFilter) >= 0) return true;
    return false;
  });
  page = 0;
  render();
}
function render(){
  const start = page * PAGE, end = Math.min(view.length, start + PAGE);
  const frag = document.createDocumentFragment();
  for (let k = start; k < end; k++) {
    const tr = document.createElement('tr');
    if (typeof view[k] === 'string') view[k] = JSON.parse(view[k]);
    const r = view[k];
    for (let i = 0; i < cols.length; i++) {
      const td = document.createElement('td');
      if (r[i] === null) { td.className = 'null'; td.textContent = 'NULL'; }
      else { td.textContent = cellText(r[i]); if (cols[i].numeric) td.className = 'num'; }
      tr.appendChild(td);
    }
    frag.appendChild(tr);
  }
  tbody.replaceChildren(frag);
  const total = rows.length;
  document.getElementById('count').textContent = (view.length === total ? total + ' rows' : view.length + ' of ' + total + ' rows');
  const pages = Math.max(1, Math.ceil(view.length / PAGE));
  document.getElementById('page').textContent = 'page ' + (view.length ? page + 1 : 0) + ' of ' + (view.length ? pages : 0);
  if (!document.body.dataset.ready) document.body.dataset.ms = String(Math.round(performance.now()));
  document.body.dataset.ready = '1';
}
render();
}
function qoreLines(text){
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
"#;

/// The export page's loader: base64, then deflate, then one JSON row per line.
const EXPORT_JS: &str = r#"
(function(){
'use strict';
const meta = JSON.parse(document.getElementById('meta').textContent);
async function load(){
  const b64 = document.getElementById('data').textContent.trim();
  const s = atob(b64);
  const bin = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bin[i] = s.charCodeAt(i);
  const stream = new Blob([bin]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  qoreGrid(meta, qoreLines(await new Response(stream).text()));
}
load().catch(function(e){ document.getElementById('count').textContent = 'could not read the data: ' + e; });
})();
"#;
