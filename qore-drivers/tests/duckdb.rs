//! DuckDB driver against real database files.

#![allow(clippy::unwrap_used)]

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, IntervalUnit, TimeUnit};
use futures::StreamExt;
use proptest::prelude::*;
use qore_core::{
    Connection, ConnectionRef, ConstraintKind, Engine, Error, IndexPart, TableKind, TableRef,
    collect,
};
use qore_drivers::duckdb::{DuckDbConnection, DuckDbOptions};

mod common;
use common::contracts;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn rows(conn: &ConnectionRef, sql: &str) -> Vec<RecordBatch> {
    collect(conn.query(sql, &[]).await.unwrap()).await.unwrap()
}

#[test]
fn demo_catalog_facts() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.duckdb");
        let summary = qore_drivers::demo::write_demo(&path, Engine::DuckDb, false).await.unwrap();
        let items = summary.tables.iter().find(|(t, _)| t == "order_items").unwrap().1;
        let conn = qore_drivers::connect(&format!("duckdb:{}?access_mode=read_only", path.display())).await.unwrap();
        let cat = conn.catalog().unwrap();
        assert!(cat.namespaces().await.unwrap().iter().any(|n| n.name == "main" && n.is_default));
        let tables = cat.tables(None).await.unwrap();
        assert_eq!(tables.iter().filter(|t| t.kind == TableKind::Table).count(), 9);
        assert_eq!(tables.iter().find(|t| t.table.name == "order_items").unwrap().rows, Some(qore_core::RowCount::Exact(items)));
        assert_eq!(tables.iter().find(|t| t.table.name == "orders").unwrap().comment.as_deref(), Some("One row per checkout"));
        assert!(tables.iter().any(|t| t.table.name == "order_totals" && t.kind == TableKind::View));

        let oi = cat.table(&TableRef::new("order_items")).await.unwrap();
        assert_eq!(oi.primary_key(), vec!["order_id", "line_no"]);
        let stock = oi.foreign_keys().find(|f| f.columns.len() == 2).unwrap();
        assert_eq!((stock.target.name.as_str(), stock.target_columns.clone()), ("inventory", vec!["product_id".to_string(), "warehouse_id".to_string()]));
        let cats = cat.table(&TableRef::new("categories")).await.unwrap();
        assert_eq!(cats.foreign_keys().next().unwrap().target.name, "categories");
        let products = cat.table(&TableRef::new("products")).await.unwrap();
        assert!(products.constraints.iter().any(|c| matches!(&c.kind, ConstraintKind::Check { expression, .. } if expression == "price >= 0")));
        assert!(products.constraints.iter().any(|c| matches!(&c.kind, ConstraintKind::Unique { columns } if columns == &["sku"])));
        let customers = cat.table(&TableRef::new("customers")).await.unwrap();
        let lower = customers.indexes.iter().find(|i| i.name == "customers_email_lower").unwrap();
        assert_eq!(lower.parts, vec![IndexPart::Expression("lower(email)".into())]);
        assert_eq!(customers.column("vip").unwrap().default.as_deref(), Some("false"));
        assert!(!customers.column("email").unwrap().nullable);
        let err = cat.table(&TableRef::new("nope")).await.unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err}");
    });
}

