//! MariaDB/MySQL administration: ANALYZE, CHECK, CHECKSUM, OPTIMIZE, REPAIR
//! gated by storage engine and privileges, engine / row format / collation
//! / AUTO_INCREMENT changes, FLUSH; stored routines, triggers and events,
//! and the event scheduler.
//!
//! DDL is not transactional here. MariaDB's `CREATE OR REPLACE` checks the
//! new definition and the privileges before it drops the old object, so an
//! edit is that one statement; MySQL has no `OR REPLACE` for these, so an
//! edit first creates the new body under a temporary name (a syntax error
//! or a missing privilege stops there), then swaps, and puts the saved
//! definition back if the swap fails.

use async_trait::async_trait;
use qore_core::admin::{
    Admin, Atomicity, Definition, ObjectClass, ObjectInfo, ObjectRef, OpOption, OpRequest, OpScope,
    Operation, Plan, Scheduler, check_request, fetch_rows, int, read_create, text,
};
use qore_core::sql::Flavor;
use qore_core::{Connection, Error, Result, SendableRecordBatchStream, TableRef, Value};

use super::connection::MySqlConnection;

fn q(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

fn opt(v: &Value) -> Option<String> {
    text(v)
}

/// The privileges of the current user on `schema`.`table` (global, schema
/// and table grants).
const PRIVILEGES: &str = "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = @qore_grantee \
    UNION SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = @qore_grantee AND TABLE_SCHEMA = ? \
    UNION SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = @qore_grantee AND TABLE_SCHEMA = ? AND TABLE_NAME = ?";

struct TableFacts {
    schema: String,
    quoted: String,
    kind: String,
    engine: Option<String>,
    row_format: Option<String>,
    has_auto_increment: bool,
    privileges: Vec<String>,
}

impl TableFacts {
    fn may(&self, what: &[&str]) -> Option<String> {
        let missing: Vec<&str> = what.iter().copied().filter(|p| !self.privileges.iter().any(|h| h == p)).collect();
        (!missing.is_empty()).then(|| format!("you lack the {} privilege on {}", missing.join(" and "), self.quoted))
    }

    fn engine_in(&self, op: &str, engines: &[&str]) -> Option<String> {
        let e = self.engine.as_deref().unwrap_or("");
        (!engines.iter().any(|x| x.eq_ignore_ascii_case(e))).then(|| {
            format!("{op} works on {} tables; {} is {}", engines.join(", "), self.quoted, if e.is_empty() { "not a table" } else { e })
        })
    }
}

const ANALYZE_ENGINES: &[&str] = &["InnoDB", "MyISAM", "Aria"];
const CHECK_ENGINES: &[&str] = &["InnoDB", "MyISAM", "Aria", "ARCHIVE", "CSV"];
const OPTIMIZE_ENGINES: &[&str] = &["InnoDB", "MyISAM", "Aria", "ARCHIVE"];
const REPAIR_ENGINES: &[&str] = &["MyISAM", "Aria", "ARCHIVE", "CSV"];

fn row_formats(engine: &str) -> &'static [&'static str] {
    match engine.to_ascii_lowercase().as_str() {
        "innodb" => &["DYNAMIC", "COMPACT", "REDUNDANT", "COMPRESSED"],
        "aria" => &["PAGE", "FIXED", "DYNAMIC"],
        "myisam" => &["FIXED", "DYNAMIC"],
        _ => &[],
    }
}


impl MySqlConnection {
    async fn set_grantee(&self) -> Result<()> {
        self.execute(
            "SET @qore_grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
            &[],
        )
        .await
        .map(|_| ())
    }

    async fn current_schema(&self, ns: Option<&str>) -> Result<String> {
        if let Some(ns) = ns {
            return Ok(ns.to_string());
        }
        let rows = fetch_rows(self, "SELECT DATABASE()", &[]).await?;
        rows.first()
            .and_then(|r| text(&r[0]))
            .ok_or_else(|| Error::invalid("no database is selected: name one in the URL or qualify the name"))
    }

