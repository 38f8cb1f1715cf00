//! `qore job` and `qore worker`: real processes, killed for real.

use std::time::{Duration, Instant};

use crate::util::Qore;

fn sha(q: &Qore, name: &str) -> String {
    use sha2_10::Digest;
    let bytes = std::fs::read(q.path(name)).unwrap();
    sha2_10::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The job's `done` as `qore job show` reports it.
fn done(q: &Qore, id: &str) -> u64 {
    let (code, out, _) = q.outcome(&["job", "show", id]);
    if code != 0 {
        return 0;
    }
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["done"].as_u64().unwrap_or(0)
}

fn state(q: &Qore, id: &str) -> String {
    let out = q.ok(&["job", "show", id]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["state"].as_str().unwrap().to_string()
}

#[test]
fn a_killed_export_job_resumes_to_the_same_bytes() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    // The reference: one uninterrupted run in the foreground.
    let id = q.ok(&["job", "submit", "export", "--db", "shop.db", "-t", "order_items", "-o", "ref.csv", "--run", "--chunk-rows", "5000", "-q"]);
    assert_eq!(id.trim(), "1");
    assert_eq!(state(&q, "1"), "succeeded");
    let want = sha(&q, "ref.csv");
    // The same bytes as a plain `qore export`.
    q.ok(&["export", "--db", "shop.db", "-t", "order_items", "-o", "plain.csv", "-q"]);
    assert_eq!(sha(&q, "plain.csv"), want, "a job writes what qore export writes");
    for round in 0..3u64 {
        let out = format!("out{round}.csv");
        let mut child = q.spawn(&["job", "submit", "export", "--db", "shop.db", "-t", "order_items", "-o", &out, "--run", "--chunk-rows", "5000", "--lease", "1", "-q"]);
        let id = (round + 2).to_string();
        let target = 5000 * (1 + round * 4);
        let started = Instant::now();
        while done(&q, &id) < target && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(round * 7));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(!q.path(&out).exists(), "round {round}: no output under the target name yet");
        assert_eq!(state(&q, &id), "running", "round {round}: the dead worker's job still looks running");
        std::thread::sleep(Duration::from_millis(1100));
        let err = q.ok_err(&["worker", "--until-idle"]);
        assert!(err.contains("1 succeeded"), "{err}");
        assert_eq!(state(&q, &id), "succeeded");
        assert_eq!(sha(&q, &out), want, "round {round}: resumed bytes differ");
        let logs = q.ok(&["job", "logs", &id]);
        assert!(logs.contains("resuming after"), "{logs}");
    }
    let ls = q.ok(&["job", "ls", "--format", "csv"]);
    assert!(ls.starts_with("id,kind,state,attempts,max_attempts,done,total,"), "{ls}");
    assert_eq!(ls.matches(",export,succeeded,").count(), 4, "{ls}");
}

#[test]
fn a_write_error_fails_the_job_and_retry_resumes_intact() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&["job", "submit", "export", "--db", "shop.db", "-t", "order_items", "-o", "ref.csv", "--run", "--chunk-rows", "5000", "-q"]);
    let want = sha(&q, "ref.csv");
    // At most 1 MiB per file, and SIGXFSZ ignored: the write past it fails
    // with EFBIG, as a full disk fails with ENOSPC.
    let qore = env!("CARGO_BIN_EXE_qore");
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f 1024; exec '{qore}' job submit export --db shop.db -t order_items -o out.csv --run --chunk-rows 2000 -q"))
        .current_dir(q.dir())
        .env("XDG_CONFIG_HOME", q.path("config"))
        .env("XDG_DATA_HOME", q.path("data"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("job 2 failed") && err.contains("[io]"), "{err}");
    assert!(err.contains("large") || err.contains("space"), "the OS error is shown: {err}");
    let show: serde_json::Value = serde_json::from_str(&q.ok(&["job", "show", "2"])).unwrap();
    let checkpointed = show["checkpoint"]["bytes"].as_u64().unwrap();
    assert!(checkpointed > 0 && checkpointed <= 1 << 20, "{show}");
    q.ok(&["job", "retry", "2"]);
    let err = q.ok_err(&["worker", "--until-idle"]);
    assert!(err.contains("1 succeeded"), "{err}");
    assert_eq!(sha(&q, "out.csv"), want);
}