#[test]
fn every_duckdb_type_maps_to_arrow() {
    rt().block_on(async {
        let conn = qore_drivers::connect("duckdb:").await.unwrap();
        let b = &rows(
            &conn,
            "SELECT true::BOOLEAN, 1::TINYINT, 1::SMALLINT, 1::INTEGER, 1::BIGINT, 1::HUGEINT, 1::UTINYINT, \
             1::USMALLINT, 1::UINTEGER, 1::UBIGINT, 1.5::FLOAT, 1.5::DOUBLE, 1.5::DECIMAL(4,1), 'x'::VARCHAR, \
             'x'::BLOB, DATE '2024-01-02', TIME '01:02:03', TIMESTAMP '2024-01-02 03:04:05', \
             TIMESTAMPTZ '2024-01-02 03:04:05+00', INTERVAL 1 DAY, gen_random_uuid(), [1, 2], {'a': 1}, \
             MAP {'k': 1}, 'a'::ENUM('a', 'b'), TIMESTAMP_NS '2024-01-01 00:00:00.123456789', \
             TIMESTAMP_S '2024-01-01', TIMESTAMP_MS '2024-01-01', '{\"a\": 1}'::JSON, [1, 2, 3]::INTEGER[3], '1010'::BIT",
        )
        .await[0];
        let t: Vec<DataType> = b.schema().fields().iter().map(|f| f.data_type().clone()).collect();
        use DataType::*;
        assert_eq!(&t[..13], &[Boolean, Int8, Int16, Int32, Int64, Decimal128(38, 0), UInt8, UInt16, UInt32, UInt64, Float32, Float64, Decimal128(4, 1)]);
        assert_eq!(&t[13..17], &[Utf8, Binary, Date32, Time64(TimeUnit::Microsecond)]);
        assert_eq!(t[17], Timestamp(TimeUnit::Microsecond, None));
        assert_eq!(t[18], Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
        assert_eq!(t[19], Interval(IntervalUnit::MonthDayNano));
        assert_eq!(t[20], Utf8, "UUID");
        assert!(matches!(&t[21], List(f) if f.data_type() == &Int32));
        assert!(matches!(&t[22], Struct(f) if f.len() == 1));
        assert!(matches!(&t[23], Map(_, _)));
        assert!(matches!(&t[24], Dictionary(_, v) if **v == Utf8), "ENUM: {}", t[24]);
        assert_eq!(t[25], Timestamp(TimeUnit::Nanosecond, None));
        assert_eq!(t[26], Timestamp(TimeUnit::Second, None));
        assert_eq!(t[27], Timestamp(TimeUnit::Millisecond, None));
        assert_eq!(t[28], Utf8, "JSON");
        assert!(matches!(&t[29], FixedSizeList(_, 3)));
        assert_eq!(t[30], Binary, "BIT");
        // Nanoseconds survive.
        let ns = qore_core::Value::from_array(b.column(25).as_ref(), 0).unwrap();
        assert_eq!(ns.to_string(), "2024-01-01T00:00:00.123456789");
    });
}

#[test]
fn reads_csv_parquet_and_json_files() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let conn = qore_drivers::connect("duckdb:").await.unwrap();
        for (ext, opts) in [("csv", "(HEADER)"), ("parquet", "(FORMAT parquet)"), ("json", "(FORMAT json)")] {
            let sql = format!("COPY (SELECT range AS id, 'name ' || range AS name FROM range(1000)) TO '{d}/data.{ext}' {opts}");
            collect(conn.query(&sql, &[]).await.unwrap()).await.unwrap();
            let b = rows(&conn, &format!("SELECT count(*) AS n, sum(id) AS s, max(name) AS m FROM '{d}/data.{ext}'")).await;
            assert_eq!(b[0].column(0).as_primitive::<Int64Type>().value(0), 1000, "{ext}");
            assert_eq!(b[0].column(2).as_string::<i32>().value(0), "name 999", "{ext}");
        }
        let b = rows(&conn, &format!("SELECT count(*) FROM '{d}/*.parquet'")).await;
        assert_eq!(b[0].column(0).as_primitive::<Int64Type>().value(0), 1000);
    });
}

#[test]
fn streams_in_bounded_batches_and_cancels_on_drop() {
    rt().block_on(async {
        let conn = DuckDbConnection::open(DuckDbOptions::new().with_batch_size(10_000))
            .await
            .unwrap();
        let mut s = conn
            .query(
                "SELECT range AS i, 'row ' || range AS label FROM range(1000000)",
                &[],
            )
            .await
            .unwrap();
        let (mut total, mut batches) = (0, 0);
        while let Some(b) = s.next().await {
            let b = b.unwrap();
            assert!(b.num_rows() <= 10_000);
            total += b.num_rows();
            batches += 1;
        }
        assert_eq!(total, 1_000_000);
        assert!(batches >= 100);

        let mut big = conn
            .query(
                "SELECT a.range * b.range FROM range(100000) a, range(100000) b",
                &[],
            )
            .await
            .unwrap();
        assert!(big.next().await.unwrap().unwrap().num_rows() > 0);
        drop(big);
        let ping = tokio::time::timeout(std::time::Duration::from_secs(20), conn.ping()).await;
        assert!(
            matches!(ping, Ok(Ok(()))),
            "connection still busy after the stream was dropped"
        );
    });
}

#[test]
fn bad_input() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.duckdb");
        let err = qore_drivers::connect(&format!("duckdb:{}?access_mode=read_only", missing.display())).await.unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!missing.exists());
        let conn = qore_drivers::connect("duckdb:").await.unwrap();
        let e = conn.query("SELEC 1", &[]).await.unwrap_err();
        assert!(matches!(&e, Error::Query(q) if q.message.contains("syntax error") && q.code.as_deref() == Some("Parser")), "{e}");
        let e = conn.query("SELECT * FROM no_such_table", &[]).await.unwrap_err();
        assert!(e.to_string().contains("no_such_table"), "{e}");
        let e = qore_drivers::connect("duckdb:?threads=zero").await.unwrap_err();
        assert!(e.to_string().contains("threads"), "{e}");
        // An engine left out of the build names its feature (every engine is
        // in the default build, so this only runs in slimmer ones).
        #[cfg(not(feature = "mongodb"))]
        {
            let e = qore_drivers::connect("mongodb://localhost").await.unwrap_err();
            assert!(matches!(&e, Error::NotSupported(m) if m.contains("feature `mongodb`")), "{e}");
        }
    });
}

