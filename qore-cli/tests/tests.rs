//! The `qore` binary, run for real in a temporary directory.

#![allow(clippy::unwrap_used)]

mod administering;
mod completions;
mod contracts;
mod diffing;
mod editing;
mod erd;
mod results;
mod shell;
mod searching;
mod sharing;
mod snapshots;
mod term;
mod hardening;
mod jobs;
mod tunnelling;
mod util;

use util::Qore;

#[test]
fn demo_ls_describe_query() {
    let q = Qore::new();
    let out = q.ok(&["demo", "shop.db"]);
    assert!(
        out.contains("order_items") && out.contains("9 tables"),
        "{out}"
    );
    assert!(q.path("shop.db").exists());

    let ls = q.ok(&["ls", "--db", "shop.db", "--format", "csv"]);
    assert!(
        ls.starts_with("namespace,name,kind,rows,exact,comment\n"),
        "{ls}"
    );
    assert!(ls.contains("main,order_items,table,105264,true"), "{ls}");
    assert!(ls.contains("main,order_totals,view,,"), "{ls}");

    let d = q.ok(&["describe", "--db", "shop.db", "order_items"]);
    for needle in [
        "order_id",
        "PK FK→main.orders(id)",
        "PK2",
        "FK→main.inventory(product_id)",
        "order_items_stock",
        "ON DELETE CASCADE",
        "Indexes",
        "Constraints",
    ] {
        assert!(d.contains(needle), "missing {needle} in\n{d}");
    }
    let d = q.ok(&[
        "describe",
        "--db",
        "sqlite:shop.db",
        "orders",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&d).unwrap();
    assert_eq!(v["triggers"][0], "orders_touch");
    assert!(
        v["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["predicate"] == "status IN ('pending', 'paid')")
    );

    // Table output carries the structure indicators in its header.
    let t = q.ok(&[
        "query",
        "--db",
        "shop.db",
        "SELECT * FROM orders WHERE id <= 3",
    ]);
    assert!(
        t.contains("INTEGER PK") && t.contains("FK→main.customers(id)") && t.contains("CHK"),
        "{t}"
    );
    // A single-table result of many batches: the catalog lookup must not wait on the stream.
    let all = q.ok(&[
        "query",
        "--db",
        "shop.db",
        "--format",
        "csv",
        "SELECT * FROM order_items",
    ]);
    assert_eq!(all.lines().count(), 105_264 + 1);
    let shown = q.run(&[
        "query",
        "--db",
        "shop.db",
        "--max-rows",
        "5",
        "SELECT * FROM order_items",
    ]);
    assert!(String::from_utf8_lossy(&shown.stderr).contains("showing 5 of 105264 rows"));
    let csv = q.ok(&[
        "query",
        "--db",
        "shop.db",
        "--format",
        "csv",
        "SELECT id, name FROM categories WHERE id <= 2 ORDER BY id",
    ]);
    assert_eq!(csv, "id,name\n1,Electronics\n2,Books\n");
    let tsv = q.ok(&[
        "query",
        "--db",
        "shop.db",
        "--format",
        "tsv",
        "SELECT 1 AS a, 'x' AS b",
    ]);
    assert_eq!(tsv, "a\tb\n1\tx\n");
    let nd = q.ok(&[
        "query",
        "--db",
        "shop.db",
        "--format",
        "ndjson",
        "SELECT id, body FROM reviews WHERE body IS NULL ORDER BY id LIMIT 2",
    ]);
    let lines: Vec<serde_json::Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["body"].is_null());
    let js = q.ok(&[
        "query",
        "--db",
        "shop.db",
        "--format",
        "json",
        "SELECT x'00ff' AS b, 1.5 AS f",
    ]);
    let v: serde_json::Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v[0]["b"], "\\x00ff");
    assert_eq!(v[0]["f"], 1.5);
}

