//! PostgreSQL administration: VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH
//! MATERIALIZED VIEW gated by table kind and ownership; functions,
//! procedures and aggregates; triggers and event triggers. Edits run in one
//! transaction (PostgreSQL's DDL is transactional), so a failed edit leaves
//! the old definition as it was.

use async_trait::async_trait;
use qore_core::admin::{
    Admin, Definition, ObjectClass, ObjectInfo, ObjectRef, OpRequest, Operation, Plan, fetch_rows, int,
    read_create, text,
};
use qore_core::sql::Flavor;
use qore_core::{Dialect, Error, Result, SendableRecordBatchStream, TableRef, Value};

use super::connection::PostgresConnection;
use super::dialect::PostgresDialect;

pub(super) fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

pub(super) fn lit(s: &str) -> String {
    PostgresDialect.quote_string(s).unwrap_or_else(|_| format!("'{}'", s.replace('\'', "''")))
}

fn ns_param(ns: Option<&str>) -> Value {
    ns.map_or(Value::Null, |s| Value::Text(s.to_string()))
}

impl PostgresConnection {
    pub(super) fn major(&self) -> u32 {
        self.server_version()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    /// One routine by name (and argument types when given): oid, schema,
    /// name, identity arguments, prokind.
    async fn routine(&self, object: &ObjectRef) -> Result<(i64, String, String, String, String)> {
        let mut sql = String::from(
            "SELECT p.oid::int8, n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), p.prokind::text \
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
              WHERE p.proname = $2::text AND n.nspname = coalesce($1::text, current_schema())",
        );
        let mut params = vec![ns_param(object.namespace.as_deref()), Value::Text(object.name.clone())];
        if let Some(sig) = &object.signature {
            let head = match &object.namespace {
                Some(ns) => format!("{}.{}", q(ns), q(&object.name)),
                None => q(&object.name),
            };
            sql.push_str(" AND p.oid = to_regprocedure($3::text)");
            params.push(Value::Text(format!("{head}{sig}")));
        }
        sql.push_str(" ORDER BY 4");
        let rows = fetch_rows(self, &sql, &params).await?;
        match rows.len() {
            0 => Err(Error::NotFound(format!("no routine {}", object.display()))),
            1 => {
                let r = &rows[0];
                Ok((
                    int(&r[0]).unwrap_or(0),
                    text(&r[1]).unwrap_or_default(),
                    text(&r[2]).unwrap_or_default(),
                    text(&r[3]).unwrap_or_default(),
                    text(&r[4]).unwrap_or_default(),
                ))
            }
            _ => {
                let all: Vec<String> = rows
                    .iter()
                    .map(|r| format!("{}({})", object.name, text(&r[3]).unwrap_or_default()))
                    .collect();
                Err(Error::invalid(format!(
                    "`{}` is overloaded: name one of {}",
                    object.name,
                    all.join(", ")
                )))
            }
        }
    }

    /// One trigger or event trigger: (oid, schema, table, name, is event trigger, tgenabled).
    async fn trigger(&self, object: &ObjectRef) -> Result<(i64, Option<String>, Option<String>, String, bool, String)> {
        let table = object.table.as_deref().map(TableRef::parse).transpose()?;
        let rows = fetch_rows(
            self,
            "SELECT t.oid::int8, n.nspname::text, c.relname::text, t.tgname::text, false, t.tgenabled::text \
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE NOT t.tgisinternal AND t.tgname = $2::text \
                AND n.nspname = coalesce($1::text, $4::text, current_schema()) \
                AND ($3::text IS NULL OR c.relname = $3::text) \
             UNION ALL \
             SELECT e.oid::int8, NULL, NULL, e.evtname::text, true, e.evtenabled::text FROM pg_event_trigger e \
              WHERE e.evtname = $2::text AND $3::text IS NULL \
             ORDER BY 3",
            &[
                ns_param(object.namespace.as_deref()),
                Value::Text(object.name.clone()),
                table.as_ref().map_or(Value::Null, |t| Value::Text(t.name.clone())),
                ns_param(table.as_ref().and_then(|t| t.namespace.as_deref())),
            ],
        )
        .await?;
        match rows.len() {
            0 => Err(Error::NotFound(format!("no trigger {}", object.display()))),
            1 => {
                let r = &rows[0];
                Ok((
                    int(&r[0]).unwrap_or(0),
                    text(&r[1]),
                    text(&r[2]),
                    text(&r[3]).unwrap_or_default(),
                    matches!(r[4], Value::Bool(true)),
                    text(&r[5]).unwrap_or_default(),
                ))
            }
            _ => {
                let on: Vec<String> = rows.iter().map(|r| text(&r[2]).unwrap_or_else(|| "(event trigger)".into())).collect();
                Err(Error::invalid(format!(
                    "trigger `{}` exists on {}: name the table",
                    object.name,
                    on.join(", ")
                )))
            }
        }
    }
}

#[async_trait]
impl Admin for PostgresConnection {
    fn admin_engine(&self) -> &'static str {
        "PostgreSQL"
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
        match class {
            ObjectClass::Routine => {
                let rows = fetch_rows(
                    self,
                    "SELECT n.nspname::text, p.proname::text, \
                            CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window' ELSE 'function' END, \
                            pg_get_function_arguments(p.oid), \
                            CASE WHEN p.prokind = 'p' THEN NULL ELSE pg_get_function_result(p.oid) END, \
                            l.lanname::text, pg_get_userbyid(p.proowner)::text \
                       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang \
                      WHERE n.nspname = coalesce($1::text, current_schema()) \
                        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') \
                      ORDER BY 2, 4",
                    &[ns_param(namespace)],
                )
                .await?;
                Ok(rows.iter().map(|r| ObjectInfo::routine_from_row(r)).collect())
            }
            ObjectClass::Trigger => {
                let rows = fetch_rows(
                    self,
                    "SELECT n.nspname::text, t.tgname::text, 'trigger', c.relname::text, \
                            CASE WHEN t.tgtype & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END, \
                            concat_ws(' OR ', CASE WHEN t.tgtype & 4 <> 0 THEN 'INSERT' END, CASE WHEN t.tgtype & 16 <> 0 THEN 'UPDATE' END, \
                                      CASE WHEN t.tgtype & 8 <> 0 THEN 'DELETE' END, CASE WHEN t.tgtype & 32 <> 0 THEN 'TRUNCATE' END) \
                              || CASE WHEN t.tgtype & 1 <> 0 THEN ' FOR EACH ROW' ELSE ' FOR EACH STATEMENT' END, \
                            t.tgenabled::text, pg_get_userbyid(c.relowner)::text \
                       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                      WHERE NOT t.tgisinternal AND n.nspname = coalesce($1::text, current_schema()) \
                     UNION ALL \
                     SELECT NULL, e.evtname::text, 'event trigger', NULL, NULL, e.evtevent::text, e.evtenabled::text, \
                            pg_get_userbyid(e.evtowner)::text FROM pg_event_trigger e \
                      ORDER BY 4, 2",
                    &[ns_param(namespace)],
                )
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let state = text(&r[6]).unwrap_or_default();
                        ObjectInfo {
                            namespace: text(&r[0]),
                            name: text(&r[1]).unwrap_or_default(),
                            kind: text(&r[2]).unwrap_or_default(),
                            table: text(&r[3]),
                            timing: text(&r[4]),
                            events: text(&r[5]),
                            enabled: Some(state != "D"),
                            status: Some(trigger_state(&state).to_string()),
                            owner: text(&r[7]),
                            ..ObjectInfo::default()
                        }
                    })
                    .collect())
            }
            ObjectClass::Event => Err(Error::NotSupported(
                "PostgreSQL has no scheduled events (the pg_cron extension schedules jobs; list them with `SELECT * FROM cron.job`)".into(),
            )),
        }
    }

    async fn definition(&self, class: ObjectClass, object: &ObjectRef) -> Result<Definition> {
        match class {
            ObjectClass::Routine => {
                let (oid, ns, name, identity, kind) = self.routine(object).await?;
                let sql = if kind == "a" {
                    let rows = fetch_rows(
                        self,
                        "SELECT a.aggtransfn::regproc::text, format_type(a.aggtranstype, NULL), \
                                CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::regproc::text END, a.agginitval \
                           FROM pg_aggregate a WHERE a.aggfnoid = $1::int8::oid",
                        &[Value::Int(oid)],
                    )
                    .await?;
                    let r = rows.first().ok_or_else(|| Error::NotFound(format!("no aggregate {}", object.display())))?;
                    let mut body = format!("SFUNC = {}, STYPE = {}", text(&r[0]).unwrap_or_default(), text(&r[1]).unwrap_or_default());
                    if let Some(f) = text(&r[2]) {
                        body.push_str(&format!(", FINALFUNC = {f}"));
                    }
                    if let Some(i) = text(&r[3]) {
                        body.push_str(&format!(", INITCOND = {}", lit(&i)));
                    }
                    format!("CREATE OR REPLACE AGGREGATE {}.{}({identity}) ({body})", q(&ns), q(&name))
                } else {
                    let rows = fetch_rows(self, "SELECT pg_get_functiondef($1::int8::oid)", &[Value::Int(oid)]).await?;
                    rows.first().and_then(|r| text(&r[0])).unwrap_or_default()
                };
                let named: Vec<ObjectInfo> =
                    self.objects(ObjectClass::Routine, Some(&ns)).await?.into_iter().filter(|o| o.name == name).collect();
                let only = named.len() == 1;
                let info = named
                    .into_iter()
                    .find(|o| only || o.arguments.as_deref().is_some_and(|a| same_args(a, &identity)))
                    .unwrap_or_else(|| ObjectInfo { namespace: Some(ns), name, kind: "function".into(), ..ObjectInfo::default() });
                Ok(Definition { info, sql })
            }
            ObjectClass::Trigger => {
                let (oid, ns, table, name, event, _) = self.trigger(object).await?;
                let sql = if event {
                    let rows = fetch_rows(
                        self,
                        "SELECT e.evtevent::text, array_to_string(e.evttags, chr(31)), e.evtfoid::regproc::text, quote_ident(e.evtname) \
                           FROM pg_event_trigger e WHERE e.oid = $1::int8::oid",
                        &[Value::Int(oid)],
                    )
                    .await?;
                    let r = rows.first().ok_or_else(|| Error::NotFound(format!("no event trigger {name}")))?;
                    let tags = text(&r[1]).filter(|t| !t.is_empty()).map(|t| {
                        let tags: Vec<String> = t.split('\u{1f}').map(lit).collect();
                        format!(" WHEN TAG IN ({})", tags.join(", "))
                    });
                    // Quoted as the server quotes (only where needed), like
                    // pg_get_triggerdef for table triggers.
                    format!(
                        "CREATE EVENT TRIGGER {} ON {}{} EXECUTE FUNCTION {}()",
                        text(&r[3]).unwrap_or_else(|| q(&name)),
                        text(&r[0]).unwrap_or_default(),
                        tags.unwrap_or_default(),
                        text(&r[2]).unwrap_or_default()
                    )
                } else {
                    let rows = fetch_rows(self, "SELECT pg_get_triggerdef($1::int8::oid, true)", &[Value::Int(oid)]).await?;
                    rows.first().and_then(|r| text(&r[0])).unwrap_or_default()
                };
                let info = self
                    .objects(ObjectClass::Trigger, ns.as_deref())
                    .await?
                    .into_iter()
                    .find(|o| o.name == name && o.table == table)
                    .unwrap_or_else(|| ObjectInfo { name, table, kind: "trigger".into(), ..ObjectInfo::default() });
                Ok(Definition { info, sql })
            }
            ObjectClass::Event => Err(self.objects(ObjectClass::Event, None).await.err().unwrap_or_else(|| Error::NotSupported("no events".into()))),
        }
    }

    async fn plan_create(&self, class: ObjectClass, sql: &str) -> Result<Plan> {
        let c = read_create(sql, Flavor::Standard)?;
        if c.class() != class {
            return Err(Error::invalid(format!("that statement creates a {}, not a {}", c.kind.to_lowercase(), class.name())));
        }
        if class == ObjectClass::Event {
            return Err(Error::NotSupported("PostgreSQL has no scheduled events".into()));
        }
        Ok(Plan::single(sql.trim().to_string()))
    }

    async fn plan_replace(&self, class: ObjectClass, object: &ObjectRef, sql: &str) -> Result<Plan> {
        let c = read_create(sql, Flavor::Standard)?;
        if c.class() != class {
            return Err(Error::invalid(format!("that statement creates a {}, not a {}", c.kind.to_lowercase(), class.name())));
        }
        let sql = sql.trim().trim_end_matches(';').to_string();
        match class {
            ObjectClass::Routine => {
                let (_, ns, name, _, _) = self.routine(object).await?;
                if c.name.name != name || c.name.namespace.as_ref().is_some_and(|n| n != &ns) {
                    return Err(Error::invalid(format!(
                        "the new definition creates `{}`, not `{name}`: to rename a routine, create the new one and drop the old",
                        c.name.name
                    )));
                }
                let count = fetch_rows(
                    self,
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1::text AND n.nspname = $2::text",
                    &[Value::Text(name.clone()), Value::Text(ns.clone())],
                )
                .await?
                .first()
                .and_then(|r| int(&r[0]))
                .unwrap_or(0);
                // CREATE OR REPLACE with other argument types adds an
                // overload and keeps the old routine: this check turns that
                // into an error inside the transaction.
                let guard = format!(
                    "DO $qore$ BEGIN IF (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                     WHERE p.proname = {} AND n.nspname = {}) <> {count} THEN RAISE EXCEPTION '%', {}; END IF; END $qore$",
                    lit(&name),
                    lit(&ns),
                    lit(&format!(
                        "the new definition of {name} has other argument types: it would add an overload instead of replacing it (create it, then drop the old one)"
                    ))
                );
                Ok(Plan::transaction(vec![c.with_or_replace(&sql), guard]))
            }
            ObjectClass::Trigger => {
                let (_, ns, table, name, event, state) = self.trigger(object).await?;
                let mut steps = Vec::new();
                if event {
                    steps.push(format!("DROP EVENT TRIGGER {}", q(&name)));
                    steps.push(sql.clone());
                    if state == "D" {
                        steps.push(format!("ALTER EVENT TRIGGER {} DISABLE", q(&c.name.name)));
                    }
                } else {
                    let t = match (&ns, &table) {
                        (Some(ns), Some(t)) => format!("{}.{}", q(ns), q(t)),
                        (None, Some(t)) => q(t),
                        _ => return Err(Error::Internal(format!("trigger {name} has no table"))),
                    };
                    steps.push(format!("DROP TRIGGER {} ON {t}", q(&name)));
                    steps.push(sql.clone());
                    // A recreated trigger fires by default: keep the old state.
                    let new_table = match &c.table {
                        Some(nt) => PostgresDialect.quote_table(nt)?,
                        None => t.clone(),
                    };
                    match state.as_str() {
                        "D" => steps.push(format!("ALTER TABLE {new_table} DISABLE TRIGGER {}", q(&c.name.name))),
                        "R" => steps.push(format!("ALTER TABLE {new_table} ENABLE REPLICA TRIGGER {}", q(&c.name.name))),
                        "A" => steps.push(format!("ALTER TABLE {new_table} ENABLE ALWAYS TRIGGER {}", q(&c.name.name))),
                        _ => {}
                    }
                }
                Ok(Plan::transaction(steps))
            }
            ObjectClass::Event => Err(Error::NotSupported("PostgreSQL has no scheduled events".into())),
        }
    }

    async fn plan_drop(&self, class: ObjectClass, object: &ObjectRef) -> Result<Plan> {
        match class {
            ObjectClass::Routine => {
                let (_, ns, name, identity, kind) = self.routine(object).await?;
                let what = match kind.as_str() {
                    "p" => "PROCEDURE",
                    "a" => "AGGREGATE",
                    _ => "FUNCTION",
                };
                Ok(Plan::single(format!("DROP {what} {}.{}({identity})", q(&ns), q(&name))))
            }
            ObjectClass::Trigger => {
                let (_, ns, table, name, event, _) = self.trigger(object).await?;
                Ok(Plan::single(match (event, ns, table) {
                    (true, _, _) => format!("DROP EVENT TRIGGER {}", q(&name)),
                    (false, Some(ns), Some(t)) => format!("DROP TRIGGER {} ON {}.{}", q(&name), q(&ns), q(&t)),
                    _ => return Err(Error::Internal(format!("trigger {name} has no table"))),
                }))
            }
            ObjectClass::Event => Err(Error::NotSupported("PostgreSQL has no scheduled events".into())),
        }
    }

    async fn plan_enable(&self, class: ObjectClass, object: &ObjectRef, enabled: bool) -> Result<Plan> {
        if class != ObjectClass::Trigger {
            return Err(Error::NotSupported(format!(
                "PostgreSQL cannot enable or disable a {}; only triggers",
                class.name()
            )));
        }
        let verb = if enabled { "ENABLE" } else { "DISABLE" };
        let upper = object.name.to_ascii_uppercase();
        if (upper == "ALL" || upper == "USER") && object.signature.is_none() {
            let table = object
                .table
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("{upper} triggers of which table? name it")))?;
            let t = PostgresDialect.quote_table(&TableRef::parse(table)?)?;
            return Ok(Plan::single(format!("ALTER TABLE {t} {verb} TRIGGER {upper}")));
        }
        let (_, ns, table, name, event, _) = self.trigger(object).await?;
        Ok(Plan::single(match (event, ns, table) {
            (true, _, _) => format!("ALTER EVENT TRIGGER {} {verb}", q(&name)),
            (false, Some(ns), Some(t)) => format!("ALTER TABLE {}.{} {verb} TRIGGER {}", q(&ns), q(&t), q(&name)),
            _ => return Err(Error::Internal(format!("trigger {name} has no table"))),
        }))
    }

    async fn plan_call(&self, object: &ObjectRef, args: &[Option<String>]) -> Result<Plan> {
        let (oid, ns, name, _, kind) = self.routine(object).await?;
        let rows = fetch_rows(
            self,
            "SELECT (SELECT string_agg(format_type(t, NULL), chr(31) ORDER BY i) \
                       FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY u(t, i)), \
                    array_to_string(p.proargmodes, chr(31)), p.pronargdefaults::int8, pg_get_function_arguments(p.oid) \
               FROM pg_proc p WHERE p.oid = $1::int8::oid",
            &[Value::Int(oid)],
        )
        .await?;
        let r = rows.first().ok_or_else(|| Error::NotFound(format!("no routine {}", object.display())))?;
        let types: Vec<String> = text(&r[0]).filter(|s| !s.is_empty()).map(|s| s.split('\u{1f}').map(String::from).collect()).unwrap_or_default();
        let modes: Vec<String> = match text(&r[1]) {
            Some(m) => m.split('\u{1f}').map(String::from).collect(),
            None => vec!["i".to_string(); types.len()],
        };
        let defaults = int(&r[2]).unwrap_or(0).max(0) as usize;
        let signature = text(&r[3]).unwrap_or_default();
        let inputs = modes.iter().filter(|m| matches!(m.as_str(), "i" | "b" | "v")).count();
        if args.len() > inputs || args.len() + defaults < inputs {
            return Err(Error::invalid(format!(
                "{name}({signature}) takes {} argument(s), {} given",
                if defaults > 0 { format!("{} to {inputs}", inputs - defaults) } else { inputs.to_string() },
                args.len()
            )));
        }
        let mut given = args.iter();
        let mut list = Vec::new();
        for (ty, mode) in types.iter().zip(&modes) {
            match mode.as_str() {
                "i" | "b" | "v" => {
                    let Some(value) = given.next() else { break };
                    let variadic = if mode == "v" { "VARIADIC " } else { "" };
                    list.push(match value {
                        Some(v) => format!("{variadic}{}::{ty}", lit(v)),
                        None => format!("{variadic}NULL::{ty}"),
                    });
                }
                "o" if kind == "p" => list.push(format!("NULL::{ty}")),
                _ => {}
            }
        }
        let callee = format!("{}.{}", q(&ns), q(&name));
        Ok(Plan::single(if kind == "p" {
            format!("CALL {callee}({})", list.join(", "))
        } else {
            format!("SELECT * FROM {callee}({})", list.join(", "))
        }))
    }
}

fn trigger_state(c: &str) -> &'static str {
    match c {
        "D" => "disabled",
        "R" => "replica",
        "A" => "always",
        _ => "origin",
    }
}

/// Whether `(a integer, b text DEFAULT 'x')` and the identity `a integer, b text`
/// name the same arguments (defaults are not part of the identity).
fn same_args(listed: &str, identity: &str) -> bool {
    let strip = |s: &str| -> String {
        s.trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .map(|a| a.split(" DEFAULT ").next().unwrap_or("").trim().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    strip(listed) == strip(identity)
}
