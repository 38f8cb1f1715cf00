//! The diagram's model: tables with their columns and indicators, and the
//! relations between them, built from the catalog's [`TableDetails`].

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use qore_core::relations::same_table;
use qore_core::{
    ColumnIndicators, ConstraintKind, FkAction, IndexPart, RowCount, TableDetails, TableKind,
    TableRef, annotate_schema,
};
use serde::Serialize;

/// One column as the diagram shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// The type as the engine spells it.
    pub source_type: String,
    /// Indicator tags (`PK`, `FK→t(c)`, `UQ`, ...), as every renderer shows them.
    pub tags: Vec<String>,
    /// Part of a key: primary, unique, foreign or the target of a relation.
    /// `--columns keys` shows only these.
    pub key: bool,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default expression.
    pub default: Option<String>,
    /// Generation expression.
    pub generated: Option<String>,
    /// Column comment.
    pub comment: Option<String>,
}

/// First rows of a table, as text (`--with-rows N`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Sample {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells; `None` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

/// One table, view or collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// Qualified name.
    #[serde(serialize_with = "as_text")]
    pub table: TableRef,
    /// The name shown: `ns.t` when the diagram spans several namespaces,
    /// else `t`.
    pub label: String,
    /// Table, view, collection, ...
    pub kind: TableKind,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Indexes, one line each (`name (a, b) UNIQUE btree`).
    pub indexes: Vec<String>,
    /// Constraints, one line each.
    pub constraints: Vec<String>,
    /// Row count or estimate.
    pub rows: Option<u64>,
    /// Table comment.
    pub comment: Option<String>,
    /// First rows, when asked for.
    pub sample: Option<Sample>,
    /// The command that opens the table (`qore query --db SOURCE "SELECT * FROM …"`),
    /// when the loader knows the source.
    pub open_query: Option<String>,
}

fn as_text<S: serde::Serializer>(t: &TableRef, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_string())
}

/// A foreign key (or virtual relation) between two tables of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relation {
    /// Constraint or relation name.
    pub name: Option<String>,
    /// Index of the referencing table in [`Model::tables`].
    pub from: usize,
    /// Referencing columns.
    pub from_columns: Vec<String>,
    /// Index of the referenced table.
    pub to: usize,
    /// Referenced columns.
    pub to_columns: Vec<String>,
    /// A user-defined relation, drawn dashed.
    pub is_virtual: bool,
    /// Some referencing column allows NULL (zero-or-one at the target end).
    pub optional: bool,
    /// The referencing columns are unique (one-to-one).
    pub one_to_one: bool,
    /// ON DELETE action.
    pub on_delete: FkAction,
}

/// Tables and relations of a diagram.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Model {
    /// Tables, in catalog order (by namespace, then name).
    pub tables: Vec<Table>,
    /// Relations whose two ends are both in `tables`.
    pub relations: Vec<Relation>,
}

impl Model {
    /// Builds the model of `details` (virtual relations already merged
    /// with [`Relations::merge_into`](qore_core::relations::Relations::merge_into)).
    /// Foreign keys to tables outside `details` keep their column tag but
    /// draw no line.
    pub fn from_details(details: &[TableDetails]) -> Model {
        let mut details: Vec<&TableDetails> = details.iter().collect();
        details.sort_by(|a, b| {
            (a.info.table.namespace.as_deref(), a.info.table.name.as_str())
                .cmp(&(b.info.table.namespace.as_deref(), b.info.table.name.as_str()))
        });
        let several = details
            .iter()
            .filter_map(|d| d.info.table.namespace.as_deref())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1;
        let find = |t: &TableRef| details.iter().position(|d| same_table(&d.info.table, t));
        let mut relations = Vec::new();
        for (i, d) in details.iter().enumerate() {
            for c in &d.constraints {
                let ConstraintKind::ForeignKey(fk) = &c.kind else {
                    continue;
                };
                let Some(to) = find(&fk.target) else { continue };
                let optional = fk
                    .columns
                    .iter()
                    .any(|c| d.column(c).is_none_or(|c| c.nullable));
                relations.push(Relation {
                    name: c.name.clone(),
                    from: i,
                    from_columns: fk.columns.clone(),
                    to,
                    to_columns: fk.target_columns.clone(),
                    is_virtual: fk.is_virtual,
                    optional,
                    one_to_one: unique_over(d, &fk.columns),
                    on_delete: fk.on_delete,
                });
            }
        }
        let mut tables: Vec<Table> = details
            .iter()
            .map(|d| table_of(d, several))
            .collect();
        for r in &relations {
            for c in &r.to_columns {
                if let Some(col) = tables[r.to].columns.iter_mut().find(|x| &x.name == c) {
                    col.key = true;
                }
            }
        }
        Model { tables, relations }
    }

