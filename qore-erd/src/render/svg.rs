//! SVG: boxes with their column rows and indicators, relations as
//! orthogonal paths from the referencing column (crow's foot) to the
//! referenced one (bar), virtual relations dashed, and a legend.
//!
//! Every element carries what a reader needs to find it again: a table's
//! `<g>` has `data-table`, a relation's `<path>` has `data-from`,
//! `data-from-columns`, `data-to` and `data-to-columns` (columns as a JSON
//! array), so a GUI or a test can map the drawing back to the schema.

use std::fmt::Write as _;

use qore_core::TableKind;

use crate::layout::{HEADER, Layout, MAX_NAME, MAX_TYPE, PAD, ROW, cut, short_tag};
use crate::model::Model;

/// Font stack: monospace, so the box widths computed from character
/// counts hold in every renderer (resvg finds DejaVu Sans Mono).
pub const FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/// Text for XML: markup escaped, and the control characters XML 1.0
/// forbids replaced (a column name may hold them).
pub fn xml(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if (c as u32) < 0x20 && c != '\t' && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    qore_export::html_escape(&cleaned)
}

/// The header colour of a table box by kind.
pub fn kind_color(kind: TableKind) -> &'static str {
    match kind {
        TableKind::View | TableKind::MaterializedView => "#3f7f5f",
        TableKind::Collection => "#9a5b13",
        TableKind::ForeignTable => "#6b5b95",
        _ => "#2f5597",
    }
}

/// Height of the legend below the drawing.
pub fn legend_height(model: &Model) -> f64 {
    let lines = legend_lines(model).len();
    if lines == 0 {
        0.0
    } else {
        24.0 + 16.0 * lines as f64
    }
}

/// The legend's lines: each indicator the diagram uses, and the line styles.
pub fn legend_lines(model: &Model) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = qore_core::metadata::legend_of(
        model
            .tables
            .iter()
            .flat_map(|t| t.columns.iter())
            .flat_map(|c| c.tags.iter())
            .map(String::as_str),
    )
    .into_iter()
    .map(|(t, m)| (t.trim_end_matches('→').to_string(), m))
    .collect();
    if !model.relations.is_empty() {
        out.push(("——".to_string(), "foreign key: crow's foot at the referencing column"));
    }
    if model.relations.iter().any(|r| r.is_virtual) {
        out.push(("- -".to_string(), "virtual relation"));
    }
    out
}

/// A relation route as path data.
pub fn path_data(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let _ = write!(d, "{}{:.1} {:.1}", if i == 0 { "M" } else { " L" }, x, y);
    }
    d
}

