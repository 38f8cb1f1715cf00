//! MariaDB/MySQL maintenance: ANALYZE, CHECK, CHECKSUM, OPTIMIZE, REPAIR
//! gated by storage engine and the user's grants, engine / row format /
//! collation / AUTO_INCREMENT changes, FLUSH, and the tables' figures.

use qore_core::admin::{Admin, OpOption, OpRequest, OpScope, Operation, Plan, check_request, fetch_rows, int, text};
use qore_core::{Connection, Error, Result, SendableRecordBatchStream, TableRef, Value};

use super::admin::q;
use super::connection::MySqlConnection;

fn opt(v: &Value) -> Option<String> {
    text(v)
}

/// The privileges of the current user on `schema`.`table` (global, schema
/// and table grants).
const PRIVILEGES: &str = "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = @qore_grantee \
    UNION SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = @qore_grantee AND TABLE_SCHEMA = ? \
    UNION SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = @qore_grantee AND TABLE_SCHEMA = ? AND TABLE_NAME = ?";

/// What the operations of one table depend on.
struct TableFacts {
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
    pub(super) async fn maintenance_operations(&self, table: Option<&TableRef>) -> Result<Vec<Operation>> {
        let facts = match table {
            Some(t) => Some(self.table_facts(t).await?),
            None => None,
        };
        self.operations_for(facts.as_ref()).await
    }

    /// The operations of the table `facts` describe, or of the database.
    async fn operations_for(&self, facts: Option<&TableFacts>) -> Result<Vec<Operation>> {
        let Some(f) = facts else {
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

    pub(super) async fn plan_maintenance(&self, request: &OpRequest) -> Result<Plan> {
        // The table's facts read once, for the listing and the plan.
        let facts = match &request.table {
            Some(t) => Some(self.table_facts(t).await?),
            None => None,
        };
        let ops = self.operations_for(facts.as_ref()).await?;
        let op = check_request(&ops, request, self.admin_engine())?;
        let target = match &facts {
            Some(f) => f.quoted.clone(),
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

    pub(super) async fn maintenance_figures(&self, table: Option<&TableRef>) -> Result<SendableRecordBatchStream> {
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
}