#[test]
fn job_commands_and_their_errors() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    // --background queues; the worker runs it.
    let id = q.ok(&["export", "--db", "shop.db", "-t", "customers", "-o", "c.ndjson", "--background"]);
    assert_eq!(id.trim(), "1");
    assert_eq!(state(&q, "1"), "queued");
    assert!(!q.path("c.ndjson").exists());
    let err = q.ok_err(&["worker", "--until-idle"]);
    assert!(err.contains("1 succeeded"), "{err}");
    assert!(q.path("c.ndjson").exists());
    // Cancel a queued job; a finished one cannot be.
    q.ok(&["job", "submit", "export", "--db", "shop.db", "-t", "orders", "-o", "o.csv"]);
    let err = q.ok_err(&["job", "cancel", "2"]);
    assert!(err.contains("job 2 cancelled"), "{err}");
    let (code, _, err) = q.outcome(&["job", "cancel", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("job 1 already succeeded"), "{err}");
    let (code, _, err) = q.outcome(&["job", "show", "42"]);
    assert_eq!(code, 2);
    assert!(err.contains("job 42"), "{err}");
    let (code, _, err) = q.outcome(&["job", "retry", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("only a failed or cancelled"), "{err}");
    q.ok(&["job", "rm", "2"]);
    let ls = q.ok(&["job", "ls", "--format", "csv"]);
    assert_eq!(ls.lines().count(), 2, "{ls}");
    // Bad input, named.
    std::fs::write(q.path("notes.txt"), "not a database, just some words here").unwrap();
    let (code, _, err) = q.outcome(&["job", "ls", "--store", "notes.txt"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a qore job store"), "{err}");
    let (code, _, err) = q.outcome(&["job", "show", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("`x` is not a job id"), "{err}");
    let (code, _, err) = q.outcome(&["export", "--db", "postgres://u:hunter2@127.0.0.1:1/db", "-t", "t", "-o", "x.csv", "--background"]);
    assert_eq!(code, 2);
    assert!(err.contains("saved connection") && !err.contains("hunter2"), "{err}");
    let (code, _, err) = q.outcome(&["export", "--db", "shop.db", "-t", "orders", "-o", "-", "--background"]);
    assert_eq!(code, 2);
    assert!(err.contains("standard output"), "{err}");
}

#[test]
fn a_migration_job_runs_its_script_once_in_one_transaction() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    std::fs::write(
        q.path("010_loyalty.sql"),
        "CREATE TABLE loyalty(customer_id INTEGER PRIMARY KEY, points INTEGER NOT NULL);\n\
         INSERT INTO loyalty SELECT id, 0 FROM customers;\n\
         UPDATE loyalty SET points = points + 10;\n",
    )
    .unwrap();
    let id = q.ok(&["job", "submit", "migrate", "--db", "shop.db", "-f", "010_loyalty.sql", "--run", "-q"]);
    assert_eq!(id.trim(), "1");
    assert_eq!(state(&q, "1"), "succeeded");
    let show: serde_json::Value = serde_json::from_str(&q.ok(&["job", "show", "1"])).unwrap();
    assert_eq!((show["kind"].as_str(), show["done"].as_u64(), show["total"].as_u64()), (Some("migration"), Some(3), Some(3)));
    let customers = q.ok(&["query", "--db", "shop.db", "--format", "csv", "SELECT count(*) FROM customers"]);
    let sums = q.ok(&["query", "--db", "shop.db", "--format", "csv", "SELECT count(*), sum(points) / 10 FROM loyalty"]);
    let n = customers.lines().nth(1).unwrap().to_string();
    assert_eq!(sums.lines().nth(1).unwrap(), format!("{n},{n}"), "every customer once, 10 points each");
    // A broken script: failed, with the statement named, and nothing left.
    std::fs::write(q.path("011_broken.sql"), "DELETE FROM loyalty; UPDATE nowhere SET x = 1;").unwrap();
    let (code, _, err) = q.outcome(&["job", "submit", "migrate", "--db", "shop.db", "-f", "011_broken.sql", "--run", "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("statement 2 of 2 in `011_broken.sql`") && err.contains("nowhere"), "{err}");
    let left = q.ok(&["query", "--db", "shop.db", "--format", "csv", "SELECT count(*) FROM loyalty"]);
    assert_eq!(left.lines().nth(1).unwrap(), n, "the DELETE was rolled back");
    // Bad input, named, before anything is queued.
    std::fs::write(q.path("012_tx.sql"), "BEGIN; DELETE FROM loyalty; COMMIT;").unwrap();
    let (code, _, err) = q.outcome(&["job", "submit", "migrate", "--db", "shop.db", "-f", "012_tx.sql"]);
    assert_eq!(code, 2);
    assert!(err.contains("controls the transaction"), "{err}");
    let (code, _, err) = q.outcome(&["job", "submit", "migrate", "--db", "shop.db", "-f", "missing.sql"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the script missing.sql"), "{err}");
    let ls = q.ok(&["job", "ls", "--format", "csv"]);
    assert_eq!(ls.lines().count(), 3, "only the two submitted jobs: {ls}");
}

#[test]
fn a_sandbox_apply_job_applies_once_and_its_undo_restores() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let status = |q: &Qore| q.ok(&["query", "--db", "shop.db", "--format", "csv", "SELECT id, status FROM orders WHERE id IN (2, 4) ORDER BY id"]);
    let before = status(&q);
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=2", "--set", "status=delivered", "--sandbox", "bg"]);
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=4", "--set", "status=cancelled", "--sandbox", "bg"]);
    let id = q.ok(&["job", "submit", "sandbox-apply", "--db", "shop.db", "bg", "--run", "-q"]);
    assert_eq!(state(&q, id.trim()), "succeeded");
    assert_eq!(done(&q, id.trim()), 2, "two rows written");
    let after = status(&q);
    assert!(after.contains("2,delivered") && after.contains("4,cancelled"), "{after}");
    let show = q.ok(&["sandbox", "show", "--db", "shop.db", "bg", "--format", "csv"]);
    assert_eq!(show.lines().count(), 1, "no change pending after the job: {show}");
    // Nothing left to apply: refused before anything is queued.
    let (code, _, err) = q.outcome(&["job", "submit", "sandbox-apply", "--db", "shop.db", "bg"]);
    assert_eq!(code, 2);
    assert!(err.contains("sandbox `bg` has no pending change"), "{err}");
    let undo = q.ok(&["job", "submit", "sandbox-apply", "--db", "shop.db", "bg", "--undo", "--run", "-q"]);
    assert_eq!(state(&q, undo.trim()), "succeeded");
    assert_eq!(status(&q), before);
    let log = q.ok(&["job", "logs", undo.trim()]);
    assert!(log.contains("committed the undo of sandbox `bg`"), "{log}");
}

/// A job store of its own on the test PostgreSQL server.
fn pg_store(db: &str) -> String {
    let url = std::env::var("QORE_TEST_POSTGRES_URL").expect("run through scripts/servers.sh");
    let ok = std::process::Command::new("psql")
        .args([url.as_str(), "-q", "-c", &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"), "-c", &format!("CREATE DATABASE {db}")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql could not create {db}");
    let (base, query) = url.split_once('?').map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
    let (root, _) = base.rsplit_once('/').unwrap();
    format!("{root}/{db}{}", query.map(|q| format!("?{q}")).unwrap_or_default())
}

#[test]
fn a_paused_worker_is_taken_over_and_its_late_writes_refused() {
    // On the shared PostgreSQL store: a paused process holds no lock there
    // (each store write is one statement the server completes alone).
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&["job", "submit", "export", "--db", "shop.db", "-t", "order_items", "-o", "ref.csv", "--run", "-q"]);
    let want = sha(&q, "ref.csv");
    let store = pg_store("qore_cli_jobs_pause");
    let id = q.ok(&["job", "submit", "export", "--store", &store, "--db", "shop.db", "-t", "order_items", "-o", "out.csv", "--chunk-rows", "300"]);
    let id = id.trim().to_string();
    let show = |q: &Qore| -> serde_json::Value {
        serde_json::from_str(&q.ok(&["job", "show", &id, "--store", &store])).unwrap()
    };
    let a = q.spawn(&["worker", "--lease", "1", "--store", &store]);
    let started = Instant::now();
    while show(&q)["done"].as_u64().unwrap_or(0) < 3000 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let signal = |sig: &str, pid: u32| {
        assert!(std::process::Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success());
    };
    signal("-STOP", a.id());
    let stopped = Instant::now();
    let first = show(&q);
    assert_eq!(first["state"], "running", "paused mid-export: {first}");
    let token_a = first["token"].as_i64().unwrap();
    let b = q.spawn(&["worker", "--lease", "1", "--store", &store]);
    // Taken over within twice the lease.
    let mut taken = None;
    while stopped.elapsed() < Duration::from_secs(10) {
        if show(&q)["token"].as_i64().unwrap() > token_a {
            taken = Some(stopped.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let taken = taken.expect("another worker took the job over");
    assert!(taken <= Duration::from_millis(2000), "taken over after {taken:?}");
    while show(&q)["state"] != "succeeded" && stopped.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sha(&q, "out.csv"), want);
    // The paused worker wakes up: its next write is refused, the file stays.
    signal("-CONT", a.id());
    std::thread::sleep(Duration::from_millis(800));
    let mut lost = 0;
    for w in [a, b] {
        signal("-TERM", w.id());
        let o = w.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains("worker stopped"), "{err}");
        if err.contains("1 lost") {
            lost += 1;
            assert!(err.contains("0 succeeded"), "the paused worker finished nothing: {err}");
        } else {
            assert!(err.contains("1 succeeded"), "{err}");
        }
    }
    assert_eq!(lost, 1, "the paused worker's late write was refused");
    assert_eq!(sha(&q, "out.csv"), want, "the late writer did not touch the output");
    assert_eq!(show(&q)["state"], "succeeded");
    let parts: Vec<_> = std::fs::read_dir(q.dir()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".part")).collect();
    assert!(parts.is_empty(), "no partial file left: {parts:?}");
}
