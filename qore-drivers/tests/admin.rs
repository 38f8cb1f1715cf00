//! The administration facet against real servers (`scripts/servers.sh run
//! -- ...` starts them): a sample shop schema with functions, procedures,
//! triggers, events and views; what qore reports equals the server's own
//! catalog; every operation listed as available runs, every refused one is
//! refused before any SQL is sent, and the SQL run equals the preview;
//! edits never lose the old definition.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{rows, server_url, text};
use qore_core::admin::{self, ObjectClass, ObjectRef, OpRequest, Plan};
use qore_core::intercept::{Chain, Decision, Intercepted, Interceptor, Request};
use qore_core::{Connection, ConnectionSpec, ErrorKind, Secret, TableRef};

/// Records every statement that reaches the session through the
/// interceptor: what an admin plan really sent.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl Interceptor for Recorder {
    async fn before(&self, req: &Request, _: &dyn Connection) -> qore_core::Result<Decision> {
        self.0.lock().unwrap().push(req.text.clone());
        Ok(Decision::Allow)
    }
}

impl Recorder {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn recorded<C: Connection>(c: C) -> (Intercepted<C>, Arc<Recorder>) {
    let r = Arc::new(Recorder::default());
    (Intercepted::new(c, Chain::new().with(r.clone())), r)
}

fn statements(fixture: &str) -> Vec<String> {
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .split("\n;;\n")
        .map(|s| {
            s.lines()
                .filter(|l| !l.starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.trim().is_empty())
        .collect()
}

async fn scalar(c: &dyn Connection, sql: &str) -> String {
    let b = rows(c, sql).await;
    text(&b, 0, 0)
}

fn request(op: &str, table: Option<&str>, options: &[(&str, Option<&str>)]) -> OpRequest {
    OpRequest {
        op: op.into(),
        table: table.map(|t| TableRef::parse(t).unwrap()),
        options: options.iter().map(|(n, v)| (n.to_string(), v.map(String::from))).collect(),
    }
}

/// Runs every available operation of `table` (or the database) with no
/// options, checks that every refused one fails before any SQL, and that
/// what ran is the plan.
async fn every_operation<C: Connection>(c: &Intercepted<C>, rec: &Recorder, table: Option<&str>) -> (usize, usize) {
    let facet = c.admin().unwrap();
    let t = table.map(|t| TableRef::parse(t).unwrap());
    let ops = facet.operations(t.as_ref()).await.unwrap();
    let (mut ran, mut refused) = (0, 0);
    for op in &ops {
        // vacuum_into needs a file, cluster an index, collation etc. a value:
        // the ones that need options are run by the engine tests.
        let needs_value = op.options.iter().any(|o| o.value.is_some())
            && matches!(op.name.as_str(), "vacuum_into" | "engine" | "row_format" | "collation" | "auto_increment");
        if needs_value {
            continue;
        }
        rec.take();
        let planned = facet.plan_operation(&request(&op.name, table, &[])).await;
        match &op.refused {
            Some(why) => {
                let e = planned.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::NotSupported, "{}: {e}", op.name);
                assert!(e.to_string().contains(why.as_str()), "{}: {e} should say {why}", op.name);
                assert!(rec.take().is_empty(), "{} sent SQL although refused", op.name);
                refused += 1;
            }
            None => {
                let plan = match planned {
                    Ok(p) => p,
                    // CLUSTER without a clustered index asks for one, before SQL.
                    Err(e) if op.name == "cluster" => {
                        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                        continue;
                    }
                    Err(e) => panic!("{} on {table:?}: {e}", op.name),
                };
                admin::run(c, &plan).await.unwrap_or_else(|e| panic!("{} on {table:?}: {e}", op.name));
                assert_eq!(rec.take(), plan.statements, "{}: what ran is the preview", op.name);
                ran += 1;
            }
        }
    }
    (ran, refused)
}

mod postgres {
    use super::*;
    use qore_drivers::postgres::PostgresConnection;

    fn url() -> String {
        server_url("QORE_TEST_POSTGRES_URL")
    }

    async fn connect() -> PostgresConnection {
        PostgresConnection::connect(&ConnectionSpec::parse(&url()).unwrap()).await.unwrap()
    }

    async fn shop(schema: &str) -> PostgresConnection {
        let c = connect().await;
        c.execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"), &[]).await.unwrap();
        c.execute(&format!("CREATE SCHEMA {schema}"), &[]).await.unwrap();
        c.execute(&format!("SET search_path = {schema}"), &[]).await.unwrap();
        for s in statements("shop_postgres.sql") {
            c.execute(&s, &[]).await.unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        c
    }

    #[tokio::test]
    async fn what_qore_lists_is_what_the_catalog_says() {
        let c = shop("t_admin_cat").await;
        let a = c.admin().unwrap();
        let routines = a.objects(ObjectClass::Routine, None).await.unwrap();
        let count = scalar(&c, "SELECT count(*)::text FROM pg_proc WHERE pronamespace = 't_admin_cat'::regnamespace").await;
        assert_eq!(routines.len().to_string(), count);
        assert_eq!(routines.len(), 11);
        let kinds = |k: &str| routines.iter().filter(|r| r.kind == k).count();
        assert_eq!((kinds("procedure"), kinds("aggregate")), (2, 1));
        let triggers = a.objects(ObjectClass::Trigger, Some("t_admin_cat")).await.unwrap();
        let triggers: Vec<_> = triggers.into_iter().filter(|t| t.kind == "trigger").collect();
        let count = scalar(
            &c,
            "SELECT count(*)::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
              WHERE c.relnamespace = 't_admin_cat'::regnamespace AND NOT t.tgisinternal",
        )
        .await;
        assert_eq!(triggers.len().to_string(), count);
        let audit = triggers.iter().find(|t| t.name == "inventory_audit").unwrap();
        assert_eq!(
            (audit.table.as_deref(), audit.timing.as_deref(), audit.events.as_deref(), audit.enabled),
            (Some("inventory"), Some("AFTER"), Some("INSERT OR UPDATE FOR EACH ROW"), Some(true))
        );

        // Definitions are the server's own, byte for byte.
        let d = a.definition(ObjectClass::Routine, &ObjectRef::parse("customer_label").unwrap()).await.unwrap();
        let server = scalar(&c, "SELECT pg_get_functiondef('t_admin_cat.customer_label'::regproc)").await;
        assert_eq!(d.sql, server);
        assert_eq!(d.info.arguments.as_deref(), Some("(p_id integer, p_with_email boolean DEFAULT false)"));
        let d = a.definition(ObjectClass::Trigger, &ObjectRef::parse("reviews_stars").unwrap()).await.unwrap();
        let server = scalar(
            &c,
            "SELECT pg_get_triggerdef(oid, true) FROM pg_trigger WHERE tgname = 'reviews_stars' AND tgrelid = 't_admin_cat.reviews'::regclass",
        )
        .await;
        assert_eq!(d.sql, server);
        let d = a.definition(ObjectClass::Routine, &ObjectRef::parse("max_of").unwrap()).await.unwrap();
        assert!(d.sql.starts_with("CREATE OR REPLACE AGGREGATE \"t_admin_cat\".\"max_of\"(integer)"), "{}", d.sql);

        // An overloaded name asks which one; the signature picks it.
        let e = a.definition(ObjectClass::Routine, &ObjectRef::parse("order_total").unwrap()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("order_total(p_order integer, p_coupon text)"), "{e}");
        let d = a.definition(ObjectClass::Routine, &ObjectRef::parse("order_total(integer)").unwrap()).await.unwrap();
        assert!(d.sql.contains("sum(quantity * unit_price)"), "{}", d.sql);

        // Unknown names are NotFound; events are not PostgreSQL's.
        let e = a.definition(ObjectClass::Routine, &ObjectRef::parse("nope").unwrap()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = a.objects(ObjectClass::Event, None).await.unwrap_err();
        assert!(e.to_string().contains("pg_cron"), "{e}");
    }

    #[tokio::test]
    async fn event_triggers_are_listed_shown_disabled_and_edited() {
        // Only a superuser may make event triggers, and one fires on every
        // DDL of its database: a database of its own.
        let qore = connect().await;
        qore.execute("DROP DATABASE IF EXISTS qore_evt WITH (FORCE)", &[]).await.unwrap();
        qore.execute("CREATE DATABASE qore_evt", &[]).await.unwrap();
        let super_url = server_url("QORE_TEST_POSTGRES_SUPER_URL").replace("/qore_test", "/qore_evt");
        let c = PostgresConnection::connect(&ConnectionSpec::parse(&super_url).unwrap()).await.unwrap();
        c.execute("CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'ddl'; END $$", &[])
            .await
            .unwrap();
        let created = "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION note_ddl()";
        c.execute(created, &[]).await.unwrap();
        let a = c.admin().unwrap();
        let obj = ObjectRef::parse("audit_ddl").unwrap();

        let listed = a.objects(ObjectClass::Trigger, None).await.unwrap();
        let e = listed.iter().find(|o| o.name == "audit_ddl").expect("the event trigger is listed");
        assert_eq!(
            (e.kind.as_str(), e.table.as_deref(), e.events.as_deref(), e.enabled, e.owner.as_deref()),
            ("event trigger", None, Some("ddl_command_end"), Some(true), Some("qore_super"))
        );
        let events_listed = listed.iter().filter(|o| o.kind == "event trigger").count();
        assert_eq!(events_listed.to_string(), scalar(&c, "SELECT count(*)::text FROM pg_event_trigger").await);
        // The definition recreates it exactly.
        assert_eq!(a.definition(ObjectClass::Trigger, &obj).await.unwrap().sql, created);

        let plan = a.plan_enable(ObjectClass::Trigger, &obj, false).await.unwrap();
        assert_eq!(plan.statements, vec!["ALTER EVENT TRIGGER \"audit_ddl\" DISABLE".to_string()]);
        admin::run(&c, &plan).await.unwrap();
        let state = "SELECT evtenabled::text || ' ' || array_to_string(evttags, ',') FROM pg_event_trigger WHERE evtname = 'audit_ddl'";
        assert_eq!(scalar(&c, state).await, "D CREATE TABLE,ALTER TABLE");

        // An edit keeps it disabled; a broken one leaves it as it was.
        let edited = "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION note_ddl()";
        admin::run(&c, &a.plan_replace(ObjectClass::Trigger, &obj, edited).await.unwrap()).await.unwrap();
        assert_eq!(scalar(&c, state).await, "D CREATE TABLE");
        let broken = "CREATE EVENT TRIGGER audit_ddl ON no_such_event EXECUTE FUNCTION note_ddl()";
        let err = admin::run(&c, &a.plan_replace(ObjectClass::Trigger, &obj, broken).await.unwrap()).await.unwrap_err();
        assert!(err.to_string().contains("no_such_event"), "{err}");
        assert_eq!(scalar(&c, state).await, "D CREATE TABLE");

        admin::run(&c, &a.plan_enable(ObjectClass::Trigger, &obj, true).await.unwrap()).await.unwrap();
        assert_eq!(scalar(&c, state).await, "O CREATE TABLE");
        admin::run(&c, &a.plan_drop(ObjectClass::Trigger, &obj).await.unwrap()).await.unwrap();
        assert_eq!(scalar(&c, "SELECT count(*)::text FROM pg_event_trigger").await, "0");

        // The plain role cannot disable it: the server's refusal, by kind.
        c.execute(created, &[]).await.unwrap();
        let plain_url = url().replace("/qore_test", "/qore_evt");
        let plain = PostgresConnection::connect(&ConnectionSpec::parse(&plain_url).unwrap()).await.unwrap();
        let p = plain.admin().unwrap().plan_enable(ObjectClass::Trigger, &obj, false).await.unwrap();
        let err = admin::run(&plain, &p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        // Goodbyes first: FORCE cannot end the superuser's session, and a
        // dropped one leaves its backend for a moment.
        c.close().await.unwrap();
        plain.close().await.unwrap();
        drop((c, plain));
        let mut tries = 0;
        while let Err(e) = qore.execute("DROP DATABASE qore_evt WITH (FORCE)", &[]).await {
            tries += 1;
            assert!(tries < 100, "{e}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn calls_take_typed_arguments_and_return_out_parameters() {
        let c = shop("t_admin_call").await;
        let a = c.admin().unwrap();
        let plan = a.plan_call(&ObjectRef::parse("restock").unwrap(), &[Some("1".into()), Some("1".into()), Some("5".into())]).await.unwrap();
        assert_eq!(plan.statements, vec![r#"CALL "t_admin_call"."restock"('1'::integer, '1'::integer, '5'::integer)"#]);
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "5");
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "10");
        let plan = a.plan_call(&ObjectRef::parse("split_name").unwrap(), &[Some("Ann Lee".into())]).await.unwrap();
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(ran.schema.field(1).name(), "last");
        assert_eq!(text(&ran.batches[0], 1, 0), "Lee");
        // The default fills the second argument.
        let plan = a.plan_call(&ObjectRef::parse("customer_label").unwrap(), &[Some("1".into())]).await.unwrap();
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "Ann Lee");
        let e = a.plan_call(&ObjectRef::parse("restock").unwrap(), &[Some("1".into())]).await.unwrap_err();
        assert!(e.to_string().contains("takes 3 argument(s), 1 given"), "{e}");
    }

    #[tokio::test]
    async fn an_edit_that_fails_leaves_the_old_definition_byte_identical() {
        let c = shop("t_admin_edit").await;
        let a = c.admin().unwrap();
        let label = ObjectRef::parse("customer_label").unwrap();
        let before = a.definition(ObjectClass::Routine, &label).await.unwrap().sql;
        let new_ok = before.replace("' <'", "' ['").replace("'>'", "']'");

        // A syntax error in the body.
        let broken = before.replace("RETURN NULL;", "RETURN NULL");
        let plan = a.plan_replace(ObjectClass::Routine, &label, &broken).await.unwrap();
        assert!(admin::run(&c, &plan).await.is_err());
        assert_eq!(a.definition(ObjectClass::Routine, &label).await.unwrap().sql, before);

        // Other argument types would add an overload: refused, rolled back.
        let other = before.replace("p_with_email boolean DEFAULT false", "p_with_email integer DEFAULT 0");
        let plan = a.plan_replace(ObjectClass::Routine, &label, &other).await.unwrap();
        let e = admin::run(&c, &plan).await.unwrap_err();
        assert!(e.to_string().contains("other argument types"), "{e}");
        assert_eq!(a.definition(ObjectClass::Routine, &label).await.unwrap().sql, before);
        assert_eq!(scalar(&c, "SELECT count(*)::text FROM pg_proc WHERE proname = 'customer_label'").await, "1");

        // A user who may call it but not replace it.
        c.execute("DROP ROLE IF EXISTS t_admin_weak", &[]).await.ok();
        c.execute("CREATE ROLE t_admin_weak LOGIN PASSWORD 'weak-pw'", &[]).await.unwrap();
        c.execute("GRANT USAGE ON SCHEMA t_admin_edit TO t_admin_weak", &[]).await.unwrap();
        let mut spec = ConnectionSpec::parse(&url()).unwrap();
        spec.user = Some("t_admin_weak".into());
        spec.password = Some(Secret::new("weak-pw".to_string()));
        let weak = PostgresConnection::connect(&spec).await.unwrap();
        weak.execute("SET search_path = t_admin_edit", &[]).await.unwrap();
        let plan = weak.admin().unwrap().plan_replace(ObjectClass::Routine, &label, &new_ok).await.unwrap();
        let e = admin::run(&weak, &plan).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        drop(weak);
        assert_eq!(a.definition(ObjectClass::Routine, &label).await.unwrap().sql, before);

        // A good edit lands, through the interceptor, in one transaction.
        let (rc, rec) = recorded(connect().await);
        rc.execute("SET search_path = t_admin_edit", &[]).await.unwrap();
        rec.take();
        let plan = rc.admin().unwrap().plan_replace(ObjectClass::Routine, &label, &new_ok).await.unwrap();
        admin::run(&rc, &plan).await.unwrap();
        assert!(rec.take().iter().any(|s| s.starts_with("CREATE OR REPLACE FUNCTION")));
        assert_eq!(scalar(&c, "SELECT customer_label(1, true)").await, "Ann Lee [ann@example.com]");

        // A renaming edit is refused with a way out.
        let renamed = new_ok.replace("customer_label(", "customer_tag(");
        let e = a.plan_replace(ObjectClass::Routine, &label, &renamed).await.unwrap_err();
        assert!(e.to_string().contains("to rename"), "{e}");

        // A trigger edit keeps it disabled when it was; a broken one changes nothing.
        let stars = ObjectRef::parse("reviews_stars").unwrap();
        admin::run(&c, &a.plan_enable(ObjectClass::Trigger, &stars, false).await.unwrap()).await.unwrap();
        let before = a.definition(ObjectClass::Trigger, &stars).await.unwrap().sql;
        let broken = before.replace("EXECUTE FUNCTION", "EXECUTE FUNKTION");
        let plan = a.plan_replace(ObjectClass::Trigger, &stars, &broken).await.unwrap();
        assert!(admin::run(&c, &plan).await.is_err());
        assert_eq!(a.definition(ObjectClass::Trigger, &stars).await.unwrap().sql, before);
        let changed = before.replace("INSERT OR UPDATE OF stars", "INSERT OR UPDATE");
        let plan = a.plan_replace(ObjectClass::Trigger, &stars, &changed).await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        let after = a.definition(ObjectClass::Trigger, &stars).await.unwrap();
        assert_eq!(after.sql, changed);
        assert_eq!(after.info.enabled, Some(false));
        assert_eq!(after.info.status.as_deref(), Some("disabled"));
        // Disabled, it lets a bad row in.
        c.execute("INSERT INTO reviews (product_id, stars) VALUES (1, 9)", &[]).await.unwrap();

        // ALL triggers of a table, and drop.
        let all = ObjectRef { name: "ALL".into(), table: Some("orders".into()), ..ObjectRef::default() };
        let plan = a.plan_enable(ObjectClass::Trigger, &all, false).await.unwrap();
        assert_eq!(plan.statements, vec![r#"ALTER TABLE "orders" DISABLE TRIGGER ALL"#]);
        let plan = a.plan_drop(ObjectClass::Trigger, &stars).await.unwrap();
        assert_eq!(plan.statements, vec![r#"DROP TRIGGER "reviews_stars" ON "t_admin_edit"."reviews""#]);
        admin::run(&c, &plan).await.unwrap();
        let e = a.definition(ObjectClass::Trigger, &stars).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        c.execute("DROP OWNED BY t_admin_weak", &[]).await.ok();
        c.execute("DROP ROLE IF EXISTS t_admin_weak", &[]).await.ok();
    }

    /// REINDEX CONCURRENTLY waits for a writer's open transaction; while it
    /// waits, the progress from `pg_stat_progress_create_index` names the
    /// phase, and the operation finishes once the writer commits.
    #[tokio::test]
    async fn progress_comes_from_the_statistics_views_while_it_runs() {
        let c = shop("t_admin_progress").await;
        let writer = connect().await;
        let watcher = connect().await;
        writer.execute("SET search_path = t_admin_progress", &[]).await.unwrap();
        let tx = writer.begin().await.unwrap();
        tx.execute("UPDATE orders SET status = 'held' WHERE id = 1", &[]).await.unwrap();
        let plan = c.admin().unwrap().plan_operation(&request("reindex", Some("orders"), &[("concurrently", None)])).await.unwrap();
        assert!(plan.progress.as_deref().unwrap().contains("pg_stat_progress_create_index"), "{:?}", plan.progress);
        let seen = Arc::new(Mutex::new(Vec::<admin::Progress>::new()));
        let seen_in = seen.clone();
        let mut on_progress = move |p: &admin::Progress| seen_in.lock().unwrap().push(p.clone());
        let work = admin::run_watched(&c, &watcher, &plan, std::time::Duration::from_millis(50), &mut on_progress);
        let release = async {
            let started = std::time::Instant::now();
            loop {
                let waiting = seen.lock().unwrap().iter().any(|p| p.phase.as_deref().is_some_and(|ph| ph.starts_with("waiting for")));
                if waiting {
                    break;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(20), "no progress seen");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            tx.commit().await.unwrap();
        };
        let (ran, ()) = tokio::join!(work, release);
        ran.unwrap();
        let seen = seen.lock().unwrap();
        assert!(seen.iter().all(|p| p.total.is_some() || p.phase.is_some()), "{seen:?}");
        // Without a progress query, it is a plain run.
        let plan = c.admin().unwrap().plan_operation(&request("refresh", Some("stock_levels"), &[])).await.unwrap();
        assert_eq!(plan.progress, None);
    }

    #[tokio::test]
    async fn every_listed_operation_runs_and_every_refused_one_sends_nothing() {
        shop("t_admin_ops").await;
        let (c, rec) = recorded(connect().await);
        c.execute("SET search_path = t_admin_ops", &[]).await.unwrap();
        let (ran, refused) = every_operation(&c, &rec, Some("orders")).await;
        assert!(ran >= 3 && refused == 1, "{ran} ran, {refused} refused");
        let (_, refused) = every_operation(&c, &rec, Some("order_totals")).await;
        assert_eq!(refused, 5, "a view has nothing to maintain");
        let (ran, _) = every_operation(&c, &rec, Some("stock_levels")).await;
        assert!(ran >= 4);
        // The whole shared test database: ANALYZE runs; VACUUM and REINDEX
        // DATABASE would crawl every other test's schema, so they are planned.
        let a = c.admin().unwrap();
        let ops = a.operations(None).await.unwrap();
        assert_eq!(ops.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["vacuum", "analyze", "reindex"]);
        assert!(ops.iter().all(|o| o.refused.is_none()), "the test user owns the database");
        rec.take();
        let plan = a.plan_operation(&request("analyze", None, &[("skip_locked", None)])).await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        assert_eq!(rec.take(), ["ANALYZE (SKIP_LOCKED)"]);
        let plan = a.plan_operation(&request("reindex", None, &[("concurrently", None)])).await.unwrap();
        assert!(plan.statements[0].starts_with("REINDEX DATABASE CONCURRENTLY \""), "{:?}", plan.statements);

        for (op, options, sql) in [
            ("vacuum", vec![("full", None), ("analyze", None)], r#"VACUUM (FULL, ANALYZE) "orders""#),
            ("vacuum", vec![("index_cleanup", Some("off")), ("parallel", Some("2"))], r#"VACUUM (INDEX_CLEANUP OFF, PARALLEL 2) "orders""#),
            ("reindex", vec![("concurrently", None)], r#"REINDEX TABLE CONCURRENTLY "orders""#),
            ("cluster", vec![("index", Some("orders_pkey"))], r#"CLUSTER "orders" USING "orders_pkey""#),
        ] {
            let plan: Plan = a.plan_operation(&request(op, Some("orders"), &options)).await.unwrap();
            assert_eq!(plan.statements, vec![sql.to_string()]);
            rec.take();
            admin::run(&c, &plan).await.unwrap();
            assert_eq!(rec.take(), plan.statements);
        }
        let plan = a.plan_operation(&request("refresh", Some("stock_levels"), &[("concurrently", None)])).await.unwrap();
        admin::run(&c, &plan).await.unwrap();

        // Bad options are refused before SQL, naming the problem.
        for (op, options, says) in [
            ("vacuum", vec![("full", None), ("parallel", Some("2"))], "cannot run in parallel"),
            ("vacuum", vec![("fast", None)], "no option `fast`"),
            ("vacuum", vec![("index_cleanup", Some("maybe"))], "auto, on, off"),
            ("cluster", vec![("index", Some("nope"))], "orders_pkey"),
            ("shrink", vec![], "has no maintenance operation `shrink`"),
        ] {
            rec.take();
            let e = a.plan_operation(&request(op, Some("orders"), &options)).await.unwrap_err();
            assert!(e.to_string().contains(says), "{op}: {e}");
            assert!(rec.take().is_empty());
        }
        let e = a.operations(Some(&TableRef::new("no_such_table"))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);

        // The figures come from the statistics views.
        let b = qore_core::collect(a.figures(Some(&TableRef::new("orders"))).await.unwrap()).await.unwrap();
        assert_eq!((b[0].num_rows(), text(&b[0], 1, 0)), (1, "orders".to_string()));
    }
}

mod mariadb {
    use super::*;
    use qore_drivers::mysql::MySqlConnection;

    fn url() -> String {
        server_url("QORE_TEST_MYSQL_URL")
    }

    async fn connect() -> MySqlConnection {
        MySqlConnection::connect(&ConnectionSpec::parse(&url()).unwrap()).await.unwrap()
    }

    async fn shop(db: &str) -> MySqlConnection {
        let c = connect().await;
        c.execute(&format!("DROP DATABASE IF EXISTS {db}"), &[]).await.unwrap();
        c.execute(&format!("CREATE DATABASE {db}"), &[]).await.unwrap();
        c.execute(&format!("USE {db}"), &[]).await.unwrap();
        for s in statements("shop_mariadb.sql") {
            c.execute(&s, &[]).await.unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        c
    }

    async fn show_create(c: &MySqlConnection, what: &str, col: usize) -> String {
        let b = rows(c, &format!("SHOW CREATE {what}")).await;
        text(&b, col, 0)
    }

    #[tokio::test]
    async fn what_qore_lists_is_what_the_catalog_says() {
        let c = shop("t_admin_cat").await;
        let a = c.admin().unwrap();
        for (class, table, n) in [
            (ObjectClass::Routine, "ROUTINES WHERE ROUTINE_SCHEMA", 5),
            (ObjectClass::Trigger, "TRIGGERS WHERE TRIGGER_SCHEMA", 5),
            (ObjectClass::Event, "EVENTS WHERE EVENT_SCHEMA", 2),
        ] {
            let listed = a.objects(class, None).await.unwrap();
            let count = scalar(&c, &format!("SELECT COUNT(*) FROM information_schema.{table} = 't_admin_cat'")).await;
            assert_eq!((listed.len().to_string(), listed.len()), (count, n), "{class:?}");
        }
        let routines = a.objects(ObjectClass::Routine, None).await.unwrap();
        let restock = routines.iter().find(|r| r.name == "restock").unwrap();
        assert_eq!(restock.kind, "procedure");
        assert_eq!(restock.arguments.as_deref(), Some("(IN p_product int(11), IN p_warehouse int(11), INOUT p_quantity int(11))"));
        let total = routines.iter().find(|r| r.name == "order_total").unwrap();
        assert_eq!(total.returns.as_deref(), Some("decimal(12,2)"));
        let d = a.definition(ObjectClass::Routine, &ObjectRef::parse("restock").unwrap()).await.unwrap();
        assert_eq!(d.sql, show_create(&c, "PROCEDURE restock", 2).await);
        let d = a.definition(ObjectClass::Trigger, &ObjectRef::parse("reviews_bi").unwrap()).await.unwrap();
        assert_eq!(d.sql, show_create(&c, "TRIGGER reviews_bi", 2).await);
        assert_eq!((d.info.table.as_deref(), d.info.timing.as_deref()), (Some("reviews"), Some("BEFORE")));
        let events = a.objects(ObjectClass::Event, None).await.unwrap();
        let purge = events.iter().find(|e| e.name == "purge_audit").unwrap();
        assert_eq!(purge.schedule.as_deref(), Some("EVERY 1 DAY STARTS 2030-01-01 03:00:00"));
        assert_eq!(purge.enabled, Some(true));
        let yearly = events.iter().find(|e| e.name == "yearly_report").unwrap();
        assert_eq!((yearly.enabled, yearly.status.as_deref()), (Some(false), Some("DISABLED")));
        let d = a.definition(ObjectClass::Event, &ObjectRef::parse("yearly_report").unwrap()).await.unwrap();
        assert_eq!(d.sql, show_create(&c, "EVENT yearly_report", 3).await);
        let e = a.definition(ObjectClass::Event, &ObjectRef::parse("t_admin_cat.nope").unwrap()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = a.plan_enable(ObjectClass::Trigger, &ObjectRef::parse("reviews_bi").unwrap(), false).await.unwrap_err();
        assert!(e.to_string().contains("cannot disable a trigger"), "{e}");
    }

    #[tokio::test]
    async fn calls_return_results_and_out_parameters() {
        let c = shop("t_admin_call").await;
        let a = c.admin().unwrap();
        let plan = a.plan_call(&ObjectRef::parse("restock").unwrap(), &[Some("1".into()), Some("1".into()), Some("5".into())]).await.unwrap();
        assert_eq!(
            plan.statements,
            vec!["SET @qore_p3 = '5'", "CALL `t_admin_call`.`restock`('1', '1', @qore_p3)", "SELECT @qore_p3 AS `p_quantity`"]
        );
        admin::run(&c, &plan).await.unwrap();
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "10");
        let plan = a.plan_call(&ObjectRef::parse("order_count").unwrap(), &[Some("1".into())]).await.unwrap();
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!((ran.schema.field(0).name().as_str(), text(&ran.batches[0], 0, 0)), ("p_count", "2".to_string()));
        let plan = a.plan_call(&ObjectRef::parse("shout").unwrap(), &[Some("héllo 😀".into())]).await.unwrap();
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "HÉLLO 😀!");
        let e = a.plan_call(&ObjectRef::parse("order_count").unwrap(), &[]).await.unwrap_err();
        assert!(e.to_string().contains("takes 1 argument(s)"), "{e}");
    }

    #[tokio::test]
    async fn an_edit_that_fails_leaves_the_old_definition_byte_identical() {
        let c = shop("t_admin_edit").await;
        let a = c.admin().unwrap();
        let restock = ObjectRef::parse("restock").unwrap();
        let before = show_create(&c, "PROCEDURE restock", 2).await;

        let broken = before.replace("END", "EN");
        let plan = a.plan_replace(ObjectClass::Routine, &restock, &broken).await.unwrap();
        assert!(plan.statements[0].starts_with("CREATE OR REPLACE DEFINER="), "{:?}", plan.statements);
        let e = admin::run(&c, &plan).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Syntax, "{e}");
        assert_eq!(show_create(&c, "PROCEDURE restock", 2).await, before);

        // The swap with a restore (MySQL's way, without OR REPLACE): the new
        // body fails after the old one was dropped, and it is put back.
        let close = show_create(&c, "PROCEDURE close_order", 2).await;
        let plan = Plan {
            statements: vec!["DROP PROCEDURE close_order".into(), "CREATE PROCEDURE close_order() SELEC 1".into()],
            atomicity: qore_core::admin::Atomicity::Restore { from: 0, statements: vec![close.clone()] },
            progress: None,
        };
        let e = admin::run(&c, &plan).await.unwrap_err();
        assert!(e.to_string().contains("the old definition was put back"), "{e}");
        assert_eq!(show_create(&c, "PROCEDURE close_order", 2).await, close);

        // A user who may run it but not recreate it.
        c.execute("DROP USER IF EXISTS 't_admin_exec'@'127.0.0.1'", &[]).await.unwrap();
        c.execute("CREATE USER 't_admin_exec'@'127.0.0.1' IDENTIFIED BY 'exec-pw'", &[]).await.unwrap();
        c.execute("GRANT EXECUTE, SELECT ON t_admin_edit.* TO 't_admin_exec'@'127.0.0.1'", &[]).await.unwrap();
        let mut spec = ConnectionSpec::parse(&url()).unwrap();
        spec.user = Some("t_admin_exec".into());
        spec.password = Some(Secret::new("exec-pw".to_string()));
        spec.database = Some("t_admin_edit".into());
        let weak = MySqlConnection::connect(&spec).await.unwrap();
        let good = before.replace("p_quantity INT)", "p_quantity INT)\n  COMMENT 'edited'");
        let plan = weak.admin().unwrap().plan_replace(ObjectClass::Routine, &restock, &good).await.unwrap();
        let e = admin::run(&weak, &plan).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        drop(weak);
        assert_eq!(show_create(&c, "PROCEDURE restock", 2).await, before);
        c.execute("DROP USER 't_admin_exec'@'127.0.0.1'", &[]).await.unwrap();

        // Good edits land.
        let plan = a.plan_replace(ObjectClass::Routine, &restock, &good).await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        assert!(show_create(&c, "PROCEDURE restock", 2).await.contains("COMMENT 'edited'"));
        let trig = ObjectRef::parse("orders_touch").unwrap();
        let t = a.definition(ObjectClass::Trigger, &trig).await.unwrap().sql;
        let plan = a.plan_replace(ObjectClass::Trigger, &trig, &t.replace("NOW()", "NOW() - INTERVAL 1 HOUR")).await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        assert!(show_create(&c, "TRIGGER orders_touch", 2).await.contains("INTERVAL 1 HOUR"));
        let ev = ObjectRef::parse("purge_audit").unwrap();
        let e_sql = a.definition(ObjectClass::Event, &ev).await.unwrap().sql;
        let plan = a.plan_replace(ObjectClass::Event, &ev, &e_sql.replace("90 DAY", "30 DAY")).await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        assert!(show_create(&c, "EVENT purge_audit", 3).await.contains("30 DAY"));
        let e = a.plan_replace(ObjectClass::Routine, &restock, &good.replace("`restock`", "`refill`")).await.unwrap_err();
        assert!(e.to_string().contains("to rename"), "{e}");
        let e = a.plan_replace(ObjectClass::Routine, &restock, "CREATE TABLE x (a int)").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);

        // Events: disable, enable, drop; the scheduler off and on.
        for (on, status) in [(false, "DISABLED"), (true, "ENABLED")] {
            admin::run(&c, &a.plan_enable(ObjectClass::Event, &ev, on).await.unwrap()).await.unwrap();
            assert_eq!(scalar(&c, "SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_NAME = 'purge_audit' AND EVENT_SCHEMA = DATABASE()").await, status);
        }
        admin::run(&c, &a.plan_drop(ObjectClass::Event, &ev).await.unwrap()).await.unwrap();
        assert_eq!(a.objects(ObjectClass::Event, None).await.unwrap().len(), 1);
        assert!(a.scheduler().await.unwrap().running);
        admin::run(&c, &a.plan_scheduler(false).await.unwrap()).await.unwrap();
        assert!(!a.scheduler().await.unwrap().running);
        admin::run(&c, &a.plan_scheduler(true).await.unwrap()).await.unwrap();
        assert!(a.scheduler().await.unwrap().running);
    }

    #[tokio::test]
    async fn maintenance_is_gated_by_storage_engine_and_runs_as_previewed() {
        shop("t_admin_ops").await;
        let (c, rec) = recorded(connect().await);
        c.execute("USE t_admin_ops", &[]).await.unwrap();
        let (ran, refused) = every_operation(&c, &rec, Some("orders")).await;
        assert_eq!((ran, refused), (5, 1), "InnoDB: everything but REPAIR");
        let a = c.admin().unwrap();
        let ops = a.operations(Some(&TableRef::new("orders"))).await.unwrap();
        let repair = ops.iter().find(|o| o.name == "repair").unwrap();
        assert!(repair.refused.as_deref().unwrap().contains("`t_admin_ops`.`orders` is InnoDB"), "{:?}", repair.refused);
        let (ran, refused) = every_operation(&c, &rec, Some("page_views")).await;
        assert_eq!((ran, refused), (6, 0), "Aria: REPAIR too");
        let (ran, _) = every_operation(&c, &rec, Some("audit_log")).await;
        assert_eq!(ran, 6, "MyISAM: REPAIR too");
        let (ran, refused) = every_operation(&c, &rec, Some("order_totals")).await;
        assert_eq!((ran, refused), (1, 5), "a view: CHECK only");
        let (ran, _) = every_operation(&c, &rec, None).await;
        assert_eq!(ran, 4);

        for (op, table, options, sql) in [
            ("engine", "page_views", vec![("to", Some("MyISAM"))], "ALTER TABLE `t_admin_ops`.`page_views` ENGINE = `MyISAM`"),
            ("row_format", "page_views", vec![("to", Some("DYNAMIC"))], "ALTER TABLE `t_admin_ops`.`page_views` ROW_FORMAT = DYNAMIC"),
            ("collation", "reviews", vec![("to", Some("utf8mb4_unicode_520_ci")), ("convert", None)],
                "ALTER TABLE `t_admin_ops`.`reviews` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci"),
            ("auto_increment", "orders", vec![("to", Some("1000"))], "ALTER TABLE `t_admin_ops`.`orders` AUTO_INCREMENT = 1000"),
            ("check", "orders", vec![("extended", None)], "CHECK TABLE `t_admin_ops`.`orders` EXTENDED"),
            ("analyze", "orders", vec![("persistent", None)], "ANALYZE TABLE `t_admin_ops`.`orders` PERSISTENT FOR ALL"),
        ] {
            let plan = a.plan_operation(&request(op, Some(table), &options)).await.unwrap();
            assert_eq!(plan.statements, vec![sql.to_string()]);
            rec.take();
            admin::run(&c, &plan).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(rec.take(), plan.statements);
        }
        assert_eq!(scalar(&c, "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_NAME = 'page_views' AND TABLE_SCHEMA = 't_admin_ops'").await, "MyISAM");
        assert_eq!(scalar(&c, "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_NAME = 'orders' AND TABLE_SCHEMA = 't_admin_ops'").await, "1000");
        // CHECK's report comes back as rows.
        let plan = a.plan_operation(&request("check", Some("orders"), &[])).await.unwrap();
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(ran.schema.field(2).name(), "Msg_type");
        for (op, options, says) in [
            ("collation", vec![("to", Some("klingon_ci"))], "no collation `klingon_ci`"),
            ("engine", vec![("to", Some("Nope"))], "takes"),
            ("auto_increment", vec![("to", Some("-1"))], "positive number"),
            ("repair", vec![], "is InnoDB"),
        ] {
            rec.take();
            let e = a.plan_operation(&request(op, Some("orders"), &options)).await.unwrap_err();
            assert!(e.to_string().contains(says), "{op}: {e}");
            assert!(rec.take().iter().all(|s| !s.contains("ALTER") && !s.contains("REPAIR")));
        }
        let b = qore_core::collect(a.figures(Some(&TableRef::new("orders"))).await.unwrap()).await.unwrap();
        assert_eq!((b[0].num_rows(), text(&b[0], 2, 0)), (1, "InnoDB".to_string()));
    }
}

mod embedded {
    use super::*;

    #[tokio::test]
    async fn sqlite_checks_vacuums_and_edits_triggers_in_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}?journal_mode=wal", dir.path().join("shop.db").display());
        let (c, rec) = recorded(qore_drivers::connect(&url).await.unwrap());
        for s in [
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL, updated TEXT)",
            "CREATE TABLE log (at TEXT, what TEXT)",
            "CREATE INDEX orders_status ON orders (status)",
            "CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'open'",
            "CREATE TRIGGER orders_touch AFTER UPDATE OF status ON orders BEGIN UPDATE orders SET updated = 'now' WHERE id = NEW.id; END",
            "CREATE TRIGGER orders_log AFTER INSERT ON orders BEGIN INSERT INTO log VALUES ('now', 'insert'); END",
            "INSERT INTO orders (status) VALUES ('open'), ('closed')",
        ] {
            c.execute(s, &[]).await.unwrap();
        }
        let (ran, refused) = every_operation(&c, &rec, Some("orders")).await;
        assert_eq!((ran, refused), (5, 0));
        let (ran, refused) = every_operation(&c, &rec, Some("open_orders")).await;
        assert_eq!((ran, refused), (0, 5));
        let (ran, refused) = every_operation(&c, &rec, None).await;
        assert_eq!((ran, refused), (8, 0));
        let a = c.admin().unwrap();
        let copy = dir.path().join("copy.db");
        let plan = a.plan_operation(&request("vacuum_into", None, &[("file", Some(copy.to_str().unwrap()))])).await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        assert!(copy.exists());
        let e = a.plan_operation(&request("vacuum_into", None, &[("file", Some(copy.to_str().unwrap()))])).await.unwrap_err();
        assert!(e.to_string().contains("writes a new file only"), "{e}");
        let plan = a.plan_operation(&request("wal_checkpoint", None, &[("mode", Some("truncate"))])).await.unwrap();
        assert_eq!(plan.statements, vec!["PRAGMA wal_checkpoint(TRUNCATE)"]);
        let ran = admin::run(&c, &plan).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "0", "not busy");
        let ran = admin::run(&c, &a.plan_operation(&request("integrity_check", Some("orders"), &[])).await.unwrap()).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "ok");

        let triggers = a.objects(ObjectClass::Trigger, None).await.unwrap();
        assert_eq!(triggers.len(), 2);
        let touch = triggers.iter().find(|t| t.name == "orders_touch").unwrap();
        assert_eq!((touch.timing.as_deref(), touch.events.as_deref(), touch.table.as_deref()), (Some("AFTER"), Some("UPDATE"), Some("orders")));
        let name = ObjectRef::parse("orders_log").unwrap();
        let before = a.definition(ObjectClass::Trigger, &name).await.unwrap().sql;
        let plan = a.plan_replace(ObjectClass::Trigger, &name, &before.replace("INSERT INTO log", "INSERT INTO log log log")).await.unwrap();
        assert!(admin::run(&c, &plan).await.is_err());
        assert_eq!(a.definition(ObjectClass::Trigger, &name).await.unwrap().sql, before);
        let plan = a.plan_replace(ObjectClass::Trigger, &name, &before.replace("'insert'", "'added'")).await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        c.execute("INSERT INTO orders (status) VALUES ('new')", &[]).await.unwrap();
        assert_eq!(scalar(&c, "SELECT what FROM log ORDER BY rowid DESC LIMIT 1").await, "added");
        let e = a.plan_enable(ObjectClass::Trigger, &name, false).await.unwrap_err();
        assert!(e.to_string().contains("SQLite cannot disable a trigger"), "{e}");
        let e = a.objects(ObjectClass::Routine, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        let b = qore_core::collect(a.figures(None).await.unwrap()).await.unwrap();
        assert_eq!(b[0].schema().field(1).name(), "free_pages");

        let (mem, _) = recorded(qore_drivers::connect("sqlite::memory:").await.unwrap());
        let ops = mem.admin().unwrap().operations(None).await.unwrap();
        let wal = ops.iter().find(|o| o.name == "wal_checkpoint").unwrap();
        assert!(wal.refused.as_deref().unwrap().contains("not in WAL mode"), "{:?}", wal.refused);
    }

    #[tokio::test]
    async fn duckdb_checkpoints_and_edits_macros() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("duckdb:{}", dir.path().join("shop.duckdb").display());
        let (c, rec) = recorded(qore_drivers::connect(&url).await.unwrap());
        for s in [
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, total DECIMAL(10,2))",
            "INSERT INTO orders VALUES (1, 10.5), (2, 20)",
            "CREATE MACRO add_tax(x, rate := 0.25) AS x * (1 + rate)",
            "CREATE MACRO big_orders(n) AS TABLE SELECT * FROM orders WHERE total > n",
        ] {
            c.execute(s, &[]).await.unwrap();
        }
        let (ran, refused) = every_operation(&c, &rec, None).await;
        assert_eq!((ran, refused), (4, 0));
        let (ran, _) = every_operation(&c, &rec, Some("orders")).await;
        assert_eq!(ran, 2);
        let a = c.admin().unwrap();
        let macros = a.objects(ObjectClass::Routine, None).await.unwrap();
        assert_eq!(macros.iter().map(|m| (m.name.as_str(), m.kind.as_str())).collect::<Vec<_>>(), vec![("add_tax", "macro"), ("big_orders", "table macro")]);
        let tax = ObjectRef::parse("add_tax").unwrap();
        let d = a.definition(ObjectClass::Routine, &tax).await.unwrap();
        // DuckDB keeps no parameter defaults in its catalog: the definition says so.
        assert!(d.sql.starts_with("-- DuckDB does not report"), "{}", d.sql);
        let ran = admin::run(&c, &a.plan_call(&tax, &[Some("100".into())]).await.unwrap()).await.unwrap();
        assert_eq!(text(&ran.batches[0], 0, 0), "125.00");
        // What `show` prints creates the same macro again.
        let big = ObjectRef::parse("big_orders").unwrap();
        let shown = a.definition(ObjectClass::Routine, &big).await.unwrap().sql;
        c.execute("DROP MACRO TABLE big_orders", &[]).await.unwrap();
        c.execute(&shown, &[]).await.unwrap();
        assert_eq!(a.definition(ObjectClass::Routine, &big).await.unwrap().sql, shown);
        let ran = admin::run(&c, &a.plan_call(&ObjectRef::parse("big_orders").unwrap(), &[Some("15".into())]).await.unwrap()).await.unwrap();
        assert_eq!(ran.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        let plan = a.plan_replace(ObjectClass::Routine, &tax, "CREATE MACRO add_tax(x) AS x * ((").await.unwrap();
        assert!(admin::run(&c, &plan).await.is_err());
        assert_eq!(a.definition(ObjectClass::Routine, &tax).await.unwrap().sql, d.sql);
        let plan = a.plan_replace(ObjectClass::Routine, &tax, "CREATE MACRO add_tax(x) AS x * 2").await.unwrap();
        admin::run(&c, &plan).await.unwrap();
        assert_eq!(scalar(&c, "SELECT add_tax(4)").await, "8");
        admin::run(&c, &a.plan_drop(ObjectClass::Routine, &ObjectRef::parse("big_orders").unwrap()).await.unwrap()).await.unwrap();
        assert_eq!(a.objects(ObjectClass::Routine, None).await.unwrap().len(), 1);
        let e = a.objects(ObjectClass::Trigger, None).await.unwrap_err();
        assert!(e.to_string().contains("DuckDB has no triggers"), "{e}");

        let (mem, _) = recorded(qore_drivers::connect("duckdb:").await.unwrap());
        let ops = mem.admin().unwrap().operations(None).await.unwrap();
        assert!(ops.iter().find(|o| o.name == "checkpoint").unwrap().refused.is_some());
    }
}
