//! Sandbox apply jobs: the pending changes committed once, the generated
//! keys recorded; a start after a crash that followed the COMMIT applies
//! nothing and still records the apply in the sandbox from the database; a
//! conflict fails the job with nothing written; the undo job puts every row
//! back. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{Named, scalar};
use qore_core::{ConnectionRef, TableRef, Value};
use qore_jobs::sandbox_apply::{SandboxApplyHandler, SandboxApplyJob};
use qore_jobs::{SqliteStore, State, StoreRef, Worker};
use qore_sandbox::{Editor, Sandbox};

async fn run(store: &StoreRef, names: &Arc<Named>, job: &SandboxApplyJob) -> qore_jobs::Job {
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    Worker::new(store.clone())
        .handler(Arc::new(SandboxApplyHandler::new(names.clone())))
        .poll(Duration::from_millis(20))
        .run_one(id, stop)
        .await
        .unwrap()
}

async fn log_text(store: &StoreRef, id: qore_jobs::JobId) -> String {
    store.logs(id).await.unwrap().into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n")
}

/// Records three changes (an update, a delete, an insert whose key the
/// database generates) in a new sandbox at `path`.
async fn record(conn: &ConnectionRef, path: &Path, name: &str) {
    let t = TableRef::parse("acct").unwrap();
    let mut editor = Editor::new(conn.as_ref()).unwrap();
    let mut s = Sandbox::open(path, name, "test").unwrap();
    let r1 = editor.fetch_one(&t, &[("id".into(), Value::Int(1))]).await.unwrap();
    s.record(editor.update(&r1, vec![("note".into(), Value::Text("mine 😀".into()))]).unwrap()).unwrap();
    let r2 = editor.fetch_one(&t, &[("id".into(), Value::Int(2))]).await.unwrap();
    s.record(editor.delete(&r2)).unwrap();
    s.record(
        editor
            .insert(&t, vec![("note".into(), Value::Text("new".into())), ("balance".into(), Value::Int(5))])
            .unwrap(),
    )
    .unwrap();
}

/// Rows, the balance total and the notes in key order.
async fn state(conn: &ConnectionRef, pg: bool) -> String {
    let sql = if pg {
        "SELECT count(*)::text || ':' || sum(balance)::text || ':' || (SELECT string_agg(note, ',' ORDER BY id) FROM acct) FROM acct"
    } else {
        "SELECT count(*) || ':' || sum(balance) || ':' || (SELECT group_concat(note, ',') FROM (SELECT note FROM acct ORDER BY id)) FROM acct"
    };
    scalar(conn, sql).await
}

