//! DuckDB administration: CHECKPOINT / FORCE CHECKPOINT, ANALYZE and
//! VACUUM ANALYZE, database size; macros (DuckDB's routines). DuckDB has no
//! triggers, events or stored procedures. A macro edit runs `CREATE OR
//! REPLACE` in a transaction.

use async_trait::async_trait;
use qore_core::admin::{
    Admin, Definition, ObjectClass, ObjectInfo, ObjectRef, OpRequest, OpScope, Operation,
    Plan, check_request, fetch_rows, read_create, text,
};
use qore_core::sql::Flavor;
use qore_core::{Connection, Error, Result, SendableRecordBatchStream, TableRef, Value};

use super::connection::DuckDbConnection;

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}


/// A macro as `duckdb_functions()` describes it.
struct Macro {
    info: ObjectInfo,
    parameters: Vec<String>,
    body: String,
    table: bool,
}

impl DuckDbConnection {
    async fn macros(&self, namespace: Option<&str>, name: Option<&str>) -> Result<Vec<Macro>> {
        let rows = fetch_rows(
            self,
            "SELECT schema_name, function_name, function_type, array_to_string(parameters, chr(31)), macro_definition \
               FROM duckdb_functions() \
              WHERE function_type IN ('macro', 'table_macro') AND NOT internal \
                AND database_name = current_database() \
                AND schema_name = coalesce(?::VARCHAR, current_schema()) AND (?::VARCHAR IS NULL OR function_name = ?::VARCHAR) \
              ORDER BY function_name",
            &[
                namespace.map_or(Value::Null, |n| Value::Text(n.into())),
                name.map_or(Value::Null, |n| Value::Text(n.into())),
                name.map_or(Value::Null, |n| Value::Text(n.into())),
            ],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let parameters: Vec<String> =
                    text(&r[3]).filter(|p| !p.is_empty()).map(|p| p.split('\u{1f}').map(String::from).collect()).unwrap_or_default();
                let table = text(&r[2]).as_deref() == Some("table_macro");
                Macro {
                    info: ObjectInfo {
                        namespace: text(&r[0]),
                        name: text(&r[1]).unwrap_or_default(),
                        kind: if table { "table macro".into() } else { "macro".into() },
                        arguments: Some(format!("({})", parameters.join(", "))),
                        language: Some("sql".into()),
                        ..ObjectInfo::default()
                    },
                    parameters,
                    body: text(&r[4]).unwrap_or_default(),
                    table,
                }
            })
            .collect())
    }

    async fn one_macro(&self, object: &ObjectRef) -> Result<Macro> {
        let found = self.macros(object.namespace.as_deref(), Some(&object.name)).await?;
        // Overloads of one macro share a name; DuckDB lists each.
        match found.len() {
            0 => Err(Error::NotFound(format!("no macro {}", object.display()))),
            1 => Ok(found.into_iter().next().ok_or_else(|| Error::Internal("vanished".into()))?),
            n => Err(Error::NotSupported(format!(
                "{} has {n} overloads: DuckDB lists them apart but replaces and drops them together; edit it with SQL",
                object.name
            ))),
        }
    }
}

