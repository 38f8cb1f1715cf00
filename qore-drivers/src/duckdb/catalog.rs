//! The DuckDB catalog, from its `duckdb_*()` table functions.

use async_trait::async_trait;
use qore_core::{
    Catalog, ColumnInfo, Constraint, ConstraintKind, Dialect, Error, FkAction, ForeignKey,
    IndexInfo, IndexPart, Namespace, Result, RowCount, TableDetails, TableInfo, TableKind,
    TableRef,
};

use super::connection::{DUCKDB_DIALECT, DuckDbConnection, map_err};
use crate::ddl::{parse_create_index, parse_create_table};

#[async_trait]
impl Catalog for DuckDbConnection {
    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        self.worker
            .run(|c| {
                let mut stmt = c
                    .prepare(
                        "SELECT schema_name, schema_name = current_schema() FROM duckdb_schemas() \
                         WHERE database_name = current_database() \
                         ORDER BY schema_name",
                    )
                    .map_err(map_err)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok(Namespace {
                            name: r.get(0)?,
                            is_default: r.get(1)?,
                        })
                    })
                    .map_err(map_err)?;
                rows.collect::<duckdb::Result<Vec<_>>>().map_err(map_err)
            })
            .await
    }

    async fn tables(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        let ns = namespace.map(str::to_string);
        self.worker
            .run(move |c| list_tables(c, ns.as_deref(), Rows::Count))
            .await
    }

    async fn table(&self, table: &TableRef) -> Result<TableDetails> {
        let table = table.clone();
        self.worker.run(move |c| describe(c, &table, Rows::Count)).await
    }

    async fn tables_estimated(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        let ns = namespace.map(str::to_string);
        self.worker
            .run(move |c| list_tables(c, ns.as_deref(), Rows::Storage))
            .await
    }

    async fn table_estimated(&self, table: &TableRef) -> Result<TableDetails> {
        let table = table.clone();
        self.worker.run(move |c| describe(c, &table, Rows::Storage)).await
    }

    async fn structure_estimated(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        let ns = namespace.map(str::to_string);
        self.worker
            .run(move |c| {
                let ns = match ns {
                    Some(n) => n,
                    None => current_schema(c)?,
                };
                describe_many(c, &ns, None, Rows::Storage)
            })
            .await
    }

    async fn structure(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        let ns = namespace.map(str::to_string);
        self.worker
            .run(move |c| {
                let ns = match ns {
                    Some(n) => n,
                    None => current_schema(c)?,
                };
                describe_many(c, &ns, None, Rows::Count)
            })
            .await
    }

    fn bulk_structure(&self) -> bool {
        true
    }
}

fn current_schema(c: &duckdb::Connection) -> Result<String> {
    c.query_row("SELECT current_schema()", [], |r| r.get(0))
        .map_err(map_err)
}

/// Where a table's row figure comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// `count(*)`: exact, one statement per table.
    Count,
    /// `duckdb_tables().estimated_size`: the storage's figure, no statement
    /// per table.
    Storage,
}