#[test]
fn duckdb_demo_and_files() {
    let q = Qore::new();
    q.ok(&["demo", "--duckdb", "shop.duckdb"]);
    let n = q.ok(&[
        "query",
        "--db",
        "shop.duckdb",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM order_items",
    ]);
    assert!(n.starts_with("n\n1"), "{n}");
    // The embedded default reads local files.
    std::fs::write(q.path("people.csv"), "name,age\nAda,36\nAlan,41\n").unwrap();
    let out = q.ok(&[
        "query",
        "--format",
        "csv",
        "SELECT name FROM 'people.csv' WHERE age > 40",
    ]);
    assert_eq!(out, "name\nAlan\n");
    // Several statements: the last one's rows are printed.
    let out = q.ok(&[
        "query",
        "--format",
        "csv",
        "CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2); SELECT sum(x) AS s FROM t",
    ]);
    assert_eq!(out, "s\n3\n");
}

#[test]
fn sql_from_file_and_stdin() {
    let q = Qore::new();
    std::fs::write(q.path("q.sql"), "SELECT 'from file' AS src;\n").unwrap();
    assert_eq!(
        q.ok(&["query", "--format", "csv", "-f", "q.sql"]),
        "src\nfrom file\n"
    );
    let out = q.run_stdin(&["query", "--format", "csv"], "SELECT 'from stdin' AS src");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "src\nfrom stdin\n");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "query",
                "--db",
                "postgres://u:hunter2@h:99999/db",
                "SELECT 1",
            ],
            "port",
        ),
        (
            &["query", "--db", "ftp://example.com", "SELECT 1"],
            "unknown URL scheme `ftp:`",
        ),
        (
            &[
                "query",
                "--db",
                "postgres://u:hunter2@127.0.0.1:1/db",
                "SELECT 1",
            ],
            "not reachable",
        ),
        (
            &[
                "query",
                "--db",
                "mongodb://u:hunter2@127.0.0.1:1/x?serverSelectionTimeoutMS=300",
                "db.t.find()",
            ],
            "not reachable",
        ),
        (
            &["query", "--db", "sqlite:missing.db?mode=ro", "SELECT 1"],
            "does not exist",
        ),
        (
            &["query", "--db", "missing.duckdb", "SELECT 1"],
            "no database file",
        ),
        (
            &["query", "--db", "shop.db", "SELEC * FROM orders"],
            "syntax error",
        ),
        (
            &["query", "--db", "shop.db", "SELECT * FROM no_such_table"],
            "no such table: no_such_table",
        ),
        (
            &["describe", "--db", "shop.db", "no_such_table"],
            "no table or view named `no_such_table`",
        ),
        (
            &["query", "--db", "sqlite:shop.db?bogus=1", "SELECT 1"],
            "unknown SQLite option `bogus`",
        ),
        (
            &["query", "--db", "nosuchname", "SELECT 1"],
            "neither a saved connection",
        ),
        (&["query", "--format", "csv", ""], "no SQL statement"),
        (
            &["query", "--db", "redis://:pw@127.0.0.1:1/0", "PING"],
            "not reachable",
        ),
    ];
    for (args, needle) in cases {
        let out = q.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("qore: ") && err.contains(needle),
            "{args:?}: expected `{needle}` in {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("hunter2"),
            "{args:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?}: data on stdout for an error"
        );
    }
    assert!(
        !q.path("missing.db").exists(),
        "a read-only open created a file"
    );
    assert!(!q.path("missing.duckdb").exists());
}

