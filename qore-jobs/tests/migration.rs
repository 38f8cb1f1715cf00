//! Migration jobs: a script runs in one transaction exactly once; a
//! session killed mid-script rolls everything back and the whole script
//! runs again; a broken statement fails once with nothing left behind;
//! MariaDB DDL is refused before any SQL is sent.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{Named, scalar};
use qore_jobs::migration::{MigrationHandler, MigrationJob};
use qore_jobs::{JobId, SqliteStore, State, StoreRef, Worker};

fn worker(store: &StoreRef, names: &Arc<Named>) -> Worker {
    Worker::new(store.clone())
        .handler(Arc::new(MigrationHandler::new(names.clone())))
        .poll(Duration::from_millis(20))
}

async fn run(store: &StoreRef, names: &Arc<Named>, job: &MigrationJob) -> qore_jobs::Job {
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    worker(store, names).run_one(id, stop).await.unwrap()
}

async fn log_text(store: &StoreRef, id: JobId) -> String {
    store.logs(id).await.unwrap().into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n")
}

fn store() -> (StoreRef, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap()), dir)
}

#[tokio::test]
async fn a_script_commits_once_and_a_broken_one_leaves_nothing() {
    let (store, dir) = store();
    let db = format!("sqlite:{}", dir.path().join("target.db").display());
    let names = Arc::new(Named(HashMap::new()));
    let script = "CREATE TABLE m(id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\n\
                  INSERT INTO m VALUES (1, 0), (2, 0);\n\
                  -- every row once\n\
                  UPDATE m SET n = n + 1;";
    let job = MigrationJob::new(db.clone(), "001_m.sql".into(), script.into()).unwrap();
    let done = run(&store, &names, &job).await;
    assert_eq!(done.state, State::Succeeded, "{:?}", done.error);
    assert_eq!((done.done, done.total, done.attempts), (3, Some(3), 1));
    let log = log_text(&store, done.id).await;
    assert!(log.contains("committed `001_m.sql`: 3 statements, 4 rows"), "{log}");
    let c = qore_drivers::connect(&db).await.unwrap();
    assert_eq!(scalar(&c, "SELECT sum(n) FROM m").await, "2");

    // A start after the commit (its worker died before the store heard of
    // it) finds the mark and does not run the script again.
    let again = run(&store, &names, &job).await;
    assert_eq!(again.state, State::Succeeded);
    let log = log_text(&store, again.id).await;
    assert!(log.contains("committed by an earlier start (4 rows): not run again"), "{log}");
    assert_eq!(scalar(&c, "SELECT sum(n) FROM m").await, "2", "the UPDATE ran once");

    // A broken third statement: failed at once, the first two undone.
    let broken = MigrationJob::new(
        db.clone(),
        "002_broken.sql".into(),
        "INSERT INTO m VALUES (3, 0); UPDATE m SET n = n + 10; SELEC n FROM m".into(),
    )
    .unwrap();
    let failed = run(&store, &names, &broken).await;
    assert_eq!((failed.state, failed.attempts), (State::Failed, 1));
    let e = failed.error.unwrap();
    assert!(e.message.contains("statement 3 of 3 in `002_broken.sql` (SELEC n FROM m), rolled back"), "{}", e.message);
    assert_eq!(scalar(&c, "SELECT count(*) || ':' || sum(n) FROM m").await, "2:2", "nothing of it is left");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_mid_script_runs_the_whole_script_again() {
    let url = common::pg_database("migration_killed").await;
    let c = qore_drivers::connect(&url).await.unwrap();
    let names = Arc::new(Named(HashMap::from([(
        "pg".to_string(),
        format!("{url}{}application_name=qore_migration_victim", if url.contains('?') { "&" } else { "?" }),
    )])));
    let (store, _dir) = store();
    // DDL, rows, a pause for the kill to land in, then an update that must
    // happen once.
    let script = "CREATE TABLE m2(id int PRIMARY KEY, n int NOT NULL);
                  INSERT INTO m2 SELECT g, 0 FROM generate_series(1, 1000) g;
                  SELECT pg_sleep(1.5);
                  UPDATE m2 SET n = n + 1;";
    let job = MigrationJob::new("pg".into(), "003_m2.sql".into(), script.into()).unwrap();
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let (tx, stop) = tokio::sync::watch::channel(false);
    let w = worker(&store, &names);
    let running = tokio::spawn(async move { w.run(stop).await });
    let mut killed = 0;
    for _ in 0..600 {
        let n = scalar(
            &c,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'qore_migration_victim' AND query LIKE '%pg_sleep%' AND state = 'active'",
        )
        .await;
        killed = n.parse::<u32>().unwrap();
        if killed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(killed > 0, "the migration's session was found mid-script and ended");
    for _ in 0..600 {
        if store.get(id).await.unwrap().state.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tx.send(true).unwrap();
    let ran = running.await.unwrap().unwrap();
    let job = store.get(id).await.unwrap();
    assert_eq!(job.state, State::Succeeded, "{:?}", job.error);
    assert_eq!((job.attempts, ran.retried), (2, 1), "retried once, as a whole");
    let kind = job.error.unwrap().kind;
    assert!(kind == "connection_lost" || kind == "unavailable", "{kind}");
    assert!(log_text(&store, id).await.contains("starting `003_m2.sql` again from its first statement"));
    assert_eq!(scalar(&c, "SELECT count(*)::text || ':' || sum(n)::text FROM m2").await, "1000:1000");
    c.close().await.unwrap();
}

#[tokio::test]
async fn mariadb_ddl_is_refused_before_any_sql_and_dml_runs() {
    // A database of its own: other tests drop `qore_job_progress` in theirs.
    let server = std::env::var("QORE_TEST_MYSQL_URL").expect("run through scripts/servers.sh");
    let admin = qore_drivers::connect(&server).await.unwrap();
    admin.execute("CREATE DATABASE IF NOT EXISTS qore_jobs_migration", &[]).await.unwrap();
    admin.close().await.unwrap();
    let url = common::with_database(&server, "qore_jobs_migration");
    let c = qore_drivers::connect(&url).await.unwrap();
    let _ = c.execute("DROP TABLE IF EXISTS m3", &[]).await;
    c.execute("CREATE TABLE m3(id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB", &[]).await.unwrap();
    let names = Arc::new(Named(HashMap::from([("my".to_string(), url.clone())])));
    let (store, _dir) = store();
    let ddl = MigrationJob::new("my".into(), "004.sql".into(), "INSERT INTO m3 VALUES (1, 0); ALTER TABLE m3 ADD c int".into()).unwrap();
    let failed = run(&store, &names, &ddl).await;
    assert_eq!((failed.state, failed.attempts), (State::Failed, 1));
    let e = failed.error.unwrap();
    assert_eq!(e.kind, "not_supported");
    assert!(e.message.contains("statement 2 of `004.sql` (ALTER TABLE m3 ADD c int) commits implicitly"), "{}", e.message);
    assert_eq!(scalar(&c, "SELECT count(*) FROM m3").await, "0", "nothing was sent");
    let dml = MigrationJob::new(
        "my".into(),
        "005.sql".into(),
        "INSERT INTO m3 VALUES (1, 0), (2, 0); UPDATE m3 SET n = n + 5 WHERE id = 2".into(),
    )
    .unwrap();
    let ok = run(&store, &names, &dml).await;
    assert_eq!(ok.state, State::Succeeded, "{:?}", ok.error);
    assert_eq!(scalar(&c, "SELECT CONCAT(count(*), ':', sum(n)) FROM m3").await, "2:5");
    c.execute("DROP TABLE m3", &[]).await.unwrap();
    c.close().await.unwrap();
}
