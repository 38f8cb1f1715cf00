//! The whole interceptor chain (safety net + audit log + profiler) against
//! the raw session, side by side in one run: N small queries each, in
//! alternating blocks so that both see the same machine.
//!
//! Usage: `chain_overhead URL [N] [PARTS]` (default 10000 queries, all of
//! `safety,audit,profile`). The audit log goes to a temporary file (synced
//! per record, as in use).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use qore_core::intercept::{Chain, Intercepted, Profiler};
use qore_core::{Connection, ConnectionRef};

/// CPU time of every thread of this process so far (the runtime's workers
/// and the audit log's writer), in nanoseconds, from
/// `/proc/self/task/*/schedstat`; 0 where that is not available.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

async fn run(conn: &dyn Connection, n: usize) -> Result<Duration, Box<dyn std::error::Error>> {
    let start = Instant::now();
    for i in 0..n {
        let mut s = conn
            .query(&format!("SELECT {i} AS n, 'x' AS s"), &[])
            .await?;
        while let Some(b) = s.next().await {
            b?;
        }
    }
    Ok(start.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: chain_overhead URL [N]")?;
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let parts = args.next().unwrap_or_else(|| "safety,audit,profile".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let raw: ConnectionRef = qore_drivers::connect(&url).await?;
        let dir = std::env::temp_dir().join(format!("qore-chain-{}", std::process::id()));
        let audit = dir.join("audit.jsonl");
        let log = qore_safety::AuditLog::open(
            &audit,
            qore_safety::DEFAULT_MAX_BYTES,
            5,
            None,
            "bench".into(),
            None,
        )?;
        let mut chain = Chain::new();
        if parts.contains("safety") {
            chain = chain.with(Arc::new(qore_safety::SafetyNet::new()));
        }
        if parts.contains("audit") {
            chain = chain.with(Arc::new(log));
        }
        if parts.contains("profile") {
            chain = chain.with(Arc::new(Profiler::new()));
        }
        let guarded = Intercepted::new(raw.clone(), chain);
        run(&*raw, 200).await?;
        run(&guarded, 200).await?;
        // Alternating blocks, so both sides see the same machine; the
        // median of the blocks' ratios is robust to a block that met a
        // checkpoint or another process.
        let blocks = 20;
        let (mut t_raw, mut t_chain) = (Duration::ZERO, Duration::ZERO);
        let mut ratios = Vec::with_capacity(blocks);
        let (mut cpu_raw, mut cpu_chain) = (0u64, 0u64);
        for _ in 0..blocks {
            let t0 = cpu_ns();
            let r = run(&*raw, n / blocks).await?;
            let t1 = cpu_ns();
            let c = run(&guarded, n / blocks).await?;
            let t2 = cpu_ns();
            cpu_raw += t1 - t0;
            cpu_chain += t2 - t1;
            ratios.push(c.as_secs_f64() / r.as_secs_f64());
            t_raw += r;
            t_chain += c;
        }
        ratios.sort_by(f64::total_cmp);
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!("queries per side: {n}; chain: {parts}");
        println!("raw session:      {:.1} µs per query", per(t_raw));
        println!("whole chain:      {:.1} µs per query", per(t_chain));
        println!(
            "overhead:         {:+.1}% in total, {:+.1}% median of {blocks} blocks",
            (t_chain.as_secs_f64() / t_raw.as_secs_f64() - 1.0) * 100.0,
            (ratios[blocks / 2] - 1.0) * 100.0
        );
        // The client's own work, which the server's noise does not blur.
        let cpu = |ns: u64| ns as f64 / 1000.0 / n as f64;
        println!(
            "client CPU:       {:.1} µs per query raw, {:.1} µs through the chain ({:+.1} µs)",
            cpu(cpu_raw),
            cpu(cpu_chain),
            cpu(cpu_chain) - cpu(cpu_raw)
        );
        // Dropping the chain flushes the audit log: every record is there.
        drop(guarded);
        if parts.contains("audit") {
            let records = std::fs::read_to_string(&audit)?.lines().count();
            println!(
                "audit records:    {records} (expected {})",
                200 + n / blocks * blocks
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
