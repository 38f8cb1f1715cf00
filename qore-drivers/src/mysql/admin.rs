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
    Admin, Atomicity, Definition, ObjectClass, ObjectInfo, ObjectRef, OpRequest, Operation, Plan,
    Scheduler, fetch_rows, read_create, text,
};
use qore_core::sql::Flavor;
use qore_core::{Connection, Error, Result, SendableRecordBatchStream, TableRef, Value};

use super::connection::MySqlConnection;

pub(super) fn q(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

impl MySqlConnection {
    pub(super) async fn current_schema(&self, ns: Option<&str>) -> Result<String> {
        if let Some(ns) = ns {
            return Ok(ns.to_string());
        }
        let rows = fetch_rows(self, "SELECT DATABASE()", &[]).await?;
        rows.first()
            .and_then(|r| text(&r[0]))
            .ok_or_else(|| Error::invalid("no database is selected: name one in the URL or qualify the name"))
    }

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
        self.maintenance_operations(table).await
    }

    async fn plan_operation(&self, request: &OpRequest) -> Result<Plan> {
        self.plan_maintenance(request).await
    }

    async fn figures(&self, table: Option<&TableRef>) -> Result<SendableRecordBatchStream> {
        self.maintenance_figures(table).await
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
