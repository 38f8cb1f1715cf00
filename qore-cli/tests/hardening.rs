//! Hangs, signals, special files, hostile input and value fidelity: each case
//! was reproduced on the CLI as users would hit it (issue "Nothing lost,
//! nothing corrupted, nothing hung").

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::server_url;
use crate::util::{Qore, RedisServer};

/// What `support/pty_run.py` reports.
struct PtyRun {
    exit: Option<i32>,
    timed_out: bool,
    output: String,
}

/// Runs qore on a pseudo-terminal (stderr is a terminal: the progress bar
/// is on), optionally typing Ctrl-C after `interrupt` seconds.
fn on_terminal(q: &Qore, args: &[&str], interrupt: Option<f64>, timeout: f64) -> PtyRun {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pty_run.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(timeout.to_string())
        .arg(interrupt.map_or("-".to_string(), |s| s.to_string()))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_qore"))
        .args(args)
        .current_dir(q.dir())
        .env("XDG_CONFIG_HOME", q.dir().join("config"))
        .env("XDG_DATA_HOME", q.dir().join("data"))
        .env_remove("QORE_DB")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pty_run.py: {e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    PtyRun {
        exit: v["exit"].as_i64().map(|c| c as i32),
        timed_out: v["timed_out"].as_bool().unwrap_or(true),
        output: v["output"].as_str().unwrap_or_default().to_string(),
    }
}

fn spawn(q: &Qore, args: &[&str]) -> Child {
    q.spawn(args)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig}");
}

/// Waits at most `limit` for the child; its exit code and stderr.
fn wait(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("qore did not exit within {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".part") || n.contains(".qore-tmp-"))
        .collect()
}

#[test]
fn export_on_a_terminal_finishes_and_ctrl_c_stops_it() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    // Was: frozen 8 times of 8 (stderr locked while the bar's thread drew).
    for table in ["customers", "order_items"] {
        let out = format!("{table}.csv");
        let r = on_terminal(
            &q,
            &["export", "--db", "shop.db", "--table", table, "-o", &out],
            None,
            60.0,
        );
        assert!(
            !r.timed_out,
            "export of {table} hung on a terminal: {}",
            r.output
        );
        assert_eq!(r.exit, Some(0), "{}", r.output);
        assert!(r.output.contains("qore: exported"), "{}", r.output);
        assert!(q.path(&out).metadata().unwrap().len() > 100);
    }
    // Ctrl-C typed at the terminal while a server query streams.
    let url = server_url("QORE_TEST_POSTGRES_URL");
    let r = on_terminal(
        &q,
        &[
            "export",
            "--db",
            &url,
            "-o",
            "slow.csv",
            "SELECT g, pg_sleep(0.01) FROM generate_series(1, 100000) g",
        ],
        Some(2.0),
        30.0,
    );
    assert!(!r.timed_out, "Ctrl-C did not stop the export: {}", r.output);
    assert_eq!(r.exit, Some(130), "{}", r.output);
    assert!(r.output.contains("interrupted"), "{}", r.output);
    assert!(!q.path("slow.csv").exists());
    assert!(leftovers(q.dir()).is_empty(), "{:?}", leftovers(q.dir()));
}

