//! The sandbox's two speed goals, on the PostgreSQL server of
//! `scripts/servers.sh` (`QORE_TEST_POSTGRES_URL`):
//!
//! 1. 10,000 pending edits → their migration script (plan + literals):
//!    p50 and worst of 20 rounds, goal ≤ 100 ms;
//! 2. applying those 10,000 edits (one transaction, bound values, each
//!    UPDATE checked) against the same script run by `psql -f`, side by
//!    side, 5 rounds each, alternating; goal ≤ 2× psql.
//!
//! Usage: `scripts/servers.sh run -- $CARGO_TARGET_DIR/debug/sandbox [EDITS]`

use std::time::{Duration, Instant};

use qore_core::{Connection, TableRef, Value};
use qore_sandbox::{Editor, plan};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> qore_core::Result<()> {
    let edits: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let url = std::env::var("QORE_TEST_POSTGRES_URL")
        .map_err(|_| qore_core::Error::invalid("run through scripts/servers.sh (QORE_TEST_POSTGRES_URL)"))?;
    let conn = qore_drivers::connect(&url).await?;
    conn.execute("DROP TABLE IF EXISTS bench_edits", &[]).await?;
    conn.execute(
        "CREATE TABLE bench_edits (id int PRIMARY KEY, grp int NOT NULL, name text NOT NULL, score float8, note text)",
        &[],
    )
    .await?;
    conn.execute(
        &format!(
            "INSERT INTO bench_edits SELECT i, 1, 'name ' || i, i * 0.5, NULL FROM generate_series(1, {edits}) i"
        ),
        &[],
    )
    .await?;
    let reset = "UPDATE bench_edits SET name = 'name ' || id, score = id * 0.5";
    let t = TableRef::qualified("public", "bench_edits");
    let mut editor = Editor::new(conn.as_ref())?;
    // Every row read once (one query), then one edit of two cells each.
    let rows = editor
        .fetch(&t, &[("grp".into(), Value::Int(1))], edits as u64)
        .await?;
    let dir = std::env::temp_dir().join(format!("qore-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut changes = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let mut c = editor.update(
            r,
            vec![
                ("name".into(), Value::Text(format!("it's row {i} ✓"))),
                ("score".into(), Value::Float(i as f64 / 3.0)),
            ],
        )?;
        c.id = i as u64 + 1;
        changes.push(c);
    }
    // 1. The script.
    let mut times = Vec::new();
    let mut script = String::new();
    for _ in 0..20 {
        let start = Instant::now();
        let p = plan::forward(&changes, editor.models(), editor.dialect())?;
        script = p.script(editor.dialect())?;
        times.push(start.elapsed());
    }
    let worst = *times.iter().max().unwrap_or(&Duration::ZERO);
    println!(
        "script of {} edits: p50 {:.1} ms, worst {:.1} ms ({} KiB)",
        changes.len(),
        median(times).as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        script.len() / 1024
    );
    // 2. Apply, side by side with psql running the same script.
    std::fs::create_dir_all(&dir).map_err(|e| qore_core::Error::io("temp dir", e))?;
    let file = dir.join("edits.sql");
    std::fs::write(&file, &script).map_err(|e| qore_core::Error::io("script", e))?;
    let (mut ours, mut psql) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        conn.execute(reset, &[]).await?;
        let start = Instant::now();
        let p = plan::forward(&changes, editor.models(), editor.dialect())?;
        let report = qore_sandbox::apply(conn.as_ref(), &p, &changes, editor.models()).await?;
        ours.push(start.elapsed());
        assert!(report.committed() && report.rows == changes.len() as u64);
        conn.execute(reset, &[]).await?;
        let start = Instant::now();
        let out = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(&file)
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .output()
            .map_err(|e| qore_core::Error::io("cannot run psql", e))?;
        psql.push(start.elapsed());
        if !out.status.success() {
            return Err(qore_core::Error::invalid(format!(
                "psql failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
    }
    let (o, p) = (median(ours), median(psql));
    println!(
        "apply {} edits: qore {:.2} s, psql -f {:.2} s (median of 5): {:.2}x",
        changes.len(),
        o.as_secs_f64(),
        p.as_secs_f64(),
        o.as_secs_f64() / p.as_secs_f64()
    );
    conn.execute("DROP TABLE bench_edits", &[]).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
