//! SQLite driver against real database files.

#![allow(clippy::unwrap_used)]

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use futures::StreamExt;
use proptest::prelude::*;
use qore_core::{
    Connection, ConnectionRef, ConstraintKind, Engine, Error, FkAction, IndexPart, TableKind,
    TableRef, Value, collect,
};
use qore_drivers::sqlite::SqliteConnection;

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
        let path = dir.path().join("shop.db");
        let summary = qore_drivers::demo::write_demo(&path, Engine::Sqlite, false).await.unwrap();
        assert!(summary.tables.len() >= 8);
        let items = summary.tables.iter().find(|(t, _)| t == "order_items").unwrap().1;
        assert!(items >= 90_000, "{items}");
        // A second run refuses to overwrite.
        let again = qore_drivers::demo::write_demo(&path, Engine::Sqlite, false).await.unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");

        let conn = qore_drivers::connect(&format!("sqlite:{}?mode=ro", path.display())).await.unwrap();
        let cat = conn.catalog().unwrap();
        let ns = cat.namespaces().await.unwrap();
        assert!(ns.iter().any(|n| n.name == "main" && n.is_default));
        let tables = cat.tables(None).await.unwrap();
        assert_eq!(tables.iter().filter(|t| t.kind == TableKind::Table).count(), 9);
        assert!(tables.iter().any(|t| t.table.name == "order_totals" && t.kind == TableKind::View));
        let big = tables.iter().find(|t| t.table.name == "order_items").unwrap();
        assert_eq!(big.rows, Some(qore_core::RowCount::Exact(items)));

        // Composite primary key and composite foreign key.
        let oi = cat.table(&TableRef::new("order_items")).await.unwrap();
        assert_eq!(oi.primary_key(), vec!["order_id", "line_no"]);
        let stock = oi.foreign_keys().find(|f| f.columns.len() == 2).unwrap();
        assert_eq!(stock.target.name, "inventory");
        assert_eq!(stock.target_columns, vec!["product_id", "warehouse_id"]);
        let to_orders = oi.foreign_keys().find(|f| f.target.name == "orders").unwrap();
        assert_eq!(to_orders.on_delete, FkAction::Cascade);
        assert!(oi.constraints.iter().any(|c| c.name.as_deref() == Some("order_items_stock")));

        // Self-reference with ON DELETE SET NULL; unique column.
        let cats = cat.table(&TableRef::new("categories")).await.unwrap();
        let parent = cats.foreign_keys().next().unwrap();
        assert_eq!((parent.target.name.as_str(), parent.on_delete), ("categories", FkAction::SetNull));
        assert!(cats.constraints.iter().any(|c| matches!(&c.kind, ConstraintKind::Unique { columns } if columns == &["name"])));

        // Checks with their expression text, named and unnamed.
        let products = cat.table(&TableRef::new("products")).await.unwrap();
        assert!(products.constraints.iter().any(|c| c.name.as_deref() == Some("price_not_negative")
            && matches!(&c.kind, ConstraintKind::Check { expression, .. } if expression == "price >= 0")));
        let reviews = cat.table(&TableRef::new("reviews")).await.unwrap();
        assert!(reviews.constraints.iter().any(|c| matches!(&c.kind, ConstraintKind::Check { expression, .. } if expression == "rating BETWEEN 1 AND 5")));
        assert!(reviews.constraints.iter().any(|c| matches!(&c.kind, ConstraintKind::Unique { columns } if columns == &["product_id", "customer_id"])));

        // Partial index, expression index, trigger, column facts.
        let orders = cat.table(&TableRef::new("orders")).await.unwrap();
        let open = orders.indexes.iter().find(|i| i.name == "orders_open").unwrap();
        assert_eq!(open.predicate.as_deref(), Some("status IN ('pending', 'paid')"));
        assert_eq!(orders.triggers, vec!["orders_touch"]);
        let status = orders.column("status").unwrap();
        assert_eq!((status.nullable, status.default.as_deref()), (false, Some("'pending'")));
        let customers = cat.table(&TableRef::new("customers")).await.unwrap();
        let lower = customers.indexes.iter().find(|i| i.name == "customers_email_lower").unwrap();
        assert_eq!(lower.parts, vec![IndexPart::Expression("lower(email)".into())]);
        let view = cat.table(&TableRef::new("order_totals")).await.unwrap();
        assert!(view.view_definition.unwrap().contains("GROUP BY"));
        let missing = cat.table(&TableRef::new("nope")).await.unwrap_err();
        assert!(matches!(missing, Error::NotFound(_)), "{missing}");

        // Indicators land in the result schema.
        let stream = conn.query("SELECT * FROM order_items LIMIT 1", &[]).await.unwrap();
        let schema = qore_core::annotate_schema(&stream.schema(), &oi);
        let ind = qore_core::ColumnIndicators::from_field(schema.field_with_name("product_id").unwrap());
        assert_eq!(ind.foreign_key.as_deref(), Some("main.inventory(product_id)"));
        assert!(ind.indexed);
    });
}