/// Statements of this test still running on the server, other than the probe.
fn running(q: &Qore, url: &str, mysql: bool, marker: &str) -> i64 {
    let sql = if mysql {
        format!(
            "SELECT count(*) FROM information_schema.PROCESSLIST \
             WHERE INFO LIKE '%{marker}%' AND ID <> CONNECTION_ID()"
        )
    } else {
        format!(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
             AND query LIKE '%{marker}%' AND pid <> pg_backend_pid()"
        )
    };
    let out = q.ok(&["query", "--db", url, "--format", "csv", &sql]);
    out.lines().nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn ctrl_c_cancels_the_statement_on_the_server() {
    let q = Qore::new();
    let engines = [
        (server_url("QORE_TEST_POSTGRES_URL"), false, "pg_sleep"),
        (server_url("QORE_TEST_MYSQL_URL"), true, "SLEEP"),
    ];
    for (url, mysql, sleep) in &engines {
        let cases = [
            // Before the first row: the server sends nothing for 30 s.
            (vec!["query"], format!("SELECT {sleep}(30) AS marker_a")),
            (
                vec!["export", "-o", "x.csv"],
                format!("SELECT {sleep}(30) AS marker_b"),
            ),
            // While rows stream.
            (
                vec!["query", "--format", "csv"],
                if *mysql {
                    "SELECT seq, SLEEP(0.01) AS marker_c FROM seq_1_to_100000".to_string()
                } else {
                    "SELECT g, pg_sleep(0.01) AS marker_c FROM generate_series(1, 100000) g"
                        .to_string()
                },
            ),
        ];
        for (cmd, sql) in cases {
            let marker = sql
                .split("AS ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            let mut args: Vec<&str> = cmd.clone();
            args.extend(["--db", url.as_str(), sql.as_str()]);
            let child = spawn(&q, &args);
            // Wait until the server runs it.
            let deadline = Instant::now() + Duration::from_secs(15);
            while running(&q, url, *mysql, marker) == 0 {
                assert!(Instant::now() < deadline, "{sql} never started");
                std::thread::sleep(Duration::from_millis(100));
            }
            signal(&child, "INT");
            let (code, err) = wait(child, Duration::from_secs(10));
            assert_eq!(code, Some(130), "{args:?}: {err}");
            assert!(err.contains("interrupted by SIGINT"), "{err}");
            let deadline = Instant::now() + Duration::from_secs(5);
            while running(&q, url, *mysql, marker) != 0 {
                assert!(
                    Instant::now() < deadline,
                    "{sql} still runs on the server after Ctrl-C ({args:?})"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    assert!(!q.path("x.csv").exists());
    assert!(leftovers(q.dir()).is_empty());
}

#[test]
fn sigterm_and_sighup_clean_up_exports_and_the_demo() {
    let q = Qore::new();
    let url = server_url("QORE_TEST_POSTGRES_URL");
    std::fs::write(q.path("out.csv"), "old\n").unwrap();
    for (sig, code) in [("TERM", 143), ("HUP", 129)] {
        let child = spawn(
            &q,
            &[
                "export",
                "--db",
                &url,
                "-o",
                "out.csv",
                "SELECT g, pg_sleep(0.01) FROM generate_series(1, 100000) g",
            ],
        );
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            names(q.dir()).iter().any(|n| n.ends_with(".part")),
            "the export runs"
        );
        signal(&child, sig);
        let (c, err) = wait(child, Duration::from_secs(10));
        assert_eq!(c, Some(code), "SIG{sig}: {err}");
        assert_eq!(std::fs::read_to_string(q.path("out.csv")).unwrap(), "old\n");
        assert!(
            leftovers(q.dir()).is_empty(),
            "SIG{sig}: {:?}",
            names(q.dir())
        );
    }
    // The demo: interrupted at some point of its run, it leaves nothing.
    let mut interrupted = false;
    for (i, delay) in [400u64, 150, 60, 25].into_iter().enumerate() {
        let name = format!("d{i}.db");
        let child = spawn(&q, &["demo", &name]);
        std::thread::sleep(Duration::from_millis(delay));
        signal(&child, "TERM");
        let (c, err) = wait(child, Duration::from_secs(20));
        assert!(leftovers(q.dir()).is_empty(), "{:?}", names(q.dir()));
        match c {
            Some(143) => {
                interrupted = true;
                assert!(!q.path(&name).exists(), "{err}");
            }
            // Done before the signal came.
            Some(0) => {}
            // Killed before its signal handlers were set up: nothing written yet.
            None => assert!(!q.path(&name).exists()),
            other => panic!("demo exited with {other:?}: {err}"),
        }
    }
    assert!(interrupted, "no run of the demo was interrupted");
}

#[test]
fn special_files_are_written_in_place_and_regular_files_keep_mode_and_owner() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    let q = Qore::new();
    let sql = "SELECT 1 AS n";
    // /dev/null stays a device (was replaced by a 0600 file as root).
    q.ok(&["export", "--format", "csv", "-o", "/dev/null", "-q", sql]);
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A device node of our own, where we may make one.
    if Command::new("mknod")
        .args([q.path("zero").to_str().unwrap(), "c", "1", "5"])
        .status()
        .is_ok_and(|s| s.success())
    {
        q.ok(&["export", "--format", "csv", "-o", "zero", "-q", sql]);
        assert!(
            q.path("zero")
                .metadata()
                .unwrap()
                .file_type()
                .is_char_device()
        );
        let out = q.run(&["demo", "zero", "--force"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("character device"));
        assert!(
            q.path("zero")
                .metadata()
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    // A FIFO: the reader gets the data, the FIFO stays.
    assert!(
        Command::new("mkfifo")
            .arg(q.path("pipe"))
            .status()
            .unwrap()
            .success()
    );
    let fifo = q.path("pipe");
    let reader = std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap());
    q.ok(&["export", "--format", "csv", "-o", "pipe", "-q", sql]);
    assert_eq!(reader.join().unwrap(), "n\n1\n");
    assert!(q.path("pipe").metadata().unwrap().file_type().is_fifo());
    let out = q.run(&["demo", "pipe", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FIFO"));
    // A directory is refused by name.
    std::fs::create_dir(q.path("adir")).unwrap();
    let out = q.run(&["export", "--format", "csv", "-o", "adir", sql]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
    // A regular file keeps its mode (and owner, where we may set it).
    std::fs::write(q.path("kept.csv"), "old").unwrap();
    std::fs::set_permissions(q.path("kept.csv"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if root {
        std::os::unix::fs::chown(q.path("kept.csv"), Some(65534), Some(65534)).unwrap();
    }
    q.ok(&["export", "-o", "kept.csv", "-q", sql]);
    let m = q.path("kept.csv").metadata().unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o640);
    if root {
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
    }
    assert_eq!(
        std::fs::read_to_string(q.path("kept.csv")).unwrap(),
        "n\n1\n"
    );
    // A new file gets 0666 minus the umask, not 0600.
    let umask = Command::new("sh")
        .args(["-c", "umask"])
        .output()
        .unwrap()
        .stdout;
    let umask = u32::from_str_radix(String::from_utf8_lossy(&umask).trim(), 8).unwrap();
    q.ok(&["export", "-o", "new.csv", "-q", sql]);
    assert_eq!(
        q.path("new.csv").metadata().unwrap().permissions().mode() & 0o777,
        0o666 & !umask
    );
    // A symbolic link is followed: the link stays, its target is replaced.
    std::fs::write(q.path("target.csv"), "old").unwrap();
    std::os::unix::fs::symlink("target.csv", q.path("link.csv")).unwrap();
    q.ok(&["export", "-o", "link.csv", "-q", sql]);
    assert!(
        q.path("link.csv")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(q.path("target.csv")).unwrap(),
        "n\n1\n"
    );
    assert!(leftovers(q.dir()).is_empty(), "{:?}", names(q.dir()));
    // A full device: one clear message, the OS error named once.
    let out = q.run(&["export", "--format", "csv", "-o", "/dev/full", sql]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("os error 28").count(), 1, "{err}");
}

#[test]
fn html_pages_leave_the_query_out_on_request() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&[
        "export",
        "--db",
        "shop.db",
        "-o",
        "with.html",
        "-q",
        "SELECT id FROM customers WHERE id < 3",
    ]);
    q.ok(&[
        "export",
        "--db",
        "shop.db",
        "-o",
        "without.html",
        "--no-source",
        "-q",
        "SELECT id FROM customers WHERE id < 3",
    ]);
    let with = std::fs::read_to_string(q.path("with.html")).unwrap();
    let without = std::fs::read_to_string(q.path("without.html")).unwrap();
    assert!(with.contains("WHERE id") && with.contains("shop.db"));
    assert!(!without.contains("WHERE id") && !without.contains("shop.db"));
}

#[test]
fn hostile_input_gets_a_clear_error_and_exit_2() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let redis = RedisServer::start();
    let pg = server_url("QORE_TEST_POSTGRES_URL");
    let my = server_url("QORE_TEST_MYSQL_URL");
    let mongo = server_url("QORE_TEST_MONGODB_URL");
    let deep = format!("db.c.find({}1{})", "{a:".repeat(8000), "}".repeat(8000));
    std::fs::write(q.path("deep.js"), &deep).unwrap();
    let deep_cmd = format!(
        "{{\"find\": \"c\", \"filter\": {}1{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    std::fs::write(q.path("deep.json"), &deep_cmd).unwrap();
    std::fs::write(q.path("nul.sql"), "SELECT 1\0").unwrap();
    let redis_bogus = format!("{}?bogus=1", redis.url);
    let join = if mongo.contains('?') { '&' } else { '?' };
    let mongo_bad_sample = format!("{mongo}{join}sample=abc");
    let mongo_neg_sample = format!("{mongo}{join}sample=-1");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["query", "--db", &mongo, "-f", "deep.js"],
            "nest more than 200",
        ),
        (
            vec!["query", "--db", &mongo, "-f", "deep.json"],
            "nest more than 200",
        ),
        (
            vec!["query", "--db", &redis_bogus, "PING"],
            "unknown Redis option `bogus`",
        ),
        (
            vec!["query", "--db", &mongo_bad_sample, "db.c.find()"],
            "`sample`",
        ),
        (
            vec!["query", "--db", &mongo_neg_sample, "db.c.find()"],
            "`sample`",
        ),
        (vec!["query", "--db", "", "SELECT 1"], "--db is empty"),
        (
            vec![
                "query",
                "--db",
                "postgres://qore:qo%ZZrepw@127.0.0.1:1/x",
                "SELECT 1",
            ],
            "two hex digits",
        ),
        (
            vec![
                "query",
                "--db",
                "postgres://qore:qorepw%@127.0.0.1:1/x",
                "SELECT 1",
            ],
            "two hex digits",
        ),
        (
            vec!["ls", "--db", &redis.url, "--type", "bogus"],
            "unknown Redis key type `bogus`",
        ),
        (vec!["ls", "--db", &pg, "no_such_schema"], "no_such_schema"),
        (vec!["ls", "--db", &my, "no_such_db"], "no_such_db"),
        (
            vec!["ls", "--db", &mongo, "no_such_db"],
            "no namespace `no_such_db`",
        ),
        (
            vec!["conn", "add", "x", "sqlite:a.db?bogus=1"],
            "unknown SQLite option `bogus`",
        ),
        (
            vec!["conn", "add", "y", &redis_bogus],
            "unknown Redis option",
        ),
        (
            vec!["query", "--db", &mongo, "db.c.insertOne()"],
            "is missing",
        ),
        (
            vec!["query", "--db", &mongo, "db.c.deleteMany()"],
            "is missing",
        ),
        (
            vec![
                "export",
                "--db",
                &redis.url,
                "--table",
                "probe:str",
                "-o",
                "r.csv",
            ],
            "Redis has keys",
        ),
        (vec!["query", "--db", &pg, "-f", "nul.sql"], "NUL"),
        (vec!["query", "--bogus"], "unexpected argument"),
    ];
    for (args, needle) in &cases {
        let out = q.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("qore: ") && err.contains(needle),
            "{args:?}: expected `{needle}` in {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // Names that would share one password variable.
    q.ok_err(&["conn", "add", "a-b", "sqlite:a.db"]);
    for clash in ["a_b", "A_B"] {
        let out = q.run(&["conn", "add", clash, "sqlite:a.db"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("QORE_PASSWORD_A_B"));
    }
    // Passwords never echoed, whatever the typo.
    for url in [
        "postgres://qore:s3cr/et@127.0.0.1:1/db",
        "postgres://qore:s3cr?et@127.0.0.1:1/db",
        "postgres://qore:s3cret127.0.0.1:5432/db",
        "postgres://qore:s3cret;127.0.0.1:5432/db",
        "sqlite://qore:s3cret@127.0.0.1/db",
        "duckdb://qore:s3cret@127.0.0.1/db",
        "mysql://qore:s3cret@127.0.0.1:1/db",
    ] {
        let out = q.run(&["query", "--db", url, "SELECT 1"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        assert!(!err.contains("s3cr"), "{url}: {err}");
    }
}

/// A tiny deterministic generator for the seeded hostile-input loops.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

#[test]
fn random_urls_never_panic_nor_show_a_password() {
    let q = Qore::new();
    let mut rng = Lcg(20261129);
    let schemes = [
        "postgres", "mysql", "redis", "rediss", "mongodb", "sqlite", "duckdb", "ftp", "mariadb",
    ];
    let pieces = [
        "/",
        "?",
        ";",
        "@",
        ":",
        "%",
        "%2",
        "%ZZ",
        "#",
        "[",
        "]",
        "x",
        "127.0.0.1",
        "99999",
        "a=b",
        "&",
        "\u{e9}",
        " ",
    ];
    // Saving a connection parses and checks it without connecting.
    for i in 0..200 {
        let mut pw = String::from("Sekr");
        for _ in 0..(rng.next() % 4) {
            pw.push_str(rng.pick(&pieces));
        }
        pw.push_str("Xyz");
        let mut url = format!("{}://u:{pw}", rng.pick(&schemes));
        for _ in 0..(rng.next() % 6) {
            url.push_str(rng.pick(&pieces));
        }
        let name = format!("n{i}");
        let out = q.run(&["conn", "add", &name, &url]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(0 | 2)), "{url}: {err}");
        assert!(!err.contains("panicked"), "{url}: {err}");
        if !url.starts_with("sqlite") && !url.starts_with("duckdb") {
            assert!(!err.contains("Sekr"), "{url}: {err}");
        }
        // In a file URL, `u:Sekr...` is a path, not a password.
        if !url.starts_with("sqlite") && !url.starts_with("duckdb") {
            let listed = q.ok(&["conn", "ls", "--format", "csv"]);
            let line = listed.lines().find(|l| l.starts_with(&format!("{name},")));
            assert!(
                !line.unwrap_or_default().contains("Sekr"),
                "{url}: {listed}"
            );
        }
    }
}

#[test]
fn values_survive_every_text_format_exactly() {
    let q = Qore::new();
    let pg = server_url("QORE_TEST_POSTGRES_URL");
    let sql = "SELECT 'infinity'::timestamp AS ts_inf, '-infinity'::timestamp AS ts_ninf, \
               'infinity'::date AS d_inf, '-infinity'::date AS d_ninf, \
               'infinity'::timestamptz AS tz_inf, '24:00:00'::time AS t24, \
               interval '1 year 2 mons 3 days 04:05:06.5' AS iv, 'NaN'::float8 AS nan, \
               '-Infinity'::float8 AS ninf, \
               '{\"big\":12345678901234567890123}'::json AS big, \
               '{\"a\":1,\"a\":2}'::json AS dup, '[1.0, 1.50]'::json AS nums, \
               ARRAY['a',NULL,'','com,ma'] AS arr, ARRAY[NULL]::text[] AS arr_null, \
               ARRAY[]::text[] AS arr_empty, ''::text AS empty, NULL::text AS nothing";
    // CSV: every value exact; NULL and '' apart; lists as JSON arrays.
    let csv = q.ok(&["query", "--db", &pg, "--format", "csv", sql]);
    let row = csv.lines().nth(1).unwrap();
    assert_eq!(
        row,
        "infinity,-infinity,infinity,-infinity,infinity,24:00:00,P1Y2M3DT4H5M6.500S,NaN,-inf,\
         \"{\"\"big\"\":12345678901234567890123}\",\"{\"\"a\"\":1,\"\"a\"\":2}\",\"[1.0, 1.50]\",\
         \"[\"\"a\"\",null,\"\"\"\",\"\"com,ma\"\"]\",[null],[],\"\","
    );
    // JSON and NDJSON: valid, JSON text verbatim, non-finite floats as strings.
    for (format, file) in [("json", "v.json"), ("ndjson", "v.ndjson")] {
        q.ok(&["export", "--db", &pg, "-o", file, "-q", sql]);
        let text = std::fs::read_to_string(q.path(file)).unwrap();
        assert!(
            text.contains("\"big\":{\"big\":12345678901234567890123}"),
            "{format}: {text}"
        );
        assert!(
            text.contains("\"dup\":{\"a\":1,\"a\":2}"),
            "{format}: {text}"
        );
        assert!(text.contains("\"nums\":[1.0, 1.50]"), "{format}: {text}");
        assert!(text.contains("\"nan\":\"NaN\""), "{format}: {text}");
        assert!(text.contains("\"ts_inf\":\"infinity\""), "{format}: {text}");
        assert!(text.contains("\"t24\":\"24:00:00\""), "{format}: {text}");
        assert!(
            text.contains("\"arr\":[\"a\",null,\"\",\"com,ma\"]"),
            "{format}: {text}"
        );
        assert!(
            text.contains("\"empty\":\"\",\"nothing\":null"),
            "{format}: {text}"
        );
        let check = if format == "json" {
            "import json,sys; json.load(open(sys.argv[1]))"
        } else {
            "import json,sys; [json.loads(l) for l in open(sys.argv[1])]"
        };
        let ok = Command::new("python3")
            .args(["-c", check])
            .arg(q.path(file))
            .status()
            .unwrap()
            .success();
        assert!(ok, "{format} is not valid JSON: {text}");
    }
    // Parquet writes intervals (as a struct of months, days, nanoseconds).
    q.ok(&[
        "export",
        "--db",
        &pg,
        "-o",
        "iv.parquet",
        "-q",
        "SELECT interval '1 mon 2 days 3 s' AS iv",
    ]);
    let py = format!("{}/venv/bin/python", crate::tools());
    let out = Command::new(&py)
        .args([
            "-c",
            "import pyarrow.parquet as pq,sys; t=pq.read_table(sys.argv[1]); print(t.column('iv')[0].as_py())",
        ])
        .arg(q.path("iv.parquet"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "{'months': 1, 'days': 2, 'nanoseconds': 3000000000}",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A value with no exact rendering is an error, never text in the data.
    let out = q.run(&[
        "query",
        "--db",
        &pg,
        "--format",
        "csv",
        "SELECT '294250-01-01 00:00:00'::timestamp AS far",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not fit"));
    // Duplicate column names: the same unique names in every format.
    let csv = q.ok(&["query", "--format", "csv", "SELECT 1 AS id, 2 AS id"]);
    assert!(csv.starts_with("id,id_2\n"), "{csv}");
    let json = q.ok(&["query", "--format", "json", "SELECT 1 AS id, 2 AS id"]);
    assert_eq!(json, "[{\"id\":1,\"id_2\":2}]\n");
    // The table view shows huge JSON numbers as written.
    let table = q.ok(&[
        "query",
        "--db",
        &pg,
        "SELECT '{\"big\":12345678901234567890123}'::json AS j",
    ]);
    assert!(table.contains("12345678901234567890123"), "{table}");
}

#[test]
fn duckdb_works_offline() {
    let q = Qore::new();
    let out = q.ok(&[
        "query",
        "--format",
        "csv",
        "SELECT current_date = CAST(CAST(get_current_timestamp() AS TIMESTAMP) AS DATE) AS same, \
         today() = current_date AS t, current_localtime() <= TIME '24:00:00' AS lt, \
         current_localtimestamp() IS NOT NULL AS lts",
    ]);
    assert_eq!(out, "same,t,lt,lts\ntrue,true,true,true\n");
    // Read-only files get them too (temp macros need no write access).
    q.ok(&["demo", "shop.duckdb", "--duckdb"]);
    let out = q.ok(&[
        "query",
        "--db",
        "duckdb:shop.duckdb?access_mode=read_only",
        "--format",
        "csv",
        "SELECT current_date IS NOT NULL AS ok",
    ]);
    assert_eq!(out, "ok\ntrue\n");
}

#[test]
fn ls_columns_are_stable() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let csv = q.ok(&["ls", "--db", "shop.db", "--format", "csv"]);
    assert!(
        csv.starts_with("namespace,name,kind,rows,exact,comment\n"),
        "{csv}"
    );
}

/// Every row of `a` also in `b` and back, compared as PostgreSQL's own text
/// of the whole row (json has no equality operator).
fn pg_tables_equal(q: &Qore, url: &str, a: &str, b: &str) {
    let sql = format!(
        "SELECT (SELECT count(*) FROM (SELECT {a}::text FROM {a} EXCEPT SELECT {b}::text FROM {b}) x) + \
                (SELECT count(*) FROM (SELECT {b}::text FROM {b} EXCEPT SELECT {a}::text FROM {a}) y) AS diff, \
                (SELECT count(*) FROM {b}) AS n"
    );
    let out = q.ok(&["query", "--db", url, "--format", "csv", &sql]);
    let row = out.lines().nth(1).unwrap_or_default().to_string();
    let show = q.ok(&[
        "query",
        "--db",
        url,
        "--format",
        "csv",
        &format!("SELECT {b}::text FROM {b} ORDER BY id"),
    ]);
    assert_eq!(row, "0,7", "{a} and {b} differ:\n{show}");
}

fn psql(url: &str, command: &str, dir: &Path) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", command])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn postgres_values_round_trip_through_csv_and_sql_scripts() {
    let q = Qore::new();
    let url = server_url("QORE_TEST_POSTGRES_URL");
    let setup = r#"
DROP TABLE IF EXISTS fid, fid_csv, fid_sql;
CREATE TABLE fid (id int PRIMARY KEY, b boolean, i2 smallint, i8 bigint, n numeric(30,6),
  f4 real, f8 float8, t text, c varchar(12), by bytea, d date, tm time, ts timestamp,
  tz timestamptz, iv interval, j json, jb jsonb, u uuid);
INSERT INTO fid VALUES
 (1, true, -32768, -9223372036854775808, -123456789012345678901234.123456, 3.4e38, 1.7976931348623157e308,
  'comma, "quote"' || chr(10) || 'line	tab', '', '\x00ff10'::bytea, 'infinity', '24:00:00', 'infinity',
  'infinity', '-1 year -2 mons +3 days -04:05:06.5', '{"big":12345678901234567890123,"a":1,"a":2}',
  '{"nested":[[[[1]]]],"n":1e400}', '00000000-0000-0000-0000-000000000000'),
 (2, false, 32767, 9223372036854775807, 0.000001, -0, 'NaN', '', NULL, ''::bytea, '-infinity', '00:00:00',
  '-infinity', '-infinity', '0', '[1.0, 1.50]', '[]', NULL),
 (3, NULL, 0, 0, 0, 'Infinity', '-Infinity', NULL, 'x', NULL, '0001-01-01', '23:59:59.999999',
  '0001-01-01 00:00:00', '1970-01-01 00:00:00+00', '1 day 00:00:00.000001', 'null', '"s"', NULL),
 (4, true, 1, 1, 1, 1.5, 0.1, 'ünïcödé ✓ 🦀', 'ß', '\x'::bytea, '5874897-12-31', '12:34:56',
  '294246-12-31 23:59:59.999999', '2024-02-29 13:14:15.5+05:30', '1000000 hours', '{}', '{"a": "b"}', NULL),
 (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (6, false, 2, 2, -0.5, -1.25e-38, 5e-324, 'NULL', '""', '\x5c'::bytea, '2000-01-01', '00:00:00.5',
  '2000-01-01 00:00:00', '1999-12-31 23:59:59.999999+00', '-1 mons', '"\u00e9"', '[true, false, null]', NULL),
 (7, true, 3, 3, 99999999999999999999999.999999, 1e-45, -0, '\N', ' ', '\xdeadbeef'::bytea, '1970-01-01',
  '01:02:03', '1970-01-01 00:00:00.000001', '2262-04-11 23:47:16.854775+00', '178000000 years', '1e400',
  '12345678901234567890', NULL);
CREATE TABLE fid_csv (LIKE fid);
CREATE TABLE fid_sql (LIKE fid);
"#;
    psql(&url, setup, q.dir());
    // CSV, read back by PostgreSQL's own CSV reader (NULL unquoted, '' quoted).
    q.ok(&[
        "export", "--db", &url, "--table", "fid", "-o", "fid.csv", "-q",
    ]);
    psql(
        &url,
        "\\copy fid_csv FROM 'fid.csv' WITH (FORMAT csv, HEADER true)",
        q.dir(),
    );
    pg_tables_equal(&q, &url, "fid", "fid_csv");
    // A SQL script of INSERTs, replayed into the same server.
    q.ok(&[
        "export",
        "--db",
        &url,
        "--table",
        "fid",
        "--sql-table",
        "fid_sql",
        "-o",
        "fid.sql",
        "-q",
    ]);
    q.ok(&["query", "--db", &url, "-f", "fid.sql"]);
    pg_tables_equal(&q, &url, "fid", "fid_sql");
    // JSON: valid, with the values as documented.
    q.ok(&[
        "export", "--db", &url, "--table", "fid", "-o", "fid.json", "-q",
    ]);
    let check = r#"
import json, sys
rows = {r["id"]: r for r in json.load(open(sys.argv[1]))}
assert rows[1]["d"] == "infinity" and rows[2]["d"] == "-infinity", rows[1]
assert rows[1]["tm"] == "24:00:00"
assert rows[2]["f8"] == "NaN" and rows[3]["f4"] == "Infinity" and rows[3]["f8"] == "-Infinity"
assert rows[2]["t"] == "" and rows[3]["t"] is None
assert rows[1]["i8"] == -9223372036854775808 and rows[2]["i8"] == 9223372036854775807
assert rows[7]["j"] == float("inf")  # 1e400 stays a JSON number (Python reads it as inf)
assert rows[2]["j"] == [1.0, 1.5]
assert rows[6]["by"] == "\\x5c"
print("ok")
"#;
    let out = Command::new("python3")
        .args(["-c", check])
        .arg(q.path("fid.json"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(q.path("fid.json")).unwrap();
    assert!(
        text.contains(r#""j":{"big":12345678901234567890123,"a":1,"a":2}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""jb":{"n": 1e400, "nested": [[[[1]]]]}"#) || text.contains("1e400"),
        "{text}"
    );
    // Dates before year 1: ISO 8601 years in text (`-4712-01-01`, year 0 is
    // 1 BC), PostgreSQL's `BC` in its SQL scripts.
    psql(
        &url,
        "DROP TABLE IF EXISTS bc, bc_sql; CREATE TABLE bc (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz); \
         INSERT INTO bc VALUES (1, '4713-01-01 BC', '0001-12-31 23:59:59.5 BC', '0044-03-15 12:00:00+00 BC'), \
         (2, '0001-01-01 BC', '0001-01-01 00:00:00', '0001-01-01 00:00:00+00'); CREATE TABLE bc_sql (LIKE bc);",
        q.dir(),
    );
    let csv = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT d, ts, tz FROM bc ORDER BY id",
    ]);
    assert_eq!(
        csv,
        "d,ts,tz\n-4712-01-01,0000-12-31T23:59:59.500,-0043-03-15T12:00:00Z\n0000-01-01,0001-01-01T00:00:00,0001-01-01T00:00:00Z\n"
    );
    q.ok(&[
        "export",
        "--db",
        &url,
        "--table",
        "bc",
        "--sql-table",
        "bc_sql",
        "-o",
        "bc.sql",
        "-q",
    ]);
    q.ok(&["query", "--db", &url, "-f", "bc.sql"]);
    let same = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT count(*) FROM (SELECT * FROM bc EXCEPT SELECT * FROM bc_sql) x",
    ]);
    assert_eq!(same, "count\n0\n");
    psql(
        &url,
        "DROP TABLE fid, fid_csv, fid_sql, bc, bc_sql",
        q.dir(),
    );
}

#[test]
fn mariadb_values_round_trip_through_sql_scripts() {
    let q = Qore::new();
    let url = server_url("QORE_TEST_MYSQL_URL");
    let setup = [
        "DROP TABLE IF EXISTS mfid, mfid_sql",
        "CREATE TABLE mfid (id INT PRIMARY KEY, ti TINYINT, ub BIGINT UNSIGNED, b BIGINT, \
         n DECIMAL(30,6), f FLOAT, d DOUBLE, v VARCHAR(40), bl BLOB, dt DATE, tm TIME(6), \
         dtt DATETIME(6), ts TIMESTAMP(6) NULL, j JSON, e ENUM('a','b c'), s SET('x','y'), y YEAR, bt BIT(10))",
        "INSERT INTO mfid VALUES \
         (1, -128, 18446744073709551615, -9223372036854775808, -123456789012345678901234.123456, 3.4e38, \
          1.7976931348623157e308, 'comma, \"quote\"\\nline\\ttab', X'00FF10', '1000-01-01', '-838:59:59.000000', \
          '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '{\"big\":12345678901234567890123}', \
          'b c', 'x,y', 1901, b'1010101010'), \
         (2, 127, 0, 9223372036854775807, 0.000001, -0, -0, '', X'', '9999-12-31', '838:59:59.999999', \
          '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '[1.0, 1.50]', 'a', '', 2155, b'0'), \
         (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
         (4, 0, 1, 1, 1.5, 1.5, 0.1, 'ünïcödé ✓ 🦀', X'5C', '2024-02-29', '00:00:00.5', '2024-02-29 13:14:15.5', \
          '2024-02-29 13:14:15.5', '{}', 'a', 'y', 2024, b'1111111111')",
        "CREATE TABLE mfid_sql LIKE mfid",
    ];
    for s in setup {
        q.ok(&["query", "--db", &url, s]);
    }
    q.ok(&[
        "export",
        "--db",
        &url,
        "--table",
        "mfid",
        "--sql-table",
        "mfid_sql",
        "-o",
        "m.sql",
        "-q",
    ]);
    q.ok(&["query", "--db", &url, "-f", "m.sql"]);
    let diff = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT (SELECT count(*) FROM (SELECT * FROM mfid EXCEPT SELECT * FROM mfid_sql) x) + \
         (SELECT count(*) FROM (SELECT * FROM mfid_sql EXCEPT SELECT * FROM mfid) y) AS diff, \
         (SELECT count(*) FROM mfid_sql) AS n",
    ]);
    let shown = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT * FROM mfid_sql ORDER BY id",
    ]);
    assert_eq!(diff, "diff,n\n0,4\n", "{shown}");
    // JSON and CSV of the same rows: valid, signed TIME beyond 24 h kept.
    let csv = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "csv",
        "SELECT tm, ub FROM mfid WHERE id = 1",
    ]);
    assert_eq!(csv, "tm,ub\n-838:59:59,18446744073709551615\n");
    let json = q.ok(&[
        "query",
        "--db",
        &url,
        "--format",
        "ndjson",
        "SELECT j FROM mfid WHERE id = 1",
    ]);
    assert_eq!(json, "{\"j\":{\"big\":12345678901234567890123}}\n");
    q.ok(&["query", "--db", &url, "DROP TABLE mfid, mfid_sql"]);
}

#[test]
fn duckdb_values_round_trip_and_render_exactly() {
    let q = Qore::new();
    let db = "duckdb:fid.duckdb";
    q.ok(&[
        "query",
        "--db",
        db,
        "CREATE TABLE t (id INT PRIMARY KEY, h HUGEINT, u UBIGINT, n DECIMAL(38,10), f FLOAT, d DOUBLE, \
         s VARCHAR, b BLOB, dt DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, tns TIMESTAMP_NS, iv INTERVAL, \
         l INTEGER[], st STRUCT(a INT, b VARCHAR), m MAP(VARCHAR, INT), e ENUM('x', 'y z'), uu UUID); \
         INSERT INTO t VALUES \
         (1, -170141183460469231731687303715884105727, 18446744073709551615, 1234567890123456789012345678.0123456789, \
          'inf', 'nan', 'comma, \"q\"', '\\x00\\xFF'::BLOB, 'infinity', '24:00:00', 'infinity', '-infinity', \
          '2024-01-01 00:00:00.123456789', INTERVAL '-1 year 2 months -3 days 04:05:06.123456', [1, NULL, 3], \
          {'a': 1, 'b': ''}, MAP {'k': 1, 'm': NULL}, 'y z', '00000000-0000-0000-0000-000000000001'), \
         (2, 0, 0, 0, -0.0, '-inf', '', ''::BLOB, '-infinity', '00:00:00', '-infinity', 'infinity', \
          '1969-12-31 23:59:59.999999999', INTERVAL '0 seconds', [], {'a': NULL, 'b': NULL}, MAP {}, 'x', NULL), \
         (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL); \
         CREATE TABLE t2 AS SELECT * EXCLUDE (m) FROM t LIMIT 0",
    ]);
    let csv = q.ok(&[
        "query",
        "--db",
        db,
        "--format",
        "csv",
        "SELECT * EXCLUDE (id) FROM t ORDER BY id",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[1],
        "-170141183460469231731687303715884105727,18446744073709551615,1234567890123456789012345678.0123456789,\
         inf,NaN,\"comma, \"\"q\"\"\",\\x00ff,infinity,24:00:00,infinity,-infinity,2024-01-01T00:00:00.123456789,\
         P-10M-3DT4H5M6.123456S,\"[1,null,3]\",\"{\"\"a\"\":1,\"\"b\"\":\"\"\"\"}\",\"{\"\"k\"\":1,\"\"m\"\":null}\",y z,\
         00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(
        lines[2],
        "0,0,0E-10,0.0,-inf,\"\",\\x,-infinity,00:00:00,-infinity,infinity,1969-12-31T23:59:59.999999999,PT0S,[],\
         \"{\"\"a\"\":null,\"\"b\"\":null}\",{},x,"
            .replace("0E-10", "0.0000000000")
    );
    assert_eq!(lines[3], ",".repeat(17));
    // The SQL script replays into DuckDB exactly (MAP values are written as
    // JSON text, which DuckDB does not cast to MAP: left out here).
    q.ok(&[
        "export",
        "--db",
        db,
        "--sql-table",
        "t2",
        "-o",
        "t.sql",
        "-q",
        "SELECT * EXCLUDE (m) FROM t",
    ]);
    q.ok(&["query", "--db", db, "-f", "t.sql"]);
    let diff = q.ok(&[
        "query", "--db", db, "--format", "csv",
        "SELECT (SELECT count(*) FROM (SELECT * EXCLUDE (m) FROM t EXCEPT SELECT * FROM t2)) + \
         (SELECT count(*) FROM (SELECT * FROM t2 EXCEPT SELECT * EXCLUDE (m) FROM t)) AS diff, (SELECT count(*) FROM t2) AS n",
    ]);
    let shown = q.ok(&[
        "query",
        "--db",
        db,
        "--format",
        "csv",
        "SELECT * FROM t2 ORDER BY id",
    ]);
    assert_eq!(diff, "diff,n\n0,3\n", "{shown}");
    // Parquet and Arrow keep every type (intervals as structs in Parquet).
    q.ok(&[
        "export",
        "--db",
        db,
        "--table",
        "t",
        "-o",
        "t.parquet",
        "-q",
    ]);
    q.ok(&["export", "--db", db, "--table", "t", "-o", "t.arrow", "-q"]);
    let py = format!("{}/venv/bin/python", crate::tools());
    let check = "import pyarrow.parquet as pq, pyarrow as pa, sys\n\
                 p = pq.read_table(sys.argv[1]); a = pa.ipc.open_file(sys.argv[2]).read_all()\n\
                 assert p.num_rows == 3 and a.num_rows == 3\n\
                 assert p.column('iv')[0].as_py() == {'months': -10, 'days': -3, 'nanoseconds': 14706123456000}, p.column('iv')[0]\n\
                 assert a.column('h')[0].as_py() == -170141183460469231731687303715884105727\n\
                 print('ok')";
    let out = Command::new(&py)
        .args(["-c", check])
        .arg(q.path("t.parquet"))
        .arg(q.path("t.arrow"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs qore with a time limit; its exit code and stderr.
fn run_limited(q: &Qore, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    wait(q.spawn(args), limit)
}

#[test]
fn random_mongodb_and_redis_lines_never_crash_nor_hang() {
    let q = Qore::new();
    let mongo = server_url("QORE_TEST_MONGODB_URL");
    let redis = RedisServer::start();
    let mut rng = Lcg(7);
    let mongo_pieces = [
        "db.",
        "c",
        ".find(",
        ".aggregate(",
        ".countDocuments(",
        ".sort(",
        ".limit(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "a:",
        "$gt:",
        "1",
        "-1",
        ",",
        "'x'",
        "\"y\"",
        "ObjectId(",
        "/r/i",
        "null",
        "1e999",
        ";",
        "{\"find\":",
        "\"c\"",
        "NaN",
        "new Date(",
        " ",
    ];
    for _ in 0..120 {
        let mut line = String::from("db.c.find(");
        for _ in 0..(rng.next() % 12) {
            line.push_str(rng.pick(&mongo_pieces));
        }
        let (code, err) = run_limited(
            &q,
            &["query", "--db", &mongo, "--format", "csv", &line],
            Duration::from_secs(20),
        );
        assert!(matches!(code, Some(0 | 2)), "{line}: {code:?} {err}");
        assert!(!err.contains("panicked"), "{line}: {err}");
    }
    // Read-only commands with hostile quoting (nothing that stops the server).
    let redis_pieces = [
        "GET", "ECHO", "HGETALL", "LRANGE", "EXISTS", "\"", "'", "\\x4", "\\x41", "\\", "a b", " ",
        "\"x\"", "'y'", "0", "-1", "\\n", "\u{e9}", "{", "}",
    ];
    for _ in 0..120 {
        let mut line = String::from(rng.pick(&redis_pieces[..5]));
        for _ in 0..(rng.next() % 8) {
            line.push(' ');
            line.push_str(rng.pick(&redis_pieces));
        }
        let (code, err) = run_limited(
            &q,
            &["query", "--db", &redis.url, "--format", "csv", &line],
            Duration::from_secs(20),
        );
        assert!(matches!(code, Some(0 | 2)), "{line}: {code:?} {err}");
        assert!(
            !err.contains("panicked") && !err.contains("cli-pw"),
            "{line}: {err}"
        );
    }
}
