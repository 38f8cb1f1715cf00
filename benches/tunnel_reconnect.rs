//! How long a PostgreSQL session through an SSH tunnel takes to work again
//! after the sshd process serving the tunnel is killed: the tunnel notices
//! and logs in again, and the session replaces its dead connection through
//! the same local port. `benches/tunnel.py` runs it with the project's
//! servers up; it prints one line of JSON.
//!
//! It also counts this process's open file descriptors (`/proc/self/fd`)
//! and live tokio tasks before the first kill and after the last: a tunnel
//! that leaked a socket or a task per reconnect would show it here (run it
//! with 100 kills for the drop/restore loop).
//!
//! Usage: `tunnel_reconnect [KILLS]` (20 by default), with the
//! `QORE_TEST_POSTGRES_URL` and `QORE_TEST_SSH_*` variables of
//! `scripts/servers.sh`.

use std::time::{Duration, Instant};

use qore_core::{Connection, collect};

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        eprintln!("{var} is not set: run through scripts/servers.sh run --");
        std::process::exit(2)
    })
}

/// The processes under `pid` (sshd's per-connection sessions), from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            break;
        };
        for e in dir.flatten() {
            let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // The parent pid is the 2nd field after the `(comm)`.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if ppid == Some(p) {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

async fn select(c: &dyn Connection) -> qore_core::Result<()> {
    collect(c.query("SELECT 1", &[]).await?).await.map(|_| ())
}

#[tokio::main]
async fn main() {
    let kills: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("KILLS is a number"))
        .unwrap_or(20);
    let log = env("QORE_TEST_SSH_LOG");
    let pidfile = std::path::Path::new(&log).with_file_name("sshd.pid");
    let listener: u32 = std::fs::read_to_string(&pidfile)
        .expect("sshd.pid next to QORE_TEST_SSH_LOG")
        .trim()
        .parse()
        .expect("a pid");
    let url = format!(
        "{}?ssh={}@{}:{}&ssh_key={}&ssh_known_hosts={}",
        env("QORE_TEST_POSTGRES_URL"),
        env("QORE_TEST_SSH_USER"),
        env("QORE_TEST_SSH_HOST"),
        env("QORE_TEST_SSH_PORT"),
        env("QORE_TEST_SSH_KEY"),
        env("QORE_TEST_SSH_KNOWN_HOSTS")
    );
    let db = qore_drivers::open(&url).await.expect("connect through the tunnel");
    let c = db.session().await.expect("a session");
    select(&*c).await.expect("a first query");
    let (fds_before, tasks_before) = (open_fds(), alive_tasks());
    let mut times = Vec::with_capacity(kills);
    for round in 0..kills {
        let victims = descendants(listener);
        if victims.is_empty() {
            eprintln!("round {round}: no sshd session process to kill");
            std::process::exit(1);
        }
        let status = std::process::Command::new("kill")
            .arg("-KILL")
            .args(victims.iter().map(u32::to_string))
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill failed");
        let started = Instant::now();
        loop {
            match select(&*c).await {
                Ok(()) => break,
                Err(e) if started.elapsed() > Duration::from_secs(60) => {
                    eprintln!("round {round}: not back after 60 s: {e}");
                    std::process::exit(1);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        // Let the kernel and sshd settle between kills.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give the tunnel's background tasks a moment to wind down the last
    // dead session before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (fds_after, tasks_after) = (open_fds(), alive_tasks());
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let pick = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{{\"kills\": {kills}, \"p50_ms\": {:.1}, \"p90_ms\": {:.1}, \"max_ms\": {:.1}, \"min_ms\": {:.1}, \"session_reconnects\": {}, \"fds_before\": {fds_before}, \"fds_after\": {fds_after}, \"tasks_before\": {tasks_before}, \"tasks_after\": {tasks_after}}}",
        pick(0.5),
        pick(0.9),
        pick(1.0),
        pick(0.0),
        c.reconnects()
    );
}
