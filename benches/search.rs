//! Global search side by side in one run: `qore_search::search` against
//! phpMyAdmin's method (one table after another on one session: a
//! `COUNT(*)` with the OR of `LIKE '%needle%'` over the text columns, then
//! the SELECT of the matching rows when the count is not zero), on the same
//! generated database: TABLES tables of ROWS rows (id, three text columns,
//! a number), the needle planted in a few rows of every tenth table.
//! Prints first-hit and total times (medians), and how long a cancel
//! takes to return.
//!
//! Usage: `search URL [TABLES] [ROWS] [REPEAT] [--keep] [--reuse] [--needle
//! TEXT]` (default 200 tables × 10,000 rows, 3 rounds). The tables are made
//! once (`qsb_*`; `--reuse` keeps those of an earlier `--keep` run) and
//! dropped at the end unless `--keep`. The needle planted is always
//! `zanzibar😀`; `--needle` searches for another text (`zanzibar`, say, a
//! needle with no caseless part) that must be found in the same rows.
//! `--only baseline|qore|none` runs one side (or neither: the fixed cost of
//! opening the database), without the comparison or the cancel, for
//! counting instructions under cachegrind (`search.py --instructions`).

use std::time::{Duration, Instant};

use futures::StreamExt;
use qore_core::{ConnectionRef, DatabaseRef};
use qore_search::{SearchOptions, search};

type R<T> = Result<T, Box<dyn std::error::Error>>;

const NEEDLE: &str = "zanzibar😀";

async fn exec(c: &ConnectionRef, sql: &str) -> R<()> {
    c.execute(sql, &[]).await?;
    Ok(())
}

async fn rows_of(c: &ConnectionRef, sql: &str) -> R<usize> {
    let mut s = c.query(sql, &[]).await?;
    let mut n = 0;
    while let Some(b) = s.next().await {
        n += b?.num_rows();
    }
    Ok(n)
}

async fn make(c: &ConnectionRef, tables: usize, rows: usize) -> R<()> {
    let d = c.dialect().ok_or("no SQL")?;
    exec(c, "DROP TABLE IF EXISTS qsb_digits").await?;
    exec(c, "CREATE TABLE qsb_digits (d INTEGER)").await?;
    exec(c, "INSERT INTO qsb_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)").await?;
    let needle = d.quote_string(NEEDLE)?;
    for t in 0..tables {
        exec(c, &format!("DROP TABLE IF EXISTS qsb_{t}")).await?;
        exec(
            c,
            &format!("CREATE TABLE qsb_{t} (id INTEGER PRIMARY KEY, name VARCHAR(100), email VARCHAR(100), note VARCHAR(200), qty INTEGER)"),
        )
        .await?;
        // Ids from as many digit tables as `rows` needs (up to four).
        let k = (1..=4).find(|k| 10usize.pow(*k) >= rows).unwrap_or(4) as usize;
        let names = ["a", "b", "e", "f"];
        let id = format!(
            "({})",
            (0..k).map(|i| format!("{}.d * {}", names[i], 10usize.pow((k - 1 - i) as u32))).collect::<Vec<_>>().join(" + ")
        );
        let from = (0..k).map(|i| format!("qsb_digits {}", names[i])).collect::<Vec<_>>().join(", ");
        let note = if t % 10 == 0 {
            format!("CASE WHEN {id} % 997 = 5 THEN {needle} ELSE 'plain note' END")
        } else {
            "'plain note'".to_string()
        };
        exec(
            c,
            &format!(
                "INSERT INTO qsb_{t} SELECT {id}, 'customer name', 'someone@example.com', {note}, {id} % 100 \
                 FROM {from} WHERE {id} < {rows}"
            ),
        )
        .await?;
    }
    Ok(())
}

/// The engine's own LIKE for the case asked: case-insensitive is ILIKE on
/// PostgreSQL and DuckDB, LIKE on SQLite (ASCII only) and on MariaDB (the
/// column's _ci collation); case-sensitive is LIKE, GLOB on SQLite and
/// LIKE BINARY on MariaDB.
fn like(engine: qore_core::Engine, col: &str, pattern: &str, glob: &str, ci: bool) -> String {
    use qore_core::Engine as E;
    match (engine, ci) {
        (E::Postgres | E::DuckDb, true) => format!("{col} ILIKE {pattern}"),
        (E::Sqlite, false) => format!("{col} GLOB {glob}"),
        (E::MySql, false) => format!("{col} LIKE BINARY {pattern}"),
        _ => format!("{col} LIKE {pattern}"),
    }
}

/// phpMyAdmin's way: table after table, count then select.
async fn baseline(c: &ConnectionRef, tables: usize, ci: bool, needle: &str) -> R<(Duration, Duration, usize)> {
    let d = c.dialect().ok_or("no SQL")?;
    let pattern = d.quote_string(&format!("%{needle}%"))?;
    let glob = d.quote_string(&format!("*{needle}*"))?;
    let start = Instant::now();
    let mut first = None;
    let mut hits = 0;
    let e = c.engine();
    for t in 0..tables {
        let filter = ["name", "email", "note"].map(|col| like(e, col, &pattern, &glob, ci)).join(" OR ");
        let counted = {
            let mut s = c.query(&format!("SELECT COUNT(*) FROM qsb_{t} WHERE {filter}"), &[]).await?;
            let mut n = 0i64;
            while let Some(b) = s.next().await {
                let b = b?;
                let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64)?;
                let col = col.as_any().downcast_ref::<arrow::array::Int64Array>().ok_or("count")?;
                n += col.iter().flatten().sum::<i64>();
            }
            n
        };
        if counted > 0 {
            hits += rows_of(c, &format!("SELECT * FROM qsb_{t} WHERE {filter}")).await?;
            first.get_or_insert(start.elapsed());
        }
    }
    Ok((first.unwrap_or_default(), start.elapsed(), hits))
}

