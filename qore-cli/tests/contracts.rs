//! The engine contracts as the `qore` binary shows them: one JSON
//! rendering for `query` and `export`, and no silent truncation.

use crate::util::Qore;

/// `qore query --format json` and `qore export --format json` give the
/// same bytes for the same result, on every engine.
#[test]
fn query_and_export_write_the_same_json() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&["demo", "--duckdb", "shop.duckdb"]);
    let mut cases: Vec<(String, String)> = vec![
        (
            "shop.db".into(),
            "SELECT o.id, o.id, o.ordered_at, i.unit_price, i.quantity * 1.5 AS q, NULL AS n \
             FROM orders o JOIN order_items i ON i.order_id = o.id ORDER BY i.order_id, i.product_id LIMIT 300"
                .into(),
        ),
        (
            "shop.duckdb".into(),
            "SELECT 1::TINYINT AS t, 12345678901234567890::HUGEINT AS h, 1.5::DECIMAL(20, 4) AS d, \
             'x\"y\\n'::VARCHAR AS s, [1, 2]::INT[] AS l, {'a': 1} AS st, MAP {'k': 'v'} AS m, \
             TIMESTAMPTZ '2024-02-29 13:14:15.5+00' AS tz, INTERVAL 3 DAY AS i, 'NaN'::DOUBLE AS nan, \
             '\\xAA'::BLOB AS b, DATE '0001-01-01' - INTERVAL 1 DAY AS bc"
                .into(),
        ),
    ];
    for var in [
        "QORE_TEST_POSTGRES_URL",
        "QORE_TEST_MYSQL_URL",
        "QORE_TEST_MONGODB_URL",
    ] {
        let Ok(url) = std::env::var(var) else {
            continue;
        };
        let sql = match var {
            "QORE_TEST_MONGODB_URL" => {
                q.ok(&["query", "--db", &url, "db.json_same.drop()"]);
                q.ok(&[
                    "query",
                    "--db",
                    &url,
                    "db.json_same.insertMany([{_id: 1, n: NumberLong(5), at: ISODate('2024-01-01T00:00:00Z'), \
                     tags: ['x'], d: NumberDecimal('1.10')}, {_id: 2, n: 'five', nested: {a: {b: 1.5}}}])",
                ]);
                "db.json_same.find({}).sort({_id: 1})".to_string()
            }
            "QORE_TEST_MYSQL_URL" => "SELECT 1 AS a, CAST(2.50 AS DECIMAL(10, 2)) AS d, \
                 TIMESTAMP '2024-02-29 13:14:15.123456' AS ts, 'é\"' AS s, NULL AS n, X'00FF' AS b"
                .to_string(),
            _ => "SELECT g AS id, g::numeric / 3 AS third, now() - now() AS iv, \
                  ARRAY[g, g + 1] AS arr, jsonb_build_object('g', g) AS js, 'infinity'::timestamptz AS inf \
                  FROM generate_series(1, 2000) g"
                .to_string(),
        };
        cases.push((url, sql));
    }
    for (db, sql) in cases {
        for format in ["json", "ndjson"] {
            let queried = q.ok(&["query", "--db", &db, "--format", format, &sql]);
            let exported = q.ok(&["export", "--db", &db, "--format", format, "-o", "-", &sql]);
            assert!(!queried.is_empty(), "{db}: {sql}");
            assert_eq!(queried, exported, "{db} --format {format}: {sql}");
        }
    }
}

