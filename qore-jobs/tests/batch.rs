//! Batch updates and deletes: killed at random points and resumed, every
//! matching row is changed exactly once; a failing batch stops the job with
//! the rows done so far, and rolls back alone.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{Named, scalar};
use qore_core::ConnectionRef;
use qore_jobs::batch::{Action, BatchHandler, BatchJob};
use qore_jobs::{SqliteStore, State, StoreRef, Worker};

fn random(bound: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % bound.max(1)
}

async fn setup(url: &str, rows: u64, int: &str) -> ConnectionRef {
    let c = qore_drivers::connect(url).await.unwrap();
    let _ = c.execute("DROP TABLE IF EXISTS t_batch", &[]).await;
    let _ = c.execute("DROP TABLE IF EXISTS qore_job_progress", &[]).await;
    c.execute(&format!("CREATE TABLE t_batch(id {int} PRIMARY KEY, n {int} NOT NULL)"), &[]).await.unwrap();
    let mut values = Vec::new();
    for i in 1..=rows {
        values.push(format!("({i}, 0)"));
        if values.len() == 1000 || i == rows {
            c.execute(&format!("INSERT INTO t_batch VALUES {}", values.join(", ")), &[]).await.unwrap();
            values.clear();
        }
    }
    c
}

fn worker(store: &StoreRef, names: &Arc<Named>, lease: Duration) -> Worker {
    Worker::new(store.clone())
        .handler(Arc::new(BatchHandler::new(names.clone())))
        .lease(lease)
        .poll(Duration::from_millis(20))
}

/// Runs `job`, killing its worker `kills` times at random points.
async fn killed_runs(store: &StoreRef, names: &Arc<Named>, job: &BatchJob, kills: usize) -> qore_jobs::Job {
    // Every kill spends an attempt: leave room for all of them.
    let mut new = job.to_new_job().unwrap();
    new.max_attempts = kills as u32 + 2;
    let id = store.submit(new).await.unwrap();
    for _ in 0..kills {
        let w = worker(store, names, Duration::from_millis(300));
        let (_tx, stop) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move { w.run_one(id, stop).await });
        tokio::time::sleep(Duration::from_millis(5 + random(60))).await;
        task.abort();
        let _ = task.await;
        if store.get(id).await.unwrap().state.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(450)).await;
    }
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let job = match worker(store, names, Duration::from_secs(30)).run_one(id, stop).await {
        Ok(j) => j,
        Err(_) => store.get(id).await.unwrap(), // finished by the last killed run
    };
    assert_eq!(job.state, State::Succeeded, "{:?}", job.error);
    job
}

