//! MySQL / MariaDB driver against a real server: `scripts/servers.sh run --
//! ...` starts MariaDB and exports QORE_TEST_MYSQL_URL (set it yourself to
//! use another server, a real MySQL 8 say).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use arrow::datatypes::*;
use common::{contracts, rows, runtime, server_url, text};
use futures::StreamExt;
use proptest::prelude::*;
use qore_core::ErrorKind;
use qore_core::{
    Catalog, Connection, ConnectionSpec, ConstraintKind, Error, TableKind, TableRef, Value, collect,
};
use qore_drivers::mysql::MySqlConnection;

fn url() -> String {
    server_url("QORE_TEST_MYSQL_URL")
}

async fn connect() -> MySqlConnection {
    MySqlConnection::connect(&ConnectionSpec::parse(&url()).unwrap())
        .await
        .unwrap()
}

/// A fresh database per test, made the current one.
async fn with_db(name: &str) -> MySqlConnection {
    let c = connect().await;
    c.execute(&format!("DROP DATABASE IF EXISTS {name}"), &[])
        .await
        .unwrap();
    c.execute(&format!("CREATE DATABASE {name}"), &[])
        .await
        .unwrap();
    c.execute(&format!("USE {name}"), &[]).await.unwrap();
    c
}

#[tokio::test]
async fn every_mapped_type_reaches_arrow() {
    let c = with_db("t_types").await;
    c.execute(
        "CREATE TABLE t (ti TINYINT, tu TINYINT UNSIGNED, bo BOOLEAN, si SMALLINT, su SMALLINT UNSIGNED, \
                         mi MEDIUMINT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, fl FLOAT, db DOUBLE, \
                         de DECIMAL(12, 4), bt BIT(12), d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), \
                         y YEAR, ch CHAR(3), vc VARCHAR(20), tx TEXT, lt LONGTEXT, bn BINARY(2), vb VARBINARY(8), \
                         bl BLOB, js JSON, en ENUM('a', 'b'), st SET('x', 'y'), geo POINT, vbin VARCHAR(10) COLLATE utf8mb4_bin)",
        &[],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO t VALUES (-128, 255, 1, -32768, 65535, -8388608, 4294967295, -9223372036854775808, \
                               18446744073709551615, 1.5, 2.25, -12345678.1234, b'101000000001', '2024-02-29', \
                               '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5', '-838:59:58.5', 2024, 'ab', \
                               'ünï', 'text', 'long', x'00ff', x'010203', x'deadbeef', '{\"a\": [1, 2]}', 'b', 'x,y', \
                               ST_GeomFromText('POINT(1 2)'), 'Bin')",
        &[],
    )
    .await
    .unwrap();
    c.execute("INSERT INTO t () VALUES ()", &[]).await.unwrap();
    let b = rows(&c, "SELECT * FROM t").await;
    let s = b.schema();
    let want = [
        ("ti", DataType::Int8, "-128"),
        ("tu", DataType::UInt8, "255"),
        ("bo", DataType::Int8, "1"),
        ("si", DataType::Int16, "-32768"),
        ("su", DataType::UInt16, "65535"),
        ("mi", DataType::Int32, "-8388608"),
        ("iu", DataType::UInt32, "4294967295"),
        ("bi", DataType::Int64, "-9223372036854775808"),
        ("bu", DataType::UInt64, "18446744073709551615"),
        ("fl", DataType::Float32, "1.5"),
        ("db", DataType::Float64, "2.25"),
        ("de", DataType::Decimal128(12, 4), "-12345678.1234"),
        ("bt", DataType::UInt64, "2561"),
        ("d", DataType::Date32, "2024-02-29"),
        (
            "dt",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            "2024-02-29T13:14:15.123456",
        ),
        (
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "2024-02-29T13:14:15.500Z",
        ),
        ("y", DataType::Int16, "2024"),
        ("ch", DataType::Utf8, "ab"),
        ("vc", DataType::Utf8, "ünï"),
        ("tx", DataType::Utf8, "text"),
        ("lt", DataType::Utf8, "long"),
        ("bn", DataType::Binary, "00ff"),
        ("vb", DataType::Binary, "010203"),
        ("bl", DataType::Binary, "deadbeef"),
        ("js", DataType::Utf8, "{\"a\": [1, 2]}"),
        ("en", DataType::Utf8, "b"),
        ("st", DataType::Utf8, "x,y"),
        ("vbin", DataType::Utf8, "Bin"),
    ];
    for (name, dt, shown) in want {
        let (i, f) = s.column_with_name(name).unwrap();
        assert_eq!(f.data_type(), &dt, "type of {name}");
        assert_eq!(text(&b, i, 0), shown, "value of {name}");
        assert!(b.column(i).is_null(1), "{name} NULL");
    }
    let tm = b
        .column(s.index_of("tm").unwrap())
        .as_primitive::<DurationMicrosecondType>()
        .value(0);
    assert_eq!(tm, -(838 * 3600 + 59 * 60 + 58) * 1_000_000 - 500_000);
    // POINT(1 2) as WKB: little-endian, type 1, x, y.
    let geo = b
        .column(s.index_of("geo").unwrap())
        .as_binary::<i32>()
        .value(0);
    assert_eq!(geo.len(), 21);
    assert_eq!(&geo[..5], &[1, 1, 0, 0, 0]);
    assert_eq!(f64::from_le_bytes(geo[5..13].try_into().unwrap()), 1.0);
    assert_eq!(
        s.field_with_name("en").unwrap().metadata()["qore.source_type"],
        "enum('a','b')"
    );
    assert_eq!(
        s.field_with_name("js")
            .unwrap()
            .metadata()
            .get("qore.json")
            .map(String::as_str),
        Some("true")
    );
    // A decimal expression has no declared precision: exact text.
    let e = rows(&c, "SELECT de * 2 AS twice FROM t LIMIT 1").await;
    assert_eq!(e.schema().field(0).data_type(), &DataType::Utf8);
    assert_eq!(text(&e, 0, 0), "-24691356.2468");
}