fn list_tables(c: &duckdb::Connection, ns: Option<&str>, how: Rows) -> Result<Vec<TableInfo>> {
    let ns = match ns {
        Some(n) => n.to_string(),
        None => current_schema(c)?,
    };
    let mut stmt = c
        .prepare(
            "SELECT table_name, 'table', comment, estimated_size FROM duckdb_tables() \
               WHERE database_name = current_database() AND schema_name = ?1 AND NOT internal \
             UNION ALL \
             SELECT view_name, 'view', comment, NULL FROM duckdb_views() \
               WHERE database_name = current_database() AND schema_name = ?1 AND NOT internal \
             ORDER BY 1",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map([&ns], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .map_err(map_err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for (name, kind, comment, estimate) in rows {
        let table = TableRef::qualified(&ns, &name);
        let kind = if kind == "view" {
            TableKind::View
        } else {
            TableKind::Table
        };
        // count(*) on a DuckDB table reads row-group metadata: exact and cheap.
        let rows = match (kind, how) {
            (TableKind::Table, Rows::Count) => Some(RowCount::Exact(count(c, &table)?)),
            (TableKind::Table, Rows::Storage) => estimate.map(|n| RowCount::Estimate(n.max(0) as u64)),
            _ => None,
        };
        out.push(TableInfo {
            table,
            kind,
            rows,
            comment: comment.filter(|c| !c.is_empty()),
            partition_of: None,
        });
    }
    Ok(out)
}

fn count(c: &duckdb::Connection, t: &TableRef) -> Result<u64> {
    let q = format!("SELECT count(*) FROM {}", DUCKDB_DIALECT.quote_table(t)?);
    Ok(c.query_row(&q, [], |r| r.get::<_, i64>(0))
        .map_err(map_err)?
        .max(0) as u64)
}

fn json_list(s: Option<String>) -> Vec<String> {
    s.and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok())
        .unwrap_or_default()
}

fn describe(c: &duckdb::Connection, t: &TableRef, how: Rows) -> Result<TableDetails> {
    let ns = match &t.namespace {
        Some(n) => n.clone(),
        None => current_schema(c)?,
    };
    describe_many(c, &ns, Some(&t.name), how)?.pop().ok_or_else(|| {
        Error::NotFound(format!("no table or view named `{t}` in DuckDB schema `{ns}`"))
    })
}

type ConstraintRow = (String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
type ColumnRow = (String, String, bool, Option<String>, Option<String>);
type IndexRow = (String, bool, bool, Option<String>);

/// Rows of a catalog query, by table name.
fn grouped<T>(
    c: &duckdb::Connection,
    sql: &str,
    ns: &str,
    only: Option<&str>,
    row: impl Fn(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<std::collections::HashMap<String, Vec<T>>> {
    let mut stmt = c.prepare(sql).map_err(map_err)?;
    let rows = stmt
        .query_map(duckdb::params![ns, only], |r| Ok((r.get::<_, String>(0)?, row(r)?)))
        .map_err(map_err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut out: std::collections::HashMap<String, Vec<T>> = std::collections::HashMap::new();
    for (table, r) in rows {
        out.entry(table).or_default().push(r);
    }
    Ok(out)
}

/// The details of every table and view of `ns` (or only the one named):
/// one query per catalog function whatever the table count, since each
/// `duckdb_*()` call reads the whole catalog.
fn describe_many(c: &duckdb::Connection, ns: &str, only: Option<&str>, how: Rows) -> Result<Vec<TableDetails>> {
    let mut stmt = c
        .prepare(
            "SELECT table_name, 'table', sql, comment, estimated_size FROM duckdb_tables() \
               WHERE database_name = current_database() AND schema_name = ?1 AND (?2 IS NULL OR table_name = ?2) AND NOT internal \
             UNION ALL \
             SELECT view_name, 'view', sql, comment, NULL FROM duckdb_views() \
               WHERE database_name = current_database() AND schema_name = ?1 AND (?2 IS NULL OR view_name = ?2) AND NOT internal \
             ORDER BY 1",
        )
        .map_err(map_err)?;
    let found = stmt
        .query_map(duckdb::params![ns, only], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .map_err(map_err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut constraints = grouped(
        c,
        "SELECT table_name, constraint_type, constraint_name, expression, to_json(constraint_column_names)::VARCHAR, \
                referenced_table, to_json(referenced_column_names)::VARCHAR, constraint_text \
         FROM duckdb_constraints() \
         WHERE database_name = current_database() AND schema_name = ?1 AND (?2 IS NULL OR table_name = ?2) \
         ORDER BY table_name, constraint_index",
        ns,
        only,
        |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)),
    )?;
    let mut columns = grouped(
        c,
        "SELECT table_name, column_name, data_type, is_nullable, column_default, comment FROM duckdb_columns() \
         WHERE database_name = current_database() AND schema_name = ?1 AND (?2 IS NULL OR table_name = ?2) \
         ORDER BY table_name, column_index",
        ns,
        only,
        |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
    )?;
    let mut indexes = grouped(
        c,
        "SELECT table_name, index_name, is_unique, is_primary, sql FROM duckdb_indexes() \
         WHERE database_name = current_database() AND schema_name = ?1 AND (?2 IS NULL OR table_name = ?2) \
         ORDER BY table_name, index_name",
        ns,
        only,
        |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let mut out = Vec::with_capacity(found.len());
    for (name, kind, sql, comment, estimate) in found {
        let mut d = build(
            ns,
            &name,
            &kind,
            sql,
            comment,
            constraints.remove(&name).unwrap_or_default(),
            columns.remove(&name).unwrap_or_default(),
            indexes.remove(&name).unwrap_or_default(),
        )?;
        if d.info.kind == TableKind::Table {
            d.info.rows = Some(match how {
                Rows::Count => RowCount::Exact(count(c, &d.info.table)?),
                Rows::Storage => RowCount::Estimate(estimate.unwrap_or(0).max(0) as u64),
            });
        }
        out.push(d);
    }
    Ok(out)
}

/// One table's details from its catalog rows.
#[allow(clippy::too_many_arguments)]
fn build(
    ns: &str,
    name: &str,
    kind: &str,
    sql: Option<String>,
    comment: Option<String>,
    constraint_rows: Vec<ConstraintRow>,
    column_rows: Vec<ColumnRow>,
    index_rows: Vec<IndexRow>,
) -> Result<TableDetails> {
    let ns = ns.to_string();
    let kind = if kind == "view" {
        TableKind::View
    } else {
        TableKind::Table
    };
    let sql = sql.unwrap_or_default();
    let table = TableRef::qualified(&ns, name);

    let mut constraints = Vec::new();
    let mut pk: Vec<String> = Vec::new();
    let rows = constraint_rows;
    let ddl = parse_create_table(&sql);
    for (ty, name, expr, cols, ref_table, ref_cols, text) in rows {
        let columns = json_list(cols);
        let kind = match ty.as_str() {
            "PRIMARY KEY" => {
                pk = columns.clone();
                ConstraintKind::PrimaryKey { columns }
            }
            "UNIQUE" => ConstraintKind::Unique { columns },
            "CHECK" => {
                let expression =
                    crate::ddl::strip_outer_parens(&expr.unwrap_or_default()).to_string();
                let column = ddl
                    .checks
                    .iter()
                    .find(|(_, e, _)| e.eq_ignore_ascii_case(&expression))
                    .and_then(|(_, _, c)| c.clone());
                ConstraintKind::Check { expression, column }
            }
            "FOREIGN KEY" => {
                let text = text.unwrap_or_default().to_ascii_uppercase();
                let action = |kw: &str| {
                    text.split_once(kw)
                        .map(|(_, rest)| rest.trim_start())
                        .and_then(|rest| {
                            [
                                "SET DEFAULT",
                                "SET NULL",
                                "NO ACTION",
                                "RESTRICT",
                                "CASCADE",
                            ]
                            .into_iter()
                            .find(|a| rest.starts_with(a))
                        })
                        .and_then(FkAction::parse)
                        .unwrap_or(FkAction::NoAction)
                };
                ConstraintKind::ForeignKey(ForeignKey {
                    columns,
                    target: TableRef::qualified(&ns, ref_table.unwrap_or_default()),
                    target_columns: json_list(ref_cols),
                    on_delete: action("ON DELETE"),
                    on_update: action("ON UPDATE"),
                    deferrable: false,
                    is_virtual: false,
                })
            }
            _ => continue, // NOT NULL is a column property here
        };
        // DuckDB names constraints after their table and columns; keep names only when given.
        let name = name.filter(|n| {
            sql.to_ascii_lowercase()
                .contains(&format!("constraint {}", n.to_ascii_lowercase()))
        });
        constraints.push(Constraint { name, kind });
    }

    constraints.sort_by_key(|c| match c.kind {
        ConstraintKind::PrimaryKey { .. } => 0,
        ConstraintKind::Unique { .. } => 1,
        ConstraintKind::Check { .. } => 2,
        ConstraintKind::ForeignKey(_) => 3,
    });
    let cols = column_rows;
    let columns = cols
        .into_iter()
        .enumerate()
        .map(|(i, (name, ty, nullable, default, comment))| ColumnInfo {
            ordinal: i + 1,
            arrow_type: arrow::datatypes::DataType::Null,
            nullable,
            generated: ddl.generated.get(&name.to_lowercase()).cloned(),
            default: if ddl.generated.contains_key(&name.to_lowercase()) {
                None
            } else {
                default
            },
            primary_key: pk.iter().position(|p| *p == name).map(|p| p + 1),
            source_type: ty,
            comment: comment.filter(|c| !c.is_empty()),
            name,
        })
        .collect();

    let indexes = index_rows
        .into_iter()
        .map(|(name, unique, primary, sql)| {
            let (parts, predicate) = sql.as_deref().map(parse_create_index).unwrap_or_default();
            let parts = parts
                .into_iter()
                .map(|p| {
                    let toks = qore_core::sql::tokenize(&p);
                    match toks.as_slice() {
                        [one] if one.ident().is_some() => IndexPart::Column(one.text.clone()),
                        _ => IndexPart::Expression(p),
                    }
                })
                .collect();
            IndexInfo {
                name,
                parts,
                unique,
                primary,
                method: Some("art".into()),
                predicate,
                definition: sql,
                size_bytes: None,
            }
        })
        .collect();

    Ok(TableDetails {
        info: TableInfo {
            table,
            kind,
            // Filled in by the caller, by count or from storage.
            rows: None,
            comment: comment.filter(|c| !c.is_empty()),
            partition_of: None,
        },
        columns,
        indexes,
        constraints,
        view_definition: (kind == TableKind::View).then_some(sql),
        triggers: Vec::new(),
    })
}
