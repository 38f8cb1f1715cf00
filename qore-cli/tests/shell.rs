//! `qore shell` in a pseudo-terminal: keys in, the screen read back.

use std::time::{Duration, Instant};

use crate::term::Term;
use crate::util::{Qore, RedisServer};

fn shell(q: &Qore, db: &str, env: &[(&str, &str)]) -> Term {
    let mut t = Term::start(q.dir(), &["shell", "--db", db], env, 100, 40);
    t.expect("\\? for help", 30);
    t
}

#[test]
fn completion_of_a_table_and_a_column_and_history_across_sessions() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let mut t = shell(&q, "shop.db", &[]);
    // `cust` + Tab becomes customers, `c.na` + Tab (alias resolved) name:
    // the query only finds the row if both were completed.
    t.send("select email from cust\t");
    t.send(" c where c.na\t");
    t.line(" = 'Hedy Ritchie';");
    t.expect("hedy.ritchie3@example.com", 20);
    assert!(
        t.transcript().contains("from customers c where c.name = 'Hedy Ritchie'"),
        "{}",
        t.transcript()
    );
    t.line("\\q");
    assert_eq!(t.wait(10), 0);

    // A second session on the same database: Up (twice: `\q` was last)
    // brings the statement back.
    let mut t = shell(&q, "shop.db", &[]);
    t.send("\x1b[A");
    t.send("\x1b[A");
    t.send("\r");
    t.expect("hedy.ritchie3@example.com", 20);
    t.eof_at_prompt();
    assert_eq!(t.wait(10), 0);
    let history = std::fs::read_dir(q.path("data/qore/history")).unwrap().count();
    assert_eq!(history, 1, "one history file per connection");
}

/// `\d TABLE` after creating it, on one engine.
fn describe(q: &Qore, db: &str) {
    let mut t = shell(q, db, &[]);
    t.line("drop table if exists shell_d;");
    t.expect("OK", 20);
    t.line("create table shell_d (id int primary key, label varchar(20) not null);");
    t.expect("OK", 20);
    t.line("\\d shell_d");
    let shown = t.expect("indicators", 20);
    assert!(shown.contains("shell_d"), "{shown}");
    // The id row comes before the label row, and carries the key's tag.
    let id_row = t.expect("label", 20);
    assert!(id_row.contains("id") && id_row.contains("PK"), "{id_row}");
    t.expect("NOT NULL", 20);
    t.line("\\dt shell_*");
    t.expect("shell_d", 20);
    t.line("drop table shell_d;");
    t.expect("OK", 20);
    t.line("\\q");
    assert_eq!(t.wait(10), 0);
}

#[test]
fn describe_on_sqlite_duckdb_postgres_and_mariadb() {
    let q = Qore::new();
    describe(&q, "sqlite:shell.db");
    describe(&q, "duckdb:shell.duckdb");
    for var in ["QORE_TEST_POSTGRES_URL", "QORE_TEST_MYSQL_URL"] {
        match std::env::var(var) {
            Ok(url) => describe(&q, &url),
            Err(_) => eprintln!("skipped: {var} is not set"),
        }
    }
}

