//! Equal data in two engines diffs to nothing (and bisection's checksums
//! agree across engines); bad input gets a clear error, never a verdict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use arrow::array::AsArray;
use common::{Engine, unique};
use futures::StreamExt;
use qore_diff::{Algorithm, ColumnPair, DiffOptions, diff};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn same_rows_in_postgres_and_mariadb_are_equal_and_checksums_agree() {
    rt().block_on(async {
        let (pg, my) = (Engine::postgres(), Engine::mariadb());
        let t = unique("fid");
        let rows = "(1, 12.50, 0.1, 1.5e-7, '2024-02-29 10:00:00.123456', 'Ann-B', NULL, TRUE), \
                    (2, -3.00, -0.0, 123456.789, '1999-12-31 23:59:59.000001', 'ünï', 'x', FALSE), \
                    (3, 0.00, 1e300, -2.5, '2024-01-01 00:00:00', '', '', TRUE)";
        pg.run(&[
            format!("CREATE TABLE {t} (id bigint PRIMARY KEY, d numeric(12,2), f double precision, g double precision, ts timestamp(6), s text, n text, b boolean)"),
            format!("INSERT INTO {t} VALUES {rows}"),
        ])
        .await;
        my.run(&[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, d DECIMAL(12,2), f DOUBLE, g DOUBLE, ts DATETIME(6), s VARCHAR(20), n TEXT, b BOOLEAN)"),
            format!("INSERT INTO {t} VALUES {rows}"),
        ])
        .await;
        let d = diff(pg.side(&t).await, my.side(&t).await, DiffOptions::default()).await.unwrap();
        // Across engines auto streams (MD5 over every row costs more than
        // the rows); between two PostgreSQL tables it bisects natively.
        assert_eq!(d.algorithm, Algorithm::Stream);
        let s = d.finish().await.unwrap();
        assert!(s.is_equal() && s.equal == 3, "{s:?}");
        let native = diff(pg.side(&t).await, pg.side(&t).await, DiffOptions::default()).await.unwrap();
        assert_eq!(native.algorithm, Algorithm::Bisect);
        let s = native.finish().await.unwrap();
        assert!(s.is_equal() && s.notes.iter().any(|n| n.contains("checksums: the engine's native value hash")), "{s:?}");
        // The engines spell -0, 1e300 and 1.5e-7 differently (`-0`/`0`,
        // `1e+300`/`1e300`): a checksum may only cost a download there.
        // With values both spell alike, every checksum must match.
        let moderate = [
            format!("UPDATE {t} SET f = 0.5 WHERE id = 2"),
            format!("UPDATE {t} SET f = 2.5e10, g = 0.015 WHERE id = 3"),
            format!("UPDATE {t} SET g = -2.25 WHERE id = 1"),
        ];
        pg.run(&moderate).await;
        my.run(&moderate).await;
        for algorithm in [Algorithm::Stream, Algorithm::Bisect] {
            let o = DiffOptions { algorithm, segment_rows: Some(1), ..Default::default() };
            let s = diff(pg.side(&t).await, my.side(&t).await, o).await.unwrap().finish().await.unwrap();
            assert!(s.is_equal(), "{algorithm:?}: {s:?}");
            assert_eq!(s.equal, 3, "{s:?}");
            if algorithm == Algorithm::Bisect {
                // Every segment's checksum matched: nothing was downloaded.
                assert_eq!((s.algorithm.as_str(), s.rows_downloaded), ("bisect", 0), "{s:?}");
                assert!(s.segments_checked >= 1);
            }
        }
    });
}

#[test]
fn different_precisions_and_spellings_compare_equal_with_notes() {
    rt().block_on(async {
        let (pg, my) = (Engine::postgres(), Engine::mariadb());
        let t = unique("prec");
        pg.run(&[
            format!("CREATE TABLE {t} (id int PRIMARY KEY, ts timestamp(6), d numeric(12,2), r real, b boolean, j jsonb)"),
            format!("INSERT INTO {t} VALUES (1, '2024-05-01 10:00:00.987654', 1.50, 0.1, true, '{{\"a\": 1, \"b\": [1, 2]}}'), (2, NULL, NULL, NULL, NULL, NULL)"),
        ])
        .await;
        my.run(&[
            format!("CREATE TABLE {t} (id INT PRIMARY KEY, ts DATETIME, d DECIMAL(12,3), r DOUBLE, b TINYINT, j JSON)"),
            format!("INSERT INTO {t} VALUES (1, '2024-05-01 10:00:00', 1.500, 0.1, 1, '{{\"b\":[1,2.0],\"a\":1}}'), (2, NULL, NULL, NULL, NULL, NULL)"),
        ])
        .await;
        let d = diff(pg.side(&t).await, my.side(&t).await, DiffOptions::default()).await.unwrap();
        let s = d.finish().await.unwrap();
        assert!(s.is_equal(), "{s:?}");
        let notes = s.notes.join("\n");
        for expected in ["0 fractional", "scale 3", "single precision", "0/1", "JSON compared as values"] {
            assert!(notes.contains(expected), "no note with {expected:?} in:\n{notes}");
        }
        // A change below the lower precision is not one; above it is.
        my.run(&[format!("UPDATE {t} SET ts = '2024-05-01 10:00:01' WHERE id = 1")]).await;
        let s = diff(pg.side(&t).await, my.side(&t).await, DiffOptions::default()).await.unwrap().finish().await.unwrap();
        assert_eq!((s.changed, s.per_column.iter().find(|c| c.0 == "ts").map(|c| c.1)), (1, Some(1)), "{s:?}");
    });
}