#[test]
fn every_affinity_maps_to_arrow() {
    rt().block_on(async {
        let conn = qore_drivers::connect("sqlite::memory:").await.unwrap();
        conn.execute(
            "CREATE TABLE t (i INTEGER, bi UNSIGNED BIG INT, vc VARCHAR(10), cl CLOB, b BLOB, r REAL, \
             d DOUBLE PRECISION, f FLOAT, n NUMERIC, dec DECIMAL(10,2), bo BOOLEAN, dt DATETIME, untyped)",
            &[],
        )
        .await
        .unwrap();
        conn.execute(
            "INSERT INTO t VALUES (1, 9223372036854775807, 'a', 'b', x'00ff', 1.5, 2.5, 3.5, 4, 5.25, 1, '2024-01-02 03:04:05', 7)",
            &[],
        )
        .await
        .unwrap();
        conn.execute("INSERT INTO t VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL)", &[])
            .await
            .unwrap();
        let b = &rows(&conn, "SELECT * FROM t").await[0];
        let types: Vec<DataType> = b.schema().fields().iter().map(|f| f.data_type().clone()).collect();
        use DataType::*;
        assert_eq!(types, vec![Int64, Int64, Utf8, Utf8, Binary, Float64, Float64, Float64, Float64, Float64, Boolean, Utf8, Int64]);
        assert_eq!(b.column(1).as_primitive::<Int64Type>().value(0), i64::MAX);
        assert_eq!(b.column(4).as_binary::<i32>().value(0), &[0u8, 255]);
        assert_eq!(b.column(9).as_primitive::<Float64Type>().value(0), 5.25);
        assert!(!b.column(10).as_boolean().value(1));
        assert_eq!(b.column(11).as_string::<i32>().value(0), "2024-01-02 03:04:05");
        assert!(b.column(0).is_null(1));
        // The declared type travels as the source type.
        assert_eq!(b.schema().field(2).metadata().get(qore_core::metadata::SOURCE_TYPE).map(String::as_str), Some("VARCHAR(10)"));

        // Values that do not fit the declared type widen the column, losslessly.
        conn.execute("CREATE TABLE m (x INTEGER, flag BOOLEAN)", &[]).await.unwrap();
        conn.execute("INSERT INTO m VALUES (1, 1), ('not a number', 2), (2.5, 0)", &[]).await.unwrap();
        let b = &rows(&conn, "SELECT x, flag FROM m ORDER BY rowid").await[0];
        assert_eq!(b.schema().field(0).data_type(), &Utf8);
        assert_eq!(b.column(0).as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("1"), Some("not a number"), Some("2.5")]);
        assert_eq!(b.schema().field(1).data_type(), &Int64);

        // Expression columns take the type of their values.
        let b = &rows(&conn, "SELECT 1 + 1 AS two, 'x' || 'y' AS xy, 0.5 AS half, NULL AS empty").await[0];
        let types: Vec<DataType> = b.schema().fields().iter().map(|f| f.data_type().clone()).collect();
        assert_eq!(types, vec![Int64, Utf8, Float64, Utf8]);
    });
}

