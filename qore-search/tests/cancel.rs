//! Cancelling a search: dropping the stream returns at once and leaves no
//! search query running on the server; a table that takes too long is
//! skipped and named, not waited for; bad needles are refused up front.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use qore_core::TextMatch;
use qore_search::{SearchOptions, search};

fn server(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the tests through scripts/servers.sh (scripts/test.sh does)"))
}

async fn count(c: &qore_core::ConnectionRef, sql: &str) -> i64 {
    let mut s = c.query(sql, &[]).await.unwrap();
    let mut n = 0;
    while let Some(b) = s.next().await {
        let b = b.unwrap();
        let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64).unwrap();
        n += col.as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0);
    }
    n
}

/// A view whose every read sleeps: a search query that is surely running.
async fn cancel_on(url: &str, view_sql: &str, running_sql: &str) {
    let db = qore_drivers::open(url).await.unwrap();
    let admin = db.session().await.unwrap();
    admin.execute("DROP VIEW IF EXISTS qs_slow", &[]).await.unwrap();
    admin.execute(view_sql, &[]).await.unwrap();
    let options = SearchOptions {
        views: true,
        tables: vec!["qs_slow".into()],
        ..Default::default()
    };
    let found = search(db.clone(), "needle", &options).await.unwrap();
    let mut stream = found.stream;
    // The query starts and runs; nothing comes within 400 ms.
    assert!(tokio::time::timeout(Duration::from_millis(400), stream.next()).await.is_err());
    assert_eq!(count(&admin, running_sql).await, 1, "the search query runs on the server");
    let t = Instant::now();
    drop(stream);
    let took = t.elapsed();
    assert!(took < Duration::from_millis(200), "cancel took {took:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count(&admin, running_sql).await, 0, "a search query still runs 1 s after the cancel");

    // A per-table timeout skips the table and says so.
    let options = SearchOptions { table_timeout: Duration::from_millis(500), ..options };
    let t = Instant::now();
    let found = search(db.clone(), "needle", &options).await.unwrap();
    let batches: Vec<_> = found.stream.collect().await;
    assert!(batches.iter().all(|b| b.is_ok()));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let skipped = found.progress.skipped();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].reason.contains("timed out"), "{skipped:?}");
    assert_eq!(found.progress.tables_done(), 1);
    admin.execute("DROP VIEW qs_slow", &[]).await.unwrap();
}

#[tokio::test]
async fn postgres_cancel_stops_the_server_query() {
    cancel_on(
        &server("QORE_TEST_POSTGRES_URL"),
        "CREATE VIEW qs_slow AS SELECT 'x' || pg_sleep(5)::text AS t",
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%qs_slow%' AND query NOT LIKE '%pg_stat_activity%'",
    )
    .await;
}

#[tokio::test]
async fn mariadb_cancel_stops_the_server_query() {
    cancel_on(
        &server("QORE_TEST_MYSQL_URL"),
        "CREATE VIEW qs_slow AS SELECT CONCAT('x', SLEEP(5)) AS t",
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%qs_slow%' AND INFO NOT LIKE '%PROCESSLIST%'",
    )
    .await;
}

#[tokio::test]
async fn bad_needles_and_options_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        format!("sqlite:{}", dir.path().join("b.db").display()),
        format!("duckdb:{}", dir.path().join("b.duckdb").display()),
    ] {
        let db = qore_drivers::open(&url).await.unwrap();
        let s = db.session().await.unwrap();
        s.execute("CREATE TABLE t (a VARCHAR)", &[]).await.unwrap();
        drop(s);
        let regex = SearchOptions { mode: TextMatch::Regex, ..Default::default() };
        let e = search(db.clone(), "([unclosed", &regex).await.unwrap_err().to_string();
        assert!(e.contains("rejects this needle"), "{url}: {e}");
        assert!(search(db.clone(), "", &SearchOptions::default()).await.unwrap_err().to_string().contains("empty"));
        let zero = SearchOptions { limit: 0, ..Default::default() };
        assert!(search(db.clone(), "x", &zero).await.is_err());
        // A regex the engine takes works.
        let s = db.session().await.unwrap();
        s.execute("INSERT INTO t VALUES ('ab12'), ('ab'), (NULL)", &[]).await.unwrap();
        drop(s);
        let found = search(db.clone(), "b[0-9]+$", &regex).await.unwrap();
        let n: usize = found.stream.map(|b| b.unwrap().num_rows()).collect::<Vec<_>>().await.iter().sum();
        assert_eq!(n, 1, "{url}");
    }
}
