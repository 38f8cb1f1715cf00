//! The interactive page: one self-contained HTML file (no network, a
//! Content-Security-Policy that forbids any) drawing the diagram on a
//! canvas, so 1,000 tables pan and zoom fluidly: only what is on screen is
//! drawn, and detail (column rows, then titles) is left out when zoomed out.
//!
//! The page pans (drag), zooms on the pointer (wheel), fits, searches
//! tables and columns, highlights a relation and both its columns on hover,
//! and opens a table's panel on click (columns, indicators, indexes,
//! constraints, first rows, and a `qore query` command to copy). A GUI
//! embedding the page sets `window.qoreErd.on_open` to navigate instead.

use serde_json::{Value, json};

use crate::layout::Layout;
use crate::model::Model;
use crate::render::svg::{kind_color, legend_lines};

const JS: &str = include_str!("erd.js");

const CSS: &str = "\
:root{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330}\
body{margin:0;overflow:hidden;background:#f7f8fb}\
#bar{position:fixed;top:0;left:0;right:0;height:40px;display:flex;gap:10px;align-items:center;padding:0 12px;background:#fff;border-bottom:1px solid #dde2ea;z-index:2}\
#bar h1{font-size:15px;margin:0 8px 0 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:30vw}\
#search{width:260px;padding:4px 8px;font-size:13px}#hits{font-size:12px;color:#566}#zoom{font-size:12px;color:#566;margin-left:auto}\
button{font-size:12px;padding:3px 10px}\
#c{position:fixed;top:40px;left:0;cursor:grab;touch-action:none}#c.drag{cursor:grabbing}\
#panel{position:fixed;top:40px;right:0;bottom:0;width:420px;max-width:90vw;background:#fff;border-left:1px solid #dde2ea;overflow:auto;padding:12px 14px;box-sizing:border-box;display:none;font-size:13px;z-index:3}\
#panel.open{display:block}#panel h2{font-size:16px;margin:0 0 4px;word-break:break-all}#panel h3{font-size:13px;margin:14px 0 4px;color:#445}\
#panel table{border-collapse:collapse;width:100%;font-size:12px}#panel td,#panel th{border-bottom:1px solid #eef0f4;padding:2px 4px;text-align:left;vertical-align:top}\
#panel .tag{display:inline-block;font-size:10px;font-weight:600;padding:0 4px;margin:1px 2px 1px 0;border-radius:3px;background:#e6ecf8;color:#2a4a8a}\
#panel pre{white-space:pre-wrap;word-break:break-all;background:#f4f6fa;padding:6px;margin:4px 0}#panel .muted{color:#778}\
#close{float:right}#samples{overflow:auto;max-height:40vh}#samples td{white-space:pre;max-width:20em;overflow:hidden;text-overflow:ellipsis}\
#legend{position:fixed;left:10px;bottom:10px;background:rgba(255,255,255,.92);border:1px solid #dde2ea;padding:6px 10px;font-size:11px;z-index:2;max-width:50vw}\
#legend b{display:inline-block;min-width:34px}";

/// What the page shows besides the diagram.
#[derive(Debug, Clone, Default)]
pub struct PageOptions {
    /// The page title.
    pub title: String,
    /// Where the schema came from (a URL without its password, or a
    /// profile name): shown, and used in the `qore query` command.
    pub source: Option<String>,
}

/// The page's data: every table with its box and details, every relation
/// with its route.
fn data(model: &Model, layout: &Layout, opts: &PageOptions) -> Value {
    let tables: Vec<Value> = model
        .tables
        .iter()
        .zip(&layout.boxes)
        .map(|(t, b)| {
            json!({
                "name": t.table.to_string(),
                "label": t.label,
                "kind": t.kind.label(),
                "color": kind_color(t.kind),
                "box": [round(b.x), round(b.y), round(b.w), round(b.h)],
                "type_x": round(b.type_x),
                "rows": b.rows,
                "columns": t.columns.iter().map(|c| json!({
                    "name": c.name,
                    "type": c.source_type,
                    "tags": c.tags,
                    "help": c.tags.iter().map(|g| qore_core::metadata::explain(g).unwrap_or("")).collect::<Vec<_>>(),
                    "nullable": c.nullable,
                    "default": c.default,
                    "generated": c.generated,
                    "comment": c.comment,
                })).collect::<Vec<_>>(),
                "indexes": t.indexes,
                "constraints": t.constraints,
                "count": t.rows,
                "comment": t.comment,
                "sample": t.sample,
                "query": t.open_query,
            })
        })
        .collect();
    let edges: Vec<Value> = model
        .relations
        .iter()
        .zip(&layout.edges)
        .map(|(r, e)| {
            json!({
                "name": r.name,
                "from": r.from,
                "to": r.to,
                "from_columns": r.from_columns,
                "to_columns": r.to_columns,
                "virtual": r.is_virtual,
                "points": e.points.iter().map(|p| [round(p.0), round(p.1)]).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "title": opts.title,
        "source": opts.source,
        "width": layout.width,
        "height": layout.height,
        "tables": tables,
        "edges": edges,
        "legend": legend_lines(model),
    })
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The page as one HTML document.
pub fn render(model: &Model, layout: &Layout, opts: &PageOptions) -> String {
    let title = crate::render::svg::xml(&opts.title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'\">\
         <title>{title}</title><style>{CSS}</style></head><body>\
         <div id=\"bar\"><h1 id=\"title\"></h1><input id=\"search\" type=\"search\" placeholder=\"Find a table or column\" aria-label=\"Find a table or column\">\
         <span id=\"hits\"></span><button id=\"fit\">Fit</button><span id=\"zoom\"></span></div>\
         <canvas id=\"c\"></canvas><aside id=\"panel\" aria-live=\"polite\"></aside><div id=\"legend\"></div>\
         <script type=\"application/json\" id=\"erd\">{}</script>\n<script>{JS}</script></body></html>\n",
        qore_export::html_script_json(&data(model, layout, opts))
    )
}
