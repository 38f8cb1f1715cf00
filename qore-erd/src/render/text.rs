//! Text diagram languages: Mermaid `erDiagram`, Graphviz DOT, PlantUML and
//! DBML, each with every table, its columns and indicators, and every
//! relation with the columns it joins.

use std::fmt::Write as _;

use crate::layout::Layout;
use crate::model::{Column, Model, Relation, Table};

/// An identifier made of letters, digits and `_` only (Mermaid and
/// PlantUML aliases), unique per table: `t3_orders`.
fn ident(i: usize, label: &str) -> String {
    let clean: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("t{i}_{clean}")
}

/// A double-quoted Mermaid label: quotes as Mermaid's entity code
/// `#quot;` (it has no backslash escape), `#` as `#35;` so that text is
/// not read as one, line breaks as spaces.
fn label(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Mermaid attribute type: word characters and `()[],-` only.
fn mermaid_type(t: &str) -> String {
    let s: String = t
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_()[]-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "unknown".into() } else { s }
}

fn mermaid_keys(tags: &[String]) -> String {
    let mut k = Vec::new();
    if tags.iter().any(|t| t.starts_with("PK")) {
        k.push("PK");
    }
    if tags.iter().any(|t| t.starts_with("FK→") || t.starts_with("VFK→")) {
        k.push("FK");
    }
    if tags.iter().any(|t| t == "UQ") {
        k.push("UK");
    }
    k.join(",")
}

/// The relation's text: `fk_name: (a, b) → (c, d)`.
fn rel_text(r: &Relation) -> String {
    format!(
        "{}({}) → ({}){}",
        r.name.as_deref().map(|n| format!("{n}: ")).unwrap_or_default(),
        r.from_columns.join(", "),
        r.to_columns.join(", "),
        if r.is_virtual { " virtual" } else { "" }
    )
}

/// The crow's-foot link Mermaid and PlantUML share, referenced side first:
/// one (zero-or-one when the key may be NULL) to many (one for a unique
/// key), dotted for a virtual relation.
fn crow_foot(r: &Relation) -> String {
    format!(
        "{}{}{}",
        if r.optional { "|o" } else { "||" },
        if r.is_virtual { ".." } else { "--" },
        if r.one_to_one { "o|" } else { "o{" }
    )
}

/// The columns of table `i` the layout shows (`--columns`), with their
/// index in the table.
fn shown<'a>(t: &'a Table, layout: &'a Layout, i: usize) -> impl Iterator<Item = (usize, &'a Column)> + 'a {
    layout.boxes[i].rows.iter().map(move |&k| (k, &t.columns[k]))
}

/// One line per relation in the crow's-foot syntax Mermaid and PlantUML
/// share: referenced alias, link, referencing alias, `quote`d label.
fn crow_foot_lines(s: &mut String, model: &Model, indent: &str, quote: fn(&str) -> String) {
    for r in &model.relations {
        let _ = writeln!(
            s,
            "{indent}{} {} {} : {}",
            ident(r.to, &model.tables[r.to].label),
            crow_foot(r),
            ident(r.from, &model.tables[r.from].label),
            quote(&rel_text(r))
        );
    }
}

/// Mermaid `erDiagram`, with the columns the layout shows.
pub fn mermaid(model: &Model, layout: &Layout) -> String {
    let mut s = String::from("erDiagram\n");
    for (i, t) in model.tables.iter().enumerate() {
        let _ = writeln!(s, "    {}[{}] {{", ident(i, &t.label), label(&t.table.to_string()));
        for (_, c) in shown(t, layout, i) {
            let keys = mermaid_keys(&c.tags);
            let _ = writeln!(
                s,
                "        {} {}{}{}",
                mermaid_type(&c.source_type),
                label(&c.name),
                if keys.is_empty() { String::new() } else { format!(" {keys}") },
                {
                    let extra: Vec<&str> = c
                        .tags
                        .iter()
                        .filter(|t| !t.starts_with("PK") && *t != "UQ")
                        .map(String::as_str)
                        .collect();
                    if extra.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", label(&extra.join(" ")))
                    }
                }
            );
        }
        s.push_str("    }\n");
    }
    crow_foot_lines(&mut s, model, "    ", label);
    s
}

/// A DOT double-quoted string.
fn dot_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Graphviz DOT: HTML-like table labels with one port per column shown
/// (`pK` for the K-th column of the table), relations between those ports
/// (or the table when the column is not shown).
pub fn dot(model: &Model, layout: &Layout) -> String {
    use crate::render::svg::xml;
    let mut s = String::from(
        "digraph erd {\n  rankdir=LR;\n  node [shape=plaintext, fontname=\"DejaVu Sans Mono\"];\n  edge [arrowhead=tee, arrowtail=crow, dir=both];\n",
    );
    for (i, t) in model.tables.iter().enumerate() {
        let _ = write!(
            s,
            "  {} [label=<<TABLE BORDER=\"1\" CELLBORDER=\"0\" CELLSPACING=\"0\"><TR><TD BGCOLOR=\"#2f5597\"><FONT COLOR=\"white\"><B>{}</B></FONT></TD></TR>",
            dot_str(&t.table.to_string()),
            xml(&t.label)
        );
        for (k, c) in shown(t, layout, i) {
            let _ = write!(
                s,
                "<TR><TD PORT=\"p{k}\" ALIGN=\"LEFT\">{} <FONT COLOR=\"#6b7385\">{}</FONT> {}</TD></TR>",
                xml(&c.name),
                xml(&c.source_type),
                xml(&c.tags.join(" "))
            );
        }
        s.push_str("</TABLE>>];\n");
    }
    for r in &model.relations {
        let port = |t: usize, c: Option<&String>| {
            c.and_then(|c| model.tables[t].columns.iter().position(|x| &x.name == c))
                .filter(|k| layout.boxes[t].rows.contains(k))
                .map(|k| format!(":p{k}"))
                .unwrap_or_default()
        };
        let _ = writeln!(
            s,
            "  {}{} -> {}{} [label={}{}];",
            dot_str(&model.tables[r.from].table.to_string()),
            port(r.from, r.from_columns.first()),
            dot_str(&model.tables[r.to].table.to_string()),
            port(r.to, r.to_columns.first()),
            dot_str(&rel_text(r)),
            if r.is_virtual { ", style=dashed" } else { "" }
        );
    }
    s.push_str("}\n");
    s
}

