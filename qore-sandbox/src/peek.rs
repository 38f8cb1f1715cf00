//! Peek: the row a foreign key (real or virtual) points to, without leaving
//! the table, and the queries that open the related rows in either
//! direction.

use qore_core::relations::{self, Relation, Relations};
use qore_core::{
    Connection, Dialect, Error, Result, SendableRecordBatchStream, TableRef, TableKind, Value,
};

use crate::table::sql_dialect;

/// Which way a peek follows a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the referencing row to the row it refers to.
    Referenced,
    /// From a referenced row to the rows that refer to it.
    Referencing,
}

/// A query over the related table, filtered to the related rows: what a
/// GUI's "open related table" runs and pages through.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatedQuery {
    /// The related table.
    pub table: TableRef,
    /// The statement (placeholders for `params`).
    pub sql: String,
    /// Its bound values.
    pub params: Vec<Value>,
}

/// What a peek found.
#[derive(Debug)]
pub struct Peek {
    /// The relation it followed.
    pub relation: Relation,
    /// The related rows, at most the limit asked for.
    pub rows: SendableRecordBatchStream,
    /// The same rows without the limit, to open as a table.
    pub related: RelatedQuery,
}

/// The relations that start at `table` and use `column`, real ones first.
///
/// # Error handling
///
/// [`Error::NotFound`] when the table has no such relation, naming the
/// columns that have one.
pub async fn relation_of(
    conn: &dyn Connection,
    virtuals: &Relations,
    table: &TableRef,
    column: &str,
) -> Result<Relation> {
    let catalog = crate::table::catalog_of(conn)?;
    let mut details = catalog.table(table).await?;
    virtuals.merge_into(&mut details);
    let all = relations::outgoing(&details);
    all.iter()
        .find(|r| r.uses(column) && !r.is_virtual)
        .or_else(|| all.iter().find(|r| r.uses(column)))
        .cloned()
        .ok_or_else(|| {
            let with: Vec<String> = all.iter().flat_map(|r| r.from_columns.clone()).collect();
            Error::NotFound(format!(
                "{}.{column} refers to no other table{}",
                details.info.table,
                if with.is_empty() {
                    " (the table has no foreign key and no virtual relation)".to_string()
                } else {
                    format!(" (columns that do: {})", with.join(", "))
                }
            ))
        })
}

/// The relations that end at `table`: real foreign keys of the tables of
/// its namespace, and virtual relations.
///
/// # Error handling
///
/// Catalog errors as they come.
pub async fn referencing_relations(
    conn: &dyn Connection,
    virtuals: &Relations,
    table: &TableRef,
) -> Result<Vec<Relation>> {
    let catalog = crate::table::catalog_of(conn)?;
    let target = catalog.table(table).await?.info.table;
    let mut out = Vec::new();
    for t in catalog.tables(target.namespace.as_deref()).await? {
        if !matches!(t.kind, TableKind::Table | TableKind::PartitionedTable) {
            continue;
        }
        let details = catalog.table(&t.table).await?;
        out.extend(
            relations::outgoing(&details)
                .into_iter()
                .filter(|r| relations::same_table(&r.to, &target)),
        );
    }
    out.extend(virtuals.into_table(&target));
    Ok(out)
}

/// Follows `relation` from the row of `key` (cells of the starting table)
/// and streams the related rows, at most `limit`: one statement, whatever
/// the number of key columns.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an empty key; engine errors as they come.
pub async fn peek(
    conn: &dyn Connection,
    relation: Relation,
    direction: Direction,
    key: &[(String, Value)],
    limit: u64,
) -> Result<Peek> {
    if conn.dialect().is_none()
        && let Some(docs) = conn.documents()
    {
        let (start, pipeline) = lookup_pipeline(&relation, direction, key, Some(limit))?;
        let rows = docs.aggregate(&start.name, &pipeline).await?;
        let (_, open) = lookup_pipeline(&relation, direction, key, None)?;
        let other = match direction {
            Direction::Referenced => relation.to.clone(),
            Direction::Referencing => relation.from.clone(),
        };
        return Ok(Peek {
            related: RelatedQuery {
                table: other,
                sql: serde_json::json!({ "aggregate": start.name, "pipeline": open, "cursor": {} }).to_string(),
                params: Vec::new(),
            },
            relation,
            rows,
        });
    }
    let d = sql_dialect(conn)?;
    let related = related_query(d.as_ref(), &relation, direction, key)?;
    let limited = format!("{} {}", related.sql, d.limit_clause(Some(limit), None));
    let rows = conn.query(limited.trim_end(), &related.params).await?;
    Ok(Peek {
        relation,
        rows,
        related,
    })
}