#[test]
fn float_tolerance_trim_and_case_fold_are_options() {
    rt().block_on(async {
        let (a, b) = (Engine::sqlite(), Engine::duckdb());
        a.run(&["CREATE TABLE t (id INTEGER PRIMARY KEY, f REAL, s TEXT)".into(), "INSERT INTO t VALUES (1, 1.0, ' Ann '), (2, 100.0, 'x')".into()]).await;
        b.run(&["CREATE TABLE t (id INTEGER PRIMARY KEY, f DOUBLE, s VARCHAR)".into(), "INSERT INTO t VALUES (1, 1.0004, 'ann'), (2, 100.5, 'x')".into()]).await;
        let run = |o: DiffOptions| async { diff(a.side("t").await, b.side("t").await, o).await.unwrap().finish().await.unwrap() };
        assert_eq!(run(DiffOptions::default()).await.changed, 2);
        let loose = DiffOptions {
            float_tolerance: Some(qore_diff::Tolerance::parse("0.001").unwrap()),
            trim: true,
            case_fold: true,
            ..Default::default()
        };
        let s = run(loose).await;
        assert_eq!((s.changed, s.equal), (1, 1), "{s:?}");
        let rel = DiffOptions { float_tolerance: Some(qore_diff::Tolerance::parse("1%").unwrap()), trim: true, case_fold: true, ..Default::default() };
        assert!(run(rel).await.is_equal());
        assert!(qore_diff::Tolerance::parse("-1").is_err() && qore_diff::Tolerance::parse("abc").is_err());
    });
}

#[test]
fn queries_with_mapped_columns_and_filters() {
    rt().block_on(async {
        let (a, b) = (Engine::sqlite(), Engine::postgres());
        let t = unique("q");
        a.run(&["CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER)".into(), "INSERT INTO people VALUES (1,'Ann',30),(2,'Bob',40),(3,'Cy',50)".into()]).await;
        b.run(&[format!("CREATE TABLE {t} (pid int PRIMARY KEY, full_name text, age int)"), format!("INSERT INTO {t} VALUES (1,'Ann',30),(2,'Bob',41),(3,'Cy',50),(4,'Dee',60)")]).await;
        let o = DiffOptions {
            key: vec![ColumnPair::parse("id:pid")],
            columns: vec![ColumnPair::parse("name:full_name"), ColumnPair::parse("age")],
            filter: Some("age < 45".into()),
            right_filter: Some("age < 45 OR full_name = 'Dee'".into()),
            ..Default::default()
        };
        let mut d = diff(a.query_side("SELECT * FROM people").await, b.query_side(&format!("SELECT * FROM {t};")).await, o).await.unwrap();
        let mut kinds = Vec::new();
        while let Some(batch) = d.stream.next().await {
            let batch = batch.unwrap();
            assert_eq!(batch.schema().field(3).name(), "right.full_name");
            for i in 0..batch.num_rows() {
                kinds.push((batch.column(0).as_string::<i32>().value(i).to_string(), batch.column(1).as_primitive::<arrow::datatypes::Int64Type>().value(i)));
            }
        }
        assert_eq!(kinds, vec![("changed".to_string(), 2), ("added".to_string(), 4)]);
    });
}

#[test]
fn keyless_tables_compare_as_multisets() {
    rt().block_on(async {
        let (a, b) = (Engine::postgres(), Engine::duckdb());
        let t = unique("ms");
        a.run(&[format!("CREATE TABLE {t} (v int, s text)"), format!("INSERT INTO {t} VALUES (1,'a'),(1,'a'),(1,'a'),(2,NULL),(3,'c')")]).await;
        b.run(&[format!("CREATE TABLE {t} (v INTEGER, s VARCHAR)"), format!("INSERT INTO {t} VALUES (1,'a'),(2,NULL),(2,NULL),(4,'d')")]).await;
        let mut d = diff(a.side(&t).await, b.side(&t).await, DiffOptions::default()).await.unwrap();
        assert!(d.plan.multiset);
        let mut got = Vec::new();
        while let Some(batch) = d.stream.next().await {
            let batch = batch.unwrap();
            let copies = batch.column_by_name("copies").unwrap().as_primitive::<arrow::datatypes::UInt64Type>().clone();
            for i in 0..batch.num_rows() {
                got.push((batch.column(0).as_string::<i32>().value(i).to_string(), batch.column(1).as_primitive::<arrow::datatypes::Int32Type>().value(i), copies.value(i)));
            }
        }
        let s = d.summary().unwrap();
        assert_eq!(got, vec![("removed".into(), 1, 2), ("added".into(), 2, 1), ("removed".into(), 3, 1), ("added".into(), 4, 1)]);
        assert_eq!((s.equal, s.removed, s.added), (2, 3, 2));
    });
}

