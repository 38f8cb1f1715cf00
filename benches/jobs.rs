//! No-op job throughput and claim latency of a job store: submits `JOBS`
//! jobs, runs `WORKERS` real [`Worker`]s (each with its own store handle,
//! as on separate machines, `CONCURRENCY` jobs at a time) until every job
//! has run, and prints one line of JSON: jobs/s end to end, and the round
//! trip of a single claim measured apart on an idle store. `benches/jobs.py`
//! runs it on SQLite and PostgreSQL.
//!
//! Usage: `jobs STORE [JOBS] [WORKERS] [CONCURRENCY]` (STORE: an SQLite
//! file or a PostgreSQL URL; 10,000 jobs, 2 workers, 16 at a time by
//! default).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qore_jobs::{ClaimFilter, Handler, JobContext, NewJob, Outcome, StoreRef, Worker};

/// Counts its runs; tells the bench when the last one ran.
struct Noop {
    ran: Arc<AtomicU64>,
    want: u64,
    all: tokio::sync::watch::Sender<bool>,
}

#[async_trait::async_trait]
impl Handler for Noop {
    fn kind(&self) -> &str {
        "noop"
    }

    async fn run(&self, _ctx: &mut JobContext) -> qore_core::Result<()> {
        if self.ran.fetch_add(1, Ordering::Relaxed) + 1 >= self.want {
            let _ = self.all.send(true);
        }
        Ok(())
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("jobs: {what}: {e}");
    std::process::exit(2);
}

async fn open(url: &str) -> StoreRef {
    qore_jobs::open_store(Some(url)).await.unwrap_or_else(|e| fail("open", e))
}

async fn submit(store: &StoreRef, n: usize) {
    for _ in 0..n {
        if let Err(e) = store.submit(NewJob::new("noop", serde_json::json!({}))).await {
            fail("submit", e);
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(url) = args.get(1) else {
        eprintln!("usage: jobs STORE [JOBS] [WORKERS] [CONCURRENCY]");
        std::process::exit(2);
    };
    let arg = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (jobs, workers, concurrency) = (arg(2, 10_000), arg(3, 2), arg(4, 16));
    let store = open(url).await;
    let submit_started = Instant::now();
    submit(&store, jobs).await;
    let submit_secs = submit_started.elapsed().as_secs_f64();

    let ran = Arc::new(AtomicU64::new(0));
    let (all, mut all_rx) = tokio::sync::watch::channel(false);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let handler = Arc::new(Noop { ran: ran.clone(), want: jobs as u64, all: all.clone() });
        let worker = Worker::new(open(url).await)
            .named(format!("bench-{w}"))
            .concurrency(concurrency)
            .poll(Duration::from_millis(5))
            .handler(handler);
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move { worker.run(stop).await }));
    }
    if all_rx.wait_for(|d| *d).await.is_err() {
        fail("run", "the workers stopped early");
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    for t in tasks {
        match t.await {
            Ok(Ok(r)) if r.failed + r.lost + r.retried == 0 => {}
            Ok(Ok(r)) => fail("run", format!("not every start succeeded: {r:?}")),
            Ok(Err(e)) => fail("worker", e),
            Err(e) => fail("worker", e),
        }
    }
    let ran = ran.load(Ordering::Relaxed);
    if ran != jobs as u64 {
        fail("run", format!("{ran} runs for {jobs} jobs"));
    }

    // A single claim's round trip, one at a time.
    let probes = 500.min(jobs).max(1);
    submit(&store, probes).await;
    let filter = ClaimFilter::default();
    let mut claims = Vec::with_capacity(probes);
    loop {
        let t = Instant::now();
        match store.claim("probe", &filter, Duration::from_secs(30)).await {
            Ok(Some((_, lease))) => {
                claims.push(t.elapsed());
                if let Err(e) = store.complete(&lease, &Outcome::Succeeded).await {
                    fail("complete", e);
                }
            }
            Ok(None) => break,
            Err(e) => fail("claim", e),
        }
    }
    claims.sort();
    let pct = |p: f64| {
        let i = ((claims.len() as f64 - 1.0) * p).round() as usize;
        claims.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
    };
    println!(
        "{{\"store\":\"{}\",\"jobs\":{jobs},\"workers\":{workers},\"concurrency\":{concurrency},\"submit_per_s\":{:.0},\"jobs_per_s\":{:.0},\"claim_ms_p50\":{:.3},\"claim_ms_p99\":{:.3}}}",
        store.describe().split(':').next().unwrap_or("?"),
        jobs as f64 / submit_secs,
        jobs as f64 / secs,
        pct(0.5),
        pct(0.99)
    );
}
