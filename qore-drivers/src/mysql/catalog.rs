//! The MySQL / MariaDB catalog, read from information_schema.

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
        let rows: Vec<(String, String, String, Option<i64>, Option<String>)> = self.fetch_all(self.inline("SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR), \
                            CAST(TABLE_ROWS AS SIGNED), CAST(TABLE_COMMENT AS CHAR) \
                     FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) ORDER BY 2", &[namespace])?)
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

    async fn table(&self, table: &TableRef) -> Result<TableDetails> {
        let ns = table.namespace.as_deref();
        let info: Vec<(String, String, String, Option<i64>, Option<String>)> = self.fetch_all(self.inline("SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR), \
                            CAST(TABLE_ROWS AS SIGNED), CAST(TABLE_COMMENT AS CHAR) \
                     FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?", &[ns, Some(table.name.as_str())])?)
            .await?;
        let (schema, name, ttype, trows, tcomment) = info
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound(format!("table `{table}`")))?;
        let kind = table_kind(&ttype);

        type ColRow = (
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
            String,
        );
        let cols: Vec<ColRow> = self.fetch_all(self.inline("SELECT CAST(COLUMN_NAME AS CHAR), CAST(ORDINAL_POSITION AS SIGNED), CAST(COLUMN_TYPE AS CHAR), \
                            CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(EXTRA AS CHAR), \
                            CAST(GENERATION_EXPRESSION AS CHAR), CAST(COLUMN_COMMENT AS CHAR), CAST(DATA_TYPE AS CHAR), \
                            CAST(NUMERIC_PRECISION AS SIGNED), CAST(NUMERIC_SCALE AS SIGNED), \
                            CAST(CHARACTER_SET_NAME AS CHAR), CAST(COLUMN_KEY AS CHAR) \
                     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", &[Some(schema.as_str()), Some(name.as_str())])?)
            .await?;
        let mut columns: Vec<ColumnInfo> = cols
            .into_iter()
            .map(
                |(
                    cname,
                    pos,
                    ctype,
                    nullable,
                    default,
                    extra,
                    gen_expr,
                    comment,
                    dtype,
                    prec,
                    scale,
                    charset,
                    _key,
                )| {
                    let extra_l = extra.to_ascii_lowercase();
                    let generated = if extra_l.contains("generated")
                        || extra_l.contains("virtual")
                        || extra_l.contains("persistent")
                    {
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
                },
            )
            .collect();

        let stats: Vec<(String, i64, i64, Option<String>, String)> = self.fetch_all(self.inline("SELECT CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS SIGNED), CAST(SEQ_IN_INDEX AS SIGNED), \
                            CAST(COLUMN_NAME AS CHAR), CAST(INDEX_TYPE AS CHAR) \
                     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     ORDER BY INDEX_NAME, SEQ_IN_INDEX", &[Some(schema.as_str()), Some(name.as_str())])?)
            .await?;
        // Sizes need read access to mysql.innodb_index_stats; without it they stay unknown.
        let sizes: Vec<(String, i64)> = self.fetch_all(self.inline("SELECT CAST(index_name AS CHAR), CAST(stat_value * @@innodb_page_size AS SIGNED) \
                     FROM mysql.innodb_index_stats WHERE stat_name = 'size' AND database_name = ? AND table_name = ?", &[Some(schema.as_str()), Some(name.as_str())])?)
            .await
            .unwrap_or_default();
        let mut indexes: Vec<IndexInfo> = Vec::new();
        for (iname, non_unique, _seq, col, itype) in stats {
            let part = match col {
                Some(c) => IndexPart::Column(c),
                None => IndexPart::Expression("?".into()),
            };
            match indexes.iter_mut().find(|i| i.name == iname) {
                Some(i) => i.parts.push(part),
                None => indexes.push(IndexInfo {
                    primary: iname == "PRIMARY",
                    size_bytes: sizes
                        .iter()
                        .find(|s| s.0 == iname)
                        .and_then(|s| u64::try_from(s.1).ok()),
                    name: iname,
                    parts: vec![part],
                    unique: non_unique == 0,
                    method: Some(itype.to_ascii_lowercase()),
                    predicate: None,
                    definition: None,
                }),
            }
        }

        let keys: Vec<(String, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>)> = self.fetch_all(self.inline("SELECT CAST(tc.CONSTRAINT_NAME AS CHAR), CAST(tc.CONSTRAINT_TYPE AS CHAR), CAST(k.COLUMN_NAME AS CHAR), \
                            CAST(k.REFERENCED_TABLE_SCHEMA AS CHAR), CAST(k.REFERENCED_TABLE_NAME AS CHAR), \
                            CAST(k.REFERENCED_COLUMN_NAME AS CHAR), CAST(CONCAT(rc.UPDATE_RULE, '/', rc.DELETE_RULE) AS CHAR) \
                     FROM information_schema.TABLE_CONSTRAINTS tc \
                     LEFT JOIN information_schema.KEY_COLUMN_USAGE k ON k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ? \
                          AND k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
                          AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_NAME = tc.TABLE_NAME \
                     LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_SCHEMA = ? AND rc.TABLE_NAME = ? \
                          AND rc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
                          AND rc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND rc.TABLE_NAME = tc.TABLE_NAME \
                     WHERE tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ? AND tc.CONSTRAINT_TYPE <> 'CHECK' \
                     ORDER BY tc.CONSTRAINT_NAME, k.ORDINAL_POSITION", &[Some(schema.as_str()), Some(name.as_str()), Some(schema.as_str()), Some(name.as_str()), Some(schema.as_str()), Some(name.as_str())])?)
            .await?;
        let mut constraints: Vec<Constraint> = Vec::new();
        for (cname, ctype, col, rschema, rtable, rcol, rules) in keys {
            let existing = constraints
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
                (None, "PRIMARY KEY") => constraints.push(Constraint {
                    name: Some(cname),
                    kind: ConstraintKind::PrimaryKey { columns: vec![col] },
                }),
                (None, "UNIQUE") => constraints.push(Constraint {
                    name: Some(cname),
                    kind: ConstraintKind::Unique { columns: vec![col] },
                }),
                (None, "FOREIGN KEY") => {
                    let (upd, del) = rules
                        .as_deref()
                        .and_then(|r| r.split_once('/'))
                        .unwrap_or(("", ""));
                    constraints.push(Constraint {
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
        for c in &constraints {
            if let ConstraintKind::PrimaryKey { columns: pk } = &c.kind {
                for (i, p) in pk.iter().enumerate() {
                    if let Some(col) = columns.iter_mut().find(|x| &x.name == p) {
                        col.primary_key = Some(i + 1);
                    }
                }
            }
        }
        let checks: Vec<(String, String)> = self.fetch_all(self.inline("SELECT CAST(cc.CONSTRAINT_NAME AS CHAR), CAST(cc.CHECK_CLAUSE AS CHAR) \
                     FROM information_schema.CHECK_CONSTRAINTS cc \
                     JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA \
                          AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' \
                     WHERE tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ? ORDER BY 1", &[Some(schema.as_str()), Some(name.as_str())])?)
            .await
            .unwrap_or_default();
        for (cname, clause) in checks {
            // MariaDB names a column-level check after its column.
            let column = columns
                .iter()
                .find(|c| c.name == cname)
                .map(|c| c.name.clone());
            constraints.push(Constraint {
                name: Some(cname),
                kind: ConstraintKind::Check {
                    expression: clause,
                    column,
                },
            });
        }
        let triggers: Vec<(String,)> = self
            .fetch_all(self.inline(
                "SELECT CAST(TRIGGER_NAME AS CHAR) FROM information_schema.TRIGGERS \
                     WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY 1",
                &[Some(schema.as_str()), Some(name.as_str())],
            )?)
            .await?;
        let view_definition = if kind == TableKind::View {
            let v: Vec<(Option<String>,)> = self.fetch_all(self.inline("SELECT CAST(VIEW_DEFINITION AS CHAR) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", &[Some(schema.as_str()), Some(name.as_str())])?)
                .await?;
            v.into_iter().next().and_then(|r| r.0)
        } else {
            None
        };
        Ok(TableDetails {
            info: TableInfo {
                table: TableRef::qualified(schema, name),
                rows: if kind == TableKind::View {
                    None
                } else {
                    trows
                        .and_then(|r| u64::try_from(r).ok())
                        .map(RowCount::Estimate)
                },
                kind,
                comment: tcomment.filter(|c| !c.is_empty() && c != "VIEW"),
                partition_of: None,
            },
            columns,
            indexes,
            constraints,
            view_definition,
            triggers: triggers.into_iter().map(|t| t.0).collect(),
        })
    }
}
