//! Time per small statement on one open connection: what an interactive
//! user (or a global search over thousands of tables) waits for on every
//! statement, dominated by round trips to the server. `round_trips.py`
//! runs it beside psql and the mariadb client, optionally with an added
//! network delay.
//!
//! Usage: `latency URL N [PAUSE_MS]`. PAUSE_MS (default 0) is an untimed
//! pause before each statement, as a person or a program doing other work
//! between statements leaves. Prints one line per statement shape:
//! `shape mean_ms p50_ms`.

use std::time::Instant;

use futures::StreamExt;
use qore_core::{Connection, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: latency URL N")?;
    let n: usize = args.next().ok_or("usage: latency URL N")?.parse()?;
    let pause = std::time::Duration::from_millis(match args.next() {
        Some(p) => p.parse()?,
        None => 0,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let conn = qore_drivers::connect(&url).await?;
        let shapes: [(&str, &str, Vec<Value>); 2] = [
            ("select", "SELECT 1 AS one, 'two' AS two", vec![]),
            (
                "select_param",
                "SELECT 1 AS one, 'two' AS two WHERE 1 = ?",
                vec![Value::Int(1)],
            ),
        ];
        for (name, sql, params) in shapes {
            let sql = if url.starts_with("postgres") {
                sql.replace('?', "$1")
            } else {
                sql.to_string()
            };
            let mut times = Vec::with_capacity(n);
            for i in 0..n + 3 {
                tokio::time::sleep(pause).await;
                let start = Instant::now();
                let mut s = conn.query(&sql, &params).await?;
                let mut rows = 0;
                while let Some(b) = s.next().await {
                    rows += b?.num_rows();
                }
                if rows != 1 {
                    return Err(format!("{name}: {rows} rows instead of 1").into());
                }
                // The first runs warm caches up.
                if i >= 3 {
                    times.push(start.elapsed().as_secs_f64() * 1000.0);
                }
            }
            times.sort_by(f64::total_cmp);
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            println!("{name} {mean:.3} {:.3}", times[times.len() / 2]);
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
