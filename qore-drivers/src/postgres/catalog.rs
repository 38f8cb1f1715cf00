//! The PostgreSQL catalog, read from `pg_catalog`.

use std::collections::HashMap;

use async_trait::async_trait;
use qore_core::{
    Catalog, ColumnInfo, Constraint, ConstraintKind, Error, FkAction, ForeignKey, IndexInfo,
    IndexPart, Namespace, Result, RowCount, TableDetails, TableInfo, TableKind, TableRef,
};

use super::connection::PostgresConnection;
use super::decode::Kind;

const TABLE_KINDS: &str = "('r','v','m','p','f')";
/// `schema.table` of the partitioned table a relation `c` is a partition of.
const PARENT: &str = "(SELECT pn.nspname || '.' || pc.relname FROM pg_inherits i \
     JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace \
     WHERE i.inhrelid = c.oid AND c.relispartition)";

fn kind_of_relkind(k: &str) -> TableKind {
    match k {
        "v" => TableKind::View,
        "m" => TableKind::MaterializedView,
        "p" => TableKind::PartitionedTable,
        "f" => TableKind::ForeignTable,
        _ => TableKind::Table,
    }
}

fn rows_of(reltuples: i64) -> Option<RowCount> {
    // -1: never vacuumed or analyzed (PostgreSQL 14+), so no estimate.
    u64::try_from(reltuples).ok().map(RowCount::Estimate)
}

fn fk_action(c: &str) -> FkAction {
    match c {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// The Arrow type a column of this catalog type is read as.
fn arrow_type_of(
    oid: u32,
    typmod: i32,
    typtype: &str,
    elem: u32,
    typname: &str,
) -> arrow::datatypes::DataType {
    let scalar = |oid: u32, typtype: &str, typname: &str| -> Kind {
        if oid == 1700 {
            return Kind::numeric_with_typmod(typmod);
        }
        Kind::from_builtin_oid(oid).unwrap_or(match typtype {
            "e" => Kind::Text,
            _ if typname == "citext" => Kind::Text,
            _ => Kind::Raw,
        })
    };
    if elem != 0 && typname.starts_with('_') {
        let e = match Kind::from_builtin_oid(elem) {
            Some(Kind::Decimal(..)) | None => Kind::Raw,
            Some(k) => k,
        };
        return Kind::Array(Box::new(if elem == 1700 { Kind::NumericText } else { e }))
            .arrow_type();
    }
    scalar(oid, typtype, typname).arrow_type()
}

/// One relation as the catalog lists it: its oid, listing entry and, for
/// views, the definition.
struct Relation {
    oid: i64,
    info: TableInfo,
    view_definition: Option<String>,
}

type RelationRow = (
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// What one relation's details are built from, gathered per oid by the
/// bulk queries.
#[derive(Default)]
struct Parts {
    columns: Vec<ColumnInfo>,
    indexes: Vec<IndexInfo>,
    constraints: Vec<Constraint>,
    triggers: Vec<String>,
}

impl PostgresConnection {
    /// The relations of a namespace (the current schema when `None`), or
    /// with `name`, the one relation of that name (in `namespace`, else the
    /// one the search path finds).
    async fn relations(&self, namespace: Option<&str>, name: Option<&str>) -> Result<Vec<Relation>> {
        let rows: Vec<RelationRow> = self
            .fetch_all(
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text, c.reltuples::int8, \
                            obj_description(c.oid, 'pg_class'), {PARENT}, \
                            CASE WHEN c.relkind IN ('v','m') THEN pg_get_viewdef(c.oid, true) END \
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                      WHERE c.relkind IN {TABLE_KINDS} \
                        AND CASE WHEN $2::text IS NULL THEN n.nspname = coalesce($1, current_schema()) \
                                 ELSE c.relname = $2 AND (n.nspname = $1 OR ($1 IS NULL AND pg_table_is_visible(c.oid))) END \
                      ORDER BY 3"
                )))
                .bind(namespace)
                .bind(name),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(oid, ns, name, kind, tuples, comment, parent, view)| Relation {
                oid,
                info: table_info(ns, name, &kind, tuples, comment, parent),
                view_definition: view,
            })
            .collect())
    }

    /// The details of `relations`, in four catalog queries whatever their
    /// number.
    async fn details(&self, relations: Vec<Relation>) -> Result<Vec<TableDetails>> {
        let oids: Vec<i64> = relations.iter().map(|r| r.oid).collect();
        let mut parts: HashMap<i64, Parts> = HashMap::new();
        self.columns_of(&oids, &mut parts).await?;
        self.indexes_of(&oids, &mut parts).await?;
        self.constraints_of(&oids, &mut parts).await?;
        let triggers: Vec<(i64, String)> = self
            .fetch_all(
                sqlx::query_as(
                    "SELECT tgrelid::int8, tgname::text FROM pg_trigger \
                      WHERE tgrelid = ANY($1::int8[]::oid[]) AND NOT tgisinternal ORDER BY 1, 2",
                )
                .bind(&oids),
            )
            .await?;
        for (oid, t) in triggers {
            parts.entry(oid).or_default().triggers.push(t);
        }
        Ok(relations
            .into_iter()
            .map(|r| {
                let p = parts.remove(&r.oid).unwrap_or_default();
                TableDetails {
                    info: r.info,
                    columns: p.columns,
                    indexes: p.indexes,
                    constraints: p.constraints,
                    view_definition: r.view_definition,
                    triggers: p.triggers,
                }
            })
            .collect())
    }
}

