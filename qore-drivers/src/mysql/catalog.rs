//! The MySQL / MariaDB catalog, read from information_schema.

use std::collections::HashMap;

use async_trait::async_trait;
use qore_core::{
    Catalog, ColumnInfo, Constraint, ConstraintKind, Error, FkAction, ForeignKey, IndexInfo,
    IndexPart, Namespace, Result, RowCount, TableDetails, TableInfo, TableKind, TableRef,
};

use super::connection::MySqlConnection;
use super::decode::Kind;

const SYSTEM: &str = "('information_schema','performance_schema','mysql','sys')";

fn table_kind(t: &str) -> TableKind {
    if t.contains("VIEW") {
        TableKind::View
    } else {
        TableKind::Table
    }
}

/// The Arrow type of a column, from information_schema's DATA_TYPE and COLUMN_TYPE.
fn arrow_type(
    data_type: &str,
    column_type: &str,
    precision: Option<i64>,
    scale: Option<i64>,
    charset: Option<&str>,
) -> arrow::datatypes::DataType {
    let unsigned = column_type.contains("unsigned");
    let name = match data_type.to_ascii_lowercase().as_str() {
        "tinyint" if unsigned => "TINYINT UNSIGNED",
        "tinyint" | "bool" | "boolean" => "TINYINT",
        "smallint" if unsigned => "SMALLINT UNSIGNED",
        "smallint" => "SMALLINT",
        "mediumint" | "int" | "integer" if unsigned => "INT UNSIGNED",
        "mediumint" | "int" | "integer" => "INT",
        "bigint" if unsigned => "BIGINT UNSIGNED",
        "bigint" => "BIGINT",
        "float" => "FLOAT",
        "double" | "real" => "DOUBLE",
        "decimal" | "numeric" => {
            if let (Some(p), Some(s)) = (precision, scale)
                && let (Ok(p), Ok(s)) = (u8::try_from(p), i8::try_from(s))
                && p <= 38
            {
                return Kind::Decimal(p, s).arrow_type();
            }
            "DECIMAL"
        }
        "bit" => "BIT",
        "year" => "YEAR",
        "date" => "DATE",
        "datetime" => "DATETIME",
        "timestamp" => "TIMESTAMP",
        "time" => "TIME",
        "json" => "JSON",
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
            if charset.is_none() =>
        {
            "BLOB"
        }
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" => "GEOMETRY",
        _ => "TEXT",
    };
    Kind::from_type_name(name).arrow_type()
}

fn action(rule: &str) -> FkAction {
    FkAction::parse(rule).unwrap_or(FkAction::NoAction)
}

#[async_trait]
impl Catalog for MySqlConnection {
    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        let rows: Vec<(String, i64)> = self
            .fetch_all(format!(
                "SELECT CAST(SCHEMA_NAME AS CHAR), CAST(SCHEMA_NAME = DATABASE() AS SIGNED) \
                 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN {SYSTEM} ORDER BY 1"
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(name, d)| Namespace {
                name,
                is_default: d == 1,
            })
            .collect())
    }

    async fn tables(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        self.infos(Scope::of(namespace, None)).await
    }

    async fn table(&self, table: &TableRef) -> Result<TableDetails> {
        self.load(Scope::of(table.namespace.as_deref(), Some(&table.name)))
            .await?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("table `{table}`")))
    }

    fn bulk_structure(&self) -> bool {
        true
    }

    async fn structure(&self, namespace: Option<&str>) -> Result<Vec<TableDetails>> {
        self.load(Scope::of(namespace, None)).await
    }
}

/// Which tables a catalog query reads: one schema (the current database
/// when `None`), and one table of it or all.
#[derive(Clone, Copy)]
struct Scope<'a> {
    schema: Option<&'a str>,
    table: Option<&'a str>,
}

impl<'a> Scope<'a> {
    fn of(schema: Option<&'a str>, table: Option<&'a str>) -> Self {
        Scope { schema, table }
    }

    /// The condition on a schema and a table column, and its arguments.
    /// Equality on both lets information_schema open only the tables asked
    /// for (MariaDB and MySQL skip the others).
    fn on(&self, schema_col: &str, table_col: &str) -> (String, Vec<Option<&'a str>>) {
        let mut sql = format!("{schema_col} = COALESCE(?, DATABASE())");
        let mut args = vec![self.schema];
        if let Some(t) = self.table {
            sql.push_str(&format!(" AND {table_col} = ?"));
            args.push(Some(t));
        }
        (sql, args)
    }
}

type ColRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

type KeyRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Schema, name, type, row estimate and comment of one table.
type InfoRow = (String, String, String, Option<i64>, Option<String>);

impl MySqlConnection {
    async fn infos(&self, scope: Scope<'_>) -> Result<Vec<TableInfo>> {
        let (cond, args) = scope.on("TABLE_SCHEMA", "TABLE_NAME");
        let rows: Vec<InfoRow> = self
            .fetch_all(self.inline(
                &format!(
                    "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR), \
                            CAST(TABLE_ROWS AS SIGNED), CAST(TABLE_COMMENT AS CHAR) \
                     FROM information_schema.TABLES WHERE {cond} ORDER BY 2"
                ),
                &args,
            )?)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(s, n, t, rows, comment)| {
                let kind = table_kind(&t);
                TableInfo {
                    table: TableRef::qualified(s, n),
                    rows: if kind == TableKind::View {
                        None
                    } else {
                        rows.and_then(|r| u64::try_from(r).ok())
                            .map(RowCount::Estimate)
                    },
                    kind,
                    comment: comment.filter(|c| !c.is_empty() && c != "VIEW"),
                    partition_of: None,
                }
            })
            .collect())
    }

    /// The details of the tables in `scope`, in eight catalog queries
    /// whatever their number.
    async fn load(&self, scope: Scope<'_>) -> Result<Vec<TableDetails>> {
        let infos = self.infos(scope).await?;
        if infos.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_name: HashMap<String, TableDetails> = infos
            .iter()
            .map(|i| {
                (
                    i.table.name.clone(),
                    TableDetails {
                        info: i.clone(),
                        columns: Vec::new(),
                        indexes: Vec::new(),
                        constraints: Vec::new(),
                        view_definition: None,
                        triggers: Vec::new(),
                    },
                )
            })
            .collect();
        let (cond, args) = scope.on("TABLE_SCHEMA", "TABLE_NAME");
        let cols: Vec<ColRow> = self
            .fetch_all(self.inline(
                &format!(
                    "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(ORDINAL_POSITION AS SIGNED), \
                            CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), \
                            CAST(EXTRA AS CHAR), CAST(GENERATION_EXPRESSION AS CHAR), CAST(COLUMN_COMMENT AS CHAR), \
                            CAST(DATA_TYPE AS CHAR), CAST(NUMERIC_PRECISION AS SIGNED), CAST(NUMERIC_SCALE AS SIGNED), \
                            CAST(CHARACTER_SET_NAME AS CHAR) \
                     FROM information_schema.COLUMNS WHERE {cond} ORDER BY TABLE_NAME, ORDINAL_POSITION"
                ),
                &args,
            )?)
            .await?;
        for row in cols {
            if let Some(t) = by_name.get_mut(&row.0) {
                t.columns.push(column_of(row));
            }
        }
        self.indexes_into(scope, &mut by_name).await?;
        self.keys_into(scope, &mut by_name).await?;
        let (cond, args) = scope.on("EVENT_OBJECT_SCHEMA", "EVENT_OBJECT_TABLE");
        let triggers: Vec<(String, String)> = self
            .fetch_all(self.inline(
                &format!(
                    "SELECT CAST(EVENT_OBJECT_TABLE AS CHAR), CAST(TRIGGER_NAME AS CHAR) \
                     FROM information_schema.TRIGGERS WHERE {cond} ORDER BY 1, 2"
                ),
                &args,
            )?)
            .await?;
        for (table, name) in triggers {
            if let Some(t) = by_name.get_mut(&table) {
                t.triggers.push(name);
            }
        }
        if infos.iter().any(|i| i.kind == TableKind::View) {
            let (cond, args) = scope.on("TABLE_SCHEMA", "TABLE_NAME");
            let views: Vec<(String, Option<String>)> = self
                .fetch_all(self.inline(
                    &format!(
                        "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR) \
                         FROM information_schema.VIEWS WHERE {cond}"
                    ),
                    &args,
                )?)
                .await?;
            for (table, def) in views {
                if let Some(t) = by_name.get_mut(&table) {
                    t.view_definition = def;
                }
            }
        }
        Ok(infos
            .iter()
            .filter_map(|i| by_name.remove(&i.table.name))
            .collect())
    }

    async fn indexes_into(
        &self,
        scope: Scope<'_>,
        by_name: &mut HashMap<String, TableDetails>,
    ) -> Result<()> {
        let (cond, args) = scope.on("TABLE_SCHEMA", "TABLE_NAME");
        let stats: Vec<(String, String, i64, Option<String>, String)> = self
            .fetch_all(self.inline(
                &format!(
                    "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS SIGNED), \
                            CAST(COLUMN_NAME AS CHAR), CAST(INDEX_TYPE AS CHAR) \
                     FROM information_schema.STATISTICS WHERE {cond} \
                     ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
                ),
                &args,
            )?)
            .await?;
        // Sizes need read access to mysql.innodb_index_stats; without it they stay unknown.
        let (cond, args) = scope.on("database_name", "table_name");
        let sizes: HashMap<(String, String), i64> = self
            .fetch_all::<(String, String, i64)>(self.inline(
                &format!(
                    "SELECT CAST(table_name AS CHAR), CAST(index_name AS CHAR), CAST(stat_value * @@innodb_page_size AS SIGNED) \
                     FROM mysql.innodb_index_stats WHERE stat_name = 'size' AND {cond}"
                ),
                &args,
            )?)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(t, i, s)| ((t, i), s))
            .collect();
        for (table, iname, non_unique, col, itype) in stats {
            let Some(t) = by_name.get_mut(&table) else {
                continue;
            };
            let part = match col {
                Some(c) => IndexPart::Column(c),
                None => IndexPart::Expression("?".into()),
            };
            match t.indexes.iter_mut().find(|i| i.name == iname) {
                Some(i) => i.parts.push(part),
                None => t.indexes.push(IndexInfo {
                    primary: iname == "PRIMARY",
                    size_bytes: sizes
                        .get(&(table.clone(), iname.clone()))
                        .and_then(|s| u64::try_from(*s).ok()),
                    name: iname,
                    parts: vec![part],
                    unique: non_unique == 0,
                    method: Some(itype.to_ascii_lowercase()),
                    predicate: None,
                    definition: None,
                }),
            }
        }
        Ok(())
    }

    /// Keys, foreign keys and checks; marks the primary key's columns.
    async fn keys_into(
        &self,
        scope: Scope<'_>,
        by_name: &mut HashMap<String, TableDetails>,
    ) -> Result<()> {
        let (k_cond, mut args) = scope.on("k.TABLE_SCHEMA", "k.TABLE_NAME");
        let (tc_cond, tc_args) = scope.on("tc.TABLE_SCHEMA", "tc.TABLE_NAME");
        args.extend(tc_args);
        let keys: Vec<KeyRow> = self
            .fetch_all(self.inline(
                &format!(
                    "SELECT CAST(tc.TABLE_NAME AS CHAR), CAST(tc.CONSTRAINT_NAME AS CHAR), CAST(tc.CONSTRAINT_TYPE AS CHAR), \
                            CAST(k.COLUMN_NAME AS CHAR), \
                            CAST(k.REFERENCED_TABLE_SCHEMA AS CHAR), CAST(k.REFERENCED_TABLE_NAME AS CHAR), \
                            CAST(k.REFERENCED_COLUMN_NAME AS CHAR), CAST(CONCAT(rc.UPDATE_RULE, '/', rc.DELETE_RULE) AS CHAR) \
                     FROM information_schema.TABLE_CONSTRAINTS tc \
                     LEFT JOIN information_schema.KEY_COLUMN_USAGE k ON {k_cond} \
                          AND k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
                          AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_NAME = tc.TABLE_NAME \
                     LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc \
                          ON rc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
                          AND rc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND rc.TABLE_NAME = tc.TABLE_NAME \
                     WHERE {tc_cond} AND tc.CONSTRAINT_TYPE <> 'CHECK' \
                     ORDER BY tc.TABLE_NAME, tc.CONSTRAINT_NAME, k.ORDINAL_POSITION"
                ),
                &args,
            )?)
            .await?;
        for (table, cname, ctype, col, rschema, rtable, rcol, rules) in keys {
            let Some(t) = by_name.get_mut(&table) else {
                continue;
            };
            let existing = t
                .constraints
                .iter_mut()
                .find(|c| c.name.as_deref() == Some(cname.as_str()));
            let col = col.unwrap_or_default();
            match (existing, ctype.as_str()) {
                (Some(c), _) => match &mut c.kind {
                    ConstraintKind::PrimaryKey { columns } | ConstraintKind::Unique { columns } => {
                        columns.push(col)
                    }
                    ConstraintKind::ForeignKey(fk) => {
                        fk.columns.push(col);
                        fk.target_columns.push(rcol.unwrap_or_default());
                    }
                    ConstraintKind::Check { .. } => {}
                },
                (None, "PRIMARY KEY") => t.constraints.push(Constraint {
                    name: Some(cname),
                    kind: ConstraintKind::PrimaryKey { columns: vec![col] },
                }),
                (None, "UNIQUE") => t.constraints.push(Constraint {
                    name: Some(cname),
                    kind: ConstraintKind::Unique { columns: vec![col] },
                }),
                (None, "FOREIGN KEY") => {
                    let (upd, del) = rules
                        .as_deref()
                        .and_then(|r| r.split_once('/'))
                        .unwrap_or(("", ""));
                    t.constraints.push(Constraint {
                        name: Some(cname),
                        kind: ConstraintKind::ForeignKey(ForeignKey {
                            columns: vec![col],
                            target: TableRef::qualified(
                                rschema.unwrap_or_default(),
                                rtable.unwrap_or_default(),
                            ),
                            target_columns: vec![rcol.unwrap_or_default()],
                            on_delete: action(del),
                            on_update: action(upd),
                            deferrable: false,
                            is_virtual: false,
                        }),
                    })
                }
                _ => {}
            }
        }
        let (cond, args) = scope.on("tc.TABLE_SCHEMA", "tc.TABLE_NAME");
        // MariaDB scopes check names by table (a column check is named after
        // its column), so the join needs TABLE_NAME, which MySQL's
        // CHECK_CONSTRAINTS lacks: there names are unique per schema.
        let checks_sql = |same_table: &str| {
            format!(
                "SELECT CAST(tc.TABLE_NAME AS CHAR), CAST(cc.CONSTRAINT_NAME AS CHAR), CAST(cc.CHECK_CLAUSE AS CHAR) \
                 FROM information_schema.CHECK_CONSTRAINTS cc \
                 JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA \
                      AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' {same_table} \
                 WHERE {cond} ORDER BY 1, 2"
            )
        };
        let checks: Vec<(String, String, String)> = match self
            .fetch_all(self.inline(&checks_sql("AND tc.TABLE_NAME = cc.TABLE_NAME"), &args)?)
            .await
        {
            Ok(c) => c,
            // Servers before CHECK_CONSTRAINTS existed have no checks to show.
            Err(_) => self
                .fetch_all(self.inline(&checks_sql(""), &args)?)
                .await
                .unwrap_or_default(),
        };
        for t in by_name.values_mut() {
            let pk: Vec<String> = t
                .constraints
                .iter()
                .find_map(|c| match &c.kind {
                    ConstraintKind::PrimaryKey { columns } => Some(columns.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for (i, p) in pk.iter().enumerate() {
                if let Some(col) = t.columns.iter_mut().find(|x| &x.name == p) {
                    col.primary_key = Some(i + 1);
                }
            }
        }
        for (table, cname, clause) in checks {
            let Some(t) = by_name.get_mut(&table) else {
                continue;
            };
            // MariaDB names a column-level check after its column.
            let column = t
                .columns
                .iter()
                .find(|c| c.name == cname)
                .map(|c| c.name.clone());
            t.constraints.push(Constraint {
                name: Some(cname),
                kind: ConstraintKind::Check {
                    expression: clause,
                    column,
                },
            });
        }
        Ok(())
    }
}

/// A column from its information_schema.COLUMNS row.
fn column_of(row: ColRow) -> ColumnInfo {
    let (_, cname, pos, ctype, nullable, default, extra, gen_expr, comment, dtype, prec, scale, charset) =
        row;
    let extra_l = extra.to_ascii_lowercase();
    let generated =
        if extra_l.contains("generated") || extra_l.contains("virtual") || extra_l.contains("persistent") {
            gen_expr.filter(|g| !g.is_empty())
        } else {
            None
        };
    let default = if extra_l.contains("auto_increment") {
        Some("AUTO_INCREMENT".to_string())
    } else if generated.is_some() {
        None
    } else {
        // MariaDB writes a missing default as the text NULL.
        default.filter(|d| !(d == "NULL" && nullable == "YES"))
    };
    ColumnInfo {
        name: cname,
        ordinal: usize::try_from(pos).unwrap_or(0),
        arrow_type: arrow_type(&dtype, &ctype, prec, scale, charset.as_deref()),
        source_type: ctype,
        nullable: nullable == "YES",
        default,
        generated,
        primary_key: None,
        comment: comment.filter(|c| !c.is_empty()),
    }
}