/// The whole diagram as an SVG document.
pub fn render(model: &Model, layout: &Layout) -> String {
    let legend_h = legend_height(model);
    let (w, h) = (layout.width, layout.height + legend_h);
    let mut s = String::with_capacity(256 + model.tables.len() * 1200);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"{FONT}\">\n\
         <style>.t rect.b{{fill:#fff;stroke:#8a94a6}}.t .n{{font-size:13px;font-weight:700;fill:#fff}}\
         .t .c{{font-size:12px;fill:#1d2330}}.t .k{{font-weight:700}}.t .ty{{font-size:12px;fill:#6b7385}}\
         .t .tg{{font-size:10px;fill:#2a4a8a;font-weight:700}}.r{{fill:none;stroke:#5b6b8c;stroke-width:1.3}}\
         .r.v{{stroke-dasharray:5 4;stroke:#8a5bb0}}.lg{{font-size:12px;fill:#1d2330}}</style>\n\
         <defs><marker id=\"many\" viewBox=\"0 0 12 12\" refX=\"12\" refY=\"6\" markerWidth=\"12\" markerHeight=\"12\" orient=\"auto-start-reverse\" markerUnits=\"userSpaceOnUse\">\
         <path d=\"M0 6 L12 0 M0 6 L12 12 M0 6 L12 6\" fill=\"none\" stroke=\"#5b6b8c\" stroke-width=\"1.3\"/></marker>\
         <marker id=\"one\" viewBox=\"0 0 12 12\" refX=\"12\" refY=\"6\" markerWidth=\"12\" markerHeight=\"12\" orient=\"auto\" markerUnits=\"userSpaceOnUse\">\
         <path d=\"M6 0 L6 12\" fill=\"none\" stroke=\"#5b6b8c\" stroke-width=\"1.3\"/></marker></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#f7f8fb\"/>\n"
    );
    s.push_str("<g class=\"rels\">\n");
    for (r, e) in model.relations.iter().zip(&layout.edges) {
        let cols = |c: &[String]| xml(&serde_json::to_string(c).unwrap_or_default());
        let _ = writeln!(
            s,
            "<path class=\"r{}\" d=\"{}\" marker-start=\"url(#many)\" marker-end=\"url(#one)\" data-from=\"{}\" data-from-columns=\"{}\" data-to=\"{}\" data-to-columns=\"{}\"><title>{}</title></path>",
            if r.is_virtual { " v" } else { "" },
            path_data(&e.points),
            xml(&model.tables[r.from].table.to_string()),
            cols(&r.from_columns),
            xml(&model.tables[r.to].table.to_string()),
            cols(&r.to_columns),
            xml(&format!(
                "{}{}({}) → {}({})",
                r.name.as_deref().map(|n| format!("{n}: ")).unwrap_or_default(),
                model.tables[r.from].label,
                r.from_columns.join(", "),
                model.tables[r.to].label,
                r.to_columns.join(", ")
            )),
        );
    }
    s.push_str("</g>\n<g class=\"tables\">\n");
    for (t, b) in model.tables.iter().zip(&layout.boxes) {
        let _ = write!(
            s,
            "<g class=\"t\" data-table=\"{}\" transform=\"translate({:.1} {:.1})\">\
             <rect class=\"b\" width=\"{:.0}\" height=\"{:.0}\" rx=\"4\"/>\
             <path d=\"M0 {HEADER} V4 Q0 0 4 0 H{:.0} Q{:.0} 0 {:.0} 4 V{HEADER} Z\" fill=\"{}\"/>\
             <text class=\"n\" x=\"{PAD}\" y=\"17\">{}</text>",
            xml(&t.table.to_string()),
            b.x,
            b.y,
            b.w,
            b.h,
            b.w - 4.0,
            b.w,
            b.w,
            kind_color(t.kind),
            xml(&cut(&t.label, MAX_NAME + 12)),
        );
        for (k, &ci) in b.rows.iter().enumerate() {
            let c = &t.columns[ci];
            let y = HEADER + k as f64 * ROW + 13.0;
            let pk = c.tags.iter().any(|t| t.starts_with("PK"));
            let _ = write!(
                s,
                "<text class=\"c{}\" x=\"{PAD}\" y=\"{y:.0}\" data-column=\"{}\">{}</text><text class=\"ty\" x=\"{:.1}\" y=\"{y:.0}\">{}</text>",
                if pk { " k" } else { "" },
                xml(&c.name),
                xml(&cut(&c.name, MAX_NAME)),
                b.type_x,
                xml(&cut(&c.source_type, MAX_TYPE)),
            );
            if !c.tags.is_empty() {
                let tags: Vec<&str> = c.tags.iter().map(|t| short_tag(t)).collect();
                let _ = write!(
                    s,
                    "<text class=\"tg\" x=\"{:.1}\" y=\"{y:.0}\" text-anchor=\"end\">{}</text>",
                    b.w - PAD,
                    xml(&tags.join(" "))
                );
            }
        }
        s.push_str("</g>\n");
    }
    s.push_str("</g>\n");
    let lines = legend_lines(model);
    if !lines.is_empty() {
        let y0 = layout.height;
        let _ = write!(
            s,
            "<g class=\"legend\" transform=\"translate(40 {y0:.0})\"><text class=\"lg\" y=\"12\" font-weight=\"700\">Legend</text>"
        );
        for (i, (tag, meaning)) in lines.iter().enumerate() {
            let y = 28.0 + 16.0 * i as f64;
            let _ = write!(
                s,
                "<text class=\"lg\" y=\"{y:.0}\"><tspan font-weight=\"700\">{}</tspan> {}</text>",
                xml(tag),
                xml(meaning)
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}
