//! Structure indicators carried in Arrow field metadata.
//!
//! Every renderer (table, HTML, GUI grid) reads the same keys, so a column's
//! primary-key, foreign-key, unique, index and check facts travel with the data.
//!
//! | key | value |
//! |---|---|
//! | [`SOURCE_TYPE`] `qore.source_type` | the type as the engine spells it (`VARCHAR(40)`) |
//! | [`PRIMARY_KEY`] `qore.pk` | 1-based position in the primary key |
//! | [`UNIQUE`] `qore.unique` | `true` when a single-column unique constraint or index covers it |
//! | [`INDEXED`] `qore.indexed` | `true` when it is the first key part of some index |
//! | [`FOREIGN_KEY`] `qore.fk` | the target, `table(column)` or `ns.table(column)` |
//! | [`VIRTUAL_FOREIGN_KEY`] `qore.fk_virtual` | `true` when that target is a user-defined relation |
//! | [`CHECK`] `qore.check` | CHECK expressions that mention the column, joined with ` AND ` |
//! | [`NULLABLE`] `qore.nullable` | `false` for NOT NULL columns, `true` otherwise |
//! | [`GENERATED`] `qore.generated` | the generation expression of a generated column |
//! | [`DEFAULT`] `qore.default` | the default expression (identity and auto-increment included) |
//!
//! The schema-level key [`TABLE`] `qore.table` names the table the result came from.

use std::collections::HashMap;

use arrow::datatypes::{Field, Schema};

use crate::schema::{ConstraintKind, IndexPart, TableDetails};

/// `true` when the [`FOREIGN_KEY`] target is a user-defined (virtual)
/// relation rather than a constraint of the database.
pub const VIRTUAL_FOREIGN_KEY: &str = "qore.fk_virtual";
/// Source type name, as the engine spells it.
pub const SOURCE_TYPE: &str = "qore.source_type";
/// 1-based primary-key position.
pub const PRIMARY_KEY: &str = "qore.pk";
/// `true` when the column alone is unique.
pub const UNIQUE: &str = "qore.unique";
/// `true` when an index starts with the column.
pub const INDEXED: &str = "qore.indexed";
/// Foreign-key target, `table(column)`.
pub const FOREIGN_KEY: &str = "qore.fk";
/// CHECK expressions mentioning the column.
pub const CHECK: &str = "qore.check";
/// `false` for NOT NULL.
pub const NULLABLE: &str = "qore.nullable";
/// Generation expression of a generated column.
pub const GENERATED: &str = "qore.generated";
/// Default expression.
pub const DEFAULT: &str = "qore.default";
/// Schema-level: the source table of the result.
pub const TABLE: &str = "qore.table";
/// Marks a text column whose values are JSON documents (`"true"`): renderers
/// show them structured or pretty-printed.
pub const JSON: &str = "qore.json";

/// The indicators of one column, read back from field metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnIndicators {
    /// Source type name.
    pub source_type: Option<String>,
    /// Primary-key position.
    pub primary_key: Option<usize>,
    /// Single-column unique.
    pub unique: bool,
    /// Leading column of an index.
    pub indexed: bool,
    /// Foreign-key target.
    pub foreign_key: Option<String>,
    /// Whether that target is a user-defined (virtual) relation.
    pub foreign_key_virtual: bool,
    /// CHECK expressions.
    pub check: Option<String>,
    /// `Some(false)` for NOT NULL.
    pub nullable: Option<bool>,
    /// Generation expression.
    pub generated: Option<String>,
    /// Default expression.
    pub default: Option<String>,
}

/// Every indicator tag with what it means, in the order [`ColumnIndicators::tags`]
/// writes them: the legend renderers show.
pub const LEGEND: &[(&str, &str)] = &[
    ("PK", "primary key (PK2: second key column, ...)"),
    ("FK→", "foreign key to table(column)"),
    ("VFK→", "virtual relation (user-defined, not enforced)"),
    ("UQ", "unique"),
    ("IDX", "first column of an index"),
    ("CHK", "CHECK constraint"),
    ("NN", "NOT NULL"),
    ("GEN", "generated column"),
    ("DEF", "has a default"),
];