fn quoting_conn() -> (tokio::runtime::Runtime, ConnectionRef) {
    let rt = rt();
    let conn = rt.block_on(qore_drivers::connect("duckdb:")).unwrap();
    (rt, conn)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn identifiers_and_strings_round_trip(ident in "[^\u{0}]{1,24}", text in "[^\u{0}]{0,40}") {
        let (rt, conn) = quoting_conn();
        let d = conn.dialect().unwrap();
        let qi = d.quote_identifier(&ident).unwrap();
        let qs = d.quote_string(&text).unwrap();
        rt.block_on(async {
            conn.execute(&format!("CREATE TABLE {qi} ({qi} VARCHAR)"), &[]).await.unwrap();
            conn.execute(&format!("INSERT INTO {qi} VALUES ({qs})"), &[]).await.unwrap();
            let batches = collect(conn.query(&format!("SELECT {qi} FROM {qi}"), &[]).await.unwrap()).await.unwrap();
            let b = &batches[0];
            let schema = b.schema();
            prop_assert_eq!(schema.field(0).name(), &ident);
            prop_assert_eq!(b.column(0).as_string::<i32>().value(0), text.as_str());
            prop_assert!(!b.column(0).is_null(0));
            Ok(())
        })?;
    }
}

#[test]
fn giving_up_before_the_first_row_interrupts_the_statement() {
    rt().block_on(async {
        let conn = qore_drivers::connect("duckdb:").await.unwrap();
        // Minutes of work before the first (only) row.
        let slow = async {
            let mut s = conn
                .query("SELECT count(*) FROM range(1000000000000)", &[])
                .await
                .unwrap();
            s.next().await
        };
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(300), slow)
                .await
                .is_err()
        );
        // The connection is free again at once, not after the count.
        let quick = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            rows(&conn, "SELECT 42 AS n"),
        )
        .await
        .expect("the abandoned statement was not interrupted");
        assert_eq!(
            quick[0]
                .column(0)
                .as_primitive::<arrow::datatypes::Int32Type>()
                .value(0),
            42
        );
        // And offline clock functions work (no ICU download).
        let d = rows(&conn, "SELECT current_date IS NOT NULL AS ok").await;
        assert!(d[0].column(0).as_boolean().value(0));
    });
}

#[test]
fn sessions_transactions_and_error_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.duckdb");
    rt().block_on(async {
        for url in [format!("duckdb:{}", path.display()), "duckdb:".to_string()] {
            let db = qore_drivers::open(&url).await.unwrap();
            contracts::transactions(&db, "", false).await;
            contracts::interceptors(&db, "", false).await;
            contracts::parallel_sessions(&db, "", None).await;
            contracts::error_kinds(&*db.session().await.unwrap(), "").await;
        }
    });
}

#[test]
fn write_conflicts_and_read_only_error_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kinds.duckdb");
    rt().block_on(async {
        let db = qore_drivers::open(&format!("duckdb:{}", path.display()))
            .await
            .unwrap();
        let (a, b) = (db.session().await.unwrap(), db.session().await.unwrap());
        a.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, v INTEGER)", &[])
            .await
            .unwrap();
        a.execute("INSERT INTO c VALUES (1, 0)", &[]).await.unwrap();
        let ta = a.begin().await.unwrap();
        let tb = b.begin().await.unwrap();
        ta.execute("UPDATE c SET v = 1 WHERE id = 1", &[])
            .await
            .unwrap();
        let e = tb
            .execute("UPDATE c SET v = 2 WHERE id = 1", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::SerializationFailure, "{e}");
        assert!(e.is_transient());
        drop(tb);
        ta.commit().await.unwrap();
        drop((a, b, db));
        let ro = qore_drivers::connect(&format!("duckdb:{}?access_mode=read_only", path.display()))
            .await
            .unwrap();
        let e = ro
            .execute("INSERT INTO c VALUES (2, 0)", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::ReadOnly, "{e}");
    });
}

#[test]
fn profiles_label_sessions_and_enforce_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.duckdb");
    rt().block_on(async {
        contracts::profile_label_and_read_only(&format!("duckdb:{}", path.display()), None, "")
            .await;
    });
}

#[test]
fn dialect_hooks_run() {
    rt().block_on(async {
        let c = qore_drivers::connect("duckdb:").await.unwrap();
        contracts::dialect_hooks(&*c, "").await;
    });
}