async fn exactly_once(db: &str, names: Arc<Named>, url: &str, int: &str) {
    let c = setup(url, 6_000, int).await;
    let dir = tempfile::tempdir().unwrap();
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let job = BatchJob::new(
        db.into(),
        "t_batch".into(),
        Action::Update { set: "n = n + 1".into() },
        Some("id % 3 = 0".into()),
        250,
    )
    .unwrap();
    let done = killed_runs(&store, &names, &job, 6).await;
    assert_eq!(done.done, 2_000, "{db}: rows updated");
    assert_eq!(scalar(&c, "SELECT count(*) FROM t_batch WHERE n = 1").await, "2000", "{db}");
    assert_eq!(scalar(&c, "SELECT count(*) FROM t_batch WHERE n <> 0 AND id % 3 <> 0").await, "0");
    assert_eq!(scalar(&c, "SELECT max(n) FROM t_batch").await, "1", "{db}: no batch ran twice");
    // Deletes, the same way.
    let job = BatchJob::new(db.into(), "t_batch".into(), Action::Delete, Some("id % 2 = 0".into()), 400).unwrap();
    let done = killed_runs(&store, &names, &job, 4).await;
    assert_eq!(done.done, 3_000);
    assert_eq!(scalar(&c, "SELECT count(*) FROM t_batch").await, "3000");
    // The progress rows stay as the jobs' record.
    assert_eq!(scalar(&c, "SELECT count(*) FROM qore_job_progress").await, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_batches_run_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("b.db").display());
    exactly_once(&url, Arc::new(Named(HashMap::new())), &url, "INTEGER").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_batches_run_exactly_once() {
    let url = common::pg_database("batch_once").await;
    let names = Arc::new(Named(HashMap::from([("pg".to_string(), url.clone())])));
    exactly_once("pg", names, &url, "bigint").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_batches_run_exactly_once() {
    let url = std::env::var("QORE_TEST_MYSQL_URL").expect("run through scripts/servers.sh");
    let names = Arc::new(Named(HashMap::from([("maria".to_string(), url.clone())])));
    exactly_once("maria", names, &url, "bigint").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_batch_stops_the_job_with_the_rows_done() {
    let url = common::pg_database("batch_failing").await;
    let c = setup(&url, 3_000, "bigint").await;
    let names = Arc::new(Named(HashMap::from([("pg".to_string(), url.clone())])));
    let dir = tempfile::tempdir().unwrap();
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    // Row 1234 divides by zero: its batch (1001-1500) fails and rolls back.
    let job = BatchJob::new("pg".into(), "t_batch".into(), Action::Update { set: "n = 1 / (id - 1234)".into() }, None, 500).unwrap();
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let failed = worker(&store, &names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(failed.state, State::Failed);
    assert_eq!(failed.attempts, 1, "a division by zero is not retried");
    assert_eq!(failed.done, 1_000, "two batches were done");
    let e = failed.error.unwrap();
    assert!(e.message.contains("batch 3 (after 1000 rows)") && e.message.contains("division by zero"), "{}", e.message);
    assert_eq!(scalar(&c, "SELECT count(*) FROM t_batch WHERE id > 1000 AND n <> 0").await, "0", "the failed batch rolled back");
    // No key: refused with a reason.
    c.execute("CREATE TABLE IF NOT EXISTS t_nokey(a int)", &[]).await.unwrap();
    let job = BatchJob::new("pg".into(), "t_nokey".into(), Action::Delete, None, 10).unwrap();
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let failed = worker(&store, &names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(failed.state, State::Failed);
    assert!(failed.error.unwrap().message.contains("has no primary key"));
    // Bad input before anything runs.
    assert!(BatchJob::new("pg".into(), "t".into(), Action::Update { set: " ".into() }, None, 10).is_err());
    assert!(BatchJob::new("postgres://u:pw@h/db".into(), "t".into(), Action::Delete, None, 10).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_mid_batch_is_retried_and_the_job_succeeds() {
    // A real transient error: the server ends the job's session while a
    // batch's transaction is open (`pg_terminate_backend`), the batch fails
    // with connection_lost, the job is queued again and resumes after the
    // last batch committed.
    let url = common::pg_database("batch_killed").await;
    let c = setup(&url, 4_000, "bigint").await;
    // Slow batches, so that the kill lands inside one.
    let names = Arc::new(Named(HashMap::from([(
        "pg".to_string(),
        format!("{url}{}application_name=qore_batch_victim", if url.contains('?') { "&" } else { "?" }),
    )])));
    let dir = tempfile::tempdir().unwrap();
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let job = BatchJob::new(
        "pg".into(),
        "t_batch".into(),
        Action::Update { set: "n = n + 1 + (SELECT 0 FROM pg_sleep(0.002))".into() },
        None,
        100,
    )
    .unwrap();
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let w = worker(&store, &names, Duration::from_secs(30));
    let (tx, stop) = tokio::sync::watch::channel(false);
    let run = tokio::spawn({
        let w = w.clone();
        async move { w.run(stop).await }
    });
    let mut killed = 0;
    for _ in 0..400 {
        let j = store.get(id).await.unwrap();
        if j.done >= 800 {
            let n = scalar(&c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                                 WHERE application_name = 'qore_batch_victim' AND state = 'active' \
                                 AND query LIKE '%pg_sleep%'").await;
            killed = n.parse::<u32>().unwrap();
            if killed > 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(killed > 0, "the job's session was found and ended mid-statement");
    for _ in 0..600 {
        if store.get(id).await.unwrap().state.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tx.send(true).unwrap();
    let ran = run.await.unwrap().unwrap();
    let job = store.get(id).await.unwrap();
    assert_eq!(job.state, State::Succeeded, "{:?}", job.error);
    assert_eq!(job.attempts, 2, "retried once");
    let kind = job.error.unwrap().kind;
    assert!(kind == "connection_lost" || kind == "unavailable", "{kind}");
    assert_eq!(ran.retried, 1);
    assert_eq!(scalar(&c, "SELECT count(*) FROM t_batch WHERE n = 1").await, "4000", "every row once");
    assert_eq!(scalar(&c, "SELECT max(n) FROM t_batch").await, "1");
}