#[test]
fn bad_input_gets_clear_errors() {
    rt().block_on(async {
        let (a, b) = (Engine::sqlite(), Engine::sqlite());
        a.run(&["CREATE TABLE t (id INTEGER, v BOOLEAN, w DATE)".into(), "INSERT INTO t VALUES (1, 1, '2024-01-01'), (1, 0, '2024-01-02')".into()]).await;
        b.run(&["CREATE TABLE t (id INTEGER, v TEXT, x INTEGER)".into(), "INSERT INTO t VALUES (1, 'a', 1)".into()]).await;
        let key = |k: &str| DiffOptions { key: vec![ColumnPair::parse(k)], ..Default::default() };
        let e = diff(a.side("t").await, b.side("t").await, key("nope")).await.unwrap_err().to_string();
        assert!(e.contains("key column `nope` is not on the left side") && e.contains("id, v, w"), "{e}");
        // A boolean against a date: no rule compares them.
        let (c, d) = (Engine::duckdb(), Engine::duckdb());
        c.run(&["CREATE TABLE t (id INTEGER PRIMARY KEY, w BOOLEAN)".into()]).await;
        d.run(&["CREATE TABLE t (id INTEGER PRIMARY KEY, w DATE)".into()]).await;
        let e = diff(c.side("t").await, d.side("t").await, DiffOptions::default()).await.unwrap_err().to_string();
        let lower = e.to_lowercase();
        assert!(lower.contains("column w cannot be compared") && lower.contains("boolean on the left") && lower.contains("date32 on the right"), "{e}");
        // A key that repeats: the stream ends with an error naming it.
        let d = diff(a.side("t").await, b.side("t").await, DiffOptions { columns: vec![ColumnPair::parse("v")], ..key("id") }).await.unwrap();
        let e = d.finish().await.unwrap_err().to_string();
        assert!(e.contains("not unique on the left side") && e.contains("(1)") && e.contains("--multiset"), "{e}");
        let e = diff(a.side("t").await, b.side("t").await, DiffOptions { algorithm: Algorithm::Bisect, ..key("id") }).await.unwrap_err().to_string();
        assert!(e.contains("bisection cannot run"), "{e}");
    });
}

#[test]
fn a_connection_lost_mid_diff_is_an_error_not_a_verdict() {
    rt().block_on(async {
        let (pg, other) = (Engine::postgres(), Engine::sqlite());
        let t = unique("lost");
        pg.run(&[format!("CREATE TABLE {t} (id bigint PRIMARY KEY, pad text)"), format!("INSERT INTO {t} SELECT g, repeat('x', 40) FROM generate_series(1, 300000) g")]).await;
        other.run(&["CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)".into()]).await;
        let mut d = diff(pg.side(&t).await, other.side("t").await, DiffOptions { algorithm: Algorithm::Stream, ..Default::default() }).await.unwrap();
        let first = d.stream.next().await.unwrap().unwrap();
        assert!(first.num_rows() > 0);
        let killer = pg.conn().await;
        // Client backends only: an autovacuum worker analysing the new
        // table has its name in `query` too, and is not ours to kill.
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%{t}%' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        );
        qore_core::collect(killer.query(&sql, &[]).await.unwrap()).await.unwrap();
        let mut failed = None;
        while let Some(b) = d.stream.next().await {
            if let Err(e) = b {
                failed = Some(e);
                break;
            }
        }
        let e = failed.expect("the diff must fail when its left connection dies");
        assert!(e.to_string().contains("left side"), "{e}");
        assert!(d.summary().is_none(), "no summary (no verdict) after a failure");
        pg.run(&[format!("DROP TABLE {t}")]).await;
    });
}

#[test]
fn sqlite_text_timestamps_with_nulls_equal_duckdb_timestamps() {
    rt().block_on(async {
        // NULL slots of an Arrow array hold any value: truncating them must
        // not overflow (found by the tour, SQLite against DuckDB).
        let (a, b) = (Engine::sqlite(), Engine::duckdb());
        a.run(&["CREATE TABLE t (id INTEGER PRIMARY KEY, seen DATETIME)".into(), "INSERT INTO t VALUES (1, '2024-03-01 10:00:00'), (2, NULL), (3, '1999-12-31 23:59:59.5')".into()]).await;
        b.run(&["CREATE TABLE t (id INTEGER PRIMARY KEY, seen TIMESTAMP)".into(), "INSERT INTO t VALUES (1, '2024-03-01 10:00:00'), (2, NULL), (3, '1999-12-31 23:59:59.5')".into()]).await;
        let o = DiffOptions { time_precision: Some(0), ..Default::default() };
        let s = diff(a.side("t").await, b.side("t").await, o).await.unwrap().finish().await.unwrap();
        assert!(s.is_equal() && s.equal == 3, "{s:?}");
    });
}