/// A relation's summary from its pg_class facts.
fn table_info(
    ns: String,
    name: String,
    relkind: &str,
    tuples: i64,
    comment: Option<String>,
    parent: Option<String>,
) -> TableInfo {
    let kind = kind_of_relkind(relkind);
    TableInfo {
        table: TableRef::qualified(ns, name),
        rows: if matches!(kind, TableKind::View) {
            None
        } else {
            rows_of(tuples)
        },
        kind,
        comment,
        partition_of: parent_ref(parent),
    }
}

fn parent_ref(p: Option<String>) -> Option<TableRef> {
    p.and_then(|p| p.split_once('.').map(|(n, t)| TableRef::qualified(n, t)))
}

#[async_trait]
impl Catalog for PostgresConnection {
    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        let rows: Vec<(String, bool)> = self
            .fetch_all(sqlx::query_as(
                "SELECT nspname::text, nspname = current_schema() FROM pg_namespace \
                  WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(name, is_default)| Namespace { name, is_default })
            .collect())
    }

    async fn databases(&self) -> Result<Vec<Namespace>> {
        let rows: Vec<(String, bool)> = self
            .fetch_all(sqlx::query_as(
                "SELECT datname::text, datname = current_database() FROM pg_database \
                  WHERE datallowconn AND NOT datistemplate ORDER BY 1",
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(name, is_default)| Namespace { name, is_default })
            .collect())
    }

    async fn tables(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        Ok(self
            .relations(namespace, None)
            .await?
            .into_iter()
            .map(|r| r.info)
            .collect())
    }

    async fn table(&self, table: &TableRef) -> Result<TableDetails> {
        let mut rels = self
            .relations(table.namespace.as_deref(), Some(&table.name))
            .await?;
        // The search path's first match, as PostgreSQL resolves the name.
        rels.truncate(1);
        if rels.is_empty() {
            return Err(Error::NotFound(format!("table `{table}`")));
        }
        self.details(rels)
            .await?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("table `{table}`")))
    }

    fn bulk_structure(&self) -> bool {
        true
    }

    async fn structure(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        let rels = self.relations(namespace, None).await?;
        self.details(rels).await
    }
}

