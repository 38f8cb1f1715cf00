//! PostgreSQL driver against a real server: `scripts/servers.sh run -- ...`
//! starts one and exports QORE_TEST_POSTGRES_URL (set it yourself to use
//! another server).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use arrow::datatypes::*;
use common::{contracts, rows, rows_with, runtime, server_url, text};
use futures::StreamExt;
use proptest::prelude::*;
use qore_core::ErrorKind;
use qore_core::{
    Catalog, Connection, ConnectionSpec, ConstraintKind, Error, TableKind, TableRef, Value, collect,
};
use qore_drivers::postgres::PostgresConnection;

fn url() -> String {
    server_url("QORE_TEST_POSTGRES_URL")
}

async fn connect() -> PostgresConnection {
    PostgresConnection::connect(&ConnectionSpec::parse(&url()).unwrap())
        .await
        .unwrap()
}

/// A fresh schema per test (tests run in parallel processes), set as the
/// search path of the returned connection.
async fn with_schema(name: &str) -> PostgresConnection {
    let c = connect().await;
    c.execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"), &[])
        .await
        .unwrap();
    c.execute(&format!("CREATE SCHEMA {name}"), &[])
        .await
        .unwrap();
    c.execute(&format!("SET search_path = {name}, public"), &[])
        .await
        .unwrap();
    c
}

/// Statements prepared for one call are closed after it (in the
/// background): a table changed by DDL on this or another session shows
/// its new shape at once, on the COPY and the prepared path, back to back
/// and in a transaction, and no prepared statement piles up on the server.
#[tokio::test]
async fn a_changed_table_shows_its_new_shape_and_statements_do_not_pile_up() {
    let c = with_schema("t_reshape").await;
    c.execute("CREATE TABLE t (a int)", &[]).await.unwrap();
    c.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let other = connect().await;
    for round in 0..3 {
        // The COPY path (no parameters) and the prepared one.
        let b = rows(&c, "SELECT * FROM t").await;
        assert_eq!(b.num_columns(), round + 1, "copy path, round {round}");
        let b = rows_with(&c, "SELECT * FROM t WHERE a = $1", &[Value::Int(1)]).await;
        assert_eq!(b.num_columns(), round + 1, "prepared path, round {round}");
        // Another session changes the table; then this one does.
        let col = format!("c{round}");
        let ddl = format!("ALTER TABLE t_reshape.t ADD COLUMN {col} int DEFAULT {round}");
        if round % 2 == 0 {
            other.execute(&ddl, &[]).await.unwrap();
        } else {
            c.execute(&ddl, &[]).await.unwrap();
        }
    }
    let tx = c.begin().await.unwrap();
    tx.execute("ALTER TABLE t ADD COLUMN late text DEFAULT 'x'", &[])
        .await
        .unwrap();
    let mut s = tx.query("SELECT * FROM t", &[]).await.unwrap();
    let first = s.next().await.unwrap().unwrap();
    assert_eq!(first.num_columns(), 5);
    drop(s);
    tx.rollback().await.unwrap();
    // Only the statement asking is prepared on the server now.
    let left = contracts::int(&c, "SELECT count(*) FROM pg_prepared_statements").await;
    assert!(left <= 1, "{left} prepared statements left");
}

