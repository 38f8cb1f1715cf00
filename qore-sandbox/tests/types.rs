//! Every mapped type through edits: row 1 takes every cell of row 2
//! (values as read, of every type), forward with bound values and back with
//! the undo script's literals, then forward with the script and back with
//! bound values; each time the row must hold exactly the other row's
//! values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Engine, rows};
use qore_core::{ConnectionRef, Value};
use qore_sandbox::{Editor, Sandbox, plan};

async fn run_script(c: &ConnectionRef, script: &str) {
    let flavor = qore_core::sql::Flavor::of(c.engine());
    for st in qore_core::sql::split_statements_in(script, flavor) {
        let st = st.trim();
        if !st.is_empty() {
            c.execute(st, &[])
                .await
                .unwrap_or_else(|e| panic!("{st}: {e}"));
        }
    }
}

async fn row(e: &Engine, c: &ConnectionRef, id: i64) -> Vec<Value> {
    let mut r = rows(c, &format!("SELECT * FROM {} WHERE id = {id}", e.sql_name("ty"))).await;
    assert_eq!(r.len(), 1);
    let mut r = r.remove(0);
    r.remove(0);
    r
}

async fn every_type(e: Engine, setup: &[&str], columns: &str, one: &str, two: &str) {
    let c = e.connect().await;
    for s in setup {
        c.execute(s, &[]).await.unwrap();
    }
    c.execute(&format!("CREATE TABLE {} (id INT PRIMARY KEY, {columns})", e.sql_name("ty")), &[])
        .await
        .unwrap();
    c.execute(&format!("INSERT INTO {} VALUES (1, {one}), (2, {two})", e.sql_name("ty")), &[])
        .await
        .unwrap();
    let (first, second) = (row(&e, &c, 1).await, row(&e, &c, 2).await);
    assert_ne!(first, second, "{}: the two rows differ in every column", e.name);
    let t = e.table("ty");
    let dir = tempfile::tempdir().unwrap();
    let mut editor = Editor::new(c.as_ref()).unwrap();
    let names: Vec<String> = editor.model(&t).await.unwrap().columns.iter().skip(1).map(|c| c.name.clone()).collect();
    let r1 = editor.fetch_one(&t, &[("id".into(), Value::Int(1))]).await.unwrap();
    let r2 = editor.fetch_one(&t, &[("id".into(), Value::Int(2))]).await.unwrap();
    let cells: Vec<(String, Value)> = names.iter().map(|n| (n.clone(), r2.get(n).unwrap().clone())).collect();
    // Bound forward, literal back.
    let mut s = Sandbox::open(&dir.path().join("a.json"), "a", "t").unwrap();
    s.record(editor.update(&r1, cells.clone()).unwrap()).unwrap();
    // A delete of row 2 too: its undo inserts every type back.
    s.record(editor.delete(&r2)).unwrap();
    let report = editor.apply_sandbox(&mut s).await.unwrap();
    assert!(report.committed(), "{}: {:?}", e.name, report.conflicts);
    assert_eq!(row(&e, &c, 1).await, second, "{}: bound values", e.name);
    let undo = qore_sandbox::ops::script(c.as_ref(), &s, true).await.unwrap();
    run_script(&c, &undo).await;
    assert_eq!(row(&e, &c, 1).await, first, "{}: the undo script's literals\n{undo}", e.name);
    assert_eq!(row(&e, &c, 2).await, second, "{}: the undo script's insert\n{undo}", e.name);
    // Literal forward, bound back.
    let r1 = editor.fetch_one(&t, &[("id".into(), Value::Int(1))]).await.unwrap();
    let change = {
        let mut ch = editor.update(&r1, cells).unwrap();
        ch.id = 1;
        ch
    };
    let script = editor.plan(std::slice::from_ref(&change)).await.unwrap().script(editor.dialect()).unwrap();
    run_script(&c, &script).await;
    assert_eq!(row(&e, &c, 1).await, second, "{}: the script's literals\n{script}", e.name);
    let back = plan::undo(std::slice::from_ref(&change), &[], editor.models(), editor.dialect()).unwrap();
    let report = qore_sandbox::apply(c.as_ref(), &back, std::slice::from_ref(&change), editor.models()).await.unwrap();
    assert!(report.committed());
    assert_eq!(row(&e, &c, 1).await, first, "{}: bound values back", e.name);
}

#[tokio::test]
async fn sqlite_types() {
    every_type(
        Engine::sqlite(),
        &[],
        "i INTEGER, r REAL, t TEXT, b BLOB, n NUMERIC, bo BOOLEAN, d DATE, ts DATETIME, de DECIMAL(10,2), v VARCHAR(10), u",
        "1, 0.1, 'it''s', X'00FF', 12.5, 1, '2024-02-29', '2024-02-29 13:14:15', 1.25, 'ü', 'any'",
        "-9223372036854775808, -1e300, 'a\\b\"c✓', X'', 7, 0, '1999-12-31', '2000-01-01 00:00:00.5', 99.99, '', X'01'",
    )
    .await;
}