/// A producer that panics in the middle of a result (here an engine
/// worker, by a fault injected in test builds) fails the export with exit
/// 2 and leaves no file: never a short file reported as a success.
#[test]
fn a_producer_that_panics_fails_the_export() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    for format in ["csv", "parquet", "json"] {
        let file = format!("out.{format}");
        let out = q.run_env(
            &[
                "export",
                "--db",
                "shop.db",
                "--table",
                "order_items",
                "-o",
                &file,
            ],
            "QORE_FAULT_PANIC_AFTER_BATCHES",
            "3",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
        assert!(
            stderr.contains("panicked") && stderr.contains("incomplete"),
            "{stderr}"
        );
        assert!(!q.path(&file).exists(), "{format}: a short file was left");
        let left: Vec<_> = std::fs::read_dir(q.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".part") || n.contains("tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        // The same to standard output: exit 2 after the rows it had.
        let out = q.run_env(
            &[
                "query",
                "--db",
                "shop.db",
                "--format",
                "csv",
                "SELECT * FROM order_items",
            ],
            "QORE_FAULT_PANIC_AFTER_BATCHES",
            "1",
        );
        assert_eq!(out.status.code(), Some(2));
    }
}

/// `-v` shows connects, statements and their outcome on stderr; `-vv`
/// adds the statements' text; without it, stderr has only the result.
#[test]
fn verbose_traces_the_work_on_stderr() {
    let q = Qore::new();
    let quiet = q.run(&["query", "--db", "sqlite::memory:", "SELECT 1"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("DEBUG"));
    let out = q.run(&["-v", "query", "--db", "sqlite::memory:", "SELEC 1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    for needle in [
        "connect",
        "connected",
        "query start failed",
        "kind=\"syntax\"",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert!(
        !stderr.contains("SELEC 1\""),
        "-v must not show the statement: {stderr}"
    );
    let out = q.run(&["query", "-vv", "--db", "sqlite::memory:", "SELECT 42"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sql=\"SELECT 42\""), "{stderr}");
    let out = q.run_env(
        &["query", "--db", "sqlite::memory:", "SELECT 1"],
        "RUST_LOG",
        "qore_drivers=debug",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("connected") && !stderr.contains("query start"),
        "{stderr}"
    );
}

/// `qore conn add --read-only` saves a profile the engine enforces; the
/// file keeps its format (no password, new keys only when set).
#[test]
fn read_only_profiles_refuse_writes() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let url = format!("sqlite:{}", q.path("shop.db").display());
    q.ok(&[
        "conn",
        "add",
        "shop-ro",
        &url,
        "--env",
        "prod",
        "--read-only",
    ]);
    q.ok(&["conn", "add", "shop", &url]);
    let file = std::fs::read_to_string(q.path("config/qore/connections.toml")).unwrap();
    assert!(
        file.contains("[connections.shop-ro]") && file.contains("read_only = true"),
        "{file}"
    );
    assert!(
        file.contains("env = \"prod\"") && file.contains("env = \"dev\""),
        "{file}"
    );
    let ls = q.ok(&["conn", "ls", "--format", "csv"]);
    assert!(ls.contains("shop-ro,") && ls.contains(",prod"), "{ls}");
    let out = q.run(&["query", "--db", "shop-ro", "DELETE FROM order_items"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("readonly") || stderr.contains("read-only"),
        "{stderr}"
    );
    let n = q.ok(&[
        "query",
        "--db",
        "shop-ro",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM order_items",
    ]);
    assert_eq!(n, "n\n105264\n");
    // MongoDB and Redis profiles may be read-only too (each command is
    // checked before it is sent).
    q.ok(&["conn", "add", "kv", "redis://localhost", "--read-only"]);
}

/// The safety net follows the profile's environment: dev warns and runs,
/// staging and prod ask (no terminal here: refused unless `--yes`),
/// `--allow-destructive` overrides; a refused statement changes nothing.
#[test]
fn the_safety_net_follows_the_environment() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let url = format!("sqlite:{}", q.path("shop.db").display());
    q.ok(&["conn", "add", "shop-prod", &url, "--env", "prod"]);
    q.ok(&["conn", "add", "shop-stag", &url, "--env", "staging"]);
    let count = |table: &str| {
        q.ok(&[
            "query",
            "--db",
            &url,
            "--format",
            "csv",
            &format!("SELECT count(*) AS n FROM {table}"),
        ])
    };

    let out = q.run(&["query", "--db", "shop-prod", "DELETE FROM reviews"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DELETE FROM reviews has no WHERE [delete-without-where] on prod"),
        "{stderr}"
    );
    assert!(stderr.contains("--yes confirms"), "{stderr}");
    assert_eq!(count("reviews"), "n\n8000\n");

    let out = q.run(&[
        "query",
        "--db",
        "shop-stag",
        "UPDATE customers SET name = 'x' WHERE 1 = 1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("on staging"));
    let renamed = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT count(*) AS n FROM customers WHERE name = 'x'",
    ]);
    assert_eq!(renamed, "n\n0\n");

    // A keyed statement needs nothing; --yes confirms; dev warns and runs.
    q.ok(&[
        "query",
        "--db",
        "shop-prod",
        "DELETE FROM reviews WHERE id = 1",
    ]);
    q.ok(&[
        "query",
        "--db",
        "shop-prod",
        "--yes",
        "DELETE FROM reviews WHERE id < 100",
    ]);
    assert_eq!(count("reviews"), "n\n7901\n");
    let err = q.ok_err(&["query", "--db", &url, "DELETE FROM order_items"]);
    assert!(
        err.contains("qore: warning: DELETE FROM order_items has no WHERE [delete-without-where]"),
        "{err}"
    );
    assert_eq!(count("order_items"), "n\n0\n");
    q.ok(&[
        "query",
        "--db",
        "shop-prod",
        "--allow-destructive",
        "DROP TABLE reviews",
    ]);
    let out = q.run(&["query", "--db", &url, "SELECT 1 FROM reviews"]);
    assert_eq!(out.status.code(), Some(2), "the table is gone");
}

/// On prod, a catastrophic statement is refused even with `--yes`, and the
/// confirmation of a DELETE says how many rows PostgreSQL estimates.
#[test]
fn prod_refuses_dropping_a_schema_and_estimates_deletes() {
    let Ok(url) = std::env::var("QORE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: QORE_TEST_POSTGRES_URL is not set");
        return;
    };
    let q = Qore::new();
    q.ok(&["conn", "add", "pg-prod", &url, "--env", "prod"]);
    // postgres://user:PASSWORD@host:port/db
    let after = url.split_once("://").unwrap().1;
    let userinfo = after.split_once('@').unwrap().0;
    let pw = userinfo
        .split_once(':')
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    let run = |args: &[&str]| q.run_env(args, "QORE_PASSWORD_PG_PROD", &pw);
    let out = run(&[
        "query",
        "--db",
        "pg-prod",
        "--yes",
        "DROP SCHEMA IF EXISTS qore_sn_none",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[drop-database] on prod is refused"),
        "{stderr}"
    );
    q.ok(&[
        "query",
        "--db",
        &url,
        "DROP TABLE IF EXISTS qore_sn; CREATE TABLE qore_sn AS SELECT generate_series(1, 500) AS id; ANALYZE qore_sn",
    ]);
    let out = run(&["query", "--db", "pg-prod", "DELETE FROM qore_sn"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("(the engine estimates 500 rows)"),
        "{stderr}"
    );
    let n = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT count(*) AS n FROM qore_sn",
    ]);
    assert_eq!(n, "n\n500\n");
    q.ok(&["query", "--db", &url, "DROP TABLE qore_sn"]);
    // The password is nowhere in the audit log, with the secret statements masked.
    // Audited whether the server accepts it or not (the test user may not
    // create roles): a failed statement has a record too.
    let created = q.run(&[
        "query",
        "--db",
        &url,
        "CREATE ROLE qore_sn_role PASSWORD 'qore-sn-secret-42'",
    ]);
    if created.status.code() == Some(0) {
        q.ok(&["query", "--db", &url, "--yes", "DROP ROLE qore_sn_role"]);
    }
    let log = std::fs::read_to_string(q.path("data/qore/audit.jsonl")).unwrap();
    assert!(
        !pw.is_empty() && !log.contains(&pw),
        "the password is in the audit log"
    );
    assert!(!log.contains("qore-sn-secret-42"), "{log}");
    assert!(log.contains("PASSWORD ***"), "{log}");
}

/// Proof from the servers' own statement logs that a refused statement
/// never reached them: PostgreSQL's pg_stat_statements and MariaDB's
/// general log show the statements that ran (a control statement with the
/// same marker is there), and none of the refused ones.
#[test]
fn refused_statements_never_reach_the_server() {
    let (Ok(pg), Ok(my)) = (
        std::env::var("QORE_TEST_POSTGRES_URL"),
        std::env::var("QORE_TEST_MYSQL_URL"),
    ) else {
        eprintln!("skipped: QORE_TEST_POSTGRES_URL / QORE_TEST_MYSQL_URL are not set");
        return;
    };
    let q = Qore::new();
    let marker = format!("qore_refused_{}", std::process::id());
    let password = |url: &str| {
        let after = url.split_once("://").unwrap().1;
        let userinfo = after.split_once('@').unwrap().0;
        userinfo
            .split_once(':')
            .map(|x| x.1)
            .unwrap_or("")
            .to_string()
    };
    // The statements each server is asked to run under a prod profile,
    // with no terminal to confirm on: refused, all of them.
    let refused = [
        format!("DROP TABLE {marker}"),
        format!("DELETE FROM {marker}"),
        format!("UPDATE {marker} SET id = 0 WHERE 1 = 1"),
        format!("TRUNCATE {marker}"),
    ];

    // Each refused with exit 2 under a prod profile of `url`.
    let refuse_all = |q: &Qore, profile: &str, url: &str| {
        q.ok(&["conn", "add", profile, url, "--env", "prod"]);
        let var = format!("QORE_PASSWORD_{}", profile.to_uppercase().replace('-', "_"));
        for s in &refused {
            let out = q.run_env(&["query", "--db", profile, s], &var, &password(url));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{s}: {stderr}");
        }
    };

    // PostgreSQL: pg_stat_statements (loaded by scripts/servers.sh, read
    // from the postgres database) lists what ran in qore_test.
    q.ok(&["query", "--db", &pg, &format!("DROP TABLE IF EXISTS {marker}; CREATE TABLE {marker} AS SELECT generate_series(1, 50) AS id")]);
    refuse_all(&q, "pg-prod", &pg);
    q.ok(&[
        "query",
        "--db",
        &pg,
        &format!("SELECT count(*) FROM {marker} WHERE id > 0"),
    ]);
    let stats_db = match pg.rsplit_once('/') {
        Some((base, _)) => format!("{base}/postgres"),
        None => panic!("{pg}"),
    };
    let seen = q.ok(&[
        "query",
        "--db",
        &stats_db,
        "--format",
        "csv",
        &format!(
            "SELECT query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
             WHERE d.datname = 'qore_test' AND query LIKE '%{marker}%' ORDER BY query"
        ),
    ]);
    assert!(
        seen.contains(&format!("SELECT count(*) FROM {marker} WHERE id > $1")),
        "the control statement is tracked: {seen}"
    );
    // (pg_stat_statements writes constants as $n.)
    let prefixes = [
        format!("DROP TABLE {marker}"),
        format!("DELETE FROM {marker}"),
        format!("UPDATE {marker} SET"),
        format!("TRUNCATE {marker}"),
    ];
    for p in &prefixes {
        let ran: Vec<&str> = seen
            .lines()
            .filter(|l| l.trim_start_matches('"').starts_with(p.as_str()))
            .collect();
        assert!(ran.is_empty(), "{p} reached PostgreSQL: {ran:?}");
    }
    let n = q.ok(&[
        "query",
        "--db",
        &pg,
        "--format",
        "csv",
        &format!("SELECT count(*) AS n FROM {marker}"),
    ]);
    assert_eq!(n, "n\n50\n");
    q.ok(&["query", "--db", &pg, &format!("DROP TABLE {marker}")]);

    // MariaDB: the general log, written to mysql.general_log while this
    // test runs.
    q.ok(&[
        "query",
        "--db",
        &my,
        &format!("DROP TABLE IF EXISTS {marker}"),
    ]);
    q.ok(&[
        "query",
        "--db",
        &my,
        &format!("CREATE TABLE {marker} (id INT PRIMARY KEY)"),
    ]);
    q.ok(&[
        "query",
        "--db",
        &my,
        &format!("INSERT INTO {marker} VALUES (1), (2), (3)"),
    ]);
    q.ok(&[
        "query",
        "--db",
        &my,
        "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 'ON'",
    ]);
    refuse_all(&q, "my-prod", &my);
    q.ok(&[
        "query",
        "--db",
        &my,
        &format!("SELECT count(*) FROM {marker} WHERE id > 0"),
    ]);
    q.ok(&["query", "--db", &my, "SET GLOBAL general_log = 'OFF'"]);
    let seen = q.ok(&[
        "query",
        "--db",
        &my,
        "--format",
        "csv",
        &format!(
            "SELECT CAST(argument AS CHAR) AS a FROM mysql.general_log \
             WHERE CAST(argument AS CHAR) LIKE '%{marker}%'"
        ),
    ]);
    assert!(
        seen.contains(&format!("SELECT count(*) FROM {marker} WHERE id > 0")),
        "the control statement is logged: {seen}"
    );
    for s in &refused {
        let ran: Vec<&str> = seen.lines().filter(|l| l.trim_matches('"') == s).collect();
        assert!(ran.is_empty(), "{s} reached MariaDB: {ran:?}");
    }
    let n = q.ok(&[
        "query",
        "--db",
        &my,
        "--format",
        "csv",
        &format!("SELECT count(*) AS n FROM {marker}"),
    ]);
    assert_eq!(n, "n\n3\n");
    q.ok(&["query", "--db", &my, &format!("DROP TABLE {marker}")]);
}