/// The [`LEGEND`] entries of the tags in `tags` (`FK→t(c)`, `PK2`, ... count
/// as their kind), in legend order: what a renderer lists under a drawing.
pub fn legend_of<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<(&'static str, &'static str)> {
    let used: Vec<&'static str> = tags
        .into_iter()
        .filter_map(|t| LEGEND.iter().find(|(k, _)| explain(t) == explain(k)).map(|(k, _)| *k))
        .collect();
    LEGEND
        .iter()
        .filter(|(k, _)| used.contains(k))
        .copied()
        .collect()
}

/// What an indicator tag means (`FK→t(c)` is explained as `FK→`).
pub fn explain(tag: &str) -> Option<&'static str> {
    let key = if tag.starts_with("VFK→") {
        "VFK→"
    } else if tag.starts_with("FK→") {
        "FK→"
    } else if tag.starts_with("PK") {
        "PK"
    } else {
        tag
    };
    LEGEND.iter().find(|(t, _)| *t == key).map(|(_, m)| *m)
}

impl ColumnIndicators {
    /// Reads the indicators of `field`.
    pub fn from_field(field: &Field) -> Self {
        let m = field.metadata();
        ColumnIndicators {
            source_type: m.get(SOURCE_TYPE).cloned(),
            primary_key: m.get(PRIMARY_KEY).and_then(|p| p.parse().ok()),
            unique: m.get(UNIQUE).is_some_and(|v| v == "true"),
            indexed: m.get(INDEXED).is_some_and(|v| v == "true"),
            foreign_key: m.get(FOREIGN_KEY).cloned(),
            foreign_key_virtual: m.get(VIRTUAL_FOREIGN_KEY).is_some_and(|v| v == "true"),
            check: m.get(CHECK).cloned(),
            nullable: m.get(NULLABLE).and_then(|v| v.parse().ok()),
            generated: m.get(GENERATED).cloned(),
            default: m.get(DEFAULT).cloned(),
        }
    }

    /// Short tags for headers: `PK`, `FK→t(c)` (`VFK→t(c)` for a virtual
    /// relation), `UQ`, `IDX`, `CHK`, `NN`, `GEN`, `DEF` (see [`LEGEND`]).
    pub fn tags(&self) -> Vec<String> {
        let mut t = Vec::new();
        if let Some(p) = self.primary_key {
            t.push(if p == 1 {
                "PK".to_string()
            } else {
                format!("PK{p}")
            });
        }
        if let Some(fk) = &self.foreign_key {
            let v = if self.foreign_key_virtual { "V" } else { "" };
            t.push(format!("{v}FK→{fk}"));
        }
        if self.unique && self.primary_key.is_none() {
            t.push("UQ".into());
        }
        if self.indexed && self.primary_key.is_none() && !self.unique {
            t.push("IDX".into());
        }
        if self.check.is_some() {
            t.push("CHK".into());
        }
        if self.nullable == Some(false) && self.primary_key.is_none() {
            t.push("NN".into());
        }
        if self.generated.is_some() {
            t.push("GEN".into());
        }
        if self.default.is_some() {
            t.push("DEF".into());
        }
        t
    }

    /// Whether any indicator is set.
    pub fn is_empty(&self) -> bool {
        *self == ColumnIndicators::default()
    }
}