#[async_trait]
impl Admin for DuckDbConnection {
    fn admin_engine(&self) -> &'static str {
        "DuckDB"
    }

    async fn operations(&self, table: Option<&TableRef>) -> Result<Vec<Operation>> {
        if let Some(t) = table {
            let rows = fetch_rows(
                self,
                "SELECT 1 FROM duckdb_tables() WHERE table_name = ?::VARCHAR AND schema_name = coalesce(?::VARCHAR, current_schema()) AND database_name = current_database()",
                &[Value::Text(t.name.clone()), t.namespace.clone().map_or(Value::Null, Value::Text)],
            )
            .await?;
            let refused = rows.is_empty().then(|| format!("{} is not a table of this database (a view has no statistics)", t.name));
            return Ok(vec![
                Operation::new("analyze", "ANALYZE: recompute the table's statistics", OpScope::Either, vec![], refused.clone()),
                Operation::new("vacuum_analyze", "VACUUM ANALYZE: the same, as PostgreSQL spells it", OpScope::Either, vec![], refused),
            ]);
        }
        let file = fetch_rows(self, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()", &[]).await?;
        let memory = file.first().and_then(|r| text(&r[0])).is_none();
        let no_file = memory.then(|| "an in-memory database has nothing to checkpoint".to_string());
        Ok(vec![
            Operation::new("checkpoint", "CHECKPOINT: write the write-ahead log into the database file", OpScope::Database, vec![], no_file.clone()),
            Operation::new(
                "force_checkpoint",
                "FORCE CHECKPOINT: the same, aborting running transactions if needed",
                OpScope::Database,
                vec![],
                no_file,
            ),
            Operation::new("analyze", "ANALYZE: recompute every table's statistics", OpScope::Either, vec![], None),
            Operation::new("vacuum_analyze", "VACUUM ANALYZE: the same, as PostgreSQL spells it", OpScope::Either, vec![], None),
        ])
    }

    async fn plan_operation(&self, request: &OpRequest) -> Result<Plan> {
        let ops = self.operations(request.table.as_ref()).await?;
        let op = check_request(&ops, request, "DuckDB")?;
        let target = request.table.as_ref().map(|t| match &t.namespace {
            Some(ns) => format!(" {}.{}", q(ns), q(&t.name)),
            None => format!(" {}", q(&t.name)),
        });
        let target = target.unwrap_or_default();
        Ok(Plan::single(match op.name.as_str() {
            "checkpoint" => "CHECKPOINT".to_string(),
            "force_checkpoint" => "FORCE CHECKPOINT".to_string(),
            "analyze" => format!("ANALYZE{target}"),
            "vacuum_analyze" => format!("VACUUM ANALYZE{target}"),
            other => return Err(Error::NotSupported(format!("DuckDB operation `{other}` has no plan"))),
        }))
    }

    async fn figures(&self, table: Option<&TableRef>) -> Result<SendableRecordBatchStream> {
        match table {
            None => self.query("PRAGMA database_size", &[]).await,
            Some(t) => {
                self.query(
                    "SELECT schema_name AS schema, table_name AS \"table\", estimated_size AS rows_estimate, \
                            column_count AS columns, index_count AS indexes \
                       FROM duckdb_tables() WHERE table_name = ?::VARCHAR AND schema_name = coalesce(?::VARCHAR, current_schema()) \
                        AND database_name = current_database()",
                    &[Value::Text(t.name.clone()), t.namespace.clone().map_or(Value::Null, Value::Text)],
                )
                .await
            }
        }
    }

    async fn objects(&self, class: ObjectClass, namespace: Option<&str>) -> Result<Vec<ObjectInfo>> {
        match class {
            ObjectClass::Routine => Ok(self.macros(namespace, None).await?.into_iter().map(|m| m.info).collect()),
            ObjectClass::Trigger => Err(Error::NotSupported("DuckDB has no triggers".into())),
            ObjectClass::Event => Err(Error::NotSupported("DuckDB has no scheduled events".into())),
        }
    }

    async fn definition(&self, class: ObjectClass, object: &ObjectRef) -> Result<Definition> {
        self.objects(class, None).await?;
        let m = self.one_macro(object).await?;
        let name = match &m.info.namespace {
            Some(ns) => format!("{}.{}", q(ns), q(&m.info.name)),
            None => q(&m.info.name),
        };
        // duckdb_functions() lists parameter names without their default
        // values: say so where an edit would otherwise drop them unseen.
        let sql = format!(
            "-- DuckDB does not report parameter defaults: add back any `name := value` the macro had\nCREATE MACRO {name}({}) AS {}{}",
            m.parameters.join(", "),
            if m.table { "TABLE " } else { "" },
            m.body
        );
        Ok(Definition { info: m.info, sql })
    }

    async fn plan_create(&self, class: ObjectClass, sql: &str) -> Result<Plan> {
        self.objects(class, None).await?;
        let c = read_create(sql, Flavor::Standard)?;
        if c.kind != "MACRO" && c.kind != "FUNCTION" {
            return Err(Error::invalid(format!("that statement creates a {}, not a macro", c.kind.to_lowercase())));
        }
        Ok(Plan::single(sql.trim().to_string()))
    }

    async fn plan_replace(&self, class: ObjectClass, object: &ObjectRef, sql: &str) -> Result<Plan> {
        self.objects(class, None).await?;
        let c = read_create(sql, Flavor::Standard)?;
        if c.kind != "MACRO" && c.kind != "FUNCTION" {
            return Err(Error::invalid(format!("that statement creates a {}, not a macro", c.kind.to_lowercase())));
        }
        let m = self.one_macro(object).await?;
        if c.name.name != m.info.name {
            return Err(Error::invalid(format!(
                "the new definition creates `{}`, not `{}`: to rename, create the new one and drop the old",
                c.name.name, m.info.name
            )));
        }
        Ok(Plan::transaction(vec![c.with_or_replace(sql.trim())]))
    }

    async fn plan_drop(&self, class: ObjectClass, object: &ObjectRef) -> Result<Plan> {
        self.objects(class, None).await?;
        let m = self.one_macro(object).await?;
        let ns = m.info.namespace.as_deref().map(|n| format!("{}.", q(n))).unwrap_or_default();
        Ok(Plan::single(format!(
            "DROP MACRO {}{ns}{}",
            if m.table { "TABLE " } else { "" },
            q(&m.info.name)
        )))
    }

    async fn plan_enable(&self, class: ObjectClass, _object: &ObjectRef, _enabled: bool) -> Result<Plan> {
        Err(Error::NotSupported(format!("DuckDB has no {} to enable or disable", match class {
            ObjectClass::Routine => "state on a macro",
            ObjectClass::Trigger => "triggers",
            ObjectClass::Event => "events",
        })))
    }

    async fn plan_call(&self, object: &ObjectRef, args: &[Option<String>]) -> Result<Plan> {
        let m = self.one_macro(object).await?;
        // Parameters with defaults may be left out: DuckDB checks the least.
        if args.len() > m.parameters.len() {
            return Err(Error::invalid(format!(
                "{}({}) takes at most {} argument(s), {} given",
                m.info.name,
                m.parameters.join(", "),
                m.parameters.len(),
                args.len()
            )));
        }
        // Macros are untyped: a plain decimal number goes in as a number
        // literal (exact: DuckDB reads `12.50` as DECIMAL(4,2)), anything
        // else as a string, so `007` stays the text `007`.
        let list: Vec<String> = args
            .iter()
            .map(|a| match a {
                None => "NULL".to_string(),
                Some(v) if plain_number(v) => v.clone(),
                Some(v) => lit(v),
            })
            .collect();
        let ns = m.info.namespace.as_deref().map(|n| format!("{}.", q(n))).unwrap_or_default();
        let callee = format!("{ns}{}", q(&m.info.name));
        Ok(Plan::single(if m.table {
            format!("SELECT * FROM {callee}({})", list.join(", "))
        } else {
            format!("SELECT {callee}({}) AS {}", list.join(", "), q(&m.info.name))
        }))
    }
}

/// `-?(0|[1-9][0-9]*)(.[0-9]+)?`: a number whose literal reads back as the
/// same text.
fn plain_number(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let int_ok = int == "0" || (!int.is_empty() && !int.starts_with('0') && int.bytes().all(|b| b.is_ascii_digit()));
    int_ok && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::plain_number;
    use proptest::prelude::*;

    #[test]
    fn only_numbers_that_read_back_the_same_go_bare() {
        for v in ["0", "12", "-3", "12.50", "0.5"] {
            assert!(plain_number(v), "{v}");
        }
        for v in ["007", "1e5", "", "-", "1.", ".5", "1,5", "12 ", "0x10", "NaN"] {
            assert!(!plain_number(v), "{v}");
        }
    }

    proptest! {
        #[test]
        fn bare_numbers_parse_back_to_themselves(v in "\\PC{0,12}") {
            if plain_number(&v) {
                let parsed: f64 = v.parse().unwrap();
                prop_assert!(parsed.is_finite());
                prop_assert!(!v.starts_with('+'));
            }
        }
    }
}