#[test]
fn saved_connections_never_store_passwords() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let shop = q.path("shop.db").display().to_string();
    let out = q.run(&[
        "conn",
        "add",
        "shop",
        &format!("sqlite:{shop}"),
        "--env",
        "staging",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = q.run(&[
        "conn",
        "add",
        "prod-db",
        "postgres://ann:s3cr3t@db.example:5432/app",
        "--env",
        "prod",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("QORE_PASSWORD_PROD_DB"));
    let file = std::fs::read_to_string(q.path("config/qore/connections.toml")).unwrap();
    assert!(!file.contains("s3cr3t"), "{file}");
    assert!(
        file.contains("postgres://ann@db.example:5432/app"),
        "{file}"
    );

    let ls = q.ok(&["conn", "ls", "--format", "csv"]);
    assert!(
        ls.contains("prod-db,postgres://ann@db.example:5432/app,prod"),
        "{ls}"
    );
    assert!(ls.contains("shop,sqlite:"), "{ls}");
    // A saved name works wherever --db does.
    assert_eq!(
        q.ok(&[
            "query",
            "--db",
            "shop",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM warehouses"
        ]),
        "n\n5\n"
    );
    let dup = q.run(&["conn", "add", "shop", "duckdb:"]);
    assert_eq!(dup.status.code(), Some(2));
    q.ok(&["conn", "rm", "shop"]);
    assert!(!q.ok(&["conn", "ls", "--format", "csv"]).contains("shop,"));
    assert_eq!(q.run(&["conn", "rm", "shop"]).status.code(), Some(2));
}

#[test]
fn redis_commands_and_key_browsing() {
    let q = Qore::new();
    let server = util::RedisServer::start();
    let url = server.url.as_str();
    q.ok(&["query", "--db", url, r#"SET doc '{"a": [1, 2], "b": "x"}'"#]);
    // JSON held in a string is shown pretty in the table format.
    let t = q.ok(&["query", "--db", url, "GET doc"]);
    assert!(t.contains("\"a\": [") && t.contains("\"b\": \"x\""), "{t}");
    q.ok(&["query", "--db", url, "EVAL \"for i = 1, 3000 do redis.call('SET', 'user:' .. i, i) end; redis.call('HSET', 'h:1', 'f', 'v')\" 0"]);
    let keys = q.ok(&["ls", "--db", url, "user:*", "--format", "csv"]);
    assert!(
        keys.starts_with("key,type,ttl_ms,memory_bytes,encoding,length\n"),
        "{keys}"
    );
    assert_eq!(keys.lines().count(), 3000 + 1);
    let hashes = q.ok(&["ls", "--db", url, "--type", "hash", "--format", "csv"]);
    assert_eq!(hashes.lines().collect::<Vec<_>>()[1..].len(), 1, "{hashes}");
    assert!(hashes.contains("h:1,hash,-1,"), "{hashes}");
    let wrong = q.run(&["query", "--db", &url.replace("cli-pw", "nope"), "PING"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("authentication failed"));
}

pub(crate) fn server_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests through scripts/servers.sh (scripts/test.sh does)")
    })
}

#[test]
fn postgres_and_mysql_through_urls_and_saved_connections() {
    let q = Qore::new();
    for (var, table, serial) in [
        ("QORE_TEST_POSTGRES_URL", "cli_pg", "serial PRIMARY KEY"),
        (
            "QORE_TEST_MYSQL_URL",
            "cli_my",
            "INT AUTO_INCREMENT PRIMARY KEY",
        ),
    ] {
        let url = server_url(var);
        q.ok(&[
            "query",
            "--db",
            &url,
            &format!("DROP TABLE IF EXISTS {table}"),
        ]);
        q.ok(&[
            "query",
            "--db",
            &url,
            &format!("CREATE TABLE {table} (id {serial}, price DECIMAL(8, 2) NOT NULL, label VARCHAR(20))"),
        ]);
        q.ok(&[
            "query",
            "--db",
            &url,
            &format!("INSERT INTO {table} (price, label) VALUES (1.50, 'a,b'), (2.25, NULL)"),
        ]);
        let csv = q.ok(&[
            "query",
            "--db",
            &url,
            "--format",
            "csv",
            &format!("SELECT id, price, label FROM {table} ORDER BY id"),
        ]);
        assert_eq!(csv, "id,price,label\n1,1.50,\"a,b\"\n2,2.25,\n");
        let table_out = q.ok(&["query", "--db", &url, &format!("SELECT * FROM {table}")]);
        assert!(table_out.contains("PK"), "{table_out}");
        let ls = q.ok(&["ls", "--db", &url]);
        assert!(ls.contains(table), "{ls}");
        let describe = q.ok(&["describe", "--db", &url, table]);
        assert!(
            describe.contains("price") && describe.contains("PRIMARY"),
            "{describe}"
        );
        // A saved connection keeps no password; the environment supplies it.
        let spec = qore_core::ConnectionSpec::parse(&url).unwrap();
        let name = format!("saved_{table}");
        q.ok(&["conn", "add", &name, &spec.without_password().to_string()]);
        let out = q.run_env(
            &[
                "query",
                "--db",
                &name,
                "--format",
                "csv",
                &format!("SELECT count(*) AS n FROM {table}"),
            ],
            &format!("QORE_PASSWORD_{}", name.to_uppercase()),
            spec.password.as_ref().unwrap().expose(),
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "n\n2\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A syntax error: exit 2 and the server's code.
        let out = q.run(&["query", "--db", &url, "SELEC 1"]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("42601") || err.contains("1064"), "{err}");
    }
}

pub(crate) fn tools() -> String {
    std::env::var("QORE_TOOLS")
        .unwrap_or_else(|_| format!("{}/.cache/qoredb/tools", std::env::var("HOME").unwrap()))
}

#[test]
fn export_every_format_atomically_and_read_back_by_real_readers() {
    let q = Qore::new();
    let url = server_url("QORE_TEST_POSTGRES_URL");
    for stmt in [
        "DROP TABLE IF EXISTS exp_src, exp_copy",
        "CREATE TABLE exp_src (id int PRIMARY KEY, label text NOT NULL, amount numeric(10, 2), \
         at timestamptz, payload bytea, flag boolean)",
        "INSERT INTO exp_src SELECT g, CASE WHEN g = 7 THEN '</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=1>' \
              WHEN g % 50 = 0 THEN 'needle ' || g ELSE 'row ' || lpad(g::text, 4, '0') END, \
              CASE WHEN g % 9 = 0 THEN NULL ELSE g * 1.25 END, \
              timestamptz '2024-01-01 00:00+00' + g * interval '1 hour', decode(md5(g::text), 'hex'), g % 2 = 0 \
         FROM generate_series(1, 250) g",
    ] {
        q.ok(&["query", "--db", &url, stmt]);
    }
    let files = [
        "t.csv",
        "t.tsv",
        "t.json",
        "t.ndjson",
        "t.parquet",
        "t.arrow",
        "t.arrows",
        "t.html",
    ];
    for f in files {
        let out = q.run(&["export", "--db", &url, "--table", "exp_src", "-o", f]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{f}: {err}");
        assert!(err.contains("exported 250 rows"), "{f}: {err}");
        assert!(q.path(f).exists());
    }
    let csv = std::fs::read_to_string(q.path("t.csv")).unwrap();
    assert_eq!(csv.lines().count(), 251);
    assert!(csv.starts_with("id,label,amount,at,payload,flag\n1,row 0001,1.25,2024-01-01T01:00:00Z,\\xc4ca4238a0b923820dcc509a6f75849b,false\n"), "{}", &csv[..200]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(q.path("t.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 250);
    assert_eq!(json[8]["amount"], serde_json::Value::Null);
    assert_eq!(
        std::fs::read_to_string(q.path("t.ndjson"))
            .unwrap()
            .lines()
            .count(),
        250
    );

    // Parquet and Arrow: pyarrow reads both, DuckDB reads the Parquet file.
    let out = std::process::Command::new(format!("{}/venv/bin/python", tools()))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/check_columnar.py"
        ))
        .arg(env!("CARGO_BIN_EXE_qore"))
        .args(["t.parquet", "t.arrow", "t.arrows"].map(|f| q.path(f)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["rows"], 250);
    assert_eq!(read["types"][2], "decimal128(10, 2)");
    assert_eq!(
        read["metadata"]["id"]["qore.pk"], "1",
        "structure travels in the field metadata"
    );

    // SQL: a script that recreates the rows in another table.
    q.ok(&[
        "export",
        "--db",
        &url,
        "--table",
        "exp_src",
        "-o",
        "t.sql",
        "--sql-table",
        "exp_copy",
        "--create-table",
        "--rows-per-insert",
        "100",
    ]);
    let script = std::fs::read_to_string(q.path("t.sql")).unwrap();
    assert_eq!(script.matches("INSERT INTO").count(), 3);
    q.ok(&[
        "query",
        "--db",
        &url,
        "-f",
        q.path("t.sql").to_str().unwrap(),
    ]);
    let same = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT count(*) AS n FROM (SELECT * FROM exp_src EXCEPT SELECT * FROM exp_copy) d",
    ]);
    assert_eq!(same, "n\n0\n");

    // HTML in a real browser: sorting, filtering, paging, hostile cells stay text, no network.
    let out = std::process::Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/html_check.mjs"
        ))
        .arg(q.path("t.html"))
        .env("QORE_TOOLS", tools())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["count"], "250 rows");
    assert_eq!(page["headers"][0], "id");
    assert!(
        page["tags"][0]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "PK"),
        "{page}"
    );
    assert!(page["legend"].as_str().unwrap().starts_with("PK primary key"), "{page}");
    assert_eq!(page["firstIds"], serde_json::json!(["1", "2", "3"]));
    assert_eq!(page["rowsShown"], 100);
    assert_eq!(page["sortedDesc"], serde_json::json!(["250", "249", "248"]));
    assert_eq!(page["filteredCount"], "5 of 250 rows");
    assert_eq!(page["filtered"][0], "needle 100");
    assert_eq!(
        page["hostile"],
        serde_json::json!([
            "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=1>"
        ])
    );
    assert_eq!(page["pwned"], false);
    assert_eq!(page["dialogs"], serde_json::json!([]));
    assert_eq!(page["requests"], serde_json::json!([]));
    assert_eq!(page["page2"], "page 2 of 3");
    assert_eq!(page["query"], "SELECT * FROM \"exp_src\"");

    // A failing export leaves the previous file alone and no temporary file.
    std::fs::write(q.path("keep.csv"), "old\n").unwrap();
    let out = q.run(&[
        "export",
        "--db",
        &url,
        "-o",
        "keep.csv",
        "SELECT g, 1 / (g - 20000) FROM generate_series(1, 30000) g",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("division by zero"));
    assert_eq!(
        std::fs::read_to_string(q.path("keep.csv")).unwrap(),
        "old\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(q.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Format from the extension, or an error that says what to do.
    let out = q.run(&[
        "export",
        "--db",
        &url,
        "--table",
        "exp_src",
        "-o",
        "t.unknown",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
    // Standard output.
    let out = q.ok(&[
        "export",
        "--db",
        &url,
        "-o",
        "-",
        "--format",
        "tsv",
        "SELECT 1 AS a, 'x y' AS b",
    ]);
    assert_eq!(out, "a\tb\n1\tx y\n");
}

#[test]
fn mongodb_shorthand_documents_and_extended_json() {
    let q = Qore::new();
    let url = server_url("QORE_TEST_MONGODB_URL");
    let _ = q.run(&["query", "--db", &url, "db.cli_docs.drop()"]);
    q.ok(&["query", "--db", &url, "db.cli_docs.insertMany([{_id: 1, n: NumberLong(5), at: ISODate('2024-01-01T00:00:00Z'), tags: ['x'], note: null}, {_id: 2, n: 'five', nested: {a: {b: 1.5}}}])"]);
    let out = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "ndjson",
        "db.cli_docs.find({}).sort({_id: 1})",
    ]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"_id": {"$numberInt": "1"}, "n": {"$numberLong": "5"}, "at": {"$date": {"$numberLong": "1704067200000"}}, "tags": ["x"], "note": null})
    );
    assert_eq!(
        lines[1],
        serde_json::json!({"_id": {"$numberInt": "2"}, "n": "five", "nested": {"a": {"b": {"$numberDouble": "1.5"}}}})
    );
    let table = q.ok(&["query", "--db", &url, "db.cli_docs.find({_id: 2})"]);
    assert!(table.contains("five"), "{table}");
    assert!(q.ok(&["ls", "--db", &url]).contains("cli_docs"));
    assert!(
        q.ok(&["describe", "--db", &url, "cli_docs"])
            .contains("_id")
    );
    let out = q.run(&["query", "--db", &url, "db.cli_docs.find({a: })"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("position 22"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And to a file, through the export pipeline.
    q.ok(&[
        "export",
        "--db",
        &url,
        "-o",
        "docs.parquet",
        "db.cli_docs.find({})",
    ]);
    assert!(q.path("docs.parquet").exists());
    // --table on MongoDB reads the collection with find.
    let err = q.ok_err(&[
        "export",
        "--db",
        &url,
        "--table",
        "cli_docs",
        "-o",
        "docs.ndjson",
    ]);
    assert!(err.contains("exported 2 rows"), "{err}");
    assert_eq!(
        std::fs::read_to_string(q.path("docs.ndjson"))
            .unwrap()
            .lines()
            .count(),
        2
    );
}

#[test]
fn ctrl_c_stops_an_export_and_leaves_no_file() {
    let q = Qore::new();
    let url = server_url("QORE_TEST_POSTGRES_URL");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_qore"))
        .args([
            "export",
            "--db",
            &url,
            "-o",
            "slow.csv",
            "SELECT g, pg_sleep(0.01) FROM generate_series(1, 100000) g",
        ])
        .current_dir(q.dir())
        .env("XDG_CONFIG_HOME", q.dir().join("config"))
        .env("XDG_DATA_HOME", q.dir().join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let part_exists = std::fs::read_dir(q.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".part"));
    assert!(
        part_exists,
        "the export writes to a temporary file while it runs"
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted by SIGINT"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(q.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n == "slow.csv" || n.ends_with(".part")),
        "{names:?}"
    );
}

/// `query --profile`: one line per statement on stderr (operation, rows,
/// batches, data bytes, timings), the output itself unchanged; a failing
/// statement is profiled too, with its error kind.
#[test]
fn query_profile_prints_each_statements_figures() {
    let q = Qore::new();
    let args = [
        "query",
        "--format",
        "csv",
        "CREATE TABLE t AS SELECT * FROM range(5000) r(i); SELECT i FROM t ORDER BY i",
    ];
    let out = q.run(&[&args[..], &["--profile"]].concat());
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let plain = q.ok(&args);
    assert_eq!(stdout, plain, "--profile changes nothing on stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("profile:")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("qore: profile: CREATE:"), "{err}");
    // 5,000 BIGINTs are 40,000 bytes of data.
    assert!(
        lines[1]
            .starts_with("qore: profile: SELECT: 5,000 rows in 1 batch, 39.1 KiB; first batch "),
        "{err}"
    );
    assert!(lines[1].contains(", total "), "{err}");

    let out = q.run(&["query", "--profile", "SELEC 1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("qore: profile: SELEC: 0 rows") && err.contains("failed: syntax"),
        "{err}"
    );
}

/// `qore check` classifies without running anything: JSON on stdout, exit
/// 0 for safe and destructive alike; the engine comes from `--engine` or
/// from `--db` (never opened: the file is not created).
#[test]
fn check_classifies_without_running() {
    let q = Qore::new();
    let out = q.ok(&[
        "check",
        "--engine",
        "postgres",
        "DELETE FROM orders WHERE 1 = 1",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "destructive");
    assert_eq!(v["findings"][0]["rule"], "delete-where-always-true");
    let db = q.path("never.db");
    let url = format!("sqlite:{}", db.display());
    let out = q.ok(&[
        "check",
        "--db",
        &url,
        "SELECT 'DROP TABLE x'; DELETE FROM t WHERE id = 3",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "safe");
    assert_eq!(v["statements"].as_array().unwrap().len(), 2);
    assert!(!db.exists(), "check opened the database");
    let out = q.run_stdin(&["check", "--engine", "mysql"], "/*!40101 DROP TABLE t */");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["rule"], "mysql-executable-comment");
}