async fn exactly_once(db: &str, names: Arc<Named>, conn: ConnectionRef, pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let id_type = if pg { "serial" } else { "INTEGER" };
    let _ = conn.execute("DROP TABLE IF EXISTS acct", &[]).await;
    conn.execute(&format!("CREATE TABLE acct(id {id_type} PRIMARY KEY, note text NOT NULL, balance int NOT NULL)"), &[])
        .await
        .unwrap();
    conn.execute("INSERT INTO acct(note, balance) VALUES ('a', 10), ('b', 20), ('c', 30)", &[]).await.unwrap();
    let before = state(&conn, pg).await;
    assert_eq!(before, "3:60:a,b,c");

    let path = dir.path().join("s.json");
    record(&conn, &path, "s").await;
    let untouched = std::fs::read(&path).unwrap();
    let job = SandboxApplyJob::new(db.into(), "s".into(), path.clone(), false).unwrap();
    job.check_sandbox().unwrap();
    let done = run(&store, &names, &job).await;
    assert_eq!(done.state, State::Succeeded, "{:?}", done.error);
    assert_eq!(done.done, 3, "three rows written");
    assert_eq!(state(&conn, pg).await, "3:45:mine 😀,c,new");
    let s = Sandbox::open(&path, "s", "test").unwrap();
    assert!(s.changes().is_empty(), "the sandbox recorded the apply");
    let captured = s.applied().unwrap().captured.clone();
    assert!(
        captured.iter().any(|c| c.values.iter().any(|(_, v)| *v == Value::Int(4))),
        "the generated key 4 is recorded: {captured:?}"
    );

    // The worker died after COMMIT, before the sandbox file and the store
    // heard of it: the file is as it was, and the job starts again.
    std::fs::write(&path, &untouched).unwrap();
    let again = run(&store, &names, &job).await;
    assert_eq!(again.state, State::Succeeded, "{:?}", again.error);
    let log = log_text(&store, again.id).await;
    assert!(log.contains("was applied by an earlier start (3 rows): not applied again"), "{log}");
    assert_eq!(state(&conn, pg).await, "3:45:mine 😀,c,new", "nothing applied twice");
    let s = Sandbox::open(&path, "s", "test").unwrap();
    assert!(s.changes().is_empty());
    assert_eq!(s.applied().unwrap().captured, captured, "the generated keys come back from the database");

    // A row changed by someone else since it was read: the job fails at
    // once, nothing of its changes is written.
    let p2 = dir.path().join("s2.json");
    {
        let t = TableRef::parse("acct").unwrap();
        let mut editor = Editor::new(conn.as_ref()).unwrap();
        let mut s2 = Sandbox::open(&p2, "s2", "test").unwrap();
        let r3 = editor.fetch_one(&t, &[("id".into(), Value::Int(3))]).await.unwrap();
        s2.record(editor.update(&r3, vec![("balance".into(), Value::Int(0))]).unwrap()).unwrap();
        let r4 = editor.fetch_one(&t, &[("id".into(), Value::Int(4))]).await.unwrap();
        s2.record(editor.update(&r4, vec![("balance".into(), Value::Int(0))]).unwrap()).unwrap();
    }
    conn.execute("UPDATE acct SET balance = 31 WHERE id = 3", &[]).await.unwrap();
    let job2 = SandboxApplyJob::new(db.into(), "s2".into(), p2.clone(), false).unwrap();
    let failed = run(&store, &names, &job2).await;
    assert_eq!((failed.state, failed.attempts), (State::Failed, 1));
    let e = failed.error.unwrap();
    assert!(e.message.contains("1 change(s) conflict") && e.message.contains("#1 (update of ") && e.message.contains("acct)"), "{}", e.message);
    assert_eq!(state(&conn, pg).await, "3:46:mine 😀,c,new", "the other change was not written either");
    assert_eq!(Sandbox::open(&p2, "s2", "test").unwrap().changes().len(), 2, "the sandbox keeps its changes");
    conn.execute("UPDATE acct SET balance = 30 WHERE id = 3", &[]).await.unwrap();

    // The undo job puts every row back, the generated one removed by its key.
    let undo = SandboxApplyJob::new(db.into(), "s".into(), path.clone(), true).unwrap();
    let done = run(&store, &names, &undo).await;
    assert_eq!(done.state, State::Succeeded, "{:?}", done.error);
    assert_eq!(state(&conn, pg).await, before);

    // Nothing to apply: refused at submit time, naming the sandbox.
    let e = SandboxApplyJob::new(db.into(), "s".into(), path, false).unwrap().check_sandbox().unwrap_err();
    assert!(e.to_string().contains("sandbox `s` has no pending change"), "{e}");
}

#[tokio::test]
async fn sqlite_sandbox_applies_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("target.db").display());
    let conn = qore_drivers::connect(&db).await.unwrap();
    exactly_once(&db, Arc::new(Named(HashMap::new())), conn, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sandbox_applies_exactly_once() {
    let url = common::pg_database("sandbox_apply").await;
    let conn = qore_drivers::connect(&url).await.unwrap();
    let names = Arc::new(Named(HashMap::from([("pg".to_string(), url.clone())])));
    exactly_once("pg", names, conn, true).await;
}
