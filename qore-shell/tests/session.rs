//! The session logic on real engines: completion from the catalog,
//! transaction states, scripts and `\export`.

#![allow(clippy::unwrap_used)]

use qore_shell::{Outcome, Shell, Step, SuggestionKind, TxState};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn run(shell: &mut Shell, text: &str) -> Vec<Result<String, String>> {
    let (steps, rest) = shell.feed(text);
    assert!(rest.trim().is_empty(), "unfinished: {rest}");
    let mut out = Vec::new();
    for s in &steps {
        out.push(match shell.run(s).await {
            Ok(Outcome::Rows(mut stream)) => {
                use futures::StreamExt;
                let mut n = 0;
                let mut err = None;
                while let Some(b) = stream.next().await {
                    match b {
                        Ok(b) => n += b.num_rows(),
                        Err(e) => err = Some(e.to_string()),
                    }
                }
                match err {
                    Some(e) => Err(e),
                    None => Ok(format!("{n} rows")),
                }
            }
            Ok(Outcome::Written { verb, rows }) => Ok(format!("{verb} {rows}")),
            Ok(Outcome::Done) => Ok("OK".into()),
            Ok(Outcome::Message(m)) => Ok(m),
            Ok(_) => Ok("other".into()),
            Err(e) => Err(e.to_string()),
        });
    }
    out
}

#[test]
fn completion_reads_the_catalog_resolves_aliases_and_quotes_names() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("c.db").display());
        let conn = qore_drivers::connect(&url).await.unwrap();
        let mut shell = Shell::new(conn, "c.db".into(), vec!["prod_shop".into()]);
        run(
            &mut shell,
            "create table orders (id integer primary key, total real, \"Mixed Case\" text);\n\
             create table order_items (order_id int, qty int);",
        )
        .await;
        let c = shell.completer();
        let complete = |text: &str| {
            let c = c.clone();
            let text = text.to_string();
            async move {
                c.load(&c.needs(&text, text.len())).await.unwrap();
                assert!(c.needs(&text, text.len()).is_empty(), "loaded, nothing more needed");
                c.complete(&text, text.len())
            }
        };
        let s = complete("select * from ord").await;
        let names: Vec<&str> = s.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(names, ["order_items", "orders"]);
        assert!(s.iter().all(|s| s.kind == SuggestionKind::Table && s.start == 14));
        // `o.` after `orders o`: that table's columns, the odd name quoted.
        // The cursor before the FROM that names the alias.
        let text = "select o. from orders o";
        c.load(&c.needs(text, 9)).await.unwrap();
        let s = c.complete(text, 9);
        assert_eq!(s.iter().map(|s| s.value.as_str()).collect::<Vec<_>>(), ["id", "total", "\"Mixed Case\""]);
        assert_eq!((s[0].start, s[0].end), (9, 9));
        let text = "select * from orders o where o.";
        let s = complete(text).await;
        let names: Vec<&str> = s.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(names, ["id", "total", "\"Mixed Case\""]);
        assert_eq!(s[0].start, text.len());
        // Keywords in the case typed; columns of the FROM tables first.
        let s = complete("select * from order_items where q").await;
        assert_eq!(s[0].value, "qty");
        let s = complete("sel").await;
        assert_eq!(s[0].value, "select");
        assert_eq!(complete("SEL").await[0].value, "SELECT");
        // Backslash commands and saved connections.
        let s = complete("\\d").await;
        assert!(s.iter().any(|s| s.value == "\\dt") && s.iter().all(|s| s.kind == SuggestionKind::Command));
        assert_eq!(complete("\\c prod").await[0].value, "prod_shop");
        // Nothing inside a string.
        assert!(complete("select 'ord").await.is_empty());
        // DDL drops the cache: a new table is offered at once.
        run(&mut shell, "create table ordinals (n int);").await;
        let s = complete("select * from ordi").await;
        assert_eq!(s[0].value, "ordinals");
    });
}

#[test]
fn transactions_and_failures_on_duckdb() {
    block_on(async {
        let conn = qore_drivers::connect("duckdb:").await.unwrap();
        let mut shell = Shell::new(conn, "memory".into(), vec![]);
        let r = run(&mut shell, "create table t (id int primary key);\nbegin;\ninsert into t values (1);").await;
        assert_eq!(r, [Ok("OK".to_string()), Ok("OK".into()), Ok("INSERT 1".into())]);
        assert_eq!(shell.transaction(), TxState::Open);
        // A duplicate key aborts DuckDB's transaction: the state says so.
        let r = run(&mut shell, "insert into t values (1);").await;
        assert!(r[0].is_err());
        assert_eq!(shell.transaction(), TxState::Failed);
        run(&mut shell, "rollback;").await;
        assert_eq!(shell.transaction(), TxState::Idle);
        let r = run(&mut shell, "select * from t;").await;
        assert_eq!(r, [Ok("0 rows".to_string())]);
        // \c is refused inside a transaction rather than losing it.
        run(&mut shell, "begin;").await;
        let e = shell.run(&Step::Meta("\\c duckdb:".into())).await.err().unwrap().to_string();
        assert!(e.contains("COMMIT or ROLLBACK before \\c"), "{e}");
        run(&mut shell, "commit;").await;
        assert_eq!(shell.transaction(), TxState::Idle);
    });
}