#[test]
fn streams_in_bounded_batches_and_cancels_on_drop() {
    rt().block_on(async {
        let conn = SqliteConnection::open(qore_drivers::sqlite::SqliteOptions::new().with_batch_size(1000)).await.unwrap();
        let mut s = conn
            .query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) SELECT i, 'row ' || i AS label FROM n", &[])
            .await
            .unwrap();
        let mut total = 0;
        let mut batches = 0;
        while let Some(b) = s.next().await {
            let b = b.unwrap();
            assert!(b.num_rows() <= 1000);
            total += b.num_rows();
            batches += 1;
        }
        assert_eq!((total, batches), (50_000, 50));

        // An endless query, dropped after one batch, frees the connection.
        let mut endless = conn
            .query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n", &[])
            .await
            .unwrap();
        assert_eq!(endless.next().await.unwrap().unwrap().num_rows(), 1000);
        drop(endless);
        let ping = tokio::time::timeout(std::time::Duration::from_secs(10), conn.ping()).await;
        assert!(matches!(ping, Ok(Ok(()))), "connection still busy after the stream was dropped");
    });
}

#[test]
fn open_options_and_bad_input() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.db");
        let err = qore_drivers::connect(&format!("sqlite:{}?mode=ro", missing.display()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(
            !missing.exists(),
            "a read-only open must not create the file"
        );

        let wal = dir.path().join("wal.db");
        let url = format!(
            "sqlite:{}?journal_mode=wal&busy_timeout=2000&foreign_keys=on",
            wal.display()
        );
        let conn = qore_drivers::connect(&url).await.unwrap();
        let sq = SqliteConnection::open(
            qore_drivers::sqlite::SqliteOptions::from_spec(
                &qore_core::ConnectionSpec::parse(&url).unwrap(),
            )
            .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(sq.journal_mode().await.unwrap(), "wal");
        conn.execute("CREATE TABLE a (x)", &[]).await.unwrap();
        conn.execute("INSERT INTO a VALUES (?1)", &[Value::Int(1)])
            .await
            .unwrap();
        let cp = sq.checkpoint().await.unwrap();
        assert!(!cp.busy);
        assert_eq!(cp.log_frames, cp.checkpointed_frames);

        // Foreign keys are enforced by default.
        conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)", &[])
            .await
            .unwrap();
        conn.execute("CREATE TABLE c (p INTEGER REFERENCES p(id))", &[])
            .await
            .unwrap();
        let fk = conn
            .execute("INSERT INTO c VALUES (42)", &[])
            .await
            .unwrap_err();
        assert!(fk.to_string().contains("FOREIGN KEY"), "{fk}");
        assert!(
            matches!(&fk, Error::Query(q) if q.code.as_deref() == Some("SQLITE_CONSTRAINT/787")),
            "{fk:?}"
        );

        let denied = qore_drivers::connect("sqlite::memory:?extension=/tmp/evil.so")
            .await
            .unwrap_err();
        assert!(
            matches!(denied, Error::Denied(_))
                && denied.to_string().contains("allow_extensions=true"),
            "{denied}"
        );
        let absent = qore_drivers::connect(
            "sqlite::memory:?extension=/nonexistent/ext.so&allow_extensions=true",
        )
        .await
        .unwrap_err();
        assert!(
            absent.to_string().contains("cannot load SQLite extension"),
            "{absent}"
        );
        let unknown = qore_drivers::connect("sqlite::memory:?jurnal_mode=wal")
            .await
            .unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("unknown SQLite option `jurnal_mode`"),
            "{unknown}"
        );

        let syntax = conn.query("SELEC 1", &[]).await.unwrap_err();
        assert!(
            matches!(&syntax, Error::Query(q) if q.message.contains("syntax error")),
            "{syntax}"
        );
        let params = conn.query("SELECT ?1", &[]).await.unwrap_err();
        assert!(
            params.to_string().contains("takes 1 parameters"),
            "{params}"
        );
    });
}

