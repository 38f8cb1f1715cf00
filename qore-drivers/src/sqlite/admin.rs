//! SQLite administration: integrity, quick and foreign-key checks, ANALYZE,
//! `PRAGMA optimize`, REINDEX, VACUUM and `VACUUM INTO`, WAL checkpoints,
//! page figures; triggers (SQLite has no stored routines or events, and no
//! way to disable a trigger). A trigger edit drops and recreates it in one
//! transaction: SQLite's DDL is transactional.

use async_trait::async_trait;
use qore_core::admin::{
    Admin, Definition, ObjectClass, ObjectInfo, ObjectRef, OpOption, OpRequest, OpScope, Operation,
    Plan, check_request, fetch_rows, read_create, text,
};
use qore_core::sql::{Flavor, tokenize};
use qore_core::{Connection, Error, Result, SendableRecordBatchStream, TableRef, Value};

use super::connection::SqliteConnection;

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn schema_of(ns: Option<&str>) -> String {
    ns.unwrap_or("main").to_string()
}


/// BEFORE / AFTER / INSTEAD OF and the event of a trigger, read from its
/// CREATE statement (SQLite keeps only the text).
fn timing_and_event(sql: &str) -> (Option<String>, Option<String>) {
    let tokens = tokenize(sql);
    let mut timing = None;
    let mut event = None;
    for (i, t) in tokens.iter().enumerate() {
        if timing.is_none() {
            if t.is_keyword("BEFORE") || t.is_keyword("AFTER") {
                timing = Some(t.text.to_ascii_uppercase());
            } else if t.is_keyword("INSTEAD") && tokens.get(i + 1).is_some_and(|n| n.is_keyword("OF")) {
                timing = Some("INSTEAD OF".into());
            }
        }
        if event.is_none() && ["INSERT", "UPDATE", "DELETE"].iter().any(|k| t.is_keyword(k)) {
            event = Some(t.text.to_ascii_uppercase());
        }
        if t.is_keyword("ON") {
            break;
        }
    }
    (timing.or_else(|| event.as_ref().map(|_| "BEFORE".into())), event)
}

impl SqliteConnection {
    async fn pragma_text(&self, pragma: &str) -> Result<String> {
        let rows = fetch_rows(self, &format!("PRAGMA {pragma}"), &[]).await?;
        Ok(rows.first().and_then(|r| text(&r[0])).unwrap_or_default())
    }

    /// `table`'s kind (`table`, `view`) in its schema, quoted name.
    async fn relation(&self, table: &TableRef) -> Result<(String, String)> {
        let schema = schema_of(table.namespace.as_deref());
        let rows = fetch_rows(
            self,
            &format!("SELECT type FROM {}.sqlite_schema WHERE name = ?1 AND type IN ('table', 'view')", q(&schema)),
            &[Value::Text(table.name.clone())],
        )
        .await?;
        let quoted = format!("{}.{}", q(&schema), q(&table.name));
        match rows.first().and_then(|r| text(&r[0])) {
            Some(kind) => Ok((kind, quoted)),
            None => Err(Error::NotFound(format!("no table {quoted}"))),
        }
    }

    async fn trigger(&self, object: &ObjectRef) -> Result<(String, ObjectInfo, String)> {
        let schema = schema_of(object.namespace.as_deref());
        let rows = fetch_rows(
            self,
            &format!("SELECT name, tbl_name, sql FROM {}.sqlite_schema WHERE type = 'trigger' AND name = ?1 COLLATE NOCASE", q(&schema)),
            &[Value::Text(object.name.clone())],
        )
        .await?;
        let r = rows.first().ok_or_else(|| Error::NotFound(format!("no trigger {}.{}", schema, object.name)))?;
        let sql = text(&r[2]).unwrap_or_default();
        let (timing, events) = timing_and_event(&sql);
        let info = ObjectInfo {
            namespace: Some(schema.clone()),
            name: text(&r[0]).unwrap_or_default(),
            kind: "trigger".into(),
            table: text(&r[1]),
            timing,
            events,
            ..ObjectInfo::default()
        };
        Ok((schema, info, sql))
    }
}

const NO_ROUTINES: &str = "SQLite has no stored routines: its functions are registered by the program that opens the file";