/// Between collections: an aggregation on the starting collection that
/// matches the document of `key` (values as Extended JSON text) and looks
/// the related documents up, one round trip (`$lookup`, then the related
/// documents as the result).
fn lookup_pipeline(
    relation: &Relation,
    direction: Direction,
    key: &[(String, Value)],
    limit: Option<u64>,
) -> Result<(TableRef, serde_json::Value)> {
    use serde_json::{Map, Value as Json, json};
    if key.is_empty() {
        return Err(Error::invalid("say which document: give a key field and its value"));
    }
    let (start, start_cols, other, other_cols) = match direction {
        Direction::Referenced => (&relation.from, &relation.from_columns, &relation.to, &relation.to_columns),
        Direction::Referencing => (&relation.to, &relation.to_columns, &relation.from, &relation.from_columns),
    };
    let mut matcher = Map::new();
    for (k, v) in key {
        let j = match v {
            Value::Text(t) => crate::documents::typed_json(t),
            Value::Null => Json::Null,
            other => Json::String(other.to_string()),
        };
        matcher.insert(k.clone(), j);
    }
    let lets: Map<String, Json> = start_cols
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("v{i}"), Json::String(format!("${c}"))))
        .collect();
    let eqs: Vec<Json> = other_cols
        .iter()
        .enumerate()
        .map(|(i, c)| json!({ "$eq": [format!("${c}"), format!("$$v{i}")] }))
        .collect();
    let lookup = if start_cols.len() == 1 {
        json!({ "$lookup": { "from": other.name, "localField": start_cols[0], "foreignField": other_cols[0], "as": "qore_related" } })
    } else {
        json!({ "$lookup": { "from": other.name, "let": lets, "pipeline": [{ "$match": { "$expr": { "$and": eqs } } }], "as": "qore_related" } })
    };
    let mut stages = vec![
        json!({ "$match": Json::Object(matcher) }),
        lookup,
        json!({ "$unwind": "$qore_related" }),
        json!({ "$replaceRoot": { "newRoot": "$qore_related" } }),
    ];
    if let Some(n) = limit {
        stages.push(json!({ "$limit": n }));
    }
    Ok((start.clone(), Json::Array(stages)))
}

/// The query of the rows related to the row of `key` through `relation`:
/// `SELECT t.* FROM related t WHERE EXISTS (SELECT 1 FROM start s WHERE
/// <key> AND s.a = t.b ...)`.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an empty key or a name that cannot be
/// quoted.
pub fn related_query(
    d: &dyn Dialect,
    relation: &Relation,
    direction: Direction,
    key: &[(String, Value)],
) -> Result<RelatedQuery> {
    if key.is_empty() {
        return Err(Error::invalid(
            "say which row: give at least one key column and its value",
        ));
    }
    let (start, start_cols, other, other_cols) = match direction {
        Direction::Referenced => (
            &relation.from,
            &relation.from_columns,
            &relation.to,
            &relation.to_columns,
        ),
        Direction::Referencing => (
            &relation.to,
            &relation.to_columns,
            &relation.from,
            &relation.from_columns,
        ),
    };
    let mut conds = Vec::new();
    let mut params = Vec::new();
    for (col, v) in key {
        let q = d.quote_identifier(col)?;
        if v.is_null() {
            conds.push(format!("s.{q} IS NULL"));
        } else {
            params.push(v.clone());
            conds.push(format!("s.{q} = {}", d.placeholder(params.len())));
        }
    }
    for (a, b) in start_cols.iter().zip(other_cols) {
        conds.push(format!(
            "s.{} = t.{}",
            d.quote_identifier(a)?,
            d.quote_identifier(b)?
        ));
    }
    let sql = format!(
        "SELECT t.* FROM {} t WHERE EXISTS (SELECT 1 FROM {} s WHERE {})",
        d.quote_table(other)?,
        d.quote_table(start)?,
        conds.join(" AND ")
    );
    Ok(RelatedQuery {
        table: other.clone(),
        sql,
        params,
    })
}