impl PostgresConnection {
    /// Columns of every relation in `oids`, in column order.
    async fn columns_of(&self, oids: &[i64], parts: &mut HashMap<i64, Parts>) -> Result<()> {
        type ColRow = (
            i64,
            String,
            i16,
            String,
            bool,
            Option<String>,
            String,
            String,
            Option<String>,
            i64,
            i32,
            String,
            i64,
            String,
        );
        let cols: Vec<ColRow> = self
            .fetch_all(
                sqlx::query_as(
                    "SELECT a.attrelid::int8, a.attname::text, a.attnum, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
                            pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
                            col_description(a.attrelid, a.attnum), \
                            (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8, \
                            (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END), \
                            bt.typtype::text, bt.typelem::int8, bt.typname::text \
                       FROM pg_attribute a \
                       JOIN pg_type t ON t.oid = a.atttypid \
                       JOIN pg_type bt ON bt.oid = (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END) \
                       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                      WHERE a.attrelid = ANY($1::int8[]::oid[]) AND a.attnum > 0 AND NOT a.attisdropped \
                      ORDER BY a.attrelid, a.attnum",
                )
                .bind(oids),
            )
            .await?;
        for (
            oid,
            cname,
            num,
            ty,
            nullable,
            expr,
            identity,
            generated,
            ccomment,
            toid,
            typmod,
            typtype,
            elem,
            typname,
        ) in cols
        {
            let (default, generated) = match (identity.as_str(), generated.as_str()) {
                ("a", _) => (Some("GENERATED ALWAYS AS IDENTITY".to_string()), None),
                ("d", _) => (Some("GENERATED BY DEFAULT AS IDENTITY".to_string()), None),
                (_, "s") => (None, expr),
                _ => (expr, None),
            };
            parts.entry(oid).or_default().columns.push(ColumnInfo {
                name: cname,
                ordinal: usize::try_from(num).unwrap_or(0),
                arrow_type: arrow_type_of(
                    u32::try_from(toid).unwrap_or(0),
                    typmod,
                    &typtype,
                    u32::try_from(elem).unwrap_or(0),
                    &typname,
                ),
                source_type: ty,
                nullable,
                default,
                generated,
                primary_key: None,
                comment: ccomment,
            });
        }
        Ok(())
    }

    /// Indexes of every relation in `oids`, by name.
    async fn indexes_of(&self, oids: &[i64], parts: &mut HashMap<i64, Parts>) -> Result<()> {
        type IdxRow = (
            i64,
            String,
            bool,
            bool,
            String,
            Option<String>,
            String,
            i64,
            Vec<String>,
            Vec<i16>,
        );
        let idx: Vec<IdxRow> = self
            .fetch_all(
                sqlx::query_as(
                    "SELECT ix.indrelid::int8, ic.relname::text, ix.indisunique, ix.indisprimary, am.amname::text, \
                            pg_get_expr(ix.indpred, ix.indrelid, true), pg_get_indexdef(ix.indexrelid), \
                            pg_relation_size(ix.indexrelid), \
                            ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) \
                                    FROM generate_series(1, ix.indnkeyatts) k ORDER BY k), \
                            ARRAY(SELECT ix.indkey[k - 1] FROM generate_series(1, ix.indnkeyatts) k ORDER BY k) \
                       FROM pg_index ix \
                       JOIN pg_class ic ON ic.oid = ix.indexrelid \
                       JOIN pg_am am ON am.oid = ic.relam \
                      WHERE ix.indrelid = ANY($1::int8[]::oid[]) ORDER BY 1, 2",
                )
                .bind(oids),
            )
            .await?;
        for (oid, iname, unique, primary, method, predicate, def, size, cols, keys) in idx {
            parts.entry(oid).or_default().indexes.push(IndexInfo {
                name: iname,
                parts: cols
                    .into_iter()
                    .zip(keys)
                    .map(|(p, k)| {
                        if k != 0 {
                            IndexPart::Column(p)
                        } else {
                            IndexPart::Expression(p)
                        }
                    })
                    .collect(),
                unique,
                primary,
                method: Some(method),
                predicate,
                definition: Some(def),
                size_bytes: u64::try_from(size).ok(),
            });
        }
        Ok(())
    }

    /// Constraints of every relation in `oids`, by name; marks the primary
    /// key's columns (so it runs after [`columns_of`](Self::columns_of)).
    async fn constraints_of(&self, oids: &[i64], parts: &mut HashMap<i64, Parts>) -> Result<()> {
        type ConRow = (
            i64,
            String,
            String,
            Option<String>,
            Vec<String>,
            Option<String>,
            Vec<String>,
            String,
            String,
            bool,
        );
        let cons: Vec<ConRow> = self
            .fetch_all(
                sqlx::query_as(
                    "SELECT con.conrelid::int8, con.conname::text, con.contype::text, pg_get_expr(con.conbin, con.conrelid), \
                            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o) \
                                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o), \
                            (SELECT fn.nspname || '.' || fc.relname FROM pg_class fc \
                               JOIN pg_namespace fn ON fn.oid = fc.relnamespace WHERE fc.oid = con.confrelid), \
                            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o) \
                                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o), \
                            con.confupdtype::text, con.confdeltype::text, con.condeferrable \
                       FROM pg_constraint con WHERE con.conrelid = ANY($1::int8[]::oid[]) ORDER BY 1, 2",
                )
                .bind(oids),
            )
            .await?;
        for (oid, cname, contype, expr, cols, target, tcols, upd, del, deferrable) in cons {
            let p = parts.entry(oid).or_default();
            let kind = match contype.as_str() {
                "p" => {
                    for (pos, c) in cols.iter().enumerate() {
                        if let Some(col) = p.columns.iter_mut().find(|x| &x.name == c) {
                            col.primary_key = Some(pos + 1);
                        }
                    }
                    ConstraintKind::PrimaryKey { columns: cols }
                }
                "u" => ConstraintKind::Unique { columns: cols },
                "c" => ConstraintKind::Check {
                    expression: expr.unwrap_or_default(),
                    column: if cols.len() == 1 {
                        cols.into_iter().next()
                    } else {
                        None
                    },
                },
                "f" => ConstraintKind::ForeignKey(ForeignKey {
                    columns: cols,
                    target: parent_ref(target).unwrap_or_else(|| TableRef::new("?")),
                    target_columns: tcols,
                    on_delete: fk_action(&del),
                    on_update: fk_action(&upd),
                    deferrable,
                    is_virtual: false,
                }),
                _ => continue,
            };
            p.constraints.push(Constraint {
                name: Some(cname),
                kind,
            });
        }
        Ok(())
    }
}
