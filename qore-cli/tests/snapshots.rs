//! `qore snapshot`: results saved, read back exactly, listed, exported,
//! removed; damaged files and bad names refused clearly.

use crate::util::Qore;

/// Every DuckDB type of the type-mapping tables, NULLs included.
const TYPES: &str = "SELECT 1::TINYINT AS t, 12345678901234567890::HUGEINT AS h, 1.5::DECIMAL(20, 4) AS d, \
     'x\"y\\n,'::VARCHAR AS s, [1, 2]::INT[] AS l, {'a': 1} AS st, MAP {'k': 'v'} AS m, \
     TIMESTAMPTZ '2024-02-29 13:14:15.5+00' AS tz, INTERVAL 3 DAY AS i, 'NaN'::DOUBLE AS nan, \
     '\\xAA'::BLOB AS b, DATE '0001-01-01' - INTERVAL 1 DAY AS bc, NULL::INT AS n, TIME '24:00:00' AS t24 \
     UNION ALL SELECT NULL, NULL, NULL, '', [], NULL, NULL, NULL, NULL, '-inf'::DOUBLE, NULL, NULL, 7, NULL";

#[test]
fn a_snapshot_reads_back_as_the_live_result_in_every_format() {
    let q = Qore::new();
    let err = q.ok_err(&["snapshot", "save", "types", "--db", "duckdb:", TYPES]);
    assert!(err.contains("saved snapshot `types`: 2 rows"), "{err}");
    for format in ["csv", "json", "ndjson"] {
        let live = q.ok(&["query", "--db", "duckdb:", "--format", format, TYPES]);
        let back = q.ok(&["snapshot", "export", "types", "-o", "-", "--format", format]);
        assert_eq!(back, live, "{format}");
    }
    // Parquet and Arrow files from the snapshot, read back by the same tool.
    q.ok(&["snapshot", "export", "types", "-o", "types.parquet"]);
    let again = q.ok(&["query", "--format", "csv", "SELECT count(*) AS n FROM 'types.parquet'"]);
    assert_eq!(again, "n\n2\n");

    let ls = q.ok(&["snapshot", "ls", "--format", "csv"]);
    assert!(ls.starts_with("name,rows,size,saved,engine,source,query\ntypes,2,"), "{ls}");
    assert!(ls.contains(",DuckDB,duckdb::memory:,"), "{ls}");
    let show = q.ok(&["snapshot", "show", "types", "--rows", "1"]);
    assert!(show.contains("rows     2") && show.contains("(checked)") && show.contains("12345678901234567890"), "{show}");
    let table = show.split("(checked)").nth(1).unwrap();
    assert!(table.contains("NaN") && !table.contains("-inf"), "only the first row: {show}");
}

#[test]
fn a_table_keeps_its_indicators_and_names_are_guarded() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&["snapshot", "save", "orders", "--db", "shop.db", "--table", "orders"]);
    let show = q.ok(&["snapshot", "show", "orders", "--rows", "3"]);
    assert!(show.contains("INTEGER PK") && show.contains("FK→main.customers(id)"), "{show}");
    // An existing name is refused, and the snapshot is untouched.
    let (code, _, err) = q.outcome(&["snapshot", "save", "orders", "--db", "shop.db", "select 1 as x"]);
    assert_eq!(code, 2);
    assert!(err.contains("snapshot `orders` exists") && err.contains("--force"), "{err}");
    assert!(q.ok(&["snapshot", "show", "orders"]).contains("rows     30000"));
    q.ok(&["snapshot", "save", "orders", "--force", "--db", "shop.db", "select 1 as x"]);
    assert!(q.ok(&["snapshot", "show", "orders"]).contains("rows     1\n"));
    // Names that are not names.
    let (code, _, err) = q.outcome(&["snapshot", "save", "a b", "--db", "shop.db", "select 1"]);
    assert_eq!(code, 2);
    assert!(err.contains("`a b` is not a snapshot name"), "{err}");
    // A failing statement leaves nothing behind.
    let (code, _, _) = q.outcome(&["snapshot", "save", "broken", "--db", "shop.db", "select * from nope"]);
    assert_eq!(code, 2);
    let files: Vec<_> = std::fs::read_dir(q.path("data/qore/snapshots")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    q.ok(&["snapshot", "rm", "orders"]);
    let (code, _, err) = q.outcome(&["snapshot", "rm", "orders"]);
    assert_eq!(code, 2);
    assert!(err.contains("snapshot `orders`"), "{err}");
}

