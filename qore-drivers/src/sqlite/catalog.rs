//! The SQLite catalog: `sqlite_schema`, the table-valued pragmas, and the
//! table's own `CREATE` text for what no pragma reports (CHECK expressions,
//! generated expressions, expression index parts, partial predicates).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use qore_core::{
    Catalog, ColumnInfo, Constraint, ConstraintKind, Dialect, Error, FkAction, ForeignKey,
    IndexInfo, IndexPart, Namespace, Result, RowCount, TableDetails, TableInfo, TableKind,
    TableRef,
};

use super::connection::{SQLITE_DIALECT, SqliteConnection, map_err};
use super::types::arrow_type_for_decl;
use crate::ddl::{TableDdl, parse_create_index, parse_create_table};

#[async_trait]
impl Catalog for SqliteConnection {
    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        self.worker
            .run(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT name FROM pragma_database_list ORDER BY seq")
                    .map_err(map_err)?;
                let names = stmt
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(map_err)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(map_err)?;
                Ok(names
                    .into_iter()
                    .map(|name| Namespace {
                        is_default: name == "main",
                        name,
                    })
                    .collect())
            })
            .await
    }

    async fn tables(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        let ns = namespace.unwrap_or("main").to_string();
        self.worker.run(move |c| list_tables(c, &ns, Rows::Count)).await
    }

    async fn table(&self, table: &TableRef) -> Result<TableDetails> {
        let table = table.clone();
        self.worker.run(move |c| describe_one(c, &table, Rows::Count)).await
    }

    async fn tables_estimated(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        let ns = namespace.unwrap_or("main").to_string();
        self.worker.run(move |c| list_tables(c, &ns, Rows::Statistics)).await
    }

    async fn table_estimated(&self, table: &TableRef) -> Result<TableDetails> {
        let table = table.clone();
        self.worker.run(move |c| describe_one(c, &table, Rows::Statistics)).await
    }

    /// One pass on the session's thread: `sqlite_schema` has no index, so
    /// reading it once (not once per table) keeps a 7,000-table file fast.
    fn bulk_structure(&self) -> bool {
        true
    }

    async fn structure(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        let ns = namespace.unwrap_or("main").to_string();
        self.worker.run(move |c| describe_all(c, &ns, Rows::Count)).await
    }

    async fn structure_estimated(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        let ns = namespace.unwrap_or("main").to_string();
        self.worker.run(move |c| describe_all(c, &ns, Rows::Statistics)).await
    }
}

fn schema_table(ns: &str) -> Result<String> {
    Ok(format!(
        "{}.sqlite_schema",
        SQLITE_DIALECT.quote_identifier(ns)?
    ))
}

/// Where a table's row figure comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// ANALYZE's estimate in `describe`, an exact `count(*)` otherwise.
    Count,
    /// ANALYZE's estimate only: nothing reads the table.
    Statistics,
}

/// What the catalog reads from `sqlite_schema` and `sqlite_stat1`: for a
/// whole namespace in one scan each, or for one table.
#[derive(Default)]
struct SchemaRows {
    /// Tables and views by name: (type, CREATE text), in name order.
    objects: BTreeMap<String, (String, Option<String>)>,
    /// Each index's CREATE text (NULL for automatic indexes).
    index_sql: HashMap<String, Option<String>>,
    /// Trigger names by table, in name order.
    triggers: HashMap<String, Vec<String>>,
    /// ANALYZE's row counts by table; `None` without `sqlite_stat1`.
    stat1: Option<HashMap<String, u64>>,
}

