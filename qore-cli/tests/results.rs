//! The table format made for people: fitted to the terminal's width (long
//! values cut, columns that do not fit named on stderr), numbers
//! right-aligned, and `--expanded`.

use crate::util::Qore;

#[test]
fn tables_fit_the_terminal_and_expanded_shows_everything() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let long = "x".repeat(120);
    let sql = format!(
        "SELECT o.id, o.total, '{long}' AS note, c.email, c.name, c.country, o.status, NULL AS missing \
         FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id LIMIT 2"
    );
    let out = q.run_env(&["query", "--db", "shop.db", &sql], "COLUMNS", "70");
    assert_eq!(out.status.code(), Some(0));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for line in stdout.lines() {
        assert!(line.chars().count() <= 70, "{} chars: {line}", line.chars().count());
    }
    // The long value is cut at 40 characters, the rest of the columns named.
    assert!(stdout.contains(&format!("{}…", "x".repeat(39))), "{stdout}");
    assert!(stderr.contains("columns not shown, the terminal is too narrow: email, name, country, status, missing"), "{stderr}");
    // Numbers right-aligned: the id's digit sits against the column's right edge.
    let first = stdout.lines().find(|l| l.contains("│") && l.contains(" 1 ┆")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(first.starts_with("│  "), "{first}");
    // Without a width (a pipe): every column, nothing cut.
    let all = q.ok(&["query", "--db", "shop.db", &sql]);
    assert!(all.contains(&long) && all.contains("missing"), "{all}");
    // Expanded: one block per row, every value whole, NULL shown.
    let x = q.ok(&["query", "--db", "shop.db", "-x", &sql]);
    assert!(x.starts_with("-[ RECORD 1 ]"), "{x}");
    assert!(x.contains(&format!("note    | {long}")) && x.contains("missing | NULL") && x.contains("-[ RECORD 2 ]"), "{x}");
}

#[test]
fn writes_report_what_they_changed() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let count = |sql: &str| q.ok_err(&["query", "--db", "shop.db", sql]);
    assert_eq!(count("UPDATE customers SET vip = 1 WHERE id <= 3"), "qore: UPDATE 3\n");
    assert_eq!(count("INSERT INTO warehouses (code, city) VALUES ('Z1', 'Oslo'), ('Z2', 'Rome')"), "qore: INSERT 2\n");
    assert_eq!(count("WITH x AS (SELECT 1) DELETE FROM warehouses WHERE code = 'Z1'"), "qore: rows affected: 1\n");
    // With RETURNING the rows are the result.
    let out = q.ok(&["query", "--db", "shop.db", "--format", "csv", "DELETE FROM warehouses WHERE code = 'Z2' RETURNING city"]);
    assert_eq!(out, "city\nRome\n");
    assert_eq!(count("CREATE TABLE t9 (a int)"), "qore: OK\n");
    // On a server too.
    let pg = std::env::var("QORE_TEST_POSTGRES_URL").expect("run the tests through scripts/servers.sh");
    let t = format!("counted_{}", std::process::id());
    q.ok(&["query", "--db", &pg, &format!("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} AS SELECT g AS id FROM generate_series(1, 10) g")]);
    assert_eq!(q.ok_err(&["query", "--db", &pg, &format!("UPDATE {t} SET id = id + 100 WHERE id > 1")]), "qore: UPDATE 9\n");
    q.ok(&["query", "--db", &pg, &format!("DROP TABLE {t}")]);
}

/// Runs qore on a pseudo-terminal with `env`; what the terminal showed.
fn on_terminal(q: &Qore, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pty_run.py"))
        .args(["20", "-", "--", env!("CARGO_BIN_EXE_qore")])
        .args(args)
        .current_dir(q.dir())
        .env("XDG_CONFIG_HOME", q.dir().join("config"))
        .env("XDG_DATA_HOME", q.dir().join("data"))
        .env_remove("QORE_DB");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit"], 0, "{v}");
    v["output"].as_str().unwrap_or_default().to_string()
}

