//! The store contract, run on both stores: SQLite (a temporary file) and
//! PostgreSQL (a fresh database on the server scripts/servers.sh started).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qore_core::{Error, ErrorKind, Result};
use qore_jobs::{
    ClaimFilter, Filter, Handler, JobContext, JobId, NewJob, Outcome, PgStore, SqliteStore, State,
    StoreRef, Worker, is_lease_lost,
};
use serde_json::json;

/// A store of each kind; the SQLite one keeps its directory alive.
async fn stores(name: &str) -> Vec<(StoreRef, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    vec![(sqlite, Some(dir)), (pg_store(name).await, None)]
}

/// A PostgreSQL store in a database of its own.
async fn pg_store(name: &str) -> StoreRef {
    Arc::new(PgStore::connect(&common::pg_database(name).await).await.unwrap())
}

fn any() -> ClaimFilter {
    ClaimFilter::default()
}

#[tokio::test]
async fn submit_claim_checkpoint_complete() {
    for (store, _dir) in stores("basic").await {
        let what = store.describe();
        assert!(store.claim("w", &any(), Duration::from_secs(5)).await.unwrap().is_none(), "{what}");
        let id = store.submit(NewJob::new("count", json!({"n": 3}))).await.unwrap();
        let job = store.get(id).await.unwrap();
        assert_eq!((job.state, job.attempts, job.token), (State::Queued, 0, 0), "{what}");
        let (job, lease) = store.claim("w", &any(), Duration::from_secs(5)).await.unwrap().unwrap();
        assert_eq!((job.id, job.state, job.attempts, lease.token), (id, State::Running, 1, 1), "{what}");
        // A second worker finds nothing: the job is leased.
        assert!(store.claim("w2", &any(), Duration::from_secs(5)).await.unwrap().is_none(), "{what}");
        let s = store.checkpoint(&lease, Some(&json!({"at": 2})), 2, Some(3), Duration::from_secs(5)).await.unwrap();
        assert!(!s.cancel);
        store.log(&lease, "two done").await.unwrap();
        store.complete(&lease, &Outcome::Succeeded).await.unwrap();
        let job = store.get(id).await.unwrap();
        assert_eq!(job.state, State::Succeeded, "{what}");
        assert_eq!(job.checkpoint, Some(json!({"at": 2})));
        assert_eq!((job.done, job.total), (2, Some(3)));
        assert!(job.finished.is_some());
        let logs = store.logs(id).await.unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!((logs[0].line.as_str(), logs[0].token), ("two done", 1));
        let listed = store.list(&Filter { states: vec![State::Succeeded], ..Filter::default() }).await.unwrap();
        assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
        assert!(store.list(&Filter { states: vec![State::Queued], ..Filter::default() }).await.unwrap().is_empty());
        // Unknown jobs are named.
        let e = store.get(JobId(999_999)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{what}");
        assert!(e.to_string().contains("999999"));
    }
}

#[tokio::test]
async fn a_lost_lease_cannot_write() {
    for (store, _dir) in stores("fencing").await {
        let what = store.describe();
        let id = store.submit(NewJob::new("k", json!({}))).await.unwrap();
        let (_, old) = store.claim("paused", &any(), Duration::from_millis(300)).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(450)).await;
        // Expired: another worker takes it over with a newer token.
        let (job, new) = store.claim("fresh", &any(), Duration::from_secs(10)).await.unwrap().unwrap();
        assert_eq!((job.id, job.attempts, new.token), (id, 2, old.token + 1), "{what}");
        for e in [
            store.checkpoint(&old, Some(&json!(1)), 1, None, Duration::from_secs(5)).await.unwrap_err(),
            store.heartbeat(&old, Duration::from_secs(5)).await.unwrap_err(),
            store.log(&old, "late").await.unwrap_err(),
            store.complete(&old, &Outcome::Succeeded).await.unwrap_err(),
        ] {
            assert!(is_lease_lost(&e), "{what}: {e}");
            assert!(e.to_string().contains("paused"), "{e}");
        }
        store.complete(&new, &Outcome::Succeeded).await.unwrap();
        let job = store.get(id).await.unwrap();
        assert_eq!((job.state, job.worker.as_deref()), (State::Succeeded, Some("fresh")));
        assert_eq!(job.checkpoint, None, "the paused worker's checkpoint never landed");
    }
}