#[async_trait]
impl Admin for SqliteConnection {
    fn admin_engine(&self) -> &'static str {
        "SQLite"
    }

    async fn operations(&self, table: Option<&TableRef>) -> Result<Vec<Operation>> {
        let max = || OpOption::value("max", "report at most this many problems (default 100)", &[]);
        if let Some(t) = table {
            let (kind, quoted) = self.relation(t).await?;
            let view = (kind == "view").then(|| format!("{quoted} is a view: it has no storage"));
            return Ok(vec![
                // With a table, SQLite takes no error limit.
                Operation::new("integrity_check", "PRAGMA integrity_check: a full check of the table and its indexes", OpScope::Either, vec![], view.clone()),
                Operation::new("quick_check", "PRAGMA quick_check: like integrity_check without index contents (faster)", OpScope::Either, vec![], view.clone()),
                Operation::new("foreign_key_check", "PRAGMA foreign_key_check: rows whose foreign keys point nowhere", OpScope::Either, vec![], view.clone()),
                Operation::new("analyze", "ANALYZE: gather statistics for the query planner", OpScope::Either, vec![], view.clone()),
                Operation::new("reindex", "REINDEX: rebuild the table's indexes", OpScope::Either, vec![], view),
            ]);
        }
        let journal = self.pragma_text("journal_mode").await?.to_ascii_lowercase();
        let memory = journal == "memory";
        let wal = (journal != "wal").then(|| format!("the database is not in WAL mode (journal_mode={journal})"));
        Ok(vec![
            Operation::new("integrity_check", "PRAGMA integrity_check: a full check of the database", OpScope::Either, vec![max()], None),
            Operation::new("quick_check", "PRAGMA quick_check: like integrity_check without index contents (faster)", OpScope::Either, vec![max()], None),
            Operation::new("foreign_key_check", "PRAGMA foreign_key_check: rows whose foreign keys point nowhere", OpScope::Either, vec![], None),
            Operation::new("analyze", "ANALYZE: gather statistics for the query planner", OpScope::Either, vec![], None),
            Operation::new("optimize", "PRAGMA optimize: analyze what the planner would profit from", OpScope::Database, vec![], None),
            Operation::new("reindex", "REINDEX: rebuild every index", OpScope::Either, vec![], None),
            Operation::new(
                "vacuum",
                "VACUUM: rebuild the file, giving free pages back",
                OpScope::Database,
                vec![],
                memory.then(|| "an in-memory database has no file to rebuild".to_string()),
            ),
            Operation::new(
                "vacuum_into",
                "VACUUM INTO: write a compact copy of the database to a new file",
                OpScope::Database,
                vec![OpOption::value("file", "the new file (must not exist)", &[])],
                None,
            ),
            Operation::new(
                "wal_checkpoint",
                "PRAGMA wal_checkpoint: copy the write-ahead log into the database file",
                OpScope::Database,
                vec![OpOption::value("mode", "passive (default), full, restart or truncate", &["passive", "full", "restart", "truncate"])],
                wal,
            ),
        ])
    }

    async fn plan_operation(&self, request: &OpRequest) -> Result<Plan> {
        let ops = self.operations(request.table.as_ref()).await?;
        let op = check_request(&ops, request, "SQLite")?;
        let table = request.table.as_ref().map(|t| (schema_of(t.namespace.as_deref()), t.name.clone()));
        let max = match request.value("max") {
            Some(v) => Some(v.parse::<u32>().map_err(|_| Error::invalid(format!("`max` takes a number, not `{v}`")))?),
            None => None,
        };
        let sql = match op.name.as_str() {
            "integrity_check" | "quick_check" => {
                let arg = match (&table, max) {
                    (Some((_, t)), _) => format!("({})", lit(t)),
                    (None, Some(n)) => format!("({n})"),
                    (None, None) => String::new(),
                };
                match &table {
                    Some((s, _)) => format!("PRAGMA {}.{}{arg}", q(s), op.name),
                    None => format!("PRAGMA {}{arg}", op.name),
                }
            }
            "foreign_key_check" => match &table {
                Some((s, t)) => format!("PRAGMA {}.foreign_key_check({})", q(s), lit(t)),
                None => "PRAGMA foreign_key_check".into(),
            },
            "analyze" => match &table {
                Some((s, t)) => format!("ANALYZE {}.{}", q(s), q(t)),
                None => "ANALYZE".into(),
            },
            "reindex" => match &table {
                Some((s, t)) => format!("REINDEX {}.{}", q(s), q(t)),
                None => "REINDEX".into(),
            },
            "optimize" => "PRAGMA optimize".into(),
            "vacuum" => "VACUUM".into(),
            "vacuum_into" => {
                let file = request.value("file").ok_or_else(|| Error::invalid("`vacuum_into` needs `file=PATH`"))?;
                if std::path::Path::new(file).exists() {
                    return Err(Error::invalid(format!("{file} exists: VACUUM INTO writes a new file only")));
                }
                format!("VACUUM INTO {}", lit(file))
            }
            "wal_checkpoint" => format!("PRAGMA wal_checkpoint({})", request.value("mode").unwrap_or("passive").to_ascii_uppercase()),
            other => return Err(Error::NotSupported(format!("SQLite operation `{other}` has no plan"))),
        };
        Ok(Plan::single(sql))
    }

    async fn figures(&self, table: Option<&TableRef>) -> Result<SendableRecordBatchStream> {
        // Pragma functions with an argument would *set* it (page_size,
        // journal_mode): these figures are the main database's.
        let rows = match table {
            Some(t) => {
                let (_, quoted) = self.relation(t).await?;
                format!("(SELECT count(*) FROM {quoted})")
            }
            None => "NULL".into(),
        };
        self.query(
            &format!(
                "SELECT p.page_count, f.freelist_count AS free_pages, s.page_size, p.page_count * s.page_size AS file_bytes, \
                        f.freelist_count * s.page_size AS free_bytes, j.journal_mode, a.auto_vacuum, {rows} AS table_rows \
                   FROM pragma_page_count p, pragma_freelist_count f, pragma_page_size s, \
                        pragma_journal_mode j, pragma_auto_vacuum a"
            ),
            &[],
        )
        .await
    }

    async fn objects(&self, class: ObjectClass, namespace: Option<&str>) -> Result<Vec<ObjectInfo>> {
        match class {
            ObjectClass::Trigger => {
                let schema = schema_of(namespace);
                let rows = fetch_rows(
                    self,
                    &format!("SELECT name, tbl_name, sql FROM {}.sqlite_schema WHERE type = 'trigger' ORDER BY tbl_name, name", q(&schema)),
                    &[],
                )
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let (timing, events) = timing_and_event(&text(&r[2]).unwrap_or_default());
                        ObjectInfo {
                            namespace: Some(schema.clone()),
                            name: text(&r[0]).unwrap_or_default(),
                            kind: "trigger".into(),
                            table: text(&r[1]),
                            timing,
                            events,
                            ..ObjectInfo::default()
                        }
                    })
                    .collect())
            }
            ObjectClass::Routine => Err(Error::NotSupported(NO_ROUTINES.into())),
            ObjectClass::Event => Err(Error::NotSupported("SQLite has no scheduled events".into())),
        }
    }

    async fn definition(&self, class: ObjectClass, object: &ObjectRef) -> Result<Definition> {
        self.objects(class, None).await?;
        let (_, info, sql) = self.trigger(object).await?;
        Ok(Definition { info, sql })
    }

    async fn plan_create(&self, class: ObjectClass, sql: &str) -> Result<Plan> {
        self.objects(class, None).await?;
        let c = read_create(sql, Flavor::Standard)?;
        if c.kind != "TRIGGER" {
            return Err(Error::invalid(format!("that statement creates a {}, not a trigger", c.kind.to_lowercase())));
        }
        Ok(Plan::single(sql.trim().to_string()))
    }

    async fn plan_replace(&self, class: ObjectClass, object: &ObjectRef, sql: &str) -> Result<Plan> {
        self.objects(class, None).await?;
        let c = read_create(sql, Flavor::Standard)?;
        if c.kind != "TRIGGER" {
            return Err(Error::invalid(format!("that statement creates a {}, not a trigger", c.kind.to_lowercase())));
        }
        let (schema, info, _) = self.trigger(object).await?;
        Ok(Plan::transaction(vec![
            format!("DROP TRIGGER {}.{}", q(&schema), q(&info.name)),
            sql.trim().to_string(),
        ]))
    }

    async fn plan_drop(&self, class: ObjectClass, object: &ObjectRef) -> Result<Plan> {
        self.objects(class, None).await?;
        let (schema, info, _) = self.trigger(object).await?;
        Ok(Plan::single(format!("DROP TRIGGER {}.{}", q(&schema), q(&info.name))))
    }

    async fn plan_enable(&self, class: ObjectClass, object: &ObjectRef, enabled: bool) -> Result<Plan> {
        let _ = (object, enabled);
        Err(Error::NotSupported(match class {
            ObjectClass::Trigger => "SQLite cannot disable a trigger: drop it (`qore trigger show` keeps its definition to create it again)".into(),
            _ => format!("SQLite has no {}s", class.name()),
        }))
    }
}
