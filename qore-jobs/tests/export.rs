//! Export jobs killed at random points resume into files byte for byte
//! identical to an uninterrupted run, on SQLite, DuckDB, PostgreSQL and
//! MariaDB sources. The "kill" drops the worker's task mid-page without
//! any clean-up, as SIGKILL would (the CLI test kills a real process).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::Named;
use qore_jobs::export::{ExportHandler, ExportJob};
use qore_jobs::{JobId, SqliteStore, State, StoreRef, Worker};
use sha2::{Digest, Sha256};

/// The file's SHA-256; an HTML page's export time (the submission time of
/// its job) is left out, since the reference is another job.
fn sha(path: &Path) -> String {
    let mut bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "html") {
        let key = b"\"exported_at\":\"";
        let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
        let end = at + bytes[at..].iter().position(|&b| b == b'"').unwrap();
        bytes.drain(at..end);
    }
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn worker(store: &StoreRef, names: &Arc<Named>, lease: Duration) -> Worker {
    Worker::new(store.clone())
        .handler(Arc::new(ExportHandler::new(names.clone())))
        .lease(lease)
        .poll(Duration::from_millis(20))
}

/// A cheap random number source for kill points (no seed needed: every
/// point must give the same bytes).
fn random(bound: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % bound.max(1)
}

fn spec(db: &str, table: &str, output: PathBuf, format: &str, chunk: u64) -> ExportJob {
    ExportJob {
        db: db.into(),
        table: Some(table.into()),
        sql: None,
        output,
        format: format.into(),
        compression: "zstd".into(),
        chunk_rows: chunk,
        sql_table: None,
        create_table: false,
        rows_per_insert: None,
    }
}

