//! `qore admin`, `qore routine`, `qore trigger`, `qore event`: the CLI forms
//! of the administration facet, the safety net on a prod profile, and bad
//! input named.

use crate::util::Qore;

#[test]
fn sqlite_maintenance_and_triggers_from_the_command_line() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let db = "shop.db";
    let ops = q.ok(&["admin", "ops", "--db", db, "--format", "csv"]);
    assert!(ops.starts_with("operation,scope,available,refused_because,options,help\n"), "{ops}");
    assert!(ops.contains("\nvacuum_into,database,true,,file=VALUE,"), "{ops}");
    let ops = q.ok(&["admin", "ops", "--db", db, "orders", "--format", "csv"]);
    assert!(ops.contains("\nintegrity_check,table or database,true,,\"\",PRAGMA"), "{ops}");
    let (code, _, err) = q.outcome(&["admin", "run", "--db", db, "integrity_check", "orders", "-o", "max=5"]);
    assert_eq!(code, 2);
    assert!(err.contains("`integrity_check` has no option `max` (it takes none)"), "{err}");

    // --dry-run prints the SQL and runs nothing; run prints the engine's report.
    let out = q.ok(&["admin", "run", "--db", db, "integrity_check", "orders", "--dry-run"]);
    assert_eq!(out, "PRAGMA \"main\".integrity_check('orders');\n");
    let out = q.ok(&["admin", "run", "--db", db, "integrity_check", "orders", "--format", "csv"]);
    assert_eq!(out, "integrity_check\nok\n");
    let (code, _, err) = q.outcome(&["admin", "run", "--db", db, "wal_checkpoint", "-o", "mode=passive", "--dry-run"]);
    assert_eq!(code, 2);
    assert!(err.contains("`wal_checkpoint` cannot run here: the database is not in WAL mode (journal_mode=delete)"), "{err}");
    let out = q.ok(&["admin", "figures", "--db", db, "--format", "csv"]);
    assert!(out.starts_with("page_count,free_pages,page_size,file_bytes,free_bytes,journal_mode,auto_vacuum,table_rows\n"), "{out}");

    // Bad input, named.
    let (code, _, err) = q.outcome(&["admin", "run", "--db", db, "repair", "orders"]);
    assert_eq!(code, 2);
    assert!(err.contains("SQLite has no maintenance operation `repair`"), "{err}");
    let (code, _, err) = q.outcome(&["admin", "run", "--db", db, "analyze", "orders", "-o", "deep"]);
    assert_eq!(code, 2);
    assert!(err.contains("`analyze` has no option `deep` (it takes none)"), "{err}");
    let (code, _, err) = q.outcome(&["routine", "ls", "--db", db]);
    assert_eq!(code, 2);
    assert!(err.contains("SQLite has no stored routines"), "{err}");

    // Triggers: create from a file, show, edit from a file, drop.
    let file = q.path("trigger.sql");
    std::fs::write(&file, "CREATE TRIGGER reviews_guard BEFORE INSERT ON reviews BEGIN SELECT RAISE(ABORT, 'closed'); END").unwrap();
    q.ok(&["trigger", "create", "--db", db, "-f", file.to_str().unwrap()]);
    let ls = q.ok(&["trigger", "ls", "--db", db, "--format", "csv"]);
    assert!(ls.contains(",reviews_guard,trigger,,,,reviews,BEFORE,INSERT,"), "{ls}");
    let show = q.ok(&["trigger", "show", "--db", db, "reviews_guard"]);
    assert!(show.contains("RAISE(ABORT, 'closed')"), "{show}");
    std::fs::write(&file, "CREATE TRIGGER reviews_guard BEFORE INSERT ON reviews BEGIN SELECT RAISE(ABORT, 'closed for now'); END").unwrap();
    let out = q.ok(&["trigger", "edit", "--db", db, "reviews_guard", "-f", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.lines().next(), Some("DROP TRIGGER \"main\".\"reviews_guard\";"), "{out}");
    q.ok(&["trigger", "edit", "--db", db, "reviews_guard", "-f", file.to_str().unwrap()]);
    assert!(q.ok(&["trigger", "show", "--db", db, "reviews_guard"]).contains("closed for now"));
    std::fs::write(&file, "CREATE TRIGGER reviews_guard BEFORE INSERT ON no_such_table BEGIN SELECT 1; END").unwrap();
    let (code, _, err) = q.outcome(&["trigger", "edit", "--db", db, "reviews_guard", "-f", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(q.ok(&["trigger", "show", "--db", db, "reviews_guard"]).contains("closed for now"), "the old one is intact");
    let (code, _, err) = q.outcome(&["trigger", "disable", "--db", db, "reviews_guard"]);
    assert_eq!(code, 2);
    assert!(err.contains("SQLite cannot disable a trigger"), "{err}");

    // On a prod profile the DROP asks (no terminal: refused) and changes nothing.
    let url = format!("sqlite:{}", q.path("shop.db").display());
    q.ok(&["conn", "add", "shop-prod", &url, "--env", "prod"]);
    let (code, _, err) = q.outcome(&["trigger", "drop", "--db", "shop-prod", "reviews_guard"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--yes confirms"), "{err}");
    assert!(q.ok(&["trigger", "show", "--db", db, "reviews_guard"]).contains("closed for now"));
    q.ok(&["trigger", "drop", "--db", "shop-prod", "reviews_guard", "--yes"]);
    let (code, _, err) = q.outcome(&["trigger", "show", "--db", db, "reviews_guard"]);
    assert_eq!(code, 2);
    assert!(err.contains("no trigger main.reviews_guard"), "{err}");
}

#[test]
fn postgres_routines_from_the_command_line() {
    let Ok(url) = std::env::var("QORE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: QORE_TEST_POSTGRES_URL is not set");
        return;
    };
    let q = Qore::new();
    q.ok(&["query", "--db", &url, "DROP FUNCTION IF EXISTS public.t_cli_add(int, int)"]);
    q.ok(&["query", "--db", &url, "CREATE FUNCTION public.t_cli_add(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b'"]);
    let ls = q.ok(&["routine", "ls", "--db", &url, "--namespace", "public", "--format", "csv"]);
    assert!(ls.contains("public,t_cli_add,function,\"(a integer, b integer)\",integer,sql,"), "{ls}");
    let out = q.ok(&["routine", "call", "--db", &url, "public.t_cli_add", "2", "40", "--format", "csv"]);
    assert_eq!(out, "t_cli_add\n42\n");
    let show = q.ok(&["routine", "show", "--db", &url, "public.t_cli_add"]);
    assert!(show.starts_with("CREATE OR REPLACE FUNCTION public.t_cli_add(a integer, b integer)"), "{show}");

    // Edit from a file: a broken body fails and leaves the old one.
    let file = q.path("f.sql");
    std::fs::write(&file, show.replace("SELECT a + b", "SELEC a + b")).unwrap();
    let (code, _, err) = q.outcome(&["routine", "edit", "--db", &url, "public.t_cli_add", "-f", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("syntax error"), "{err}");
    assert_eq!(q.ok(&["routine", "show", "--db", &url, "public.t_cli_add"]), show);
    std::fs::write(&file, show.replace("SELECT a + b", "SELECT a + b + 1")).unwrap();
    q.ok(&["routine", "edit", "--db", &url, "public.t_cli_add", "-f", file.to_str().unwrap()]);
    assert_eq!(q.ok(&["routine", "call", "--db", &url, "public.t_cli_add", "2", "40", "--format", "csv"]), "t_cli_add\n43\n");

    // $EDITOR: unchanged leaves it; a script that edits changes it.
    let (code, _, err) = {
        let out = q.run_env(&["routine", "edit", "--db", &url, "public.t_cli_add"], "EDITOR", "true");
        (out.status.code().unwrap_or(-1), String::new(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("unchanged"), "{err}");

    // Drop: the preview, then the safety net on prod.
    let out = q.ok(&["routine", "drop", "--db", &url, "public.t_cli_add", "--dry-run"]);
    assert_eq!(out, "DROP FUNCTION \"public\".\"t_cli_add\"(a integer, b integer);\n");
    q.ok(&["conn", "add", "pg-prod", &url, "--env", "prod"]);
    let password = url.split_once("://").unwrap().1.split_once('@').unwrap().0.split_once(':').unwrap().1.to_string();
    let out = q.run_env(&["routine", "drop", "--db", "pg-prod", "public.t_cli_add"], "QORE_PASSWORD_PG_PROD", &password);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--yes confirms"), "{err}");
    assert!(q.ok(&["routine", "show", "--db", &url, "public.t_cli_add"]).contains("a + b + 1"));
    let out = q.run_env(&["routine", "drop", "--db", "pg-prod", "public.t_cli_add", "--yes"], "QORE_PASSWORD_PG_PROD", &password);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, _, err) = q.outcome(&["routine", "show", "--db", &url, "public.t_cli_add"]);
    assert_eq!(code, 2);
    assert!(err.contains("no routine public.t_cli_add"), "{err}");

    // Maintenance previews.
    let out = q.ok(&["admin", "run", "--db", &url, "vacuum", "-o", "full", "-o", "analyze", "--dry-run"]);
    assert_eq!(out, "VACUUM (FULL, ANALYZE);\n");
    let (code, _, err) = q.outcome(&["event", "ls", "--db", &url]);
    assert_eq!(code, 2);
    assert!(err.contains("PostgreSQL has no scheduled events"), "{err}");
}