#[test]
fn tall_results_go_through_the_pager_on_a_terminal() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let pager = [("LINES", "20"), ("COLUMNS", "100"), ("PAGER", "cat > paged.txt")];
    let shown = on_terminal(&q, &["query", "--db", "shop.db", "SELECT id, email FROM customers ORDER BY id LIMIT 50"], &pager);
    let paged = std::fs::read_to_string(q.path("paged.txt")).expect("the pager ran");
    assert!(paged.contains("josé.perlman1@example.com") && paged.lines().count() > 50, "{paged}");
    assert!(!shown.contains("perlman1"), "the rows went to the terminal too: {shown}");
    assert!(shown.contains("qore: 50 rows"), "{shown}");
    // A result that fits is printed, no pager.
    std::fs::remove_file(q.path("paged.txt")).unwrap();
    let shown = on_terminal(&q, &["query", "--db", "shop.db", "SELECT id FROM customers ORDER BY id LIMIT 3"], &pager);
    assert!(shown.contains("qore: 3 rows") && !q.path("paged.txt").exists(), "{shown}");
    // PAGER= turns it off; a pipe is never paged.
    let shown = on_terminal(&q, &["query", "--db", "shop.db", "SELECT id, email FROM customers ORDER BY id LIMIT 50"], &[("LINES", "20"), ("PAGER", "")]);
    assert!(shown.contains("perlman1") && !q.path("paged.txt").exists(), "{shown}");
    let piped = q.run_env(&["query", "--db", "shop.db", "SELECT id FROM customers LIMIT 50"], "PAGER", "cat > paged.txt");
    assert!(piped.status.success() && !q.path("paged.txt").exists());
}

#[test]
fn colour_follows_the_flag_the_terminal_and_no_color() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let sql = "SELECT id, NULL AS missing FROM customers ORDER BY id LIMIT 2";
    let always = q.ok(&["query", "--db", "shop.db", "--color", "always", sql]);
    assert!(always.contains("\x1b[1m") && always.contains("\x1b[2m NULL"), "{always:?}");
    let piped = q.ok(&["query", "--db", "shop.db", sql]);
    assert!(!piped.contains('\x1b'), "{piped:?}");
    let env = [("COLUMNS", "80"), ("PAGER", "")];
    assert!(on_terminal(&q, &["query", "--db", "shop.db", sql], &env).contains("\x1b[2m NULL"));
    let never = on_terminal(&q, &["query", "--db", "shop.db", "--color", "never", sql], &env);
    assert!(never.contains("NULL") && !never.contains('\x1b'), "{never:?}");
    let no_color = on_terminal(&q, &["query", "--db", "shop.db", sql], &[("COLUMNS", "80"), ("PAGER", ""), ("NO_COLOR", "1")]);
    assert!(no_color.contains("NULL") && !no_color.contains('\x1b'), "{no_color:?}");
    let out = q.run(&["query", "--db", "shop.db", "--color", "sometimes", sql]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn server_notices_reach_stderr() {
    let q = Qore::new();
    let pg = std::env::var("QORE_TEST_POSTGRES_URL").expect("run the tests through scripts/servers.sh");
    let err = q.ok_err(&["query", "--db", &pg, "DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$"]);
    assert!(err.contains("qore: NOTICE: hello 42\n") && err.contains("qore: WARNING: careful\n"), "{err}");
    // From a function a SELECT calls (the rows stream through COPY).
    let f = format!("noisy_{}", std::process::id());
    q.ok(&["query", "--db", &pg, &format!("CREATE FUNCTION {f}() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'from a select'; RETURN 1; END $$")]);
    let out = q.run(&["query", "--db", &pg, "--format", "csv", &format!("SELECT {f}() AS n")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n1\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("qore: NOTICE: from a select"));
    q.ok(&["query", "--db", &pg, &format!("DROP FUNCTION {f}()")]);
}