impl SchemaRows {
    /// Every object of `ns` (`only`: those of one table).
    fn read(c: &rusqlite::Connection, ns: &str, only: Option<&str>) -> Result<Self> {
        let mut out = SchemaRows::default();
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT type, name, tbl_name, sql FROM {} WHERE ?1 IS NULL OR name = ?1 OR tbl_name = ?1 ORDER BY name",
                schema_table(ns)?
            ))
            .map_err(map_err)?;
        let rows = stmt
            .query_map([only], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?)))
            .map_err(map_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(map_err)?;
        let mut has_stat1 = false;
        for (ty, name, table, sql) in rows {
            match ty.as_str() {
                "table" | "view" if name == "sqlite_stat1" => has_stat1 = true,
                "table" | "view" if !name.to_ascii_lowercase().starts_with("sqlite_") && only.is_none_or(|o| o == name) => {
                    out.objects.insert(name, (ty, sql));
                }
                "index" => {
                    out.index_sql.insert(name, sql);
                }
                "trigger" => out.triggers.entry(table).or_default().push(name),
                _ => {}
            }
        }
        if only.is_some() {
            has_stat1 = c
                .prepare_cached(&format!("SELECT count(*) > 0 FROM {} WHERE name = 'sqlite_stat1'", schema_table(ns)?))
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(map_err)?;
        }
        if has_stat1 {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT tbl, stat FROM {}.sqlite_stat1 WHERE ?1 IS NULL OR tbl = ?1",
                    SQLITE_DIALECT.quote_identifier(ns)?
                ))
                .map_err(map_err)?;
            let stats = stmt
                .query_map([only], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?;
            let mut by_table: HashMap<String, u64> = HashMap::new();
            for (tbl, stat) in stats {
                // Each row's stat starts with the table's row count at ANALYZE time.
                if let Some(n) = stat.as_deref().and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok()) {
                    let e = by_table.entry(tbl).or_insert(n);
                    *e = (*e).max(n);
                }
            }
            out.stat1 = Some(by_table);
        }
        Ok(out)
    }

    /// ANALYZE's row count of `table`, if it was analyzed.
    fn estimate(&self, table: &str) -> Option<u64> {
        self.stat1.as_ref()?.get(table).copied()
    }
}

fn list_tables(c: &rusqlite::Connection, ns: &str, how: Rows) -> Result<Vec<TableInfo>> {
    let schema = SchemaRows::read(c, ns, None)?;
    let mut out = Vec::with_capacity(schema.objects.len());
    for (name, (ty, _)) in &schema.objects {
        let table = TableRef::qualified(ns, name);
        let kind = if ty == "view" { TableKind::View } else { TableKind::Table };
        let rows = match (kind, how) {
            (TableKind::Table, Rows::Count) => Some(exact_count(c, &table)?),
            (TableKind::Table, Rows::Statistics) => schema.estimate(name).map(RowCount::Estimate),
            _ => None,
        };
        out.push(TableInfo {
            table,
            kind,
            rows,
            comment: None,
            partition_of: None,
        });
    }
    Ok(out)
}

fn exact_count(c: &rusqlite::Connection, table: &TableRef) -> Result<RowCount> {
    let q = format!(
        "SELECT count(*) FROM {}",
        SQLITE_DIALECT.quote_table(table)?
    );
    let n = c
        .query_row(&q, [], |r| r.get::<_, i64>(0))
        .map_err(map_err)?;
    Ok(RowCount::Exact(n.max(0) as u64))
}

fn describe_one(c: &rusqlite::Connection, t: &TableRef, how: Rows) -> Result<TableDetails> {
    let ns = t.namespace.as_deref().unwrap_or("main");
    let schema = SchemaRows::read(c, ns, Some(&t.name))?;
    describe(c, t, how, &schema)
}