#[tokio::test]
async fn duckdb_types() {
    every_type(
        Engine::duckdb(),
        &[],
        "ti TINYINT, si SMALLINT, i INTEGER, bi BIGINT, hi HUGEINT, ut UTINYINT, ub UBIGINT, f FLOAT, d DOUBLE, \
         de DECIMAL(18,4), bo BOOLEAN, t VARCHAR, b BLOB, da DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, \
         iv INTERVAL, u UUID",
        "-128, -32768, -2147483648, -9223372036854775808, 170141183460469231731687303715884105727, 0, 0, 1.5, 0.1, \
         -12345678.1234, true, 'it''s', '\\x00\\xFF'::BLOB, '2024-02-29', '13:14:15.5', '2024-02-29 13:14:15.123456', \
         '2024-02-29 13:14:15+01', INTERVAL '1 year 2 days 3 seconds', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
        "127, 32767, 2147483647, 9223372036854775807, -5, 255, 18446744073709551615, -0.25, -1e300, \
         0.0001, false, 'a\\b✓', ''::BLOB, '0001-01-01', '00:00:00', '1970-01-01 00:00:00', \
         '1999-12-31 23:59:59.999999+00', INTERVAL '-3 months', '00000000-0000-0000-0000-000000000000'",
    )
    .await;
}

#[tokio::test]
async fn postgres_types() {
    let e = Engine::postgres("sbx_types").await;
    let ns = e.namespace.clone().unwrap();
    every_type(
        e,
        &[&format!("CREATE TYPE {ns}.mood AS ENUM ('sad', 'happy')")],
        &format!(
            "b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric(12, 3), fre numeric, m money, \
             t text, vc varchar(10), ch char(2), by bytea, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, \
             iv interval, u uuid, j json, jb jsonb, ip inet, net cidr, mac macaddr, bits bit(4), vbits varbit, \
             e {ns}.mood, x xml, pt point, tsv tsvector, arr int4[], tarr text[]"
        ),
        "true, 1, 2, 3, 1.5, 0.1, 12.5, 1e-20, 12.50, 'it''s', 'ü', 'z', '\\x00ff', '2024-02-29', '13:14:15.5', \
         '13:14:15+05:30', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15+01', '1 year 2 days 3 seconds', \
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": null}', '192.168.0.1', '10.0.0.0/8', \
         '08:00:2b:01:02:03', B'1011', B'01', 'happy', '<a>1</a>', point(1.5, 2), 'a fat cat', \
         ARRAY[1, NULL, 3], ARRAY['it''s', 'a \"b\" \\ c', NULL, '']",
        "false, -32768, -2147483648, -9223372036854775808, 'Infinity', -1e300, -123456789.123, 123456789012345678901234567890.5, \
         -0.01, 'a\\b✓', '', 'yy', '\\x', '4713-01-01 BC', '00:00:00', '00:00:00-12', '1999-12-31 23:59:59.999999', \
         '9999-12-31 23:59:59+00', '-3 months', '00000000-0000-0000-0000-000000000000', '[]', '{}', '::1', '::/0', \
         'ff:ff:ff:ff:ff:ff', B'0000', B'', 'sad', '<b/>', point(-1, 0), '', \
         '{}', ARRAY['NULL', '{x}', 'é✓']",
    )
    .await;
}

#[tokio::test]
async fn mysql_types() {
    let e = Engine::mysql("sbx_types").await;
    every_type(
        e,
        &[],
        "ti TINYINT, tu TINYINT UNSIGNED, bo BOOLEAN, si SMALLINT, su SMALLINT UNSIGNED, mi MEDIUMINT, \
         iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, fl FLOAT, db DOUBLE, de DECIMAL(12, 4), bt BIT(12), \
         d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), y YEAR, ch CHAR(3), vc VARCHAR(20), tx TEXT, \
         bn BINARY(2), vb VARBINARY(8), bl BLOB, js JSON, en ENUM('a', 'b'), st SET('x', 'y'), \
         vbin VARCHAR(10) COLLATE utf8mb4_bin",
        "-128, 255, 1, -32768, 65535, -8388608, 4294967295, -9223372036854775808, 18446744073709551615, 1.5, 0.1, \
         -12345678.1234, b'101000000001', '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5', \
         '-838:59:58.5', 2024, 'ab', 'ünï', 'it''s', x'00ff', x'010203', x'deadbeef', '{\"a\": [1, 2]}', 'b', 'x,y', 'Bin'",
        "127, 0, 0, 32767, 0, 8388607, 0, 9223372036854775807, 0, -0.25, -1e300, 0.0001, b'0', '1000-01-01', \
         '1000-01-01 00:00:00', NULL, '00:00:00', 1901, '', 'a\\\\b✓', '', x'0000', x'', x'', '[]', 'a', '', 'bin'",
    )
    .await;
}