fn sleeping(q: &Qore, pg: &str) -> i64 {
    let out = q.ok(&[
        "query",
        "--db",
        pg,
        "--format",
        "csv",
        // The statement runs inside a COPY; this query names pg_sleep too.
        "select count(*) as n from pg_stat_activity \
         where state = 'active' and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()",
    ]);
    out.lines().nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn ctrl_c_cancels_on_the_server_and_transactions_span_statements_on_postgres() {
    let Ok(pg) = std::env::var("QORE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: QORE_TEST_POSTGRES_URL is not set");
        return;
    };
    let q = Qore::new();
    let mut t = shell(&q, &pg, &[]);
    t.line("select pg_sleep(30) as slept;");
    let deadline = Instant::now() + Duration::from_secs(15);
    while sleeping(&q, &pg) == 0 {
        assert!(Instant::now() < deadline, "pg_sleep never showed in pg_stat_activity");
        std::thread::sleep(Duration::from_millis(100));
    }
    let asked = Instant::now();
    t.send("\x03");
    t.expect("cancelled (Ctrl-C)", 10);
    while sleeping(&q, &pg) != 0 {
        assert!(asked.elapsed() < Duration::from_secs(5), "the server still runs pg_sleep after Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The shell goes on.
    t.line("select 6 * 7 as answer;");
    t.expect("42", 10);

    // A transaction across statements, rolled back.
    t.line("drop table if exists shell_tx;");
    t.expect("OK", 10);
    t.line("create table shell_tx (id int);");
    t.expect("OK", 10);
    t.line("begin;");
    t.expect("*> ", 10);
    t.line("insert into shell_tx values (1), (2);");
    t.expect("INSERT 2", 10);
    t.line("select count(*) as inside from shell_tx;");
    t.expect("inside", 10);
    let inside = t.expect("1 row", 10);
    assert!(inside.contains(" 2 "), "{inside}");
    t.line("rollback;");
    t.line("select count(*) as after_rollback from shell_tx;");
    t.expect("after_rollback", 10);
    let after = t.expect("1 row", 10);
    assert!(after.contains(" 0 "), "{after}");

    // A failed statement leaves PostgreSQL's transaction refusing; the
    // prompt says so until ROLLBACK.
    t.line("begin;");
    t.expect("*> ", 10);
    t.line("select 1 / 0;");
    t.expect("ROLLBACK to go on", 10);
    t.expect("!> ", 10);
    t.line("rollback;");
    t.line("drop table shell_tx;");
    t.expect("OK", 10);
    t.line("\\q");
    assert_eq!(t.wait(10), 0);
}

#[test]
fn expanded_auto_pager_variables_and_bad_commands() {
    let q = Qore::new();
    let paged = q.path("paged.txt");
    let pager = format!("cat > '{}'", paged.display());
    let mut t = shell(&q, "sqlite:x.db", &[("PAGER", &pager)]);
    // Three 60-character values do not fit 100 columns: one record per block.
    t.line("\\x auto");
    t.expect("Expanded display is auto.", 10);
    let wide = "select printf('%.60c', 'a') as a, printf('%.60c', 'b') as b, printf('%.60c', 'c') as c;";
    t.line(wide);
    t.expect("-[ RECORD 1 ]", 10);
    t.line("\\x off");
    t.line(wide);
    t.expect("not shown, the terminal is too narrow", 10);

    // Taller than the 40-line terminal: through $PAGER.
    t.line("with recursive n(i) as (select 1 union all select i + 1 from n where i < 100) select i from n;");
    t.expect("100 rows", 10);
    let text = std::fs::read_to_string(&paged).unwrap();
    // Every row went to the pager: the first, the last, 100 lines at least.
    assert!(text.contains(" 1 │") && text.contains(" 100 │") && text.lines().count() >= 100, "{text}");

    // Variables, quoted by the dialect.
    t.line("\\set who 'O''Brien'");
    t.line("select :'who' as who, length(:'who') as n;");
    t.expect("O'Brien", 10);
    t.line("\\timing on");
    t.line("select 1 as one;");
    t.expect("Time: ", 10);

    // Bad input: a clear message, and the shell goes on.
    t.line("\\frobnicate");
    t.expect("unknown command \\frobnicate", 10);
    t.line("select * from no_such_table;");
    t.expect("no_such_table", 10);
    t.line("select 'still here' as s;");
    t.expect("still here", 10);
    t.line("\\q");
    assert_eq!(t.wait(10), 0);
}

#[test]
fn redis_lines_with_key_completion() {
    let redis = RedisServer::start();
    let q = Qore::new();
    let mut t = shell(&q, &redis.url, &[]);
    t.line("SET shell:only-key hello");
    t.expect("OK", 10);
    // The one key with this prefix, from SCAN.
    t.send("GET shell:o\t");
    t.send("\r");
    t.expect("hello", 10);
    t.eof_at_prompt();
    assert_eq!(t.wait(10), 0);
}

#[test]
fn mysql_warnings_reach_stderr_on_reads_and_writes() {
    let Ok(my) = std::env::var("QORE_TEST_MYSQL_URL") else {
        eprintln!("skipped: QORE_TEST_MYSQL_URL is not set");
        return;
    };
    let q = Qore::new();
    let (code, out, err) = q.outcome(&["query", "--db", &my, "--format", "csv", "select cast('12abc' as signed) as n"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n\n12\n");
    assert!(err.contains("qore: WARNING: Truncated incorrect INTEGER value: '12abc' (1292)"), "{err}");
    q.ok(&["query", "--db", &my, "drop table if exists shell_w; create table shell_w (c varchar(2))"]);
    let (code, _, err) = q.outcome(&["query", "--db", &my, "insert ignore into shell_w values ('toolong')"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("qore: INSERT 1") && err.contains("WARNING: Data truncated for column 'c'"), "{err}");
    // No warnings: nothing more than the count.
    let (_, _, err) = q.outcome(&["query", "--db", &my, "insert into shell_w values ('ok')"]);
    assert_eq!(err.trim(), "qore: INSERT 1");
    q.ok(&["query", "--db", &my, "drop table shell_w"]);
}

#[test]
fn plain_qore_starts_the_shell_on_a_terminal_only() {
    let q = Qore::new();
    let mut t = Term::start(q.dir(), &[], &[("QORE_DB", "sqlite:plain.db")], 100, 40);
    t.expect("on plain.db (SQLite)", 30);
    t.line("select 'plain' || 'qore' as s;");
    t.expect("plainqore", 10);
    t.eof_at_prompt();
    assert_eq!(t.wait(10), 0);
    // Without a terminal it is an error that says what to do.
    let (code, _, err) = q.outcome(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("no command given: `qore --help` lists them"), "{err}");
}

#[test]
fn the_safety_net_asks_on_prod_and_the_prompt_names_it() {
    let q = Qore::new();
    q.ok(&["conn", "add", "prodshop", "sqlite:p.db", "--env", "prod"]);
    let mut t = Term::start(q.dir(), &["shell", "--db", "prodshop", "--color", "never"], &[], 100, 40);
    t.expect("prodshop:p.db[prod]> ", 30);
    t.line("create table t (id int);");
    t.expect("OK", 10);
    t.line("drop table t;");
    t.expect("run it? [y/N]", 10);
    t.line("n");
    t.expect("not confirmed", 10);
    t.line("select count(*) as still_there from t;");
    t.expect("still_there", 10);
    t.line("drop table t;");
    t.expect("run it? [y/N]", 10);
    t.line("y");
    t.line("select count(*) from t;");
    t.expect("no such table: t", 10);
    t.eof_at_prompt();
    assert_eq!(t.wait(10), 0);
}
