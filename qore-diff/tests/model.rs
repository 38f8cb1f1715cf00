//! The diff against a model: random table pairs with known inserted,
//! deleted and changed rows (compound keys, text keys with `-`, mixed case
//! and unicode, NULLs, every type) on pairs of real engines; the diff must
//! report exactly those differences. The same data in two engines must
//! diff to nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use common::{Engine, lit, unique};
use futures::StreamExt;
use proptest::prelude::*;
use qore_diff::{Algorithm, DiffOptions, diff};

/// One row of the model: key (k1, k2), then i, cents, f, ts micros, t, b.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    k1: i64,
    k2: String,
    i: Option<i32>,
    cents: i64,
    f: f64,
    ts: i64,
    t: Option<String>,
    b: bool,
}

const COLS: [&str; 6] = ["i", "d", "f", "ts", "t", "b"];

fn ts_text(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // 2020-01-01 + days (days < 28 keeps the arithmetic trivial).
    format!("2020-01-{:02} {:02}:{:02}:{:02}.{:06}", 1 + days, rem / 3600, rem / 60 % 60, rem % 60, frac)
}

fn f_text(f: f64) -> String {
    if f == 0.0 && f.is_sign_negative() { "-0.0".into() } else { format!("{f:?}") }
}

fn values(r: &Row) -> String {
    let b = if r.b { "TRUE" } else { "FALSE" };
    format!(
        "({}, {}, {}, {}{}.{:02}, {}, {}, {}, {b})",
        r.k1,
        lit(&r.k2),
        r.i.map_or("NULL".into(), |v| v.to_string()),
        if r.cents < 0 { "-" } else { "" },
        r.cents.abs() / 100,
        r.cents.abs() % 100,
        f_text(r.f),
        lit(&ts_text(r.ts)),
        r.t.as_deref().map_or("NULL".into(), lit),
    )
}

async fn load(e: &Engine, table: &str, rows: &[Row], compound: bool) {
    let t = e.types;
    let key = if compound { "PRIMARY KEY (k1, k2)" } else { "PRIMARY KEY (k1)" };
    let mut stmts = vec![format!(
        "CREATE TABLE {table} (k1 {} NOT NULL, k2 {} NOT NULL, i {}, d {}, f {}, ts {}, t {}, b {}, {key})",
        t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
    )];
    for chunk in rows.chunks(200) {
        let vals: Vec<String> = chunk.iter().map(values).collect();
        stmts.push(format!("INSERT INTO {table} VALUES {}", vals.join(", ")));
    }
    e.run(&stmts).await;
}

fn key_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "A", "b", "B-2", "a-b", "é", "É", "z", "Ω", "zz", "-", "ab", "aB"]).prop_map(str::to_string)
}

fn row_strategy() -> impl Strategy<Value = Row> {
    (
        0i64..40,
        key_strategy(),
        prop::option::of(-1000i32..1000),
        -99_999i64..99_999,
        prop::sample::select(vec![-0.0, 0.0, 0.1, 1.5e-7, 123456.789, -2.5, 1e15]),
        0i64..(20 * 86_400 * 1_000_000),
        prop::option::of(prop::sample::select(vec!["x", "X", "hello world", "ünï", "", "a'b", "NULL"]).prop_map(str::to_string)),
        any::<bool>(),
    )
        .prop_map(|(k1, k2, i, cents, f, ts, t, b)| Row { k1, k2, i, cents, f, ts, t, b })
}

/// What the right side gets: deletions, insertions, and one changed
/// column per updated row.
#[derive(Debug, Clone)]
struct Case {
    base: Vec<Row>,
    delete: Vec<prop::sample::Index>,
    update: Vec<(prop::sample::Index, usize)>,
    insert: Vec<Row>,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(row_strategy(), 5..80),
        prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        prop::collection::vec((any::<prop::sample::Index>(), 0usize..6), 0..8),
        prop::collection::vec(row_strategy(), 0..6),
    )
        .prop_map(|(base, delete, update, insert)| Case { base, delete, update, insert })
}

type Key = (i64, String);

fn keyed(rows: &[Row], compound: bool) -> BTreeMap<Key, Row> {
    let mut m = BTreeMap::new();
    for r in rows {
        let k = (r.k1, if compound { r.k2.clone() } else { String::new() });
        m.entry(k).or_insert_with(|| r.clone());
    }
    m
}

fn changed(r: &mut Row, col: usize) {
    match col {
        0 => r.i = Some(r.i.map_or(7, |v| v + 1)),
        1 => r.cents += 1,
        2 => r.f += 1.0,
        3 => r.ts += 1,
        4 => r.t = Some(match r.t.as_deref() { Some("x") => "X".into(), Some(s) => format!("{s}!"), None => "new".into() }),
        _ => r.b = !r.b,
    }
}

/// The expected differences: kind by key, with the changed columns.
type Expected = BTreeMap<Key, (&'static str, Vec<&'static str>)>;

