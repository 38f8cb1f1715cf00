//! Cost of the safety net's classification per statement, by statement
//! size: p50 and p99 over many runs (the goal: p99 ≤ 50 µs up to 4 KB).
//!
//! Usage: `classify [RUNS]` (default 20000 per statement).

use std::time::Instant;

use qore_core::Engine;

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let columns: Vec<String> = (0..120).map(|i| format!("o.col_{i} AS c{i}")).collect();
    let wide = format!(
        "SELECT {} FROM orders o JOIN customers c ON c.id = o.customer_id \
         LEFT JOIN items i ON i.order_id = o.id WHERE o.created > '2024-01-01' \
         AND c.country IN ('fr', 'de', 'it') ORDER BY o.id LIMIT 100",
        columns.join(", ")
    );
    let big_update = format!(
        "UPDATE orders SET {} WHERE id = 42",
        (0..150)
            .map(|i| format!("col_{i} = 'value {i}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cases: Vec<(&str, Engine, String)> = vec![
        (
            "DELETE, no WHERE",
            Engine::Postgres,
            "DELETE FROM orders".into(),
        ),
        (
            "keyed UPDATE",
            Engine::MySql,
            "UPDATE orders SET qty = 3 WHERE id = 7".into(),
        ),
        (
            "CTE with DELETE",
            Engine::Postgres,
            "WITH gone AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM gone".into(),
        ),
        ("wide SELECT", Engine::Postgres, wide),
        ("wide UPDATE", Engine::MySql, big_update),
        (
            "MongoDB deleteMany",
            Engine::MongoDb,
            "db.users.deleteMany({status: 'gone', age: {$lt: 18}})".into(),
        ),
        ("Redis DEL", Engine::Redis, "DEL a b c".into()),
    ];
    println!(
        "{:<20} {:>7} {:>10} {:>10}",
        "statement", "bytes", "p50 µs", "p99 µs"
    );
    for (name, engine, sql) in cases {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let c = qore_safety::classify(engine, &sql);
            std::hint::black_box(&c);
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
        println!(
            "{name:<20} {:>7} {:>10.1} {:>10.1}",
            sql.len(),
            at(0.5),
            at(0.99)
        );
    }
}
