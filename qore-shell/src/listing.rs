//! Catalog listings as Arrow, the same columns on every engine, so the
//! shell, `qore ls` and a GUI's tree show the same thing and scripts can
//! read them by position.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use qore_core::glob::glob_match;
use qore_core::{Catalog, Error, Result, RowCount, TableInfo, TableKind};

/// Which namespaces a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    /// Every namespace the catalog lists.
    All,
    /// The one unqualified names resolve in.
    Default,
    /// This one (an error names the known ones when it does not exist).
    One(String),
}

/// What to keep of a listing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these kinds (all when empty).
    pub kinds: Vec<TableKind>,
    /// A glob (`*`, `?`) on the name or qualified name.
    pub pattern: Option<String>,
}

impl Filter {
    fn keeps(&self, t: &TableInfo) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&t.kind))
            && self
                .pattern
                .as_deref()
                .is_none_or(|p| glob_match(p, &t.table.name) || glob_match(p, &t.table.to_string()))
    }
}

/// Tables, views and collections: `namespace, name, kind, rows, exact,
/// comment` (`rows` the count or estimate, `exact` whether it is counted).
///
/// # Error handling
///
/// [`Error::NotFound`] for a namespace that does not exist, naming the
/// known ones; the catalog's error otherwise.
pub async fn relations(catalog: &dyn Catalog, namespaces: &Namespaces, filter: &Filter) -> Result<RecordBatch> {
    let names: Vec<Option<String>> = match namespaces {
        Namespaces::All => catalog.namespaces().await?.into_iter().map(|n| Some(n.name)).collect(),
        Namespaces::Default => vec![None],
        Namespaces::One(n) => vec![Some(n.clone())],
    };
    let (mut ns_col, mut names_col, mut kinds, mut rows, mut exact, mut comments) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for ns in &names {
        let tables = catalog
            .tables(ns.as_deref())
            .await
            .map_err(|e| e.context(format!("cannot list namespace `{}`", ns.as_deref().unwrap_or("(default)"))))?;
        // An empty listing of a namespace that does not exist is a typo,
        // not an empty schema.
        if let (true, Namespaces::One(n)) = (tables.is_empty(), namespaces) {
            let known: Vec<String> = catalog.namespaces().await?.into_iter().map(|n| n.name).collect();
            if !known.iter().any(|k| k == n) {
                return Err(Error::NotFound(format!("namespace `{n}` (known: {})", known.join(", "))));
            }
        }
        for t in tables.into_iter().filter(|t| filter.keeps(t)) {
            ns_col.push(t.table.namespace.clone().or_else(|| ns.clone()).unwrap_or_default());
            names_col.push(t.table.name.clone());
            kinds.push(t.kind.label());
            let (n, e) = match t.rows {
                Some(RowCount::Exact(n)) => (Some(n as i64), Some(true)),
                Some(RowCount::Estimate(n)) => (Some(n as i64), Some(false)),
                None => (None, None),
            };
            rows.push(n);
            exact.push(e);
            comments.push(t.comment.clone());
        }
    }
    batch(
        vec![
            Field::new("namespace", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("rows", DataType::Int64, true),
            Field::new("exact", DataType::Boolean, true),
            Field::new("comment", DataType::Utf8, true),
        ],
        vec![
            Arc::new(StringArray::from(ns_col)),
            Arc::new(StringArray::from(names_col)),
            Arc::new(StringArray::from(kinds)),
            Arc::new(Int64Array::from(rows)),
            Arc::new(BooleanArray::from(exact)),
            Arc::new(StringArray::from(comments)),
        ],
    )
}

/// Indexes of the default namespace: `table, name, columns, unique,
/// primary, method`, from the bulk catalog (a constant number of queries on
/// server engines).
pub async fn indexes(catalog: &dyn Catalog, pattern: Option<&str>) -> Result<RecordBatch> {
    let (mut tables, mut names, mut cols, mut unique, mut primary, mut method) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for t in catalog.structure(None).await? {
        for ix in &t.indexes {
            let keep = pattern.is_none_or(|p| glob_match(p, &ix.name) || glob_match(p, &t.info.table.name));
            if !keep {
                continue;
            }
            tables.push(t.info.table.to_string());
            names.push(ix.name.clone());
            cols.push(ix.parts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
            unique.push(ix.unique);
            primary.push(ix.primary);
            method.push(ix.method.clone());
        }
    }
    batch(
        vec![
            Field::new("table", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("columns", DataType::Utf8, false),
            Field::new("unique", DataType::Boolean, false),
            Field::new("primary", DataType::Boolean, false),
            Field::new("method", DataType::Utf8, true),
        ],
        vec![
            Arc::new(StringArray::from(tables)),
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(cols)),
            Arc::new(BooleanArray::from(unique)),
            Arc::new(BooleanArray::from(primary)),
            Arc::new(StringArray::from(method)),
        ],
    )
}

/// Namespaces (or, with `databases`, databases): `name, current`.
pub async fn namespaces(catalog: &dyn Catalog, databases: bool) -> Result<RecordBatch> {
    let list = if databases { catalog.databases().await? } else { catalog.namespaces().await? };
    batch(
        vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("current", DataType::Boolean, false),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(list.iter().map(|n| n.name.as_str()))),
            Arc::new(BooleanArray::from(list.iter().map(|n| n.is_default).collect::<Vec<_>>())),
        ],
    )
}

fn batch(fields: Vec<Field>, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::Internal(format!("listing: {e}")))
}