#[tokio::test]
async fn bound_parameters_and_unprepared_statements() {
    let c = with_db("t_params").await;
    c.execute("CREATE TABLE p (i BIGINT, u BIGINT UNSIGNED, f DOUBLE, d DECIMAL(10, 3), t TEXT, b BLOB, dt DATE, ts DATETIME(6))", &[])
        .await
        .unwrap();
    let done = c
        .execute(
            "INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                Value::Int(i64::MIN),
                Value::UInt(u64::MAX),
                Value::Float(0.1),
                Value::Decimal {
                    value: -1234,
                    precision: 10,
                    scale: 3,
                },
                Value::Text("it's a \\ \"test\" ✓".into()),
                Value::Bytes(vec![0, 255]),
                Value::Date(19_782),
                Value::Timestamp {
                    value: 1_709_212_455_000_001,
                    unit: TimeUnit::Microsecond,
                    tz: None,
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
            "-9223372036854775808",
            "18446744073709551615",
            "0.1",
            "-1.234",
            "it's a \\ \"test\" ✓",
            "00ff",
            "2024-02-29",
            "2024-02-29T13:14:15.000001"
        ]
    );
    let err = c
        .execute("INSERT INTO p (i) VALUES (?)", &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1 parameter"), "{err}");
    // SHOW works prepared; USE cannot be prepared and runs as text.
    let b = rows(&c, "SHOW TABLES").await;
    assert_eq!(text(&b, 0, 0), "p");
    c.execute("USE mysql", &[]).await.unwrap();
    assert_eq!(text(&rows(&c, "SELECT DATABASE()").await, 0, 0), "mysql");
}

async fn running(admin: &MySqlConnection, marker: &str) -> i64 {
    let b = rows(
        admin,
        &format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{marker}%' \
             AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'"
        ),
    )
    .await;
    b.column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn a_huge_result_streams_and_dropping_it_kills_the_query() {
    let c = connect().await;
    let admin = connect().await;
    let mut s = c
        .query(
            "SELECT a.seq * 100000 + b.seq AS n, REPEAT('x', 50) AS pad /* kill-marker */ \
             FROM seq_0_to_99999 a, seq_0_to_99999 b",
            &[],
        )
        .await
        .unwrap();
    let mut seen = 0;
    for _ in 0..3 {
        let b = s.next().await.unwrap().unwrap();
        seen += b.num_rows();
    }
    assert_eq!(seen, 3 * 8192);
    assert_eq!(running(&admin, "kill-marker").await, 1);
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(&admin, "kill-marker").await > 0 {
        assert!(
            Instant::now() < deadline,
            "the server kept running the dropped statement"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(text(&rows(&c, "SELECT 41 + 1").await, 0, 0), "42");
    let mut s = c
        .query("SELECT SLEEP(30) /* sleep-marker */", &[])
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), s.next())
            .await
            .is_err()
    );
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(&admin, "sleep-marker").await > 0 {
        assert!(Instant::now() < deadline, "SLEEP was not killed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(text(&rows(&c, "SELECT 'ok'").await, 0, 0), "ok");
}

#[tokio::test]
async fn bad_input_gives_clear_errors() {
    let mut spec = ConnectionSpec::parse(&url()).unwrap();
    spec.password = Some(qore_core::Secret::new("wrong"));
    let err = MySqlConnection::connect(&spec).await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = MySqlConnection::connect(
        &ConnectionSpec::parse(&format!("mysql://u:p@127.0.0.1:{port}/db")).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    let c = connect().await;
    match c.query("SELEC 1", &[]).await.unwrap_err() {
        Error::Query(q) => assert!(q.code.as_deref().unwrap().starts_with("1064"), "{q:?}"),
        other => panic!("{other}"),
    }
    let slow = MySqlConnection::connect(
        &ConnectionSpec::parse(&format!("{}?statement_timeout=300", url())).unwrap(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let r = match slow
        .query("SELECT SLEEP(5) AS s FROM seq_1_to_2", &[])
        .await
    {
        Ok(s) => collect(s).await.map(|_| ()),
        Err(e) => Err(e),
    };
    // MariaDB reports max_statement_time as an error; SLEEP itself may
    // instead return 1 early when interrupted.
    if let Err(e) = r {
        assert!(matches!(e, Error::Timeout(_)), "{e}")
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    // The server kills the connection mid-stream.
    let id = c.connection_id();
    let mut s = c
        .query("SELECT seq FROM seq_1_to_100000000", &[])
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    let admin = connect().await;
    admin.execute(&format!("KILL {id}"), &[]).await.unwrap();
    let mut failed = None;
    while let Some(item) = s.next().await {
        if let Err(e) = item {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("the stream must end in an error");
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    drop(s);
    // The next statement runs on a replacement session, at once.
    let started = Instant::now();
    assert_eq!(contracts::int(&c, "SELECT 7").await, 7);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_ne!(c.connection_id(), id);
    assert_eq!(c.reconnects(), 1);
}

#[tokio::test]
async fn the_catalog_is_complete() {
    let c = with_db("t_catalog").await;
    for stmt in [
        "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE COMMENT 'login', \
                                 name VARCHAR(50) DEFAULT 'anon', upper_name VARCHAR(50) AS (UPPER(name)) STORED) COMMENT 'who buys'",
        "CREATE TABLE orders (id BIGINT NOT NULL, line INT NOT NULL, customer_id INT, total DECIMAL(10, 2) CHECK (total >= 0), \
                              PRIMARY KEY (id, line), KEY by_total (total), \
                              CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE ON UPDATE SET NULL)",
        "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100",
        "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW SET NEW.total = NEW.total",
    ] {
        c.execute(stmt, &[]).await.unwrap();
    }
    let ns = c.namespaces().await.unwrap();
    assert!(
        ns.iter().any(|n| n.name == "t_catalog" && n.is_default),
        "{ns:?}"
    );
    assert!(!ns.iter().any(|n| n.name == "mysql"));
    let tables = c.tables(None).await.unwrap();
    let kind = |n: &str| tables.iter().find(|t| t.table.name == n).map(|t| t.kind);
    assert_eq!(kind("customers"), Some(TableKind::Table));
    assert_eq!(kind("big_orders"), Some(TableKind::View));
    assert_eq!(
        tables
            .iter()
            .find(|t| t.table.name == "customers")
            .unwrap()
            .comment
            .as_deref(),
        Some("who buys")
    );

    let d = c.table(&TableRef::new("customers")).await.unwrap();
    assert_eq!(d.primary_key(), ["id"]);
    assert_eq!(
        d.column("id").unwrap().default.as_deref(),
        Some("AUTO_INCREMENT")
    );
    let generated = d
        .column("upper_name")
        .unwrap()
        .generated
        .clone()
        .unwrap()
        .to_lowercase();
    assert!(generated.contains("(`name`)"), "{generated}");
    assert_eq!(d.column("email").unwrap().comment.as_deref(), Some("login"));
    assert!(
        d.constraints.iter().any(
            |k| matches!(&k.kind, ConstraintKind::Unique { columns } if columns == &["email"])
        )
    );

    let o = c
        .table(&TableRef::qualified("t_catalog", "orders"))
        .await
        .unwrap();
    assert_eq!(o.primary_key(), ["id", "line"]);
    assert_eq!(
        o.column("total").unwrap().arrow_type,
        DataType::Decimal128(10, 2)
    );
    let fk = o.foreign_keys().next().unwrap();
    assert_eq!(
        (fk.columns.clone(), fk.target_columns.clone()),
        (vec!["customer_id".to_string()], vec!["id".to_string()])
    );
    assert_eq!(fk.target, TableRef::qualified("t_catalog", "customers"));
    assert_eq!(
        (fk.on_delete, fk.on_update),
        (qore_core::FkAction::Cascade, qore_core::FkAction::SetNull)
    );
    assert!(o.constraints.iter().any(|k| matches!(&k.kind, ConstraintKind::Check { expression, .. } if expression.contains("total"))));
    let by_total = o.indexes.iter().find(|i| i.name == "by_total").unwrap();
    assert_eq!(
        (by_total.unique, by_total.method.as_deref()),
        (false, Some("btree"))
    );
    assert!(o.indexes.iter().any(|i| i.primary && i.parts.len() == 2));
    assert!(
        o.indexes.iter().any(|i| i.size_bytes.is_some()),
        "{:?}",
        o.indexes
    );
    assert_eq!(o.triggers, ["orders_touch"]);
    let v = c.table(&TableRef::new("big_orders")).await.unwrap();
    assert!(v.view_definition.unwrap().contains("100"));
    assert!(matches!(
        c.table(&TableRef::new("nope")).await.unwrap_err(),
        Error::NotFound(_)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Values bound as parameters come back equal through `query`.
    #[test]
    fn values_round_trip_through_the_server(
        i in any::<i64>(),
        u in any::<u64>(),
        f in any::<f64>().prop_filter("finite", |f| f.is_finite()),
        s in "\\PC{0,40}",
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        days in 0i32..2_900_000,
        null in any::<bool>(),
    ) {
        runtime().block_on(async {
            let c = with_db_cached().await;
            c.execute("DELETE FROM rt", &[]).await.unwrap();
            let params = vec![
                if null { Value::Null } else { Value::Int(i) },
                Value::UInt(u),
                Value::Float(f),
                Value::Text(s.clone()),
                Value::Bytes(bytes.clone()),
                Value::Date(days - 719_162),
            ];
            c.execute("INSERT INTO rt VALUES (?, ?, ?, ?, ?, ?)", &params).await.unwrap();
            let b = rows(&c, "SELECT * FROM rt").await;
            for (col, want) in params.iter().enumerate() {
                assert_eq!(&Value::from_array(b.column(col).as_ref(), 0).unwrap(), want, "column {col}");
            }
        });
    }

    /// Identifiers and string literals quoted by the dialect read back
    /// unchanged under every combination of ANSI_QUOTES and NO_BACKSLASH_ESCAPES.
    #[test]
    fn dialect_quoting_round_trips_under_every_sql_mode(
        // The server trims leading control characters and spaces from column
        // aliases (with a warning), and allows only the BMP in identifiers.
        ident in "[\\x{21}-\\x{7e}\\x{a1}-\\x{d7ff}][\\x{1}-\\x{FFFF}]{0,20}[\\x{21}-\\x{7e}\\x{a1}-\\x{d7ff}]",
        lit in "[^\\x00]{0,40}",
    ) {
        runtime().block_on(async {
            let c = connect().await;
            for mode in ["", "ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES"] {
                c.execute(&format!("SET SESSION sql_mode = '{mode}'"), &[]).await.unwrap();
                let d = c.dialect().unwrap();
                let sql = format!("SELECT {} AS {}", d.quote_string(&lit).unwrap(), d.quote_identifier(&ident).unwrap());
                let b = rows(&c, &sql).await;
                assert_eq!(b.schema().field(0).name(), &ident, "mode {mode}");
                assert_eq!(b.column(0).as_string::<i32>().value(0), lit, "mode {mode}");
            }
        });
    }
}

async fn with_db_cached() -> MySqlConnection {
    let c = connect().await;
    c.execute("CREATE DATABASE IF NOT EXISTS t_roundtrip", &[])
        .await
        .unwrap();
    c.execute("USE t_roundtrip", &[]).await.unwrap();
    c.execute(
        "CREATE TABLE IF NOT EXISTS rt (i BIGINT, u BIGINT UNSIGNED, f DOUBLE, s TEXT, b BLOB, d DATE)",
        &[],
    )
    .await
    .unwrap();
    c
}

/// Values of 16 MiB and more travel in several protocol packets, both ways
/// (the server's max_allowed_packet is raised by scripts/servers.sh).
#[tokio::test]
async fn values_larger_than_one_packet_round_trip() {
    let c = with_db("t_big").await;
    let max: i64 = {
        let b = rows(&c, "SELECT @@max_allowed_packet").await;
        text(&b, 0, 0).parse().unwrap()
    };
    if max < 40 << 20 {
        eprintln!("skipped: max_allowed_packet is {max}, below 40 MiB");
        return;
    }
    c.execute("CREATE TABLE t (id INT, b LONGBLOB, s LONGTEXT)", &[])
        .await
        .unwrap();
    // 16 MiB - 1 is the exact size of a full packet: also the edge case.
    for (id, len) in [(1, 0xFF_FFFF - 20), (2, 0xFF_FFFF), (3, 20 << 20)] {
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        c.execute(
            "INSERT INTO t VALUES (?, ?, REPEAT('é', ?))",
            &[
                Value::Int(id),
                Value::Bytes(bytes),
                Value::Int(len as i64 / 2),
            ],
        )
        .await
        .unwrap();
    }
    let b = rows(&c, "SELECT id, b, s, LENGTH(b) FROM t ORDER BY id").await;
    assert_eq!(b.num_rows(), 3);
    for (row, len) in [0xFF_FFFF - 20usize, 0xFF_FFFF, 20 << 20]
        .into_iter()
        .enumerate()
    {
        let got = b.column(1).as_binary::<i32>().value(row);
        assert_eq!(got.len(), len);
        assert!(got.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
        let s = b.column(2).as_string::<i32>().value(row);
        assert_eq!(s.chars().count(), len / 2);
        assert!(s.chars().all(|ch| ch == 'é'));
    }
    // The connection is in step afterwards.
    assert_eq!(text(&rows(&c, "SELECT 'after'").await, 0, 0), "after");
}

/// ssl-mode=required either gets an encrypted session (the server's
/// Ssl_cipher says so) or a clear refusal: never a silent plain connection.
#[tokio::test]
async fn ssl_mode_required_is_encrypted_or_refused() {
    let tls_url = format!("{}?ssl-mode=required", url());
    match MySqlConnection::connect(&ConnectionSpec::parse(&tls_url).unwrap()).await {
        Ok(c) => {
            let b = rows(&c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").await;
            assert!(!text(&b, 1, 0).is_empty(), "connected without TLS");
        }
        Err(e) => {
            assert!(matches!(e, Error::Connect { .. }), "{e:?}");
            let chain = format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            );
            assert!(
                chain.contains("ssl-mode=required but the server does not offer TLS"),
                "{chain}"
            );
        }
    }
    // ssl-mode=disabled is plain, and an unknown mode is named.
    let plain = format!("{}?ssl-mode=disabled", url());
    let c = MySqlConnection::connect(&ConnectionSpec::parse(&plain).unwrap())
        .await
        .unwrap();
    assert_eq!(text(&rows(&c, "SELECT 'plain'").await, 0, 0), "plain");
    let bad = format!("{}?ssl-mode=sometimes", url());
    let e = MySqlConnection::connect(&ConnectionSpec::parse(&bad).unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("sometimes"), "{e}");
}

/// MariaDB's ed25519 accounts (`auth_ed25519`, installed by the test if
/// need be): the right password signs in over TLS and over plain TCP,
/// whatever its length, a wrong one is an authentication error, and an
/// option that is not known is named.
#[tokio::test]
async fn mariadb_ed25519_accounts_sign_in() {
    let admin = connect().await;
    let active = contracts::int(
        &admin,
        "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519' AND PLUGIN_STATUS = 'ACTIVE'",
    )
    .await;
    if active == 0 {
        admin
            .execute("INSTALL SONAME 'auth_ed25519'", &[])
            .await
            .unwrap();
    }
    let passwords = [
        "ed-secret",
        "x",
        "exactly thirty-two bytes long!!!",
        "un mot de passe bien plus long que trente-deux octets, 🔑 compris",
    ];
    for (i, pw) in passwords.iter().enumerate() {
        let user = format!("qore_ed{i}");
        admin
            .execute(&format!("DROP USER IF EXISTS '{user}'@'127.0.0.1'"), &[])
            .await
            .unwrap();
        admin
            .execute(
                &format!(
                    "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('{pw}')"
                ),
                &[],
            )
            .await
            .unwrap();
        for mode in ["preferred", "disabled"] {
            let mut spec = ConnectionSpec::parse(&format!("{}?ssl-mode={mode}", url())).unwrap();
            spec.user = Some(user.clone());
            spec.password = Some(qore_core::Secret::new(*pw));
            spec.database = None;
            let c = MySqlConnection::connect(&spec).await.unwrap();
            let who = rows(&c, "SELECT CURRENT_USER()").await;
            assert_eq!(text(&who, 0, 0), format!("{user}@127.0.0.1"), "{mode}");
            spec.password = Some(qore_core::Secret::new(format!("{pw}!")));
            let e = MySqlConnection::connect(&spec).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Authentication, "{mode}: {e}");
        }
        admin
            .execute(&format!("DROP USER '{user}'@'127.0.0.1'"), &[])
            .await
            .unwrap();
    }
    let bad = format!("{}?get-server-public-key=maybe", url());
    let e = MySqlConnection::connect(&ConnectionSpec::parse(&bad).unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("get-server-public-key"), "{e}");
    let missing = format!("{}?server-public-key-path=/nonexistent/key.pem", url());
    let e = MySqlConnection::connect(&ConnectionSpec::parse(&missing).unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/key.pem"), "{e}");
}

/// TLS against the throwaway server, whose certificate (IP 127.0.0.1) is
/// signed by a private CA made by scripts/servers.sh.
#[tokio::test]
async fn tls_verifies_the_server_against_the_given_ca() {
    let Ok(ca) = std::env::var("QORE_TEST_MYSQL_TLS_CA") else {
        eprintln!("skipped: QORE_TEST_MYSQL_TLS_CA is not set");
        return;
    };
    let with = |opts: &str, host: Option<&str>| {
        let mut u = url();
        if let Some(h) = host {
            u = u.replace("127.0.0.1", h);
        }
        format!("{u}?{opts}")
    };
    let open = |u: String| async move {
        MySqlConnection::connect(&ConnectionSpec::parse(&u).unwrap()).await
    };
    let chain = |e: &Error| {
        format!(
            "{e}: {}",
            std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_default()
        )
    };

    // The full check passes, and the session is encrypted: a large result
    // streams through it intact.
    let c = open(with(&format!("ssl-mode=verify_identity&ssl-ca={ca}"), None))
        .await
        .unwrap();
    let b = rows(&c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").await;
    assert!(!text(&b, 1, 0).is_empty());
    let all = collect(
        c.query(
            "SELECT seq, REPEAT('t', seq % 100) FROM seq_1_to_200000",
            &[],
        )
        .await
        .unwrap(),
    )
    .await
    .unwrap();
    let n: usize = all.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, 200_000);
    let last = all.last().unwrap();
    // seq_1_to_N yields BIGINT UNSIGNED.
    let sum: u64 = all
        .iter()
        .map(|b| {
            b.column(0)
                .as_primitive::<UInt64Type>()
                .iter()
                .flatten()
                .sum::<u64>()
        })
        .sum();
    assert_eq!(sum, 200_000 * 200_001 / 2);
    assert_eq!(last.num_columns(), 2);

    // Without the private CA the chain is not trusted.
    let e = open(with("ssl-mode=verify_identity", None))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(chain(&e).contains("TLS"), "{}", chain(&e));

    // By another name the certificate does not match; verify_ca does not
    // check the name, verify_identity does.
    let e = open(with(
        &format!("ssl-mode=verify_identity&ssl-ca={ca}"),
        Some("localhost"),
    ))
    .await
    .unwrap_err();
    assert!(chain(&e).to_lowercase().contains("name"), "{}", chain(&e));
    let c = open(with(
        &format!("ssl-mode=verify_ca&ssl-ca={ca}"),
        Some("localhost"),
    ))
    .await
    .unwrap();
    assert_eq!(text(&rows(&c, "SELECT 'by name'").await, 0, 0), "by name");

    // A missing CA file is named.
    let e = open(with("ssl-mode=verify_ca&ssl-ca=/nonexistent/ca.pem", None))
        .await
        .unwrap_err();
    assert!(chain(&e).contains("/nonexistent/ca.pem"), "{}", chain(&e));
}

/// A CALL learns its columns only when it runs: its first result set is
/// the stream, the rest is read and dropped, and the connection goes on.
#[tokio::test]
async fn call_streams_the_first_result_set() {
    let c = with_db("t_call").await;
    c.execute(
        "CREATE PROCEDURE two(x INT) BEGIN \
           SELECT seq AS n, x AS x FROM seq_1_to_20000; SELECT 'second' AS s; END",
        &[],
    )
    .await
    .unwrap();
    c.execute("CREATE PROCEDURE none() BEGIN DO 1; END", &[])
        .await
        .unwrap();
    let all = collect(c.query("CALL two(?)", &[Value::Int(7)]).await.unwrap())
        .await
        .unwrap();
    assert_eq!(all[0].schema().field(0).name(), "n");
    assert_eq!(all.iter().map(|b| b.num_rows()).sum::<usize>(), 20_000);
    assert_eq!(text(&rows(&c, "SELECT 'then'").await, 0, 0), "then");
    let empty = collect(c.query("CALL none()", &[]).await.unwrap())
        .await
        .unwrap();
    assert!(empty.iter().all(|b| b.num_rows() == 0));
    // Dropped after one batch: the rest of both result sets is drained.
    let mut s = c.query("CALL two(1)", &[]).await.unwrap();
    assert!(s.next().await.unwrap().unwrap().num_rows() > 0);
    drop(s);
    assert_eq!(text(&rows(&c, "SELECT 'still'").await, 0, 0), "still");
}

/// close() says goodbye: the session leaves the server's process list and
/// the handle then refuses work with a clear error.
#[tokio::test]
async fn close_ends_the_session() {
    let admin = connect().await;
    let c = connect().await;
    let id = c.connection_id();
    let sql = format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}");
    let listed = async |admin: &MySqlConnection| {
        rows(admin, &sql)
            .await
            .column(0)
            .as_primitive::<Int64Type>()
            .value(0)
    };
    assert_eq!(listed(&admin).await, 1);
    c.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while listed(&admin).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the session stayed after close()"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = c.query("SELECT 1", &[]).await.unwrap_err();
    assert!(e.to_string().contains("closed"), "{e}");
}

#[tokio::test]
async fn sessions_transactions_and_error_kinds() {
    drop(with_db("t_contracts").await);
    let db = qore_drivers::open(&url()).await.unwrap();
    contracts::transactions(&db, "t_contracts.", true).await;
    contracts::interceptors(&db, "t_contracts.", true).await;
    contracts::parallel_sessions(&db, "t_contracts.", Some("t_contracts")).await;
    contracts::error_kinds(&*db.session().await.unwrap(), "t_contracts.").await;
}

#[tokio::test]
async fn concurrency_and_server_error_kinds() {
    drop(with_db("t_kinds").await);
    let db = qore_drivers::open(&url()).await.unwrap();
    let (a, b) = (db.session().await.unwrap(), db.session().await.unwrap());
    a.execute(
        "CREATE TABLE t_kinds.acc (id int PRIMARY KEY, v int, small TINYINT)",
        &[],
    )
    .await
    .unwrap();
    a.execute("INSERT INTO t_kinds.acc VALUES (1, 0, 0), (2, 0, 0)", &[])
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
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            tb.execute("UPDATE t_kinds.acc SET v = 2 WHERE id = 1", &[])
                .await
        },
    );
    let e = ra
        .err()
        .or(rb.err())
        .expect("one of them is the deadlock victim");
    assert_eq!(e.kind(), ErrorKind::Deadlock, "{e}");
    assert!(e.is_transient());
    drop((ta, tb));

    // Lock wait timeout.
    let ta = a.begin().await.unwrap();
    ta.execute("UPDATE t_kinds.acc SET v = 5 WHERE id = 1", &[])
        .await
        .unwrap();
    b.execute("SET SESSION innodb_lock_wait_timeout = 1", &[])
        .await
        .unwrap();
    let e = b
        .execute("UPDATE t_kinds.acc SET v = 6 WHERE id = 1", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout, "{e}");
    assert!(e.is_transient());
    ta.rollback().await.unwrap();

    let e = b
        .execute("UPDATE t_kinds.acc SET small = 1000 WHERE id = 1", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");

    b.execute("SET SESSION TRANSACTION READ ONLY", &[])
        .await
        .unwrap();
    let tb = b.begin().await.unwrap();
    let e = tb
        .execute("INSERT INTO t_kinds.acc VALUES (3, 0, 0)", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    drop(tb);

    // Permission: a user with no privileges.
    a.execute("DROP USER IF EXISTS 'qore_nobody'@'127.0.0.1'", &[])
        .await
        .unwrap();
    a.execute(
        "CREATE USER 'qore_nobody'@'127.0.0.1' IDENTIFIED BY 'nobody-pw'",
        &[],
    )
    .await
    .unwrap();
    let mut nobody = ConnectionSpec::parse(&url()).unwrap();
    nobody.user = Some("qore_nobody".into());
    nobody.password = Some(qore_core::Secret::new("nobody-pw"));
    nobody.database = None;
    let n = qore_drivers::connect_spec(&nobody).await.unwrap();
    let e = n
        .execute("SELECT * FROM t_kinds.acc", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    nobody.password = Some(qore_core::Secret::new("wrong"));
    let e = qore_drivers::connect_spec(&nobody).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");

    // Timeout, then a lost connection.
    let slow = qore_drivers::connect(&format!("{}?statement_timeout=50&reconnect=off", url()))
        .await
        .unwrap();
    // MariaDB's SLEEP returns 1 when interrupted: a long join errors instead.
    let e = slow
        .execute(
            "SELECT count(*) FROM seq_1_to_100000 a JOIN seq_1_to_100000 b ON a.seq + b.seq = 3",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let id = contracts::int(&*slow, "SELECT CONNECTION_ID()").await;
    a.execute(&format!("KILL {id}"), &[]).await.unwrap();
    let e = slow.execute("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.is_transient());
}

#[tokio::test]
async fn profiles_label_sessions_and_enforce_read_only() {
    drop(with_db("t_profiles").await);
    let spec = ConnectionSpec::parse(&url()).unwrap();
    let password = spec.password.as_ref().map(|p| p.expose().to_string());
    let url = spec.without_password().expose_url();
    contracts::profile_label_and_read_only(&url, password.as_deref(), "t_profiles.").await;
}

#[tokio::test]
async fn dialect_hooks_run() {
    let c = with_db("t_dialect").await;
    contracts::dialect_hooks(&c, "t_dialect.").await;
}

fn my_killer(admin: &dyn Connection) -> common::resilience::Killer<'_> {
    common::resilience::Killer {
        admin,
        id_sql: "SELECT CONNECTION_ID()",
        kill_sql: |id| format!("KILL {id}"),
        alive_sql: |id| format!("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"),
    }
}

/// KILL, 100 times: every next read succeeds on a new session with the
/// session's sql_mode; a write in a transaction is lost with
/// ConnectionLost and not replayed.
#[tokio::test]
async fn killed_sessions_are_replaced_and_transactions_are_not_replayed() {
    let admin = qore_drivers::connect(&url()).await.unwrap();
    admin
        .execute("CREATE DATABASE IF NOT EXISTS t_resilience", &[])
        .await
        .unwrap();
    let c = qore_drivers::connect(&url()).await.unwrap();
    common::resilience::killed_sessions(
        &*c,
        &my_killer(&*admin),
        "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES'",
        "SELECT @@SESSION.sql_mode",
        "ANSI_QUOTES,STRICT_ALL_TABLES",
        "t_resilience.w",
        100,
    )
    .await;
    let off = qore_drivers::connect(&format!("{}?reconnect=off", url()))
        .await
        .unwrap();
    common::resilience::no_reconnect(&*off, &my_killer(&*admin)).await;
}