async fn ours(db: &DatabaseRef, options: &SearchOptions, needle: &str) -> R<(Duration, Duration, usize)> {
    let start = Instant::now();
    let found = search(db.clone(), needle, options).await?;
    let mut s = found.stream;
    let mut first = None;
    let mut hits = 0;
    while let Some(b) = s.next().await {
        hits += b?.num_rows();
        first.get_or_insert(start.elapsed());
    }
    if !found.progress.skipped().is_empty() {
        return Err(format!("skipped: {:?}", found.progress.skipped()).into());
    }
    Ok((first.unwrap_or_default(), start.elapsed(), hits))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> R<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let needle = match args.iter().position(|a| a == "--needle") {
        Some(i) if i + 1 < args.len() => {
            let n = args.remove(i + 1);
            args.remove(i);
            n
        }
        Some(_) => return Err("--needle takes a text".into()),
        None => NEEDLE.to_string(),
    };
    if !NEEDLE.contains(needle.as_str()) {
        return Err(format!("the needle must be a part of the planted {NEEDLE}").into());
    }
    let only = match args.iter().position(|a| a == "--only") {
        Some(i) if i + 1 < args.len() => {
            let o = args.remove(i + 1);
            args.remove(i);
            if !["baseline", "qore", "none"].contains(&o.as_str()) {
                return Err(format!("--only takes baseline, qore or none, not {o:?}").into());
            }
            Some(o)
        }
        Some(_) => return Err("--only takes baseline, qore or none".into()),
        None => None,
    };
    let keep = args.iter().any(|a| a == "--keep");
    let reuse = args.iter().any(|a| a == "--reuse");
    args.retain(|a| !a.starts_with("--"));
    let url = args.first().ok_or("usage: search URL [TABLES] [ROWS] [REPEAT] [--keep] [--reuse] [--needle TEXT]")?;
    let tables: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let rows: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000).min(10_000);
    let repeat: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let db = qore_drivers::open(url).await?;
    let c = db.session().await?;
    if !reuse {
        let made = Instant::now();
        make(&c, tables, rows).await?;
        // A database at rest: the rows in the main file, not in a WAL
        // that every read of the fresh tables would go through.
        match db.engine() {
            qore_core::Engine::Sqlite => drop(rows_of(&c, "PRAGMA wal_checkpoint(TRUNCATE)").await?),
            qore_core::Engine::DuckDb => exec(&c, "CHECKPOINT").await?,
            _ => {}
        }
        // And on disk: the kernel's writeback of a fresh file would
        // otherwise share the cores with the timed runs.
        let _ = std::process::Command::new("sync").status();
        eprintln!("made {tables} tables of {rows} rows in {:.1} s", made.elapsed().as_secs_f64());
    }
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!("{}: {tables} tables × {rows} rows, needle {needle:?}, medians of {repeat}", db.engine());
    println!("| case | method | first hit | total | ratio |");
    println!("|---|---|---|---|---|");
    for ci in [true, false] {
        let options = SearchOptions {
            tables: vec!["qsb_*".into()],
            exclude_tables: vec!["qsb_digits".into()],
            per_table: 1000,
            limit: 1_000_000,
            case_sensitive: !ci,
            ..Default::default()
        };
        let (mut bf, mut bt, mut of, mut ot) = (vec![], vec![], vec![], vec![]);
        let (mut bh, mut oh) = (0, 0);
        for _ in 0..repeat {
            if only.as_deref().is_none_or(|o| o == "baseline") {
                let (f, t, h) = baseline(&c, tables, ci, &needle).await?;
                bf.push(f);
                bt.push(t);
                bh = h;
            }
            if only.as_deref().is_none_or(|o| o == "qore") {
                let (f, t, h) = ours(&db, &options, &needle).await?;
                of.push(f);
                ot.push(t);
                oh = h;
            }
        }
        if only.is_some() {
            continue;
        }
        if bh != oh {
            return Err(format!("the two methods disagree: baseline {bh} hits, qore {oh}").into());
        }
        let case = if ci { "insensitive" } else { "sensitive" };
        let (bt, ot) = (median(bt), median(ot));
        println!("| {case} | phpMyAdmin's (COUNT then SELECT, table after table, one session) | {} | {} | 1.00 |", ms(median(bf)), ms(bt));
        println!(
            "| {case} | qore search ({} sessions) | {} | {} | {:.2} |",
            options.sessions,
            ms(median(of)),
            ms(ot),
            ot.as_secs_f64() / bt.as_secs_f64().max(1e-9)
        );
    }
    if only.is_some() {
        return Ok(());
    }
    // Cancel: drop the stream after the first hit, time the drop.
    let options = SearchOptions { tables: vec!["qsb_*".into()], exclude_tables: vec!["qsb_digits".into()], ..Default::default() };
    let mut cancels = Vec::new();
    for _ in 0..repeat {
        let found = search(db.clone(), &needle, &options).await?;
        let mut s = found.stream;
        let _ = s.next().await;
        let t = Instant::now();
        drop(s);
        cancels.push(t.elapsed());
    }
    println!("cancel after the first hit returned in {}", ms(median(cancels)));
    if !keep {
        for t in 0..tables {
            exec(&c, &format!("DROP TABLE IF EXISTS qsb_{t}")).await?;
        }
        exec(&c, "DROP TABLE IF EXISTS qsb_digits").await?;
    }
    Ok(())
}