#[tokio::test]
async fn every_mapped_type_reaches_arrow() {
    let c = with_schema("t_types").await;
    c.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')", &[])
        .await
        .unwrap();
    c.execute("CREATE DOMAIN posint AS int4 CHECK (VALUE > 0)", &[])
        .await
        .unwrap();
    let b = rows(
        &c,
        "SELECT true AS b, 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 1.5::float4 AS f4, 2.25::float8 AS f8, \
                12.5::numeric AS num, 12.5::money AS m, 'x'::text AS t, 'y'::varchar(3) AS vc, 'z'::char(2) AS ch, \
                'n'::name AS nm, '\\x00ff'::bytea AS by, '2024-02-29'::date AS d, '13:14:15.5'::time AS tm, \
                '13:14:15+05:30'::timetz AS ttz, '2024-02-29 13:14:15.123456'::timestamp AS ts, \
                '2024-02-29 13:14:15+01'::timestamptz AS tstz, '1 year 2 days 3 seconds'::interval AS iv, \
                'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '{\"a\": [1, 2]}'::json AS j, \
                '{\"b\": null}'::jsonb AS jb, '192.168.0.1'::inet AS ip, '10.0.0.0/8'::cidr AS net, \
                '08:00:2b:01:02:03'::macaddr AS mac, B'1011'::bit(4) AS bits, B'01'::varbit AS vbits, \
                '<a>1</a>'::xml AS x, ARRAY[1, NULL, 3]::int4[] AS arr, ARRAY['p', 'q']::text[] AS tarr, \
                'happy'::mood AS e, 5::posint AS dom, int4range(1, 10) AS r, \
                tstzrange('2024-01-01 00:00+00', '2024-01-02 00:00+00') AS tr, \
                'a fat cat'::tsvector AS tsv, 42::oid AS o, '16/B374D848'::pg_lsn AS lsn, point(1.5, 2) AS pt, \
                NULL::int4 AS nothing_here",
    )
    .await;
    let s = b.schema();
    let want = [
        ("b", DataType::Boolean, "true"),
        ("i2", DataType::Int16, "1"),
        ("i4", DataType::Int32, "2"),
        ("i8", DataType::Int64, "3"),
        ("f4", DataType::Float32, "1.5"),
        ("f8", DataType::Float64, "2.25"),
        ("num", DataType::Utf8, "12.5"),
        ("m", DataType::Decimal128(19, 2), "12.50"),
        ("t", DataType::Utf8, "x"),
        ("vc", DataType::Utf8, "y"),
        ("ch", DataType::Utf8, "z "),
        ("nm", DataType::Utf8, "n"),
        ("by", DataType::Binary, "00ff"),
        ("d", DataType::Date32, "2024-02-29"),
        (
            "tm",
            DataType::Time64(TimeUnit::Microsecond),
            "13:14:15.500",
        ),
        ("ttz", DataType::Utf8, "13:14:15+05:30"),
        (
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            "2024-02-29T13:14:15.123456",
        ),
        (
            "tstz",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "2024-02-29T12:14:15Z",
        ),
        ("u", DataType::Utf8, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ("j", DataType::Utf8, "{\"a\": [1, 2]}"),
        ("jb", DataType::Utf8, "{\"b\": null}"),
        ("ip", DataType::Utf8, "192.168.0.1"),
        ("net", DataType::Utf8, "10.0.0.0/8"),
        ("mac", DataType::Utf8, "08:00:2b:01:02:03"),
        ("bits", DataType::Utf8, "1011"),
        ("vbits", DataType::Utf8, "01"),
        ("x", DataType::Utf8, "<a>1</a>"),
        ("e", DataType::Utf8, "happy"),
        ("dom", DataType::Int32, "5"),
        ("r", DataType::Utf8, "[1,10)"),
        (
            "tr",
            DataType::Utf8,
            "[\"2024-01-01 00:00:00+00\",\"2024-01-02 00:00:00+00\")",
        ),
        ("tsv", DataType::Utf8, "'a' 'cat' 'fat'"),
        ("o", DataType::UInt32, "42"),
        ("lsn", DataType::Utf8, "16/B374D848"),
        ("pt", DataType::Utf8, "(1.5,2)"),
        ("nothing_here", DataType::Int32, ""),
    ];
    for (name, dt, shown) in want {
        let (i, f) = s.column_with_name(name).unwrap();
        assert_eq!(f.data_type(), &dt, "type of {name}");
        assert_eq!(text(&b, i, 0), shown, "value of {name}");
    }
    let (i, f) = s.column_with_name("iv").unwrap();
    assert_eq!(
        f.data_type(),
        &DataType::Interval(IntervalUnit::MonthDayNano)
    );
    let iv = b
        .column(i)
        .as_primitive::<IntervalMonthDayNanoType>()
        .value(0);
    assert_eq!((iv.months, iv.days, iv.nanoseconds), (12, 2, 3_000_000_000));
    let (i, f) = s.column_with_name("arr").unwrap();
    assert!(matches!(f.data_type(), DataType::List(e) if e.data_type() == &DataType::Int32));
    let list = b.column(i).as_list::<i32>().value(0);
    let ints = list.as_primitive::<Int32Type>();
    assert_eq!(
        (ints.len(), ints.value(0), ints.is_null(1), ints.value(2)),
        (3, 1, true, 3)
    );
    assert_eq!(text(&b, s.index_of("tarr").unwrap(), 0), "[p, q]");
    // Source types and JSON marking travel in field metadata.
    assert_eq!(
        s.field_with_name("jb")
            .unwrap()
            .metadata()
            .get("qore.json")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        s.field_with_name("i8")
            .unwrap()
            .metadata()
            .get("qore.source_type")
            .map(String::as_str),
        Some("int8")
    );
}

#[tokio::test]
async fn numeric_columns_become_decimal128_with_their_declared_scale() {
    let c = with_schema("t_numeric").await;
    c.execute(
        "CREATE TABLE n (small numeric(10, 2), big numeric(60, 5), free numeric)",
        &[],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO n VALUES (-12345678.91, 123456789012345678901234567890123456789012345678901234.5, 'NaN'), \
                              (0.01, -0.00001, 1e-30), (NULL, NULL, NULL)",
        &[],
    )
    .await
    .unwrap();
    let b = rows(&c, "SELECT small, big, free FROM n").await;
    assert_eq!(
        b.schema().field(0).data_type(),
        &DataType::Decimal128(10, 2)
    );
    assert_eq!(b.schema().field(1).data_type(), &DataType::Utf8);
    assert_eq!(b.schema().field(2).data_type(), &DataType::Utf8);
    let d = b.column(0).as_primitive::<Decimal128Type>();
    assert_eq!(
        (d.value(0), d.value(1), d.is_null(2)),
        (-1_234_567_891, 1, true)
    );
    assert_eq!(
        text(&b, 1, 0),
        "123456789012345678901234567890123456789012345678901234.50000"
    );
    assert_eq!(text(&b, 1, 1), "-0.00001");
    assert_eq!(text(&b, 2, 0), "NaN");
    assert_eq!(text(&b, 2, 1), "0.000000000000000000000000000001");
}

#[tokio::test]
async fn bound_parameters_of_every_value_kind() {
    let c = with_schema("t_params").await;
    c.execute(
        "CREATE TABLE p (i2 int2, i8 int8, f float8, n numeric(12, 3), t text, b bytea, d date, \
                         ts timestamptz, ok bool, u uuid, j jsonb, iv interval)",
        &[],
    )
    .await
    .unwrap();
    let done = c
        .execute(
            "INSERT INTO p VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                Value::Int(-7),
                Value::Int(i64::MIN),
                Value::Float(0.1),
                Value::Decimal {
                    value: -123_456,
                    precision: 12,
                    scale: 3,
                },
                Value::Text("it's \"quoted\" ünïcödé".into()),
                Value::Bytes(vec![0, 1, 255]),
                Value::Date(19_782),
                Value::Timestamp {
                    value: 1_709_212_455_000_001,
                    unit: TimeUnit::Microsecond,
                    tz: Some("UTC".into()),
                },
                Value::Bool(true),
                Value::Text("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11".into()),
                Value::Text("{\"k\": [1, 2]}".into()),
                Value::Interval {
                    months: 1,
                    days: 2,
                    nanos: 3_000,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(done.rows_affected, 1);
    let b = rows(&c, "SELECT * FROM p").await;
    let got: Vec<String> = (0..b.num_columns()).map(|i| text(&b, i, 0)).collect();
    assert_eq!(
        got,
        [
            "-7",
            "-9223372036854775808",
            "0.1",
            "-123.456",
            "it's \"quoted\" ünïcödé",
            "0001ff",
            "2024-02-29",
            "2024-02-29T13:14:15.000001Z",
            "true",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{\"k\": [1, 2]}",
            "1 mons 2 days 0.000003000 secs",
        ]
    );
    // A value the parameter's type cannot take names the parameter.
    let err = c
        .execute("INSERT INTO p (i2) VALUES ($1)", &[Value::Int(70_000)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("$1")),
        "{err}"
    );
    let err = c
        .execute("INSERT INTO p (i2) VALUES ($1)", &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1 parameter"), "{err}");
}

async fn active_queries(admin: &PostgresConnection, marker: &str) -> i64 {
    let b = rows(
        admin,
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{marker}%' \
             AND pid <> pg_backend_pid()"
        ),
    )
    .await;
    b.column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn a_huge_result_streams_and_dropping_it_cancels_on_the_server() {
    let c = connect().await;
    let admin = connect().await;
    let mut s = c
        .query("SELECT g, repeat('x', 100) AS pad /* cancel-marker */ FROM generate_series(1, 50000000) g", &[])
        .await
        .unwrap();
    let mut seen = 0;
    for _ in 0..3 {
        let b = s.next().await.unwrap().unwrap();
        assert!(b.num_rows() <= 8192);
        seen += b.num_rows();
    }
    assert_eq!(seen, 3 * 8192);
    assert_eq!(
        active_queries(&admin, "cancel-marker").await,
        1,
        "the statement runs while streaming"
    );
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while active_queries(&admin, "cancel-marker").await > 0 {
        assert!(
            Instant::now() < deadline,
            "the server kept running the dropped statement"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The connection is usable again straight away.
    let b = rows(&c, "SELECT 41 + 1 AS x").await;
    assert_eq!(text(&b, 0, 0), "42");
    // Also while the server has not produced a single row yet.
    let mut s = c
        .query("SELECT pg_sleep(30) /* sleep-marker */", &[])
        .await
        .unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(300), s.next()).await;
    assert!(waiting.is_err(), "pg_sleep cannot have returned");
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while active_queries(&admin, "sleep-marker").await > 0 {
        assert!(Instant::now() < deadline, "pg_sleep was not cancelled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(text(&rows(&c, "SELECT 'ok'").await, 0, 0), "ok");
}

#[tokio::test]
async fn bad_input_gives_clear_errors() {
    let mut spec = ConnectionSpec::parse(&url()).unwrap();
    spec.password = Some(qore_core::Secret::new("wrong"));
    let err = PostgresConnection::connect(&spec).await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = PostgresConnection::connect(
        &ConnectionSpec::parse(&format!("postgres://u:p@127.0.0.1:{port}/db")).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");

    let err =
        PostgresConnection::connect(&ConnectionSpec::parse(&format!("{}?bogus=1", url())).unwrap())
            .await
            .unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");

    let c = connect().await;
    let err = c.query("SELEC 1", &[]).await.unwrap_err();
    match err {
        Error::Query(q) => assert_eq!(q.code.as_deref(), Some("42601")),
        other => panic!("{other}"),
    }
    let err = c
        .query("SELECT * FROM no_such_table_here", &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_such_table_here"), "{err}");

    let slow = PostgresConnection::connect(
        &ConnectionSpec::parse(&format!("{}?statement_timeout=200", url())).unwrap(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let s = slow.query("SELECT pg_sleep(5)", &[]).await.unwrap();
    let err = collect(s).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));

    // The server goes away mid-stream: an error item, not a hang or a panic.
    let pid = c.backend_pid();
    let mut s = c
        .query("SELECT g FROM generate_series(1, 100000000) g", &[])
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    let admin = connect().await;
    admin
        .execute(
            "SELECT pg_terminate_backend($1)",
            &[Value::Int(i64::from(pid))],
        )
        .await
        .unwrap();
    let mut failed = None;
    while let Some(item) = s.next().await {
        if let Err(e) = item {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("the stream must end in an error");
    assert_eq!(err.kind(), ErrorKind::ConnectionLost, "{err}");
    // The next statement runs on a replacement session.
    assert_eq!(contracts::int(&c, "SELECT 7").await, 7);
    assert_ne!(c.backend_pid(), pid);
    assert_eq!(c.reconnects(), 1);
}

#[tokio::test]
async fn the_catalog_is_complete() {
    let c = with_schema("t_catalog").await;
    for stmt in [
        "CREATE TABLE customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, \
                                 name text DEFAULT 'anon', upper_name text GENERATED ALWAYS AS (upper(name)) STORED)",
        "COMMENT ON TABLE customers IS 'who buys'",
        "COMMENT ON COLUMN customers.email IS 'login'",
        "CREATE TABLE orders (id bigserial, customer_id int REFERENCES customers (id) ON DELETE CASCADE DEFERRABLE, \
                              total numeric(10, 2) CHECK (total >= 0), placed date, PRIMARY KEY (id))",
        "CREATE INDEX orders_big ON orders (total) WHERE total > 100",
        "CREATE INDEX orders_lower ON orders USING hash ((placed + 1))",
        "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100",
        "CREATE MATERIALIZED VIEW order_sums AS SELECT customer_id, sum(total) AS s FROM orders GROUP BY 1",
        "CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at)",
        "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()",
        "INSERT INTO customers (email) SELECT 'c' || g || '@x' FROM generate_series(1, 500) g",
        "ANALYZE customers",
    ] {
        c.execute(stmt, &[]).await.unwrap();
    }
    let ns = c.namespaces().await.unwrap();
    assert!(
        ns.iter().any(|n| n.name == "t_catalog" && n.is_default),
        "{ns:?}"
    );
    let tables = c.tables(None).await.unwrap();
    let kind = |n: &str| tables.iter().find(|t| t.table.name == n).map(|t| t.kind);
    assert_eq!(kind("customers"), Some(TableKind::Table));
    assert_eq!(kind("big_orders"), Some(TableKind::View));
    assert_eq!(kind("order_sums"), Some(TableKind::MaterializedView));
    assert_eq!(kind("events"), Some(TableKind::PartitionedTable));
    let part = tables
        .iter()
        .find(|t| t.table.name == "events_2024")
        .unwrap();
    assert_eq!(
        part.partition_of,
        Some(TableRef::qualified("t_catalog", "events"))
    );
    let cust = tables.iter().find(|t| t.table.name == "customers").unwrap();
    assert_eq!(cust.rows, Some(qore_core::RowCount::Estimate(500)));
    assert_eq!(cust.comment.as_deref(), Some("who buys"));

    let d = c.table(&TableRef::new("customers")).await.unwrap();
    assert_eq!(d.primary_key(), ["id"]);
    let id = d.column("id").unwrap();
    assert_eq!(id.default.as_deref(), Some("GENERATED ALWAYS AS IDENTITY"));
    assert_eq!(id.arrow_type, DataType::Int32);
    assert_eq!(
        d.column("name").unwrap().default.as_deref(),
        Some("'anon'::text")
    );
    assert_eq!(
        d.column("upper_name").unwrap().generated.as_deref(),
        Some("upper(name)")
    );
    assert_eq!(d.column("email").unwrap().comment.as_deref(), Some("login"));
    assert!(!d.column("email").unwrap().nullable);
    assert!(
        d.constraints.iter().any(
            |k| matches!(&k.kind, ConstraintKind::Unique { columns } if columns == &["email"])
        )
    );

    let o = c
        .table(&TableRef::qualified("t_catalog", "orders"))
        .await
        .unwrap();
    assert_eq!(
        o.column("total").unwrap().arrow_type,
        DataType::Decimal128(10, 2)
    );
    assert_eq!(o.column("total").unwrap().source_type, "numeric(10,2)");
    let fk = o.foreign_keys().next().unwrap();
    assert_eq!(fk.columns, ["customer_id"]);
    assert_eq!(fk.target, TableRef::qualified("t_catalog", "customers"));
    assert_eq!(fk.on_delete, qore_core::FkAction::Cascade);
    assert!(fk.deferrable);
    assert!(o.constraints.iter().any(|k| matches!(&k.kind,
        ConstraintKind::Check { expression, column } if expression.contains("total >= ") && column.as_deref() == Some("total"))));
    let big = o.indexes.iter().find(|i| i.name == "orders_big").unwrap();
    assert_eq!(big.predicate.as_deref(), Some("total > 100::numeric"));
    assert!(big.size_bytes.unwrap() > 0);
    let lower = o.indexes.iter().find(|i| i.name == "orders_lower").unwrap();
    assert_eq!(lower.method.as_deref(), Some("hash"));
    assert!(
        matches!(&lower.parts[..], [qore_core::IndexPart::Expression(e)] if e.contains("placed + 1"))
    );
    assert!(o.indexes.iter().any(|i| i.primary && i.unique));
    assert_eq!(o.triggers, ["orders_touch"]);

    let v = c.table(&TableRef::new("big_orders")).await.unwrap();
    assert!(v.view_definition.unwrap().contains("total > 100"));
    let err = c.table(&TableRef::new("nope")).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Values bound as parameters come back equal through `query` as Arrow.
    #[test]
    fn values_round_trip_through_the_server(
        i in any::<i64>(),
        f in any::<f64>().prop_filter("finite", |f| f.is_finite()),
        s in "\\PC{0,40}",
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        digits in "-?[1-9][0-9]{0,20}\\.[0-9]{3}",
        days in -700_000i32..2_000_000,
        micros in -60_000_000_000_000_000i64..200_000_000_000_000_000,
        null in any::<bool>(),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let c = connect().await;
            let params = vec![
                if null { Value::Null } else { Value::Int(i) },
                Value::Float(f),
                Value::Text(s.clone()),
                Value::Bytes(bytes.clone()),
                Value::Text(digits.clone()),
                Value::Date(days),
                Value::Timestamp { value: micros, unit: TimeUnit::Microsecond, tz: Some("UTC".into()) },
            ];
            let b = rows_with(&c,
                "SELECT $1::int8 AS i, $2::float8 AS f, $3::text AS s, $4::bytea AS b, \
                 CAST($5 AS numeric(24, 3)) AS n, $6::date AS d, $7::timestamptz AS ts",
                &params).await;
            for (col, want) in params.iter().enumerate() {
                let got = Value::from_array(b.column(col).as_ref(), 0).unwrap();
                match (want, &got) {
                    (Value::Text(t), Value::Decimal { value, scale, .. }) => {
                        let expect: i128 = t.replace('.', "").parse().unwrap();
                        assert_eq!((*value, *scale), (expect, 3));
                    }
                    _ => assert_eq!(&got, want, "column {col}"),
                }
            }
        });
    }

    /// Identifiers and string literals quoted by the dialect read back unchanged.
    #[test]
    fn dialect_quoting_round_trips(ident in "[^\\x00]{1,20}", lit in "[^\\x00]{0,40}") {
        prop_assume!(ident.len() <= 63);
        let rt = runtime();
        rt.block_on(async {
            let c = connect().await;
            let d = c.dialect().unwrap();
            let sql = format!("SELECT {} AS {}", d.quote_string(&lit).unwrap(), d.quote_identifier(&ident).unwrap());
            let b = rows(&c, &sql).await;
            assert_eq!(b.schema().field(0).name(), &ident);
            assert_eq!(b.column(0).as_string::<i32>().value(0), lit);
            // Also with the legacy setting that makes backslashes escapes.
            c.execute("SET standard_conforming_strings = off", &[]).await.unwrap();
            c.execute("SET escape_string_warning = off", &[]).await.unwrap();
            let b = rows(&c, &sql).await;
            assert_eq!(b.column(0).as_string::<i32>().value(0), lit);
        });
    }
}

#[tokio::test]
async fn copy_and_row_fetching_agree_and_errors_keep_the_session() {
    let c = with_schema("t_copy").await;
    let rows_conn = PostgresConnection::connect(
        &ConnectionSpec::parse(&format!("{}?fetch=rows", url())).unwrap(),
    )
    .await
    .unwrap();
    rows_conn
        .execute("SET search_path = t_copy", &[])
        .await
        .unwrap();
    c.execute(
        "CREATE TABLE mix AS SELECT g AS id, (g / 7.0)::numeric(12, 4) AS n, repeat('é', g % 50) AS t, \
         CASE WHEN g % 3 = 0 THEN NULL ELSE g * 1.5 END AS f, ARRAY[g, NULL] AS arr, \
         decode(repeat('ab', g % 4000), 'hex') AS big FROM generate_series(1, 30000) g",
        &[],
    )
    .await
    .unwrap();
    // Wide rows (up to 4 kB) make tuples span COPY chunks.
    let q = "SELECT * FROM mix ORDER BY id";
    let a = rows(&c, q).await;
    let b = rows(&rows_conn, q).await;
    assert_eq!(a.num_rows(), 30_000);
    assert_eq!(
        a, b,
        "COPY BINARY and the row protocol must give the same batches"
    );
    // A trailing line comment does not swallow the COPY's closing parenthesis.
    let b = rows(&c, "SELECT count(*) AS n FROM mix -- how many?").await;
    assert_eq!(text(&b, 0, 0), "30000");
    // A query that fails while planning or running: a clean error, and the
    // session (its search_path) is still the same afterwards.
    for bad in ["SELECT 1/0", "SELECT id / (id - 5) FROM mix"] {
        let r = match c.query(bad, &[]).await {
            Ok(s) => collect(s).await.map(|_| ()),
            Err(e) => Err(e),
        };
        let err = r.unwrap_err();
        assert!(err.to_string().contains("division by zero"), "{err}");
        let b = rows(&c, "SELECT current_schema()").await;
        assert_eq!(text(&b, 0, 0), "t_copy");
    }
}

#[tokio::test]
async fn sessions_transactions_and_error_kinds() {
    drop(with_schema("t_contracts").await);
    let db = qore_drivers::open(&url()).await.unwrap();
    contracts::transactions(&db, "t_contracts.", true).await;
    contracts::interceptors(&db, "t_contracts.", true).await;
    contracts::parallel_sessions(&db, "t_contracts.", Some("t_contracts")).await;
    contracts::error_kinds(&*db.session().await.unwrap(), "t_contracts.").await;
}

/// A dropped stream cancels its statement, which aborts a PostgreSQL
/// transaction: commit must say so, not report success.
#[tokio::test]
async fn commit_after_a_cancelled_statement_is_an_error() {
    drop(with_schema("t_abort").await);
    let db = qore_drivers::open(&url()).await.unwrap();
    let a = db.session().await.unwrap();
    a.execute("CREATE TABLE t_abort.t (id int PRIMARY KEY)", &[])
        .await
        .unwrap();
    let tx = a.begin().await.unwrap();
    tx.execute("INSERT INTO t_abort.t VALUES (1)", &[])
        .await
        .unwrap();
    let mut s = tx
        .query("SELECT g FROM generate_series(1, 5000000) g", &[])
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    drop(s);
    let e = tx.commit().await.unwrap_err();
    assert!(!e.to_string().is_empty());
    assert_eq!(
        contracts::int(&*a, "SELECT count(*) FROM t_abort.t").await,
        0
    );
}

#[tokio::test]
async fn concurrency_and_server_error_kinds() {
    drop(with_schema("t_kinds").await);
    let db = qore_drivers::open(&url()).await.unwrap();
    let (a, b) = (db.session().await.unwrap(), db.session().await.unwrap());
    a.execute("CREATE TABLE t_kinds.acc (id int PRIMARY KEY, v int)", &[])
        .await
        .unwrap();
    a.execute("INSERT INTO t_kinds.acc VALUES (1, 0), (2, 0)", &[])
        .await
        .unwrap();

    // Deadlock: each holds a row the other wants.
    let (ta, tb) = (a.begin().await.unwrap(), b.begin().await.unwrap());
    ta.execute("UPDATE t_kinds.acc SET v = 1 WHERE id = 1", &[])
        .await
        .unwrap();
    tb.execute("UPDATE t_kinds.acc SET v = 1 WHERE id = 2", &[])
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(
        ta.execute("UPDATE t_kinds.acc SET v = 2 WHERE id = 2", &[]),
        tb.execute("UPDATE t_kinds.acc SET v = 2 WHERE id = 1", &[]),
    );
    let e = ra
        .err()
        .or(rb.err())
        .expect("one of them is the deadlock victim");
    assert_eq!(e.kind(), ErrorKind::Deadlock, "{e}");
    assert!(e.is_transient());
    drop((ta, tb));

    // Serialization failure: two repeatable-read transactions update one row.
    let (ta, tb) = (a.begin().await.unwrap(), b.begin().await.unwrap());
    for t in [&ta, &tb] {
        t.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", &[])
            .await
            .unwrap();
        t.execute("SELECT count(*) FROM t_kinds.acc", &[])
            .await
            .unwrap();
    }
    ta.execute("UPDATE t_kinds.acc SET v = 3 WHERE id = 1", &[])
        .await
        .unwrap();
    let (ca, rb) = tokio::join!(
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            ta.commit().await
        },
        tb.execute("UPDATE t_kinds.acc SET v = 4 WHERE id = 1", &[]),
    );
    ca.unwrap();
    let e = rb.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SerializationFailure, "{e}");
    assert!(e.is_transient());
    drop(tb);

    // Lock timeout.
    let ta = a.begin().await.unwrap();
    ta.execute("UPDATE t_kinds.acc SET v = 5 WHERE id = 1", &[])
        .await
        .unwrap();
    b.execute("SET lock_timeout = 100", &[]).await.unwrap();
    let e = b
        .execute("UPDATE t_kinds.acc SET v = 6 WHERE id = 1", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout, "{e}");
    assert!(e.is_transient());
    ta.rollback().await.unwrap();

    let cases = [
        ("SELECT 1 / 0", ErrorKind::InvalidData),
        ("SELECT * FROM pg_authid", ErrorKind::PermissionDenied),
    ];
    for (sql, kind) in cases {
        let e = b.execute(sql, &[]).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{sql}: {e}");
    }
    b.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", &[])
        .await
        .unwrap();
    let e = b
        .execute("INSERT INTO t_kinds.acc VALUES (3, 0)", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");

    // Timeout, then a lost connection.
    let slow = qore_drivers::connect(&format!("{}?statement_timeout=50&reconnect=off", url()))
        .await
        .unwrap();
    let e = slow.execute("SELECT pg_sleep(2)", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let pid = contracts::int(&*slow, "SELECT pg_backend_pid()").await;
    a.execute(&format!("SELECT pg_terminate_backend({pid})"), &[])
        .await
        .unwrap();
    let e = slow.execute("SELECT 1", &[]).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Connection | ErrorKind::Unavailable),
        "{e}"
    );
    assert!(e.is_transient());

    let mut bad = ConnectionSpec::parse(&url()).unwrap();
    bad.password = Some(qore_core::Secret::new("wrong"));
    let e = qore_drivers::connect_spec(&bad).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
}

#[tokio::test]
async fn profiles_label_sessions_and_enforce_read_only() {
    drop(with_schema("t_profiles").await);
    let spec = ConnectionSpec::parse(&url()).unwrap();
    let password = spec.password.as_ref().map(|p| p.expose().to_string());
    let url = spec.without_password().expose_url();
    contracts::profile_label_and_read_only(&url, password.as_deref(), "t_profiles.").await;
}

#[tokio::test]
async fn dialect_hooks_run() {
    let c = with_schema("t_dialect").await;
    contracts::dialect_hooks(&c, "t_dialect.").await;
}

#[tokio::test]
async fn close_says_goodbye_and_later_calls_fail_clearly() {
    let admin = connect().await;
    let c = qore_drivers::connect(&url()).await.unwrap();
    let pid = contracts::int(&*c, "SELECT pg_backend_pid()").await;
    c.close().await.unwrap();
    let gone = async {
        loop {
            let n = contracts::int(
                &admin,
                &format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"),
            )
            .await;
            if n == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the backend ends after Terminate");
    let e = c.execute("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.to_string().contains("closed"), "{e}");
    c.close().await.unwrap();
}

fn pg_killer(admin: &dyn Connection) -> common::resilience::Killer<'_> {
    common::resilience::Killer {
        admin,
        id_sql: "SELECT pg_backend_pid()",
        kill_sql: |id| format!("SELECT pg_terminate_backend({id})"),
        alive_sql: |id| format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {id}"),
    }
}

/// pg_terminate_backend, 100 times: every next read succeeds on a new
/// session with the session's settings; a write in a transaction is lost
/// with ConnectionLost and not replayed.
#[tokio::test]
async fn killed_sessions_are_replaced_and_transactions_are_not_replayed() {
    let admin = connect().await;
    admin
        .execute("CREATE SCHEMA IF NOT EXISTS t_resilience", &[])
        .await
        .unwrap();
    let c = qore_drivers::connect(&url()).await.unwrap();
    common::resilience::killed_sessions(
        &*c,
        &pg_killer(&admin),
        "SET TIME ZONE 'Asia/Tokyo'",
        "SELECT current_setting('TimeZone')",
        "Asia/Tokyo",
        "t_resilience.w",
        100,
    )
    .await;
    let off = qore_drivers::connect(&format!("{}?reconnect=off", url()))
        .await
        .unwrap();
    common::resilience::no_reconnect(&*off, &pg_killer(&admin)).await;
}