#[test]
fn loads_a_real_extension_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("half.c");
    std::fs::write(
        &src,
        r#"#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
static void half(sqlite3_context *c, int n, sqlite3_value **v) {
  (void)n;
  sqlite3_result_double(c, sqlite3_value_double(v[0]) / 2.0);
}
int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)err;
  SQLITE_EXTENSION_INIT2(api);
  return sqlite3_create_function(db, "half", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, half, 0, 0);
}
"#,
    )
    .unwrap();
    let lib = dir.path().join("half.so");
    let cc = std::process::Command::new("cc")
        .arg("-shared")
        .arg("-fPIC")
        .arg("-o")
        .arg(&lib)
        .arg(&src)
        .status()
        .unwrap();
    assert!(
        cc.success(),
        "cc could not build the test extension (is libsqlite3-dev installed?)"
    );
    rt().block_on(async {
        let denied = qore_drivers::connect(&format!("sqlite::memory:?extension={}", lib.display()))
            .await
            .unwrap_err();
        assert!(matches!(denied, Error::Denied(_)), "{denied}");
        let conn = qore_drivers::connect(&format!(
            "sqlite::memory:?extension={}&allow_extensions=true",
            lib.display()
        ))
        .await
        .unwrap();
        let b = &rows(&conn, "SELECT half(5) AS h").await[0];
        assert_eq!(b.column(0).as_primitive::<Float64Type>().value(0), 2.5);
        // Loading stays off for SQL: the URL opt-in is not a door for queries.
        let sql = format!("SELECT load_extension('{}')", lib.display());
        let refused = match conn.query(&sql, &[]).await {
            Err(e) => e,
            Ok(s) => collect(s).await.unwrap_err(),
        };
        assert!(refused.to_string().contains("not authorized"), "{refused}");
    });
}

fn quoting_conn() -> (tokio::runtime::Runtime, ConnectionRef) {
    let rt = rt();
    let conn = rt
        .block_on(qore_drivers::connect("sqlite::memory:"))
        .unwrap();
    (rt, conn)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn identifiers_and_strings_round_trip(ident in "[^\u{0}]{1,24}", text in "[^\u{0}]{0,40}") {
        // SQLite reserves names that start with sqlite_ for itself.
        prop_assume!(!ident.to_lowercase().starts_with("sqlite_"));
        let (rt, conn) = quoting_conn();
        let d = conn.dialect().unwrap();
        let qi = d.quote_identifier(&ident).unwrap();
        let qs = d.quote_string(&text).unwrap();
        rt.block_on(async {
            conn.execute(&format!("CREATE TABLE {qi} ({qi} TEXT)"), &[]).await.unwrap();
            conn.execute(&format!("INSERT INTO {qi} VALUES ({qs})"), &[]).await.unwrap();
            let batches = collect(conn.query(&format!("SELECT {qi} FROM {qi}"), &[]).await.unwrap()).await.unwrap();
            let b = &batches[0];
            let schema = b.schema();
            prop_assert_eq!(schema.field(0).name(), &ident);
            prop_assert_eq!(b.column(0).as_string::<i32>().value(0), text.as_str());
            let tables = conn.catalog().unwrap().tables(None).await.unwrap();
            prop_assert!(tables.iter().any(|t| t.table.name == ident));
            Ok(())
        })?;
    }
}

#[test]
fn nul_is_a_clear_error() {
    let (_rt, conn) = quoting_conn();
    let e = conn.dialect().unwrap().quote_string("a\0b").unwrap_err();
    assert!(e.to_string().contains("NUL"), "{e}");
    let e = conn
        .dialect()
        .unwrap()
        .quote_identifier("a\0b")
        .unwrap_err();
    assert!(e.to_string().contains("NUL"), "{e}");
}

#[test]
fn sessions_transactions_and_error_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.db");
    rt().block_on(async {
        let db = qore_drivers::open(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        contracts::transactions(&db, "", true).await;
        contracts::interceptors(&db, "", true).await;
        contracts::parallel_sessions(&db, "", None).await;
        contracts::error_kinds(&*db.session().await.unwrap(), "").await;
    });
}