fn expected(case: &Case, compound: bool) -> (Vec<Row>, Vec<Row>, Expected) {
    let left = keyed(&case.base, compound);
    let mut right = left.clone();
    let keys: Vec<Key> = left.keys().cloned().collect();
    let mut exp = BTreeMap::new();
    for d in &case.delete {
        let k = d.get(&keys).clone();
        if right.remove(&k).is_some() {
            exp.insert(k, ("removed", vec![]));
        }
    }
    for (u, col) in &case.update {
        let k = u.get(&keys).clone();
        if let Some(r) = right.get_mut(&k) {
            changed(r, *col);
        }
    }
    // What changed is what differs in the end (two updates can undo each other).
    for (k, r) in &right {
        let l = &left[k];
        let cols: Vec<&'static str> = [
            l.i != r.i,
            l.cents != r.cents,
            l.f != r.f,
            l.ts != r.ts,
            l.t != r.t,
            l.b != r.b,
        ]
        .iter()
        .zip(COLS)
        .filter(|(d, _)| **d)
        .map(|(_, c)| c)
        .collect();
        if !cols.is_empty() {
            exp.insert(k.clone(), ("changed", cols));
        }
    }
    for r in &case.insert {
        let k = (r.k1 + 1000, if compound { r.k2.clone() } else { String::new() });
        if !right.contains_key(&k) {
            let mut r = r.clone();
            r.k1 += 1000;
            right.insert(k.clone(), r);
            exp.insert(k, ("added", vec![]));
        }
    }
    for v in exp.values_mut() {
        v.1.sort();
    }
    (left.into_values().collect(), right.into_values().collect(), exp)
}

async fn check(l: &Engine, r: &Engine, case: &Case, compound: bool, algorithm: Algorithm) {
    let (left_rows, right_rows, exp) = expected(case, compound);
    let table = unique("dm");
    load(l, &table, &left_rows, compound).await;
    let rt = if l.url == r.url { format!("{table}_r") } else { table.clone() };
    load(r, &rt, &right_rows, compound).await;
    let options = DiffOptions { algorithm, segment_rows: Some(4), ..Default::default() };
    let mut d = diff(l.side(&table).await, r.side(&rt).await, options).await.unwrap();
    let mut got = BTreeMap::new();
    while let Some(b) = d.stream.next().await {
        let b = b.unwrap();
        let kinds = b.column(0).as_string::<i32>();
        let k1 = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Int64).unwrap();
        let k1 = k1.as_primitive::<arrow::datatypes::Int64Type>();
        let k2 = compound.then(|| arrow::compute::cast(b.column(2), &arrow::datatypes::DataType::Utf8).unwrap());
        let ch = b.column_by_name("changed").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            let key = (k1.value(i), k2.as_ref().map_or(String::new(), |a| a.as_string::<i32>().value(i).to_string()));
            let mut cols: Vec<&'static str> = if ch.is_null(i) {
                vec![]
            } else {
                let names: Vec<String> = serde_json::from_str(ch.value(i)).unwrap();
                COLS.iter().copied().filter(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c))).collect()
            };
            cols.sort();
            assert!(got.insert(key.clone(), (kinds.value(i).to_string(), cols)).is_none(), "{key:?} reported twice");
        }
    }
    let summary = d.summary().expect("a summary after the stream");
    let exp: BTreeMap<Key, (String, Vec<&str>)> = exp.into_iter().map(|(k, (a, b))| (k, (a.to_string(), b))).collect();
    assert_eq!(got, exp, "{} vs {} ({algorithm:?}, compound {compound}); notes {:?}", l.name, r.name, summary.notes);
    let n = |k: &str| exp.values().filter(|v| v.0 == k).count() as u64;
    assert_eq!((summary.added, summary.removed, summary.changed), (n("added"), n("removed"), n("changed")));
    assert_eq!(summary.equal + summary.changed + summary.removed, left_rows.len() as u64, "{summary:?}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn config() -> ProptestConfig {
    // Six cases per pair in CI; QORE_DIFF_CASES=200 for the long run.
    let cases = std::env::var("QORE_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn postgres_to_postgres(case in case_strategy()) {
        runtime().block_on(async {
            let (a, b) = (Engine::postgres(), Engine::postgres());
            check(&a, &b, &case, true, Algorithm::Stream).await;
            check(&a, &b, &case, false, Algorithm::Bisect).await;
        });
    }

    #[test]
    fn postgres_to_mariadb(case in case_strategy()) {
        runtime().block_on(async {
            let (a, b) = (Engine::postgres(), Engine::mariadb());
            check(&a, &b, &case, true, Algorithm::Stream).await;
            check(&a, &b, &case, false, Algorithm::Bisect).await;
        });
    }

    #[test]
    fn postgres_to_sqlite(case in case_strategy()) {
        runtime().block_on(async {
            check(&Engine::postgres(), &Engine::sqlite(), &case, true, Algorithm::Auto).await;
        });
    }

    #[test]
    fn mariadb_to_duckdb(case in case_strategy()) {
        runtime().block_on(async {
            let (a, b) = (Engine::mariadb(), Engine::duckdb());
            check(&a, &b, &case, true, Algorithm::Stream).await;
            check(&a, &Engine::duckdb(), &case, false, Algorithm::Bisect).await;
        });
    }
}