    async fn table_facts(&self, table: &TableRef) -> Result<TableFacts> {
        let schema = self.current_schema(table.namespace.as_deref()).await?;
        let quoted = format!("{}.{}", q(&schema), q(&table.name));
        let rows = fetch_rows(
            self,
            "SELECT TABLE_TYPE, ENGINE, ROW_FORMAT, AUTO_INCREMENT IS NOT NULL FROM information_schema.TABLES \
              WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            &[Value::Text(schema.clone()), Value::Text(table.name.clone())],
        )
        .await?;
        let Some(r) = rows.first() else {
            return Err(Error::NotFound(format!("no table {quoted}")));
        };
        self.set_grantee().await?;
        let privileges = fetch_rows(
            self,
            PRIVILEGES,
            &[Value::Text(schema.clone()), Value::Text(schema.clone()), Value::Text(table.name.clone())],
        )
        .await?
        .iter()
        .filter_map(|r| text(&r[0]))
        .collect();
        Ok(TableFacts {
            schema,
            quoted,
            kind: text(&r[0]).unwrap_or_default(),
            engine: opt(&r[1]),
            row_format: opt(&r[2]),
            has_auto_increment: int(&r[3]).unwrap_or(0) != 0,
            privileges,
        })
    }

    async fn global_privileges(&self) -> Result<Vec<String>> {
        self.set_grantee().await?;
        Ok(fetch_rows(self, "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = @qore_grantee", &[])
            .await?
            .iter()
            .filter_map(|r| text(&r[0]))
            .collect())
    }

    /// The base tables of the current database whose engine is in `engines`.
    async fn tables_for(&self, engines: &[&str]) -> Result<Vec<String>> {
        let schema = self.current_schema(None).await?;
        let rows = fetch_rows(
            self,
            "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
            &[Value::Text(schema.clone())],
        )
        .await?;
        Ok(rows
            .iter()
            .filter(|r| text(&r[1]).is_some_and(|e| engines.iter().any(|x| x.eq_ignore_ascii_case(&e))))
            .filter_map(|r| text(&r[0]).map(|t| format!("{}.{}", q(&schema), q(&t))))
            .collect())
    }

    /// One object of `class` by name: its schema, name, kind, and for a
    /// trigger its table.
    async fn find(&self, class: ObjectClass, object: &ObjectRef) -> Result<ObjectInfo> {
        let schema = self.current_schema(object.namespace.as_deref()).await?;
        let all = self.objects(class, Some(&schema)).await?;
        let found: Vec<ObjectInfo> = all.into_iter().filter(|o| o.name.eq_ignore_ascii_case(&object.name)).collect();
        match found.len() {
            0 => Err(Error::NotFound(format!("no {} {}.{}", class.name(), schema, object.name))),
            1 => Ok(found.into_iter().next().unwrap_or_default()),
            _ => {
                let kind = object.signature.as_deref().map(|s| s.trim_matches(|c| c == '(' || c == ')').to_ascii_lowercase());
                found.into_iter().find(|o| kind.as_deref() == Some(o.kind.as_str())).ok_or_else(|| {
                    Error::invalid(format!(
                        "`{}` is both a function and a procedure: say which, as `{}(function)` or `{}(procedure)`",
                        object.name, object.name, object.name
                    ))
                })
            }
        }
    }

    fn keyword(info: &ObjectInfo) -> &'static str {
        match info.kind.as_str() {
            "procedure" => "PROCEDURE",
            "function" => "FUNCTION",
            "trigger" => "TRIGGER",
            _ => "EVENT",
        }
    }

    fn qualified(info: &ObjectInfo) -> String {
        match &info.namespace {
            Some(ns) => format!("{}.{}", q(ns), q(&info.name)),
            None => q(&info.name),
        }
    }
}

