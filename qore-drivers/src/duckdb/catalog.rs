//! The DuckDB catalog, from its `duckdb_*()` table functions.

use async_trait::async_trait;
use duckdb::OptionalExt;
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
            .run(move |c| list_tables(c, ns.as_deref()))
            .await
    }

    async fn table(&self, table: &TableRef) -> Result<TableDetails> {
        let table = table.clone();
        self.worker.run(move |c| describe(c, &table)).await
    }
}

fn current_schema(c: &duckdb::Connection) -> Result<String> {
    c.query_row("SELECT current_schema()", [], |r| r.get(0))
        .map_err(map_err)
}

fn list_tables(c: &duckdb::Connection, ns: Option<&str>) -> Result<Vec<TableInfo>> {
    let ns = match ns {
        Some(n) => n.to_string(),
        None => current_schema(c)?,
    };
    let mut stmt = c
        .prepare(
            "SELECT table_name, 'table', comment FROM duckdb_tables() \
               WHERE database_name = current_database() AND schema_name = ?1 AND NOT internal \
             UNION ALL \
             SELECT view_name, 'view', comment FROM duckdb_views() \
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
            ))
        })
        .map_err(map_err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for (name, kind, comment) in rows {
        let table = TableRef::qualified(&ns, &name);
        let kind = if kind == "view" {
            TableKind::View
        } else {
            TableKind::Table
        };
        // count(*) on a DuckDB table reads row-group metadata: exact and cheap.
        let rows = if kind == TableKind::Table {
            Some(RowCount::Exact(count(c, &table)?))
        } else {
            None
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

fn describe(c: &duckdb::Connection, t: &TableRef) -> Result<TableDetails> {
    let ns = match &t.namespace {
        Some(n) => n.clone(),
        None => current_schema(c)?,
    };
    let found: Option<(String, Option<String>, Option<String>)> = c
        .query_row(
            "SELECT 'table', sql, comment FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ?1 AND table_name = ?2 \
             UNION ALL \
             SELECT 'view', sql, comment FROM duckdb_views() WHERE database_name = current_database() AND schema_name = ?1 AND view_name = ?2 AND NOT internal",
            [&ns, &t.name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(map_err)?;
    let Some((kind, sql, comment)) = found else {
        return Err(Error::NotFound(format!(
            "no table or view named `{t}` in DuckDB schema `{ns}`"
        )));
    };
    let kind = if kind == "view" {
        TableKind::View
    } else {
        TableKind::Table
    };
    let sql = sql.unwrap_or_default();
    let table = TableRef::qualified(&ns, &t.name);

    let mut constraints = Vec::new();
    let mut pk: Vec<String> = Vec::new();
    let mut stmt = c
        .prepare(
            "SELECT constraint_type, constraint_name, expression, to_json(constraint_column_names)::VARCHAR, \
                    referenced_table, to_json(referenced_column_names)::VARCHAR, constraint_text \
             FROM duckdb_constraints() \
             WHERE database_name = current_database() AND schema_name = ?1 AND table_name = ?2 \
             ORDER BY constraint_index",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map([&ns, &t.name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })
        .map_err(map_err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(map_err)?;
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
    let mut stmt = c
        .prepare(
            "SELECT column_name, data_type, is_nullable, column_default, comment FROM duckdb_columns() \
             WHERE database_name = current_database() AND schema_name = ?1 AND table_name = ?2 ORDER BY column_index",
        )
        .map_err(map_err)?;
    let cols = stmt
        .query_map([&ns, &t.name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(map_err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(map_err)?;
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

    let mut stmt = c
        .prepare(
            "SELECT index_name, is_unique, is_primary, sql FROM duckdb_indexes() \
             WHERE database_name = current_database() AND schema_name = ?1 AND table_name = ?2 ORDER BY index_name",
        )
        .map_err(map_err)?;
    let indexes = stmt
        .query_map([&ns, &t.name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .map_err(map_err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(map_err)?
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

    let rows = if kind == TableKind::Table {
        Some(RowCount::Exact(count(c, &table)?))
    } else {
        None
    };
    Ok(TableDetails {
        info: TableInfo {
            table,
            kind,
            rows,
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