    /// The index of the table named `name` (`t`, `ns.t`, or the label).
    pub fn find(&self, name: &str) -> Option<usize> {
        let parsed = TableRef::parse(name).ok();
        self.tables.iter().position(|t| {
            t.label == name || parsed.as_ref().is_some_and(|p| same_table(&t.table, p))
        })
    }
}

/// Whether some unique constraint or index covers exactly `columns`.
fn unique_over(d: &TableDetails, columns: &[String]) -> bool {
    let same = |cols: Vec<&str>| {
        cols.len() == columns.len() && columns.iter().all(|c| cols.contains(&c.as_str()))
    };
    d.constraints.iter().any(|c| match &c.kind {
        ConstraintKind::PrimaryKey { columns: k } | ConstraintKind::Unique { columns: k } => {
            same(k.iter().map(String::as_str).collect())
        }
        _ => false,
    }) || d.indexes.iter().any(|i| {
        i.unique
            && i.predicate.is_none()
            && i.parts.iter().all(|p| matches!(p, IndexPart::Column(_)))
            && same(
                i.parts
                    .iter()
                    .filter_map(|p| match p {
                        IndexPart::Column(c) => Some(c.as_str()),
                        IndexPart::Expression(_) => None,
                    })
                    .collect(),
            )
    })
}

/// The diagram's view of one table: the columns' indicators are read back
/// from the same Arrow field metadata the grid and the exports show.
fn table_of(d: &TableDetails, qualified: bool) -> Table {
    let schema = Schema::new(
        d.columns
            .iter()
            .map(|c| {
                let dt = if c.arrow_type == DataType::Null {
                    DataType::Utf8
                } else {
                    c.arrow_type.clone()
                };
                Field::new(&c.name, dt, true)
            })
            .collect::<Vec<_>>(),
    );
    let annotated = Arc::new(annotate_schema(&schema, d));
    let columns = d
        .columns
        .iter()
        .zip(annotated.fields())
        .map(|(c, f)| {
            let ind = ColumnIndicators::from_field(f);
            Column {
                key: ind.primary_key.is_some() || ind.unique || ind.foreign_key.is_some(),
                tags: ind.tags(),
                name: c.name.clone(),
                source_type: c.source_type.clone(),
                nullable: c.nullable,
                default: c.default.clone(),
                generated: c.generated.clone(),
                comment: c.comment.clone(),
            }
        })
        .collect();
    let indexes = d
        .indexes
        .iter()
        .map(|i| {
            let parts: Vec<String> = i.parts.iter().map(|p| p.to_string()).collect();
            let mut s = format!("{} ({})", i.name, parts.join(", "));
            if i.primary {
                s.push_str(" PRIMARY");
            } else if i.unique {
                s.push_str(" UNIQUE");
            }
            if let Some(m) = &i.method {
                s.push(' ');
                s.push_str(m);
            }
            if let Some(p) = &i.predicate {
                s.push_str(&format!(" WHERE {p}"));
            }
            s
        })
        .collect();
    let constraints = d
        .constraints
        .iter()
        .map(|c| {
            let what = match &c.kind {
                ConstraintKind::PrimaryKey { columns } => {
                    format!("PRIMARY KEY ({})", columns.join(", "))
                }
                ConstraintKind::Unique { columns } => format!("UNIQUE ({})", columns.join(", ")),
                ConstraintKind::Check { expression, .. } => format!("CHECK ({expression})"),
                ConstraintKind::ForeignKey(fk) => format!(
                    "{}FOREIGN KEY ({}) → {}({}) ON DELETE {}",
                    if fk.is_virtual { "VIRTUAL " } else { "" },
                    fk.columns.join(", "),
                    fk.target,
                    fk.target_columns.join(", "),
                    fk.on_delete.as_sql()
                ),
            };
            match &c.name {
                Some(n) => format!("{n}: {what}"),
                None => what,
            }
        })
        .collect();
    Table {
        label: if qualified {
            d.info.table.to_string()
        } else {
            d.info.table.name.clone()
        },
        table: d.info.table.clone(),
        kind: d.info.kind,
        columns,
        indexes,
        constraints,
        rows: d.info.rows.map(|r| match r {
            RowCount::Exact(n) | RowCount::Estimate(n) => n,
        }),
        comment: d.info.comment.clone(),
        sample: None,
        open_query: None,
    }
}