#[tokio::test]
async fn cancel_retry_remove_rules() {
    for (store, _dir) in stores("lifecycle").await {
        let what = store.describe();
        let queued = store.submit(NewJob::new("k", json!({}))).await.unwrap();
        assert_eq!(store.cancel(queued).await.unwrap(), State::Cancelled, "{what}");
        let e = store.cancel(queued).await.unwrap_err();
        assert!(e.to_string().contains("already cancelled"), "{what}: {e}");
        // A cancelled job comes back with fresh attempts.
        store.retry(queued).await.unwrap();
        assert_eq!(store.get(queued).await.unwrap().state, State::Queued);
        let e = store.retry(queued).await.unwrap_err();
        assert!(e.to_string().contains("only a failed or cancelled"), "{e}");

        let (_, lease) = store.claim("w", &any(), Duration::from_secs(5)).await.unwrap().unwrap();
        assert_eq!(store.cancel(queued).await.unwrap(), State::Running, "{what}");
        let s = store.heartbeat(&lease, Duration::from_secs(5)).await.unwrap();
        assert!(s.cancel, "{what}: a running job hears the cancel at its next heartbeat");
        let e = store.remove(queued).await.unwrap_err();
        assert!(e.to_string().contains("cancel it first"), "{e}");
        store.complete(&lease, &Outcome::Cancelled).await.unwrap();
        let removed = store.remove(queued).await.unwrap();
        assert_eq!(removed.state, State::Cancelled);
        assert_eq!(store.get(queued).await.unwrap_err().kind(), ErrorKind::NotFound);
        // Finished jobs cannot be cancelled.
        let done = store.submit(NewJob::new("k", json!({}))).await.unwrap();
        let (_, l) = store.claim("w", &any(), Duration::from_secs(5)).await.unwrap().unwrap();
        store.complete(&l, &Outcome::Succeeded).await.unwrap();
        let e = store.cancel(done).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("already succeeded"), "{e}");
    }
}

#[tokio::test]
async fn released_jobs_keep_their_attempt_and_backoff_waits() {
    for (store, _dir) in stores("release").await {
        let id = store.submit(NewJob::new("k", json!({}))).await.unwrap();
        let (_, l) = store.claim("w", &any(), Duration::from_secs(5)).await.unwrap().unwrap();
        store.complete(&l, &Outcome::Released).await.unwrap();
        let job = store.get(id).await.unwrap();
        assert_eq!((job.state, job.attempts), (State::Queued, 0));
        let (_, l) = store.claim("w", &any(), Duration::from_secs(5)).await.unwrap().unwrap();
        let error = qore_jobs::JobError { kind: "connection".into(), message: "down".into() };
        let at = qore_jobs::now_ms() + 60_000;
        store.complete(&l, &Outcome::Retry { error, at }).await.unwrap();
        // Not due for a minute.
        assert!(store.claim("w", &any(), Duration::from_secs(5)).await.unwrap().is_none());
        let job = store.get(id).await.unwrap();
        assert_eq!(job.state, State::Queued);
        assert_eq!(job.error.unwrap().message, "down");
    }
}

/// Fails transiently `fail` times, then counts its run.
struct Flaky {
    fail: u32,
    runs: Arc<Mutex<HashMap<i64, u32>>>,
}

