//! Global search on Redis (a redis-server started by the test): key names
//! and the values of strings, hashes, lists and sets against a brute-force
//! oracle, every literal mode, case-sensitive or not, and regex mode.

#![allow(clippy::unwrap_used)]

mod common;

use common::{lower, matches};

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use qore_core::{TextMatch, Value};
use qore_search::{SearchOptions, search};

/// The server, killed when dropped; its directory removed after.
struct Server {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> (Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/setup.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Server { child, _dir: dir }, format!("redis://127.0.0.1:{port}/0"))
}

const PIECES: &[&str] = &["a", "Z", "é", "É", "Σ", "σ", "Ж", "ж", "😀", " ", "*", "?", "[", "]", "\\", "7", "x", ":"];
const NEEDLES: &[&str] = &["é", "Σ", "ЖЖ", "😀", "*", "?", "[", "\\", "a:", "x7", "]"];




#[tokio::test]
async fn key_names_and_values_and_nothing_else() {
    let (_server, url) = start();
    let db = qore_drivers::open(&url).await.unwrap();
    let s = db.session().await.unwrap();
    let mut seed = 11u64;
    // (key, column, text) of everything searchable.
    let mut cells: Vec<(String, String, String)> = Vec::new();
    for i in 0..160 {
        let key = format!("{}{i}", common::text(&mut seed, 1 + i % 3, PIECES));
        cells.push((key.clone(), "(key name)".into(), key.clone()));
        let k = Value::Bytes(key.clone().into_bytes());
        match i % 4 {
            0 => {
                let v = common::text(&mut seed, 3, PIECES);
                s.query("SET", &[k, Value::Text(v.clone())]).await.unwrap();
                cells.push((key, "value".into(), v));
            }
            1 => {
                for f in ["name", "note"] {
                    let v = common::text(&mut seed, 2, PIECES);
                    s.query("HSET", &[k.clone(), Value::Text(f.into()), Value::Text(v.clone())]).await.unwrap();
                    cells.push((key.clone(), format!("field {f}"), v));
                }
            }
            2 => {
                for idx in 0..3 {
                    let v = common::text(&mut seed, 2, PIECES);
                    s.query("RPUSH", &[k.clone(), Value::Text(v.clone())]).await.unwrap();
                    cells.push((key.clone(), format!("index {idx}"), v));
                }
            }
            _ => {
                let mut members = BTreeSet::new();
                for _ in 0..3 {
                    members.insert(common::text(&mut seed, 2, PIECES));
                }
                for m in &members {
                    s.query("SADD", &[k.clone(), Value::Text(m.clone())]).await.unwrap();
                    cells.push((key.clone(), "member".into(), m.clone()));
                }
            }
        }
    }
    let collect = |found: qore_search::Search| async move {
        let mut got = BTreeSet::new();
        let mut stream = found.stream;
        while let Some(b) = stream.next().await {
            let b = b.unwrap();
            let col = |i: usize| b.column(i).as_any().downcast_ref::<arrow::array::StringArray>().unwrap().clone();
            let (table, column, value) = (col(1), col(2), col(4));
            for r in 0..b.num_rows() {
                got.insert((table.value(r).to_string(), column.value(r).to_string(), value.value(r).to_string()));
            }
        }
        got
    };
    let mut checked = 0;
    for needle in NEEDLES {
        for how in [TextMatch::Contains, TextMatch::Exact, TextMatch::Prefix] {
            for cs in [false, true] {
                // A set member that appears twice is one hit; texts here are short, so the value is whole.
                let want: BTreeSet<(String, String, String)> =
                    cells.iter().filter(|(_, _, v)| matches(v, needle, how, cs)).cloned().collect();
                let options = SearchOptions { mode: how, case_sensitive: cs, per_table: 100, limit: 100_000, ..SearchOptions::default() };
                let got = collect(search(db.clone(), needle, &options).await.unwrap()).await;
                assert_eq!(want, got, "needle {needle:?} {how:?} case-sensitive {cs}");
                checked += want.len();
            }
        }
    }
    assert!(checked > 300, "the needles found too little to prove anything: {checked}");

    // Regex mode (Rust's dialect), the total cap, and a bad regex.
    let options = SearchOptions { mode: TextMatch::Regex, per_table: 100, limit: 100_000, ..SearchOptions::default() };
    let got = collect(search(db.clone(), "^x7", &options).await.unwrap()).await;
    let want: BTreeSet<_> = cells.iter().filter(|(_, _, v)| lower(v).starts_with("x7")).cloned().collect();
    assert_eq!(want, got);
    let options = SearchOptions { limit: 3, ..SearchOptions::default() };
    let found = search(db.clone(), "a", &options).await.unwrap();
    let progress = found.progress.clone();
    assert_eq!(collect(found).await.len(), 3);
    assert!(progress.capped());
    let options = SearchOptions { mode: TextMatch::Regex, ..SearchOptions::default() };
    let e = search(db.clone(), "(unclosed", &options).await.err().unwrap();
    assert!(e.to_string().contains("not a regular expression"), "{e}");
}