#[test]
fn in_memory_sessions_share_one_database() {
    rt().block_on(async {
        let db = qore_drivers::open("sqlite::memory:").await.unwrap();
        let a = db.session().await.unwrap();
        a.execute("CREATE TABLE shared (id INTEGER PRIMARY KEY)", &[])
            .await
            .unwrap();
        let tx = a.begin().await.unwrap();
        tx.execute("INSERT INTO shared VALUES (1)", &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        {
            let tx = a.begin().await.unwrap();
            tx.execute("INSERT INTO shared VALUES (2)", &[])
                .await
                .unwrap();
        }
        drop(a);
        // In memory there is no journal: a write transaction keeps the
        // other sessions out until it ends, so they only ever see
        // committed data.
        let b = db.session().await.unwrap();
        assert_eq!(contracts::ids(&*b, "shared").await, [1]);
        // Two handles are two databases: sharing is per handle.
        let other = qore_drivers::open("sqlite::memory:").await.unwrap();
        let e = other
            .session()
            .await
            .unwrap()
            .execute("SELECT * FROM shared", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::UndefinedObject, "{e}");
    });
}

#[test]
fn busy_read_only_and_strict_error_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kinds.db");
    rt().block_on(async {
        let db = qore_drivers::open(&format!("sqlite:{}?busy_timeout=100", path.display()))
            .await
            .unwrap();
        let (a, b) = (db.session().await.unwrap(), db.session().await.unwrap());
        a.execute("CREATE TABLE s (x INTEGER) STRICT", &[])
            .await
            .unwrap();
        let e = a
            .execute("INSERT INTO s VALUES ('abc')", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::InvalidData, "{e}");
        let tx = a.begin().await.unwrap();
        tx.execute("INSERT INTO s VALUES (1)", &[]).await.unwrap();
        let e = b
            .execute("INSERT INTO s VALUES (2)", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::LockTimeout, "{e}");
        assert!(e.is_transient());
        tx.commit().await.unwrap();
        b.execute("INSERT INTO s VALUES (2)", &[]).await.unwrap();
        let ro = qore_drivers::connect(&format!("sqlite:{}?mode=ro", path.display()))
            .await
            .unwrap();
        let e = ro
            .execute("INSERT INTO s VALUES (3)", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::ReadOnly, "{e}");
    });
}

#[test]
fn profiles_label_sessions_and_enforce_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.db");
    rt().block_on(async {
        contracts::profile_label_and_read_only(&format!("sqlite:{}", path.display()), None, "")
            .await;
    });
}

#[test]
fn dialect_hooks_run() {
    rt().block_on(async {
        let c = qore_drivers::connect("sqlite::memory:").await.unwrap();
        contracts::dialect_hooks(&*c, "").await;
    });
}

#[test]
fn only_row_changes_count_as_affected_rows() {
    // sqlite3_changes() keeps the last DML's count through DDL: the
    // driver reports 0 for statements that change no row.
    rt().block_on(async {
        let c = qore_drivers::connect("sqlite::memory:").await.unwrap();
        c.execute("CREATE TABLE a(x INTEGER)", &[]).await.unwrap();
        let ins = c.execute("INSERT INTO a VALUES (1), (2), (3)", &[]).await.unwrap();
        assert_eq!(ins.rows_affected, 3);
        let ddl = c.execute("CREATE TABLE b(y INTEGER)", &[]).await.unwrap();
        assert_eq!(ddl.rows_affected, 0, "DDL after an INSERT");
        let idx = c.execute("CREATE INDEX a_x ON a(x)", &[]).await.unwrap();
        assert_eq!(idx.rows_affected, 0);
        let none = c.execute("UPDATE a SET x = x WHERE x > 10", &[]).await.unwrap();
        assert_eq!(none.rows_affected, 0);
        let upd = c.execute("UPDATE a SET x = x + 1 WHERE x >= 2", &[]).await.unwrap();
        assert_eq!(upd.rows_affected, 2);
        // A trigger's own changes are not the statement's.
        c.execute("CREATE TRIGGER t AFTER DELETE ON a BEGIN INSERT INTO b VALUES (old.x); INSERT INTO b VALUES (old.x); END", &[])
            .await
            .unwrap();
        let del = c.execute("DELETE FROM a WHERE x = 1", &[]).await.unwrap();
        assert_eq!(del.rows_affected, 1);
        let prag = c.execute("PRAGMA user_version = 7", &[]).await.unwrap();
        assert_eq!(prag.rows_affected, 0);
    });
}