#[async_trait::async_trait]
impl Handler for Flaky {
    fn kind(&self) -> &str {
        "flaky"
    }
    async fn run(&self, ctx: &mut JobContext) -> Result<()> {
        if ctx.job().attempts <= self.fail {
            return Err(Error::query_kind(ErrorKind::Unavailable, "the server is restarting", None));
        }
        if ctx.job().params["syntax"].as_bool() == Some(true) {
            return Err(Error::query_kind(ErrorKind::Syntax, "syntax error at or near \"SELEC\"", None));
        }
        *self.runs.lock().unwrap().entry(ctx.job().id.0).or_default() += 1;
        Ok(())
    }
}

#[tokio::test]
async fn transient_errors_retry_and_permanent_ones_fail_once() {
    for (store, _dir) in stores("retry").await {
        let runs = Arc::new(Mutex::new(HashMap::new()));
        let id = store.submit(NewJob::new("flaky", json!({}))).await.unwrap();
        let bad = store.submit(NewJob::new("flaky", json!({"syntax": true}))).await.unwrap();
        let w = Worker::new(store.clone())
            .handler(Arc::new(Flaky { fail: 1, runs: runs.clone() }))
            .poll(Duration::from_millis(20));
        let (tx, rx) = tokio::sync::watch::channel(false);
        let run = tokio::spawn({
            let w = w.clone();
            async move { w.run(rx).await }
        });
        // The first attempt's backoff is 0.5-1 s.
        for _ in 0..100 {
            let (a, b) = (store.get(id).await.unwrap(), store.get(bad).await.unwrap());
            if a.state.is_final() && b.state.is_final() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tx.send(true).unwrap();
        run.await.unwrap().unwrap();
        let a = store.get(id).await.unwrap();
        assert_eq!((a.state, a.attempts), (State::Succeeded, 2), "{}", store.describe());
        assert_eq!(a.error.unwrap().kind, "unavailable", "the retried error stays on record");
        let b = store.get(bad).await.unwrap();
        assert_eq!((b.state, b.attempts), (State::Failed, 2));
        let e = b.error.unwrap();
        assert_eq!(e.kind, "syntax");
        assert!(e.message.contains("SELEC"), "{}", e.message);
        assert_eq!(runs.lock().unwrap().get(&id.0), Some(&1));
        let logs = store.logs(bad).await.unwrap();
        assert!(logs.iter().any(|l| l.line.contains("syntax error")), "{logs:?}");
    }
}

/// Counts every run of every job.
struct Tally(Arc<Mutex<HashMap<i64, u32>>>);

#[async_trait::async_trait]
impl Handler for Tally {
    fn kind(&self) -> &str {
        "noop"
    }
    async fn run(&self, ctx: &mut JobContext) -> Result<()> {
        *self.0.lock().unwrap().entry(ctx.job().id.0).or_default() += 1;
        Ok(())
    }
}

async fn exactly_once(store: StoreRef, workers: usize, jobs: usize) {
    for _ in 0..jobs {
        store.submit(NewJob::new("noop", json!({}))).await.unwrap();
    }
    let tally = Arc::new(Mutex::new(HashMap::new()));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut all = Vec::new();
    for i in 0..workers {
        // `run` claims several jobs per round trip and records their ends
        // in batches: the path a busy queue takes.
        let w = Worker::new(store.clone())
            .named(format!("w{i}"))
            .handler(Arc::new(Tally(tally.clone())))
            .poll(Duration::from_millis(10))
            .concurrency(8);
        let stop = stop.clone();
        all.push(tokio::spawn(async move { w.run(stop).await }));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let left = store.list(&Filter { states: vec![State::Queued, State::Running], ..Filter::default() }).await.unwrap();
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}: {} jobs left after 120 s", store.describe(), left.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    let mut succeeded = 0;
    for t in all {
        let ran = t.await.unwrap().unwrap();
        assert_eq!(ran.lost + ran.failed + ran.retried, 0, "{ran:?}");
        succeeded += ran.succeeded;
    }
    let tally = tally.lock().unwrap();
    assert_eq!(tally.len(), jobs, "{}: every job ran", store.describe());
    assert!(tally.values().all(|n| *n == 1), "{}: no job ran twice", store.describe());
    assert_eq!(succeeded as usize, jobs);
    let ok = store.list(&Filter { states: vec![State::Succeeded], ..Filter::default() }).await.unwrap();
    assert_eq!(ok.len(), jobs);
}

#[tokio::test]
async fn batched_claims_and_ends() {
    for (store, _dir) in stores("batched").await {
        let what = store.describe();
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(store.submit(NewJob::new("k", json!({"i": i}))).await.unwrap());
        }
        let first = store.claim_many("w", &any(), Duration::from_secs(30), 3).await.unwrap();
        let got: Vec<JobId> = first.iter().map(|(j, _)| j.id).collect();
        assert_eq!(got, ids[..3], "{what}: the oldest three, in order");
        assert!(first.iter().all(|(j, l)| j.state == State::Running && l.token == 1 && j.attempts == 1));
        let rest = store.claim_many("w2", &any(), Duration::from_secs(30), 10).await.unwrap();
        assert_eq!(rest.iter().map(|(j, _)| j.id).collect::<Vec<_>>(), ids[3..], "{what}");
        assert!(store.claim_many("w3", &any(), Duration::from_secs(30), 10).await.unwrap().is_empty());
        // One end under a token the store never gave: refused alone.
        let mut stale = first[1].1.clone();
        stale.token += 7;
        let ends = vec![
            (first[0].1.clone(), Outcome::Succeeded),
            (stale, Outcome::Succeeded),
            (first[2].1.clone(), Outcome::Failed(qore_jobs::JobError { kind: "syntax".into(), message: "bad".into() })),
            (rest[0].1.clone(), Outcome::Released),
        ];
        let results = store.complete_many(&ends).await.unwrap();
        assert_eq!(results.len(), 4);
        assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok(), "{what}: {results:?}");
        assert!(is_lease_lost(results[1].as_ref().unwrap_err()), "{what}");
        let state = |i: usize| {
            let store = store.clone();
            let id = ids[i];
            async move { store.get(id).await.unwrap() }
        };
        assert_eq!(state(0).await.state, State::Succeeded, "{what}");
        assert_eq!(state(1).await.state, State::Running, "{what}: the refused end changed nothing");
        let failed = state(2).await;
        assert_eq!((failed.state, failed.error.map(|e| e.message)), (State::Failed, Some("bad".into())), "{what}");
        let released = state(3).await;
        assert_eq!((released.state, released.attempts), (State::Queued, 0), "{what}: a release gives its attempt back");
        assert!(store.complete_many(&[]).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_and_four_workers_run_every_job_once() {
    exactly_once(pg_store("once2").await, 2, 10_000).await;
    exactly_once(pg_store("once4").await, 4, 10_000).await;
    let dir = tempfile::tempdir().unwrap();
    exactly_once(Arc::new(SqliteStore::open(&dir.path().join("j.db")).unwrap()), 4, 300).await;
}

#[test]
fn a_file_that_is_not_a_job_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello, this is not SQLite at all, just some words").unwrap();
    let e = SqliteStore::open(&text).unwrap_err().to_string();
    assert!(e.contains("is not a qore job store"), "{e}");
    let other = dir.path().join("app.db");
    let c = rusqlite::Connection::open(&other).unwrap();
    c.execute_batch("CREATE TABLE customers(id INTEGER PRIMARY KEY)").unwrap();
    drop(c);
    let e = SqliteStore::open(&other).unwrap_err().to_string();
    assert!(e.contains("other tables (customers)"), "{e}");
    // The store itself opens again.
    let path = dir.path().join("jobs.db");
    SqliteStore::open(&path).unwrap();
    SqliteStore::open(&path).unwrap();
}