/// Runs `job` to the end without interruption; returns the file's hash.
async fn uninterrupted(store: &StoreRef, names: &Arc<Named>, job: &ExportJob) -> String {
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let done = worker(store, names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(done.state, State::Succeeded, "{:?}", done.error);
    let h = sha(&job.output);
    std::fs::remove_file(&job.output).unwrap();
    h
}

/// Runs `job` to the end and leaves its file in place.
async fn uninterrupted_kept(store: &StoreRef, names: &Arc<Named>, job: &ExportJob) -> qore_jobs::Job {
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let done = worker(store, names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(done.state, State::Succeeded, "{:?}", done.error);
    done
}

/// Runs `job`, kills its worker after a random number of checkpoints and a
/// random few milliseconds (mid-page), then lets another worker resume it.
/// Returns the file's hash. The resume must start at the last checkpoint
/// (a checkpoint follows every page, so the killed start read at most the
/// page it was in past it: no more than one page is read twice).
async fn killed_and_resumed(store: &StoreRef, names: &Arc<Named>, job: &ExportJob, pages: u64) -> String {
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let lease = Duration::from_millis(400);
    let kill_after = 1 + random(pages.saturating_sub(1).max(1));
    let w = worker(store, names, lease);
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { w.run_one(id, stop).await });
    for _ in 0..2000 {
        let j = store.get(id).await.unwrap();
        if j.done >= kill_after * job.chunk_rows || j.state.is_final() {
            tokio::time::sleep(Duration::from_millis(random(15))).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    task.abort();
    let _ = task.await;
    let before = store.get(id).await.unwrap();
    if before.state == State::Succeeded {
        // The kill came after the end: nothing to resume.
        let h = sha(&job.output);
        std::fs::remove_file(&job.output).unwrap();
        return h;
    }
    assert_eq!(before.state, State::Running, "killed mid-run, the job still looks running");
    // The file appears under its name only once everything is written: a
    // kill between the rename and the store's "succeeded" leaves a complete
    // file and a complete checkpoint, which the resume must accept as is.
    let complete = before.checkpoint.as_ref().is_some_and(|c| {
        c.get("complete").and_then(|c| c.as_bool()) == Some(true) || c.get("whole").is_some_and(|w| !w.is_null())
    });
    assert!(complete || !job.output.exists(), "no file under the target name before the end");
    // Another worker takes it over once the lease runs out.
    tokio::time::sleep(lease + Duration::from_millis(150)).await;
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let done = worker(store, names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(done.state, State::Succeeded, "{:?}", done.error);
    assert_eq!(done.attempts, 2);
    let logs = store.logs(id).await.unwrap();
    let from = logs
        .iter()
        .find_map(|l| l.line.strip_prefix("resuming after ")?.split(' ').next()?.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no resume in the log: {logs:?}"));
    assert_eq!(from, before.done, "the resume starts at the last checkpoint");
    let h = sha(&job.output);
    std::fs::remove_file(&job.output).unwrap();
    h
}

/// Rows with what breaks exports: quotes, separators, newlines, NULLs,
/// non-ASCII, big and negative numbers.
fn rows_sql(n: u64, keyed: bool, int: &str, text: &str, float: &str) -> (String, Vec<String>) {
    let create = if keyed {
        format!("CREATE TABLE t_export(id {int} PRIMARY KEY, name {text}, amount {float}, note {text})")
    } else {
        format!("CREATE TABLE t_export(id {int}, name {text}, amount {float}, note {text})")
    };
    let mut inserts = Vec::new();
    let mut batch = Vec::new();
    for i in 1..=n {
        let name = match i % 5 {
            0 => format!("'comma, \"quote\" {i}'"),
            1 => format!("'line\nbreak {i}'"),
            2 => "NULL".to_string(),
            3 => format!("'😀 émoji {i}'"),
            _ => format!("'plain{i}'"),
        };
        let amount = if i % 7 == 0 { "NULL".to_string() } else { format!("{}.25", (i as i64) * if i % 2 == 0 { -3 } else { 1_000_003 }) };
        batch.push(format!("({i}, {name}, {amount}, 'n{}')", i % 13));
        if batch.len() == 500 {
            inserts.push(format!("INSERT INTO t_export VALUES {}", batch.join(", ")));
            batch.clear();
        }
    }
    if !batch.is_empty() {
        inserts.push(format!("INSERT INTO t_export VALUES {}", batch.join(", ")));
    }
    (create, inserts)
}

async fn load(url: &str, keyed: bool, n: u64, types: (&str, &str, &str)) {
    let c = qore_drivers::connect(url).await.unwrap();
    let _ = c.execute("DROP TABLE IF EXISTS t_export", &[]).await;
    let (create, inserts) = rows_sql(n, keyed, types.0, types.1, types.2);
    c.execute(&create, &[]).await.unwrap();
    for sql in inserts {
        c.execute(&sql, &[]).await.unwrap();
    }
    c.close().await.unwrap();
}

/// `kills` kill-and-resume runs of every resumable format, each compared
/// with the uninterrupted file.
async fn kill_loop(db: &str, names: Arc<Named>, rows: u64, chunk: u64, kills: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let pages = rows.div_ceil(chunk);
    const FORMATS: [&str; 9] = ["csv", "ndjson", "json", "tsv", "parquet", "sql", "html", "arrow", "arrows"];
    for (i, format) in FORMATS.iter().enumerate() {
        let out = dir.path().join(format!("out.{format}"));
        let job = spec(db, "t_export", out.clone(), format, chunk);
        let want = uninterrupted(&store, &names, &job).await;
        // The formats share the kills between them.
        let n = kills / FORMATS.len() + usize::from(i < kills % FORMATS.len());
        for k in 0..n {
            let got = killed_and_resumed(&store, &names, &job, pages).await;
            assert_eq!(got, want, "{db} {format}: resume {k} gave different bytes");
        }
    }
    // Nothing left beside the outputs.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.contains(".part")).collect();
    assert!(left.is_empty(), "partial files left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_exports_resume_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("src.db").display());
    load(&db, true, 20_000, ("INTEGER", "TEXT", "REAL")).await;
    kill_loop(&db, Arc::new(Named(HashMap::new())), 20_000, 1_000, 20).await;
    // A table without a key pages by rowid.
    load(&db, false, 5_000, ("INTEGER", "TEXT", "REAL")).await;
    kill_loop(&db, Arc::new(Named(HashMap::new())), 5_000, 700, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_exports_resume_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("duckdb:{}", dir.path().join("src.duckdb").display());
    load(&db, true, 20_000, ("BIGINT", "VARCHAR", "DOUBLE")).await;
    kill_loop(&db, Arc::new(Named(HashMap::new())), 20_000, 1_000, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_exports_resume_byte_identical() {
    let url = std::env::var("QORE_TEST_POSTGRES_URL").expect("run through scripts/servers.sh");
    load(&url, true, 20_000, ("bigint", "text", "numeric(14,2)")).await;
    let names = Arc::new(Named(HashMap::from([("pg".to_string(), url.clone())])));
    kill_loop("pg", names, 20_000, 1_000, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_exports_resume_byte_identical() {
    let url = std::env::var("QORE_TEST_MYSQL_URL").expect("run through scripts/servers.sh");
    load(&url, true, 20_000, ("bigint", "text", "decimal(14,2)")).await;
    let names = Arc::new(Named(HashMap::from([("maria".to_string(), url.clone())])));
    kill_loop("maria", names, 20_000, 1_000, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_parts_join_into_one_valid_file_and_statements_run_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("src.db").display());
    load(&db, true, 3_000, ("INTEGER", "TEXT", "REAL")).await;
    let names = Arc::new(Named(HashMap::new()));
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let out = dir.path().join("out.parquet");
    let job = spec(&db, "t_export", out.clone(), "parquet", 500);
    let want = uninterrupted(&store, &names, &job).await;
    // The joined file read back by DuckDB: every row, in order, the
    // awkward values intact.
    let _ = uninterrupted_kept(&store, &names, &job).await;
    let duck = qore_drivers::connect("duckdb:").await.unwrap();
    let p = out.display().to_string().replace('\'', "''");
    let read = |sql: String| {
        let duck = duck.clone();
        async move {
            let b = qore_core::collect(duck.query(&sql, &[]).await.unwrap()).await.unwrap();
            let b = b.iter().find(|b| b.num_rows() > 0).unwrap().clone();
            qore_core::arrow::util::display::ArrayFormatter::try_new(b.column(0).as_ref(), &Default::default())
                .unwrap()
                .value(0)
                .to_string()
        }
    };
    assert_eq!(read(format!("SELECT count(*) || ':' || sum(id) FROM read_parquet('{p}')")).await, "3000:4501500");
    assert_eq!(read(format!("SELECT name FROM read_parquet('{p}') WHERE id = 3")).await, "😀 émoji 3");
    assert_eq!(
        read(format!("SELECT count(*) FROM read_parquet('{p}', file_row_number = true) WHERE id <> file_row_number + 1")).await,
        "0",
        "pages joined in key order"
    );
    let groups = read(format!("SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{p}')")).await;
    assert_eq!(groups, "6", "one row group per 500-row page");
    std::fs::remove_file(&out).unwrap();
    assert_eq!(uninterrupted(&store, &names, &job).await, want, "Parquet output is deterministic");
    let mut q = spec(&db, "t_export", dir.path().join("q.csv"), "csv", 500);
    q.table = None;
    q.sql = Some("SELECT id, name FROM t_export WHERE id % 2 = 0 ORDER BY id".into());
    let id = store.submit(q.to_new_job().unwrap()).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let done = worker(&store, &names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!((done.state, done.done), (State::Succeeded, 1_500));
    let text = std::fs::read_to_string(dir.path().join("q.csv")).unwrap();
    assert_eq!(text.lines().next(), Some("id,name"));
}

/// The formats written page by page besides the text ones read back whole:
/// the SQL script loads into a new database with every row and value, the
/// HTML page's data block is one deflate stream with a line per row, the
/// Arrow file and stream hold every row in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_html_and_arrow_pages_read_back_whole() {
    use base64::Engine;
    use qore_core::arrow::array::{Array, AsArray};
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let db = format!("sqlite:{}", src.display());
    load(&db, true, 3_000, ("INTEGER", "TEXT", "REAL")).await;
    let names = Arc::new(Named(HashMap::new()));
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let fingerprint = |c: &rusqlite::Connection| -> String {
        c.query_row(
            "SELECT count(*) || ':' || sum(id) || ':' || sum(amount) || ':' || group_concat(coalesce(name, '<null>'), '|') \
             FROM (SELECT * FROM t_export ORDER BY id)",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let want = fingerprint(&rusqlite::Connection::open(&src).unwrap());

    let mut sql = spec(&db, "t_export", dir.path().join("o.sql"), "sql", 700);
    sql.create_table = true;
    sql.rows_per_insert = Some(300);
    uninterrupted_kept(&store, &names, &sql).await;
    let script = std::fs::read_to_string(&sql.output).unwrap();
    assert_eq!(script.matches("INSERT INTO").count(), 10, "300 rows per INSERT across 700-row pages");
    let copy = rusqlite::Connection::open_in_memory().unwrap();
    copy.execute_batch(&script).unwrap();
    assert_eq!(fingerprint(&copy), want);

    let html = spec(&db, "t_export", dir.path().join("o.html"), "html", 700);
    uninterrupted_kept(&store, &names, &html).await;
    let page = std::fs::read_to_string(&html.output).unwrap();
    let start = page.find("id=\"data\">").unwrap() + "id=\"data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    let bytes = base64::engine::general_purpose::STANDARD.decode(&page[start..end]).unwrap();
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    let rows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3_000);
    assert_eq!(rows[2][1], "😀 émoji 3");
    assert!(page.contains("t_export"), "the page names its table");

    for format in ["arrow", "arrows"] {
        let job = spec(&db, "t_export", dir.path().join(format!("o.{format}")), format, 700);
        uninterrupted_kept(&store, &names, &job).await;
        let bytes = std::fs::read(&job.output).unwrap();
        let batches: Vec<_> = if format == "arrow" {
            qore_core::arrow::ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)
                .unwrap()
                .map(|b| b.unwrap())
                .collect()
        } else {
            qore_core::arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
                .unwrap()
                .map(|b| b.unwrap())
                .collect()
        };
        let ids: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<qore_core::arrow::datatypes::Int64Type>().values().to_vec())
            .collect();
        assert_eq!(ids, (1..=3_000).collect::<Vec<i64>>(), "{format}");
        let nulls: usize = batches.iter().map(|b| b.column(1).null_count()).sum();
        assert_eq!(nulls, 600, "{format}: every fifth name is NULL");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_at_a_checkpoint_and_retry_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("src.db").display());
    load(&db, true, 20_000, ("INTEGER", "TEXT", "REAL")).await;
    let names = Arc::new(Named(HashMap::new()));
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let out = dir.path().join("out.csv");
    let job = spec(&db, "t_export", out.clone(), "csv", 200);
    let want = uninterrupted(&store, &names, &job).await;
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let w = worker(&store, &names, Duration::from_secs(30));
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { w.run_one(id, stop).await });
    while store.get(id).await.unwrap().done < 1_000 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(store.cancel(id).await.unwrap(), State::Running);
    let ended = task.await.unwrap().unwrap();
    assert_eq!(ended.state, State::Cancelled);
    assert!(ended.done < 20_000, "stopped early, at {}", ended.done);
    assert!(!out.exists());
    store.retry(id).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let done = worker(&store, &names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(done.state, State::Succeeded);
    assert_eq!(sha(&out), want);
    // A stop (worker shutdown) gives the attempt back.
    std::fs::remove_file(&out).unwrap();
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let w = worker(&store, &names, Duration::from_secs(30));
    let (tx, stop) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { w.run_one(id, stop).await });
    while store.get(id).await.unwrap().done < 1_000 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tx.send(true).unwrap();
    let ended = task.await.unwrap().unwrap();
    assert_eq!((ended.state, ended.attempts), (State::Queued, 0));
    let _ = JobId(0);
}

#[tokio::test]
async fn a_full_disk_fails_the_job_and_retry_resumes_intact() {
    // /dev/full: every write fails with ENOSPC. A file on a tiny tmpfs
    // would need mount rights; instead the part file's directory is made
    // read-only after the first pages, which fails the same way (an I/O
    // error while writing) and leaves the checkpointed bytes alone.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("src.db").display());
    load(&db, true, 2_000, ("INTEGER", "TEXT", "REAL")).await;
    let names = Arc::new(Named(HashMap::new()));
    let store: StoreRef = Arc::new(SqliteStore::open(&dir.path().join("jobs.db")).unwrap());
    let outdir = dir.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let job = spec(&db, "t_export", outdir.join("o.csv"), "csv", 100);
    let want = uninterrupted(&store, &names, &job).await;
    // A part file that cannot be written: a directory in its place.
    let id = store.submit(job.to_new_job().unwrap()).await.unwrap();
    let part = outdir.join(format!(".o.csv.qore-job-{id}-1.part"));
    std::fs::create_dir(&part).unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let failed = worker(&store, &names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(failed.state, State::Failed);
    let e = failed.error.unwrap();
    assert_eq!(e.kind, "io", "{}", e.message);
    assert!(e.message.contains(".part"), "the error names the file: {}", e.message);
    std::fs::remove_dir(&part).unwrap();
    store.retry(id).await.unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let done = worker(&store, &names, Duration::from_secs(30)).run_one(id, stop).await.unwrap();
    assert_eq!(done.state, State::Succeeded);
    assert_eq!(sha(&job.output), want);
}