#[test]
fn scripts_variables_and_export_of_the_last_result() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let conn = qore_drivers::connect("sqlite::memory:").await.unwrap();
        let mut shell = Shell::new(conn, "memory".into(), vec![]);
        let script = dir.path().join("s.sql");
        std::fs::write(&script, "create table s (n int, w text);\ninsert into s values (1, 'a;b'), (2, 'c')").unwrap();
        let (steps, _) = shell.feed(&format!("\\i '{}'", script.display()));
        let Outcome::Run(inner) = shell.run(&steps[0]).await.unwrap() else { panic!("\\i runs steps") };
        assert_eq!(inner.len(), 2, "the last statement may leave out its `;`");
        for s in &inner {
            shell.run(s).await.unwrap();
        }
        let r = run(&mut shell, "\\set w 'a;b'\nselect * from s where w = :'w';").await;
        assert_eq!(r[1], Ok("1 rows".to_string()));
        let out = dir.path().join("last.csv");
        let (steps, _) = shell.feed(&format!("\\export {}", out.display()));
        let Outcome::Exported(summary) = shell.run(&steps[0]).await.unwrap() else { panic!("exported") };
        assert_eq!(summary.rows, 1);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "n,w\n1,a;b\n");
        // A write is not run again by \export.
        run(&mut shell, "delete from s where n = 2;").await;
        let e = shell.run(&steps[0]).await.err().unwrap().to_string();
        assert!(e.contains("was not a query"), "{e}");
        // A script ending inside a string is an error, not half a statement.
        std::fs::write(&script, "select 'open").unwrap();
        let e = shell.script(&script).unwrap_err().to_string();
        assert!(e.contains("ends inside a string"), "{e}");
        let e = shell.script(&dir.path().join("missing.sql")).unwrap_err().to_string();
        assert!(e.contains("missing.sql"), "{e}");
    });
}

#[test]
fn a_schema_prefix_completes_its_tables_and_a_table_prefix_its_columns() {
    block_on(async {
        let conn = qore_drivers::connect("duckdb:").await.unwrap();
        let mut shell = Shell::new(conn, "memory".into(), vec![]);
        run(&mut shell, "create schema sales;\ncreate table sales.invoices (id int, due date);\ncreate table items (sku text, qty int);").await;
        let c = shell.completer();
        let at = |text: &str| {
            let c = c.clone();
            let text = text.to_string();
            async move {
                c.load(&c.needs(&text, text.len())).await.unwrap();
                c.complete(&text, text.len()).into_iter().map(|s| (s.value, s.kind)).collect::<Vec<_>>()
            }
        };
        assert_eq!(at("select * from sales.").await, [("invoices".to_string(), SuggestionKind::Table)]);
        assert_eq!(
            at("select items.").await,
            [("sku".to_string(), SuggestionKind::Column), ("qty".to_string(), SuggestionKind::Column)]
        );
        assert!(at("select nothing_here.").await.is_empty());
    });
}

/// `\df` lists routines through the administration facet (DuckDB macros
/// here), a pattern narrowing them; SQLite says it has none.
#[test]
fn df_lists_routines() {
    block_on(async {
        let conn = qore_drivers::connect("duckdb:").await.unwrap();
        let mut shell = Shell::new(conn, "memory".into(), vec![]);
        run(&mut shell, "create macro add_one(x) as x + 1;\ncreate macro twice(x) as x * 2;").await;
        let (steps, _) = shell.feed("\\df add*\n");
        let Ok(Outcome::Listing(b)) = shell.run(&steps[0]).await else { panic!("no listing") };
        assert_eq!(b.num_rows(), 1);
        let names = b.column_by_name("name").unwrap().as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
        assert_eq!(names.value(0), "add_one");
        let conn = qore_drivers::connect("sqlite::memory:").await.unwrap();
        let mut shell = Shell::new(conn, "memory".into(), vec![]);
        let (steps, _) = shell.feed("\\df\n");
        let e = shell.run(&steps[0]).await.err().unwrap();
        assert!(e.to_string().contains("SQLite has no stored routines"), "{e}");
    });
}