#[async_trait]
impl Admin for MySqlConnection {
    fn admin_engine(&self) -> &'static str {
        if self.is_mariadb() { "MariaDB" } else { "MySQL" }
    }

    async fn operations(&self, table: Option<&TableRef>) -> Result<Vec<Operation>> {
        let Some(table) = table else {
            let global = self.global_privileges().await?;
            let reload = (!global.iter().any(|p| p == "RELOAD")).then(|| "FLUSH needs the RELOAD privilege".to_string());
            let check_opts = vec![
                OpOption::flag("quick", "do not scan rows for wrong links"),
                OpOption::flag("extended", "a full key lookup for every row (slow)"),
            ];
            return Ok(vec![
                Operation::new("analyze", "ANALYZE TABLE every InnoDB, MyISAM and Aria table of the database", OpScope::Either, vec![], None),
                Operation::new("check", "CHECK TABLE every table of the database", OpScope::Either, check_opts, None),
                Operation::new("optimize", "OPTIMIZE TABLE every table of the database", OpScope::Either, vec![], None),
                Operation::new(
                    "flush",
                    "FLUSH: close open tables, rotate logs, reset status counters or reload grants",
                    OpScope::Either,
                    vec![OpOption::value("what", "what to flush (default: tables)", &["tables", "logs", "status", "privileges"])],
                    reload,
                ),
            ]);
        };
        let f = self.table_facts(table).await?;
        let view = (f.kind != "BASE TABLE" && f.kind != "SYSTEM VERSIONED").then(|| format!("{} is a {}, not a table", f.quoted, f.kind.to_lowercase()));
        let rw = f.may(&["SELECT", "INSERT"]);
        let alter = f.may(&["ALTER"]);
        let engine = f.engine.clone().unwrap_or_default();
        let engines: Vec<String> = fetch_rows(
            self,
            "SELECT ENGINE FROM information_schema.ENGINES WHERE SUPPORT IN ('YES', 'DEFAULT') ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .filter_map(|r| text(&r[0]))
        .filter(|e| !e.eq_ignore_ascii_case(&engine))
        .collect();
        let engine_choices: Vec<&str> = engines.iter().map(String::as_str).collect();
        let formats = row_formats(&engine);
        let current_format = f.row_format.clone().unwrap_or_default();
        let reload = (!self.global_privileges().await?.iter().any(|p| p == "RELOAD")).then(|| "FLUSH needs the RELOAD privilege".to_string());
        Ok(vec![
            Operation::new(
                "analyze",
                "ANALYZE TABLE: update the index statistics",
                OpScope::Either,
                vec![OpOption::flag("persistent", "also collect engine-independent statistics for every column and index (MariaDB)")],
                view.clone().or_else(|| f.engine_in("ANALYZE", ANALYZE_ENGINES)).or(rw.clone()),
            ),
            Operation::new(
                "check",
                "CHECK TABLE: look for errors",
                OpScope::Either,
                vec![
                    OpOption::flag("quick", "do not scan rows for wrong links"),
                    OpOption::flag("extended", "a full key lookup for every row (slow)"),
                    OpOption::flag("changed", "only tables changed since the last check"),
                ],
                f.engine_in("CHECK", CHECK_ENGINES).filter(|_| view.is_none()).or(f.may(&["SELECT"])),
            ),
            Operation::new(
                "checksum",
                "CHECKSUM TABLE: a checksum of the table's contents",
                OpScope::Table,
                vec![OpOption::flag("extended", "read every row (always right; QUICK is only for live-checksum tables)")],
                view.clone().or(f.may(&["SELECT"])),
            ),
            Operation::new(
                "optimize",
                "OPTIMIZE TABLE: defragment and give free space back (InnoDB: rebuild the table)",
                OpScope::Either,
                vec![OpOption::flag("local", "do not write it to the binary log")],
                view.clone().or_else(|| f.engine_in("OPTIMIZE", OPTIMIZE_ENGINES)).or(rw.clone()),
            ),
            Operation::new(
                "repair",
                "REPAIR TABLE: fix a corrupted MyISAM, Aria, ARCHIVE or CSV table",
                OpScope::Table,
                vec![
                    OpOption::flag("quick", "repair only the index tree"),
                    OpOption::flag("extended", "rebuild the index row by row (slow)"),
                    OpOption::flag("use_frm", "recreate the index file from the table definition"),
                ],
                view.clone().or_else(|| f.engine_in("REPAIR", REPAIR_ENGINES)).or(rw.clone()),
            ),
            Operation::new(
                "engine",
                "ALTER TABLE ... ENGINE: move the table to another storage engine (rebuilds it)",
                OpScope::Table,
                vec![OpOption::value("to", "the storage engine", &engine_choices)],
                view.clone().or(alter.clone()),
            ),
            Operation::new(
                "row_format",
                "ALTER TABLE ... ROW_FORMAT: change how rows are stored (rebuilds it)",
                OpScope::Table,
                vec![OpOption::value("to", &format!("the row format (now {current_format})"), formats)],
                view.clone().or(alter.clone()).or_else(|| formats.is_empty().then(|| format!("{engine} tables have no row formats to choose"))),
            ),
            Operation::new(
                "collation",
                "ALTER TABLE ... COLLATE / CONVERT TO: change the table's default collation, or convert its text columns",
                OpScope::Table,
                vec![
                    OpOption::value("to", "the collation (utf8mb4_unicode_520_ci, ...)", &[]),
                    OpOption::flag("convert", "convert every text column too (rewrites the data)"),
                ],
                view.clone().or(alter.clone()),
            ),
            Operation::new(
                "auto_increment",
                "ALTER TABLE ... AUTO_INCREMENT: set the next AUTO_INCREMENT value",
                OpScope::Table,
                vec![OpOption::value("to", "the next value", &[])],
                view.clone().or(alter.clone()).or_else(|| (!f.has_auto_increment).then(|| format!("{} has no AUTO_INCREMENT column", f.quoted))),
            ),
            Operation::new("flush", "FLUSH TABLES: close the table and write its changes", OpScope::Either, vec![], view.clone().or(reload)),
        ])
    }

    async fn plan_operation(&self, request: &OpRequest) -> Result<Plan> {
        let ops = self.operations(request.table.as_ref()).await?;
        let op = check_request(&ops, request, self.admin_engine())?;
        let target = match &request.table {
            Some(t) => {
                let f = self.table_facts(t).await?;
                let _ = &f.schema;
                f.quoted
            }
            None => {
                let engines = match op.name.as_str() {
                    "analyze" => ANALYZE_ENGINES,
                    "check" => CHECK_ENGINES,
                    "optimize" => OPTIMIZE_ENGINES,
                    _ => &[][..],
                };
                if engines.is_empty() {
                    String::new()
                } else {
                    let tables = self.tables_for(engines).await?;
                    if tables.is_empty() {
                        return Err(Error::invalid(format!("the database has no table {} can work on", op.name)));
                    }
                    tables.join(", ")
                }
            }
        };
        let flags = |names: &[&str]| -> String {
            names.iter().filter(|n| request.has(n)).map(|n| format!(" {}", n.to_ascii_uppercase())).collect()
        };
        let to = request.value("to").unwrap_or_default();
        let sql = match op.name.as_str() {
            "analyze" if request.has("persistent") => format!("ANALYZE TABLE {target} PERSISTENT FOR ALL"),
            "analyze" => format!("ANALYZE TABLE {target}"),
            "check" => format!("CHECK TABLE {target}{}", flags(&["quick", "extended", "changed"])),
            "checksum" => format!("CHECKSUM TABLE {target}{}", flags(&["extended"])),
            "optimize" if request.has("local") => format!("OPTIMIZE LOCAL TABLE {target}"),
            "optimize" => format!("OPTIMIZE TABLE {target}"),
            "repair" => format!("REPAIR TABLE {target}{}", flags(&["quick", "extended", "use_frm"])),
            "engine" | "row_format" | "collation" | "auto_increment" if to.is_empty() => {
                return Err(Error::invalid(format!("`{}` needs `to=...`", op.name)));
            }
            "engine" => format!("ALTER TABLE {target} ENGINE = {}", q(to)),
            "row_format" => format!("ALTER TABLE {target} ROW_FORMAT = {}", to.to_ascii_uppercase()),
            "collation" => {
                let rows = fetch_rows(
                    self,
                    "SELECT CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME = ?",
                    &[Value::Text(to.to_string())],
                )
                .await?;
                let Some(charset) = rows.first().and_then(|r| text(&r[0])) else {
                    return Err(Error::invalid(format!("the server has no collation `{to}`")));
                };
                if request.has("convert") {
                    format!("ALTER TABLE {target} CONVERT TO CHARACTER SET {charset} COLLATE {to}")
                } else {
                    format!("ALTER TABLE {target} DEFAULT CHARACTER SET {charset} COLLATE {to}")
                }
            }
            "auto_increment" => {
                let n: u64 = to.parse().map_err(|_| Error::invalid(format!("`auto_increment` takes a positive number, not `{to}`")))?;
                format!("ALTER TABLE {target} AUTO_INCREMENT = {n}")
            }
            "flush" if !target.is_empty() => format!("FLUSH TABLES {target}"),
            "flush" => format!("FLUSH {}", request.value("what").unwrap_or("tables").to_ascii_uppercase()),
            other => return Err(Error::NotSupported(format!("operation `{other}` has no plan"))),
        };
        Ok(Plan::single(sql))
    }

    async fn figures(&self, table: Option<&TableRef>) -> Result<SendableRecordBatchStream> {
        let schema = self.current_schema(table.and_then(|t| t.namespace.as_deref())).await?;
        let name = table.map_or(Value::Null, |t| Value::Text(t.name.clone()));
        self.query(
            "SELECT TABLE_SCHEMA AS `schema`, TABLE_NAME AS `table`, ENGINE AS engine, ROW_FORMAT AS row_format, \
                    TABLE_ROWS AS rows_estimate, AVG_ROW_LENGTH AS avg_row_bytes, DATA_LENGTH AS data_bytes, \
                    INDEX_LENGTH AS index_bytes, DATA_FREE AS free_bytes, AUTO_INCREMENT AS next_auto_increment, \
                    TABLE_COLLATION AS collation, CREATE_TIME AS created, UPDATE_TIME AS updated, CHECK_TIME AS checked \
               FROM information_schema.TABLES \
              WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' AND (? IS NULL OR TABLE_NAME = ?) \
              ORDER BY DATA_FREE DESC, TABLE_NAME",
            &[Value::Text(schema), name.clone(), name],
        )
        .await
    }

    async fn objects(&self, class: ObjectClass, namespace: Option<&str>) -> Result<Vec<ObjectInfo>> {
        let schema = self.current_schema(namespace).await?;
        let ns = Value::Text(schema.clone());
        match class {
            ObjectClass::Routine => {
                let rows = fetch_rows(
                    self,
                    "SELECT r.ROUTINE_SCHEMA, r.ROUTINE_NAME, LOWER(r.ROUTINE_TYPE), \
                            (SELECT GROUP_CONCAT(CONCAT_WS(' ', IF(r.ROUTINE_TYPE = 'PROCEDURE', p.PARAMETER_MODE, NULL), p.PARAMETER_NAME, p.DTD_IDENTIFIER) \
                                    ORDER BY p.ORDINAL_POSITION SEPARATOR ', ') \
                               FROM information_schema.PARAMETERS p \
                              WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND p.SPECIFIC_NAME = r.SPECIFIC_NAME \
                                AND p.ROUTINE_TYPE = r.ROUTINE_TYPE AND p.ORDINAL_POSITION > 0), \
                            IF(r.ROUTINE_TYPE = 'FUNCTION', r.DTD_IDENTIFIER, NULL), LOWER(r.ROUTINE_BODY), r.DEFINER \
                       FROM information_schema.ROUTINES r WHERE r.ROUTINE_SCHEMA = ? AND r.ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE') \
                      ORDER BY r.ROUTINE_NAME, r.ROUTINE_TYPE",
                    &[ns],
                )
                .await?;
                Ok(rows.iter().map(|r| ObjectInfo::routine_from_row(r)).collect())
            }
            ObjectClass::Trigger => {
                let rows = fetch_rows(
                    self,
                    "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, \
                            CONCAT(EVENT_MANIPULATION, ' FOR EACH ', ACTION_ORIENTATION), DEFINER \
                       FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? \
                      ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
                    &[ns],
                )
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| ObjectInfo {
                        namespace: text(&r[0]),
                        name: text(&r[1]).unwrap_or_default(),
                        kind: "trigger".into(),
                        table: text(&r[2]),
                        timing: text(&r[3]),
                        events: text(&r[4]),
                        owner: text(&r[5]),
                        ..ObjectInfo::default()
                    })
                    .collect())
            }
            ObjectClass::Event => {
                let rows = fetch_rows(
                    self,
                    "SELECT EVENT_SCHEMA, EVENT_NAME, \
                            IF(EVENT_TYPE = 'ONE TIME', CONCAT('AT ', EXECUTE_AT), \
                               CONCAT('EVERY ', INTERVAL_VALUE, ' ', INTERVAL_FIELD, IFNULL(CONCAT(' STARTS ', STARTS), ''), \
                                      IFNULL(CONCAT(' ENDS ', ENDS), ''))), \
                            STATUS, CAST(LAST_EXECUTED AS CHAR), DEFINER, ON_COMPLETION \
                       FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME",
                    &[ns],
                )
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let status = text(&r[3]).unwrap_or_default();
                        ObjectInfo {
                            namespace: text(&r[0]),
                            name: text(&r[1]).unwrap_or_default(),
                            kind: "event".into(),
                            schedule: text(&r[2]),
                            enabled: Some(status == "ENABLED"),
                            status: Some(status),
                            last_executed: text(&r[4]),
                            owner: text(&r[5]),
                            events: text(&r[6]).map(|c| format!("ON COMPLETION {c}")),
                            ..ObjectInfo::default()
                        }
                    })
                    .collect())
            }
        }
    }

    async fn definition(&self, class: ObjectClass, object: &ObjectRef) -> Result<Definition> {
        let info = self.find(class, object).await?;
        let kw = Self::keyword(&info);
        let sql = format!("SHOW CREATE {kw} {}", Self::qualified(&info));
        let mut stream = self.query(&sql, &[]).await?;
        let schema = stream.schema();
        let wanted = match kw {
            "TRIGGER" => "SQL Original Statement".to_string(),
            "EVENT" => "Create Event".to_string(),
            k => format!("Create {}{}", &k[..1], k[1..].to_ascii_lowercase()),
        };
        let col = schema.index_of(&wanted).map_err(|_| Error::Internal(format!("SHOW CREATE {kw} has no `{wanted}` column")))?;
        let mut definition = None;
        while let Some(b) = futures::TryStreamExt::try_next(&mut stream).await? {
            if b.num_rows() > 0 {
                definition = text(&Value::from_array(b.column(col).as_ref(), 0)?);
            }
        }
        let sql = definition.ok_or_else(|| {
            Error::Denied(format!(
                "the server does not show the definition of {} to this user: it takes being its definer, or SELECT on mysql.proc",
                info.name
            ))
        })?;
        Ok(Definition { info, sql })
    }

    async fn plan_create(&self, class: ObjectClass, sql: &str) -> Result<Plan> {
        let c = read_create(sql, Flavor::MySql)?;
        if c.class() != class || c.kind == "EVENT TRIGGER" {
            return Err(Error::invalid(format!("that statement creates a {}, not a {}", c.kind.to_lowercase(), class.name())));
        }
        Ok(Plan::single(sql.trim().trim_end_matches(';').to_string()))
    }

    async fn plan_replace(&self, class: ObjectClass, object: &ObjectRef, sql: &str) -> Result<Plan> {
        let c = read_create(sql, Flavor::MySql)?;
        if c.class() != class || c.kind == "EVENT TRIGGER" {
            return Err(Error::invalid(format!("that statement creates a {}, not a {}", c.kind.to_lowercase(), class.name())));
        }
        let old = self.find(class, object).await?;
        if !c.name.name.eq_ignore_ascii_case(&old.name)
            || c.name.namespace.as_ref().is_some_and(|n| Some(n) != old.namespace.as_ref())
            || (class == ObjectClass::Routine && c.kind.to_ascii_lowercase() != old.kind)
        {
            return Err(Error::invalid(format!(
                "the new definition creates {} `{}`, not {} `{}`: to rename, create the new one and drop the old",
                c.kind.to_lowercase(),
                c.name.name,
                old.kind,
                old.name
            )));
        }
        let sql = sql.trim().trim_end_matches(';').to_string();
        if self.is_mariadb() {
            return Ok(Plan::single(c.with_or_replace(&sql)));
        }
        // MySQL: try the body under a temporary name, then swap.
        let saved = self.definition(class, object).await?.sql;
        let kw = Self::keyword(&old);
        let temp_name = format!("qore_tmp_{}", old.name);
        let temp = match &old.namespace {
            Some(ns) => format!("{}.{}", q(ns), q(&temp_name)),
            None => q(&temp_name),
        };
        Ok(Plan {
            statements: vec![
                c.renamed(&sql, &temp),
                format!("DROP {kw} {temp}"),
                format!("DROP {kw} {}", Self::qualified(&old)),
                sql,
            ],
            atomicity: Atomicity::Restore { from: 2, statements: vec![saved] },
            progress: None,
        })
    }

    async fn plan_drop(&self, class: ObjectClass, object: &ObjectRef) -> Result<Plan> {
        let info = self.find(class, object).await?;
        Ok(Plan::single(format!("DROP {} {}", Self::keyword(&info), Self::qualified(&info))))
    }

    async fn plan_enable(&self, class: ObjectClass, object: &ObjectRef, enabled: bool) -> Result<Plan> {
        match class {
            ObjectClass::Event => {
                let info = self.find(class, object).await?;
                Ok(Plan::single(format!(
                    "ALTER EVENT {} {}",
                    Self::qualified(&info),
                    if enabled { "ENABLE" } else { "DISABLE" }
                )))
            }
            ObjectClass::Trigger => Err(Error::NotSupported(format!(
                "{} cannot disable a trigger: drop it (`qore trigger show` keeps its definition to create it again)",
                self.admin_engine()
            ))),
            ObjectClass::Routine => Err(Error::NotSupported("a routine cannot be enabled or disabled".into())),
        }
    }

    async fn plan_call(&self, object: &ObjectRef, args: &[Option<String>]) -> Result<Plan> {
        let info = self.find(ObjectClass::Routine, object).await?;
        let schema = info.namespace.clone().unwrap_or_default();
        let params = fetch_rows(
            self,
            "SELECT PARAMETER_MODE, PARAMETER_NAME FROM information_schema.PARAMETERS \
              WHERE SPECIFIC_SCHEMA = ? AND SPECIFIC_NAME = ? AND ROUTINE_TYPE = ? AND ORDINAL_POSITION > 0 ORDER BY ORDINAL_POSITION",
            &[Value::Text(schema), Value::Text(info.name.clone()), Value::Text(info.kind.to_ascii_uppercase())],
        )
        .await?;
        let modes: Vec<(String, String)> = params
            .iter()
            .map(|r| (text(&r[0]).unwrap_or_else(|| "IN".into()), text(&r[1]).unwrap_or_default()))
            .collect();
        let inputs = modes.iter().filter(|(m, _)| m != "OUT").count();
        if args.len() != inputs {
            return Err(Error::invalid(format!(
                "{}{} takes {inputs} argument(s) (OUT parameters are returned, not given), {} given",
                info.name,
                info.arguments.as_deref().unwrap_or("()"),
                args.len()
            )));
        }
        let literal = |v: &Option<String>| -> Result<String> {
            match v {
                Some(v) => self.dialect_quote(v),
                None => Ok("NULL".into()),
            }
        };
        let callee = Self::qualified(&info);
        if info.kind == "function" {
            let list: Vec<String> = args.iter().map(literal).collect::<Result<_>>()?;
            return Ok(Plan::single(format!("SELECT {callee}({}) AS {}", list.join(", "), q(&info.name))));
        }
        let mut given = args.iter();
        let mut statements = Vec::new();
        let mut list = Vec::new();
        let mut outs = Vec::new();
        for (i, (mode, name)) in modes.iter().enumerate() {
            let var = format!("@qore_p{}", i + 1);
            match mode.as_str() {
                "OUT" => {
                    statements.push(format!("SET {var} = NULL"));
                    list.push(var.clone());
                    outs.push(format!("{var} AS {}", q(name)));
                }
                "INOUT" => {
                    let v = given.next().map(literal).transpose()?.unwrap_or_else(|| "NULL".into());
                    statements.push(format!("SET {var} = {v}"));
                    list.push(var.clone());
                    outs.push(format!("{var} AS {}", q(name)));
                }
                _ => list.push(given.next().map(literal).transpose()?.unwrap_or_else(|| "NULL".into())),
            }
        }
        statements.push(format!("CALL {callee}({})", list.join(", ")));
        if !outs.is_empty() {
            statements.push(format!("SELECT {}", outs.join(", ")));
        }
        Ok(Plan::sequence(statements))
    }

    async fn scheduler(&self) -> Result<Scheduler> {
        let rows = fetch_rows(self, "SELECT @@global.event_scheduler", &[]).await?;
        let state = rows.first().and_then(|r| text(&r[0])).unwrap_or_default().to_ascii_uppercase();
        Ok(Scheduler {
            running: state == "ON" || state == "1",
            locked: (state == "DISABLED").then(|| {
                "the server was started with --event-scheduler=DISABLED: it can only be turned on by restarting the server with another setting".to_string()
            }),
        })
    }

    async fn plan_scheduler(&self, on: bool) -> Result<Plan> {
        if let Some(why) = self.scheduler().await?.locked {
            return Err(Error::NotSupported(why));
        }
        Ok(Plan::single(format!("SET GLOBAL event_scheduler = {}", if on { "ON" } else { "OFF" })))
    }
}

impl MySqlConnection {
    fn dialect_quote(&self, v: &str) -> Result<String> {
        match Connection::dialect(self) {
            Some(d) => d.quote_string(v),
            None => Err(Error::Internal("no dialect".into())),
        }
    }
}