/// Every table and view of `ns`, in name order; one that vanished while
/// read is left out.
fn describe_all(c: &rusqlite::Connection, ns: &str, how: Rows) -> Result<Vec<TableDetails>> {
    let schema = SchemaRows::read(c, ns, None)?;
    let mut out = Vec::with_capacity(schema.objects.len());
    for name in schema.objects.keys() {
        match describe(c, &TableRef::qualified(ns, name), how, &schema) {
            Ok(d) => out.push(d),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn describe(c: &rusqlite::Connection, t: &TableRef, how: Rows, schema: &SchemaRows) -> Result<TableDetails> {
    let ns = t.namespace.clone().unwrap_or_else(|| "main".into());
    let Some((ty, create_sql)) = schema.objects.get(&t.name).cloned() else {
        return Err(Error::NotFound(format!(
            "no table or view named `{t}` in SQLite database `{ns}`"
        )));
    };
    let create_sql = create_sql.unwrap_or_default();
    let kind = if ty == "view" {
        TableKind::View
    } else {
        TableKind::Table
    };
    let ddl = if kind == TableKind::Table {
        parse_create_table(&create_sql)
    } else {
        TableDdl::default()
    };

    let mut stmt = c
        .prepare_cached("SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1, ?2) ORDER BY cid")
        .map_err(map_err)?;
    let cols = stmt
        .query_map([&t.name, &ns], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                r.get::<_, i64>(3)? != 0,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut columns = Vec::new();
    for (name, decl, notnull, default, pk, hidden) in cols {
        if hidden == 1 {
            continue; // hidden columns of virtual tables
        }
        let is_pk = pk > 0;
        columns.push(ColumnInfo {
            arrow_type: arrow_type_for_decl(Some(&decl))
                .unwrap_or(arrow::datatypes::DataType::Binary),
            ordinal: columns.len() + 1,
            // A PRIMARY KEY column cannot hold NULL in a rowid alias or WITHOUT ROWID table.
            nullable: !notnull
                && !(is_pk && (decl.eq_ignore_ascii_case("INTEGER") || ddl.without_rowid)),
            generated: if hidden >= 2 {
                ddl.generated.get(&name.to_lowercase()).cloned()
            } else {
                None
            },
            primary_key: is_pk.then_some(pk as usize),
            source_type: decl,
            default,
            comment: None,
            name,
        });
    }

    let mut constraints = Vec::new();
    let mut pk_cols: Vec<(usize, String)> = columns
        .iter()
        .filter_map(|c| c.primary_key.map(|p| (p, c.name.clone())))
        .collect();
    pk_cols.sort();
    if !pk_cols.is_empty() {
        constraints.push(Constraint {
            name: ddl.pk_name.clone(),
            kind: ConstraintKind::PrimaryKey {
                columns: pk_cols.into_iter().map(|(_, n)| n).collect(),
            },
        });
    }

    let indexes = if kind == TableKind::Table {
        read_indexes(c, &ns, &t.name, schema, &mut constraints)?
    } else {
        Vec::new()
    };
    for (name, expression, column) in &ddl.checks {
        constraints.push(Constraint {
            name: name.clone(),
            kind: ConstraintKind::Check {
                expression: expression.clone(),
                column: column.clone(),
            },
        });
    }
    if kind == TableKind::Table {
        read_foreign_keys(c, &ns, &t.name, &ddl, &mut constraints)?;
    }
    let triggers = schema.triggers.get(&t.name).cloned().unwrap_or_default();
    // `table()` runs before every single-table query (to annotate its
    // schema): take ANALYZE's estimate when there is one instead of a full scan.
    let rows = if kind == TableKind::Table {
        let table = TableRef::qualified(&ns, &t.name);
        match (schema.estimate(&t.name), how) {
            (Some(n), _) => Some(RowCount::Estimate(n)),
            (None, Rows::Count) => Some(exact_count(c, &table)?),
            (None, Rows::Statistics) => None,
        }
    } else {
        None
    };
    Ok(TableDetails {
        info: TableInfo {
            table: TableRef::qualified(ns, &t.name),
            kind,
            rows,
            comment: None,
            partition_of: None,
        },
        columns,
        indexes,
        constraints,
        view_definition: (kind == TableKind::View).then_some(create_sql),
        triggers,
    })
}

fn read_indexes(
    c: &rusqlite::Connection,
    ns: &str,
    table: &str,
    schema: &SchemaRows,
    constraints: &mut Vec<Constraint>,
) -> Result<Vec<IndexInfo>> {
    let mut stmt = c
        .prepare_cached("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1, ?2) ORDER BY seq DESC")
        .map_err(map_err)?;
    let list = stmt
        .query_map([table, ns], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? != 0,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)? != 0,
            ))
        })
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut out = Vec::new();
    for (name, unique, origin, partial) in list {
        let mut xs = c
            .prepare_cached(
                "SELECT cid, name FROM pragma_index_xinfo(?1, ?2) WHERE key = 1 ORDER BY seqno",
            )
            .map_err(map_err)?;
        let keys = xs
            .query_map([&name, ns], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(map_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(map_err)?;
        let sql: Option<String> = schema.index_sql.get(&name).cloned().flatten();
        let (texts, predicate) = sql.as_deref().map(parse_create_index).unwrap_or_default();
        let parts = keys
            .iter()
            .enumerate()
            .map(|(i, (cid, col))| match col {
                Some(col) if *cid >= 0 => IndexPart::Column(col.clone()),
                _ => IndexPart::Expression(texts.get(i).cloned().unwrap_or_else(|| "?".into())),
            })
            .collect::<Vec<_>>();
        if origin == "u" {
            let cols = parts.iter().map(ToString::to_string).collect();
            constraints.push(Constraint {
                name: None,
                kind: ConstraintKind::Unique { columns: cols },
            });
        }
        out.push(IndexInfo {
            name,
            parts,
            unique,
            primary: origin == "pk",
            method: Some("btree".into()),
            predicate: if partial { predicate } else { None },
            definition: sql,
            size_bytes: None,
        });
    }
    Ok(out)
}

/// (target table, from columns, to columns, ON UPDATE, ON DELETE) of one foreign key.
type FkParts = (String, Vec<String>, Vec<Option<String>>, String, String);

fn read_foreign_keys(
    c: &rusqlite::Connection,
    ns: &str,
    table: &str,
    ddl: &TableDdl,
    constraints: &mut Vec<Constraint>,
) -> Result<()> {
    let mut stmt = c
        .prepare_cached("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1, ?2) ORDER BY id, seq")
        .map_err(map_err)?;
    let rows = stmt
        .query_map([table, ns], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut by_id: BTreeMap<i64, FkParts> = BTreeMap::new();
    for (id, target, from, to, on_update, on_delete) in rows {
        let e = by_id
            .entry(id)
            .or_insert_with(|| (target, Vec::new(), Vec::new(), on_update, on_delete));
        e.1.push(from);
        e.2.push(to);
    }
    // The pragma numbers foreign keys from the last declared; show them in declaration order.
    for (target, from, to, on_update, on_delete) in by_id.into_values().rev() {
        let target_columns = if to.iter().all(Option::is_some) {
            to.into_iter().flatten().collect()
        } else {
            // REFERENCES t without columns means t's primary key.
            let mut s = c
                .prepare_cached("SELECT name FROM pragma_table_info(?1, ?2) WHERE pk > 0 ORDER BY pk")
                .map_err(map_err)?;
            s.query_map([&target, ns], |r| r.get::<_, String>(0))
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?
        };
        let lower_from: Vec<String> = from.iter().map(|f| f.to_lowercase()).collect();
        let decl = ddl.fks.iter().find(|f| f.columns == lower_from);
        constraints.push(Constraint {
            name: decl.and_then(|d| d.name.clone()),
            kind: ConstraintKind::ForeignKey(ForeignKey {
                columns: from,
                target: TableRef::qualified(ns, target),
                target_columns,
                on_delete: FkAction::parse(&on_delete).unwrap_or(FkAction::NoAction),
                on_update: FkAction::parse(&on_update).unwrap_or(FkAction::NoAction),
                deferrable: decl.is_some_and(|d| d.deferrable),
                is_virtual: false,
            }),
        });
    }
    Ok(())
}