/// Whether `expr` mentions `column` as a whole word (quoted or not).
fn mentions(expr: &str, column: &str) -> bool {
    let lower = expr.to_lowercase();
    let col = column.to_lowercase();
    let bytes = lower.as_bytes();
    let mut start = 0;
    while let Some(pos) = lower[start..].find(&col) {
        let i = start + pos;
        let j = i + col.len();
        let before = i == 0 || !is_word(bytes[i - 1]);
        let after = j >= bytes.len() || !is_word(bytes[j]);
        if before && after {
            return true;
        }
        start = i + col.len().max(1);
        if start >= lower.len() {
            break;
        }
        while !lower.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Adds the structure indicators of `table` to the fields of `schema` whose
/// names are columns of that table. Existing metadata is kept; fields that
/// match no column are left alone.
pub fn annotate_schema(schema: &Schema, table: &TableDetails) -> Schema {
    let mut unique_cols = Vec::new();
    let mut checks: Vec<&str> = Vec::new();
    let mut fks: HashMap<&str, (String, bool)> = HashMap::new();
    for c in &table.constraints {
        match &c.kind {
            ConstraintKind::Unique { columns } if columns.len() == 1 => {
                unique_cols.push(columns[0].as_str())
            }
            ConstraintKind::Check { expression, .. } => checks.push(expression),
            ConstraintKind::ForeignKey(fk) => {
                for (col, target_col) in fk.columns.iter().zip(&fk.target_columns) {
                    // A real constraint wins over a virtual relation.
                    if fk.is_virtual && fks.contains_key(col.as_str()) {
                        continue;
                    }
                    fks.insert(
                        col,
                        (format!("{}({target_col})", fk.target), fk.is_virtual),
                    );
                }
            }
            _ => {}
        }
    }
    for idx in &table.indexes {
        if idx.unique
            && idx.predicate.is_none()
            && idx.parts.len() == 1
            && let IndexPart::Column(c) = &idx.parts[0]
        {
            unique_cols.push(c);
        }
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let Some(col) = table.column(f.name()) else {
                return f.as_ref().clone();
            };
            let mut m = f.metadata().clone();
            m.insert(SOURCE_TYPE.to_string(), col.source_type.clone());
            m.insert(NULLABLE.to_string(), col.nullable.to_string());
            if let Some(p) = col.primary_key {
                m.insert(PRIMARY_KEY.to_string(), p.to_string());
            }
            if let Some(g) = &col.generated {
                m.insert(GENERATED.to_string(), g.clone());
            }
            if let Some(d) = &col.default {
                m.insert(DEFAULT.to_string(), d.clone());
            }
            if unique_cols.contains(&col.name.as_str()) {
                m.insert(UNIQUE.to_string(), "true".to_string());
            }
            let indexed = table
                .indexes
                .iter()
                .any(|i| matches!(i.parts.first(), Some(IndexPart::Column(c)) if *c == col.name));
            if indexed {
                m.insert(INDEXED.to_string(), "true".to_string());
            }
            if let Some((fk, is_virtual)) = fks.get(col.name.as_str()) {
                m.insert(FOREIGN_KEY.to_string(), fk.clone());
                if *is_virtual {
                    m.insert(VIRTUAL_FOREIGN_KEY.to_string(), "true".to_string());
                }
            }
            let mine: Vec<&str> = checks
                .iter()
                .copied()
                .filter(|e| mentions(e, &col.name))
                .collect();
            if !mine.is_empty() {
                m.insert(CHECK.to_string(), mine.join(" AND "));
            }
            f.as_ref().clone().with_metadata(m)
        })
        .collect();
    let mut meta = schema.metadata().clone();
    meta.insert(TABLE.to_string(), table.info.table.to_string());
    Schema::new_with_metadata(fields, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_words_only() {
        assert!(mentions("price > 0", "price"));
        assert!(mentions("\"Price\" >= 0", "price"));
        assert!(!mentions("unit_price > 0", "price"));
        assert!(!mentions("pricey > 0", "price"));
        assert!(mentions("é > 0 AND x < 1", "x"));
    }

    #[test]
    fn every_tag_is_explained() {
        let ind = ColumnIndicators {
            primary_key: Some(2),
            foreign_key: Some("t(c)".into()),
            foreign_key_virtual: true,
            unique: true,
            check: Some("c > 0".into()),
            nullable: Some(false),
            generated: Some("a + 1".into()),
            default: Some("0".into()),
            ..Default::default()
        };
        let tags = ind.tags();
        assert_eq!(tags, ["PK2", "VFK→t(c)", "CHK", "GEN", "DEF"]);
        for t in tags {
            assert!(explain(&t).is_some(), "{t}");
        }
        assert_eq!(explain("FK→a(b)"), Some("foreign key to table(column)"));
        assert_eq!(explain("nope"), None);
        let l = legend_of(["NN", "FK→a(b)", "PK", "NN"]);
        assert_eq!(l.iter().map(|x| x.0).collect::<Vec<_>>(), ["PK", "FK→", "NN"]);
    }
}