/// PlantUML (Information Engineering notation), with the columns the
/// layout shows.
pub fn plantuml(model: &Model, layout: &Layout) -> String {
    let mut s = String::from("@startuml\nhide circle\nskinparam linetype ortho\n");
    for (i, t) in model.tables.iter().enumerate() {
        let _ = writeln!(
            s,
            "entity \"{}\" as {} {{",
            plant_text(&t.table.to_string()).replace('"', "'"),
            ident(i, &t.label)
        );
        let (keys, rest): (Vec<&Column>, Vec<&Column>) = shown(t, layout, i)
            .map(|(_, c)| c)
            .partition(|c| c.tags.iter().any(|t| t.starts_with("PK")));
        for c in &keys {
            let _ = writeln!(s, "  * {} : {} <<{}>>", plant_text(&c.name), plant_text(&c.source_type), c.tags.join(" "));
        }
        if !keys.is_empty() {
            s.push_str("  --\n");
        }
        for c in &rest {
            let tags = if c.tags.is_empty() {
                String::new()
            } else {
                format!(" <<{}>>", plant_text(&c.tags.join(" ")))
            };
            let _ = writeln!(
                s,
                "  {}{} : {}{tags}",
                if c.nullable { "" } else { "* " },
                plant_text(&c.name),
                plant_text(&c.source_type)
            );
        }
        s.push_str("}\n");
    }
    crow_foot_lines(&mut s, model, "", plant_text);
    s.push_str("@enduml\n");
    s
}

/// PlantUML text on one line.
fn plant_text(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// A DBML quoted identifier.
fn dbml_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dbml_table(t: &crate::model::Table) -> String {
    match &t.table.namespace {
        Some(ns) => format!("{}.{}", dbml_id(ns), dbml_id(&t.table.name)),
        None => dbml_id(&t.table.name),
    }
}

/// A DBML single-quoted string.
fn dbml_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'").replace('\n', "\\n"))
}

/// DBML (dbdiagram.io): tables with column settings, then one `Ref` per
/// relation (composite keys as column lists). Every column whatever
/// `--columns` says: DBML is a schema definition, not a picture.
pub fn dbml(model: &Model) -> String {
    let mut s = String::new();
    for t in &model.tables {
        let _ = writeln!(s, "Table {} {{", dbml_table(t));
        for c in &t.columns {
            let mut settings = Vec::new();
            if c.tags.iter().any(|t| t == "PK") && t.columns.iter().filter(|c| c.tags.iter().any(|t| t.starts_with("PK"))).count() == 1 {
                settings.push("pk".to_string());
            }
            if c.tags.iter().any(|t| t == "UQ") {
                settings.push("unique".into());
            }
            if !c.nullable {
                settings.push("not null".into());
            }
            if let Some(d) = &c.default {
                settings.push(format!("default: `{}`", d.replace('`', "'")));
            }
            if let Some(n) = &c.comment {
                settings.push(format!("note: {}", dbml_str(n)));
            }
            let _ = writeln!(
                s,
                "  {} {}{}",
                dbml_id(&c.name),
                dbml_id(&c.source_type),
                if settings.is_empty() { String::new() } else { format!(" [{}]", settings.join(", ")) }
            );
        }
        let pk: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| c.tags.iter().any(|t| t.starts_with("PK")))
            .map(|c| c.name.as_str())
            .collect();
        if pk.len() > 1 {
            let cols: Vec<String> = pk.iter().map(|c| dbml_id(c)).collect();
            let _ = writeln!(s, "  indexes {{\n    ({}) [pk]\n  }}", cols.join(", "));
        }
        if let Some(n) = &t.comment {
            let _ = writeln!(s, "  Note: {}", dbml_str(n));
        }
        s.push_str("}\n\n");
    }
    for r in &model.relations {
        let cols = |c: &[String]| {
            if c.len() == 1 {
                dbml_id(&c[0])
            } else {
                format!("({})", c.iter().map(|c| dbml_id(c)).collect::<Vec<_>>().join(", "))
            }
        };
        let _ = writeln!(
            s,
            "Ref{}: {}.{} {} {}.{}{}",
            r.name.as_deref().map(|n| format!(" {}", dbml_id(n))).unwrap_or_default(),
            dbml_table(&model.tables[r.from]),
            cols(&r.from_columns),
            if r.one_to_one { "-" } else { ">" },
            dbml_table(&model.tables[r.to]),
            cols(&r.to_columns),
            format_args!(" [delete: {}]", r.on_delete.as_sql().to_lowercase()),
        );
    }
    s
}