#[test]
fn damaged_and_truncated_snapshots_are_errors() {
    let q = Qore::new();
    q.ok(&["snapshot", "save", "big", "--db", "duckdb:", "select range as id, 'row ' || range as s from range(50000)"]);
    let path = q.path("data/qore/snapshots/big.arrow");
    let good = std::fs::read(&path).unwrap();
    // One flipped byte in the middle of the data.
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x40;
    std::fs::write(&path, &bad).unwrap();
    for args in [&["snapshot", "show", "big"][..], &["snapshot", "export", "big", "-o", "big.csv"][..]] {
        let (code, _, err) = q.outcome(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains("is damaged"), "{err}");
    }
    assert!(!q.path("big.csv").exists(), "nothing written from a damaged snapshot");
    // Cut short.
    std::fs::write(&path, &good[..good.len() * 2 / 3]).unwrap();
    let (code, _, err) = q.outcome(&["snapshot", "show", "big"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a whole snapshot"), "{err}");
    // A damaged file is not listed as a snapshot.
    assert_eq!(q.ok(&["snapshot", "ls", "--format", "csv"]), "name,rows,size,saved,engine,source,query\n");
    std::fs::write(&path, &good).unwrap();
    assert!(q.ok(&["snapshot", "show", "big"]).contains("rows     50000"));
}

#[test]
fn snapshots_are_queried_and_diffed_against_live_data_and_each_other() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&["snapshot", "save", "before", "--db", "shop.db", "select * from orders"]);
    // Queried like a database: the snapshot is a table of its name.
    let n = q.ok(&["query", "--db", "snapshot:before", "--format", "csv", "select count(*) as n, sum(id) as s from before"]);
    let live = q.ok(&["query", "--db", "shop.db", "--format", "csv", "select count(*) as n, sum(id) as s from orders"]);
    assert_eq!(n, live);
    // The snapshot equals the live result it was taken from.
    let (code, out, err) = q.outcome(&[
        "diff", "--left", "snapshot:before", "--right", "shop.db", "--right-query", "select * from orders", "--key", "id",
        "--format", "summary",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // Two known changes, found exactly, against live data and between snapshots.
    q.ok(&["query", "--db", "shop.db", "UPDATE orders SET status = 'cancelled' WHERE id IN (2, 3) AND status <> 'cancelled'"]);
    q.ok(&["query", "--db", "shop.db", "DELETE FROM order_items WHERE order_id = 5; DELETE FROM orders WHERE id = 5"]);
    q.ok(&["snapshot", "save", "after", "--db", "shop.db", "select * from orders"]);
    for right in [&["--right", "shop.db", "--right-query", "select * from orders"][..], &["--right", "snapshot:after"][..]] {
        let mut args = vec!["diff", "--left", "snapshot:before"];
        args.extend_from_slice(right);
        args.extend_from_slice(&["--key", "id", "--format", "ndjson"]);
        let (code, out, err) = q.outcome(&args);
        assert_eq!(code, 1, "{err}");
        let mut found: Vec<(String, i64)> = out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| (v["diff"].as_str().unwrap().to_string(), v["id"].as_i64().unwrap()))
            .collect();
        found.sort();
        assert_eq!(found, [("changed".to_string(), 2), ("changed".into(), 3), ("removed".into(), 5)], "{right:?}");
    }
    let (code, out, _) = q.outcome(&["diff", "--left", "snapshot:before", "--right", "snapshot:after", "--key", "id", "--format", "summary"]);
    assert_eq!(code, 1);
    assert!(out.contains("left snapshot:before (30000 rows), right snapshot:after (29999 rows)"), "{out}");
    assert!(out.contains("29997 equal, 2 changed, 0 added (right only), 1 removed (left only)"), "{out}");
    // A snapshot that does not exist.
    let (code, _, err) = q.outcome(&["query", "--db", "snapshot:nope", "select 1"]);
    assert_eq!(code, 2);
    assert!(err.contains("snapshot `nope`"), "{err}");
}
