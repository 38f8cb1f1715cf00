//! `qore share`: pages that open in a real browser only with their key,
//! refuse changed bytes, wrong keys and passphrases, expire, and upload to a
//! real OpenSSH server and nginx (WebDAV) without the key reaching them.

use std::path::Path;
use std::process::Command;

use qore_export::share::{self, ShareKey};

use crate::tools;
use crate::util::Qore;

/// Rows with text that must stay text, characters outside Latin-1, NULLs.
const ROWS: &str = "SELECT i AS id, CASE WHEN i % 7 = 0 THEN NULL ELSE 'name ' || i END AS name, \
     CASE WHEN i = 3 THEN '</script><script>window.__pwned=1</script>' WHEN i = 4 THEN 'Zoë ✓ 😀 = < \r' ELSE 'x' END AS note, \
     i * 1.5 AS amount FROM range(1, 2501) t(i)";

/// Opens `link` in headless Chromium (offline) and types each passphrase.
fn browse(link: &str, passes: &[&str]) -> serde_json::Value {
    let out = Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/share_check.mjs"))
        .arg(link)
        .args(passes)
        .env("QORE_TOOLS", tools())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn file_link(path: &Path, fragment: &str) -> String {
    format!("file://{}#{fragment}", path.display())
}

/// The page with one byte changed at `at` (counted from the start of the
/// element whose opening tag ends with `marker`).
fn flipped(page: &[u8], marker: &str, at: usize) -> Vec<u8> {
    let start = page.windows(marker.len()).position(|w| w == marker.as_bytes()).unwrap() + marker.len();
    let mut p = page.to_vec();
    // A letter for a letter keeps the escaping valid: only the seal can tell.
    let i = (start + at..p.len()).find(|&i| p[i].is_ascii_alphabetic()).unwrap();
    p[i] = if p[i] == b'a' { b'b' } else { b'a' };
    p
}

#[test]
fn a_share_opens_only_with_its_key_and_only_unchanged() {
    let q = Qore::new();
    let (code, link, err) = q.outcome(&["share", "--db", "duckdb:", ROWS, "-o", "s.html", "--title", "Ventes — Q3"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("shared 2500 rows"), "{err}");
    let link = link.trim();
    assert!(link.starts_with("file:///") && link.contains("/s.html#k="), "{link}");
    let key = ShareKey::parse(link).unwrap();
    let fragment = key.fragment();
    let page = std::fs::read(q.path("s.html")).unwrap();
    // The key is nowhere in the file, and nothing sealed is in clear.
    let k = &fragment[2..];
    assert!(!String::from_utf8_lossy(&page).contains(k));
    for clear in ["name 1", "amount", "range(1"] {
        assert!(!String::from_utf8_lossy(&page).contains(clear), "{clear} in clear");
    }

    let shown = browse(link, &[]);
    assert_eq!(shown["ready"], true, "{shown}");
    assert_eq!(shown["count"], "2500 rows");
    assert_eq!(shown["rowsShown"], 100);
    assert_eq!(shown["headers"], serde_json::json!(["id", "name", "note", "amount"]));
    assert_eq!(shown["first"], serde_json::json!(["name 1", "name 2", "name 3"]));
    assert_eq!(shown["title"], "Ventes — Q3");
    assert_eq!(shown["query"], ROWS);
    assert_eq!(shown["requests"], serde_json::json!([]));
    assert_eq!(shown["dialogs"], serde_json::json!([]));

    // What the browser decrypts is what the library reads back.
    let opened = share::open(&page, &key, None).unwrap();
    assert_eq!(opened.rows.len(), 2500);
    assert_eq!(opened.rows[3], serde_json::json!([4, "name 4", "Zoë ✓ 😀 = < \r", 6.0]));
    assert_eq!(opened.rows[6][1], serde_json::Value::Null);
    assert_eq!(opened.rows[2][2], "</script><script>window.__pwned=1</script>");

    // No key, a wrong key: a clear message and no rows.
    let no_key = browse(&format!("file://{}", q.path("s.html").display()), &[]);
    assert!(no_key["error"].as_str().unwrap().contains("no key"), "{no_key}");
    let mut wrong = fragment.clone().into_bytes();
    wrong[5] = if wrong[5] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).unwrap();
    let shown = browse(&file_link(&q.path("s.html"), &wrong), &[]);
    assert_eq!(shown["rowsShown"], 0, "{shown}");
    assert!(shown["error"].as_str().unwrap().contains("key in this link is wrong"), "{shown}");
    assert!(share::open(&page, &ShareKey::parse(&wrong).unwrap(), None).unwrap_err().to_string().contains("wrong"));

    // One byte changed in the data, in the clear metadata, in the row count;
    // the data cut short: each refused, nothing drawn.
    let cases = [
        ("data", flipped(&page, "id=\"data\">", 500)),
        ("meta", flipped(&page, "id=\"meta\">", 3)),
        ("tail", {
            let at = page.windows(13).rposition(|w| w == b"{\"rows\":2500}").unwrap();
            let mut p = page.clone();
            p[at + 11] = b'4';
            p
        }),
    ];
    for (what, bytes) in cases {
        std::fs::write(q.path("t.html"), &bytes).unwrap();
        let shown = browse(&file_link(&q.path("t.html"), &fragment), &[]);
        assert_eq!(shown["rowsShown"], 0, "{what}: {shown}");
        assert_eq!(shown["failed"], true, "{what}: {shown}");
        assert!(shown["error"].as_str().unwrap().contains("changed or damaged"), "{what}: {shown}");
        assert!(share::open(&bytes, &key, None).is_err(), "{what}");
    }
    let data_end = page.windows(9).rposition(|w| w == b"</script>").unwrap();
    let tail_start = page.windows(8).position(|w| w == b"id=\"tail").unwrap();
    let cut_end = page[..tail_start].windows(9).rposition(|w| w == b"</script>").unwrap();
    assert!(cut_end < data_end);
    let mut cut = page[..cut_end - 40].to_vec();
    cut.extend_from_slice(&page[cut_end..]);
    std::fs::write(q.path("cut.html"), &cut).unwrap();
    let shown = browse(&file_link(&q.path("cut.html"), &fragment), &[]);
    assert!(shown["error"].as_str().unwrap().contains("changed or damaged"), "{shown}");
    assert_eq!(shown["rowsShown"], 0);
}

#[test]
fn a_passphrase_is_needed_besides_the_key() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let out = q.run_env(
        &["share", "--db", "shop.db", "--table", "customers", "-o", "p.html", "--passphrase", "--expires", "2d"],
        "QORE_SHARE_PASSPHRASE",
        "correct horse ✓",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("with a passphrase") && err.contains("expires "), "{err}");
    let link = String::from_utf8(out.stdout).unwrap();
    let link = link.trim();
    let shown = browse(link, &["wrong", "correct horse ✓"]);
    assert_eq!(shown["wrong"], 1, "{shown}");
    assert_eq!(shown["ready"], true, "{shown}");
    assert_eq!(shown["count"], "5000 rows");
    assert!(shown["facts"].as_str().unwrap().contains("expires "), "{shown}");
    let locked = browse(link, &["nope"]);
    assert_eq!((locked["locked"].clone(), locked["rowsShown"].clone()), (true.into(), 0.into()), "{locked}");
    assert_eq!(locked["error"], "Wrong passphrase.");

    let page = std::fs::read(q.path("p.html")).unwrap();
    let key = ShareKey::parse(link).unwrap();
    assert!(share::open(&page, &key, None).unwrap_err().to_string().contains("needs its passphrase"));
    assert!(share::open(&page, &key, Some("wrong")).unwrap_err().to_string().contains("wrong passphrase"));
    assert_eq!(share::open(&page, &key, Some("correct horse ✓")).unwrap().rows.len(), 5000);
    let meta = share::open(&page, &key, Some("correct horse ✓")).unwrap().meta;
    assert!(meta["enc"]["kdf"]["iterations"].as_u64().unwrap() >= 600_000);
}

#[test]
fn an_expired_share_shows_nothing_and_bad_input_is_named() {
    let q = Qore::new();
    let link = q.ok(&["share", "--db", "duckdb:", "SELECT 42 AS answer", "-o", "e.html", "--expires", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let shown = browse(link.trim(), &[]);
    assert!(shown["error"].as_str().unwrap().starts_with("This share expired on "), "{shown}");
    assert_eq!(shown["rowsShown"], 0);

    for (args, want) in [
        (vec!["--expires", "soon"], "`soon` is not an expiry"),
        (vec!["--upload", "ftp://h/x"], "cannot upload to `ftp:`"),
        (vec!["--upload", "sftp://h/x"], "--public-url"),
    ] {
        let mut all = vec!["share", "--db", "duckdb:", "SELECT 1", "-o", "bad.html"];
        all.extend(args);
        let (code, _, err) = q.outcome(&all);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want), "{err}");
        assert!(!q.path("bad.html").exists(), "nothing written for {want}");
    }
    let (code, _, err) = q.outcome(&["share", "--db", "duckdb:", "SELECT nope FROM nowhere", "-o", "bad.html"]);
    assert_eq!(code, 2, "{err}");
    assert!(!q.path("bad.html").exists());
    q.ok(&["query", "--db", "duckdb:w.duckdb", "CREATE TABLE w AS SELECT 1 AS x"]);
    for write in ["DELETE FROM w", "DROP TABLE w"] {
        let (code, _, err) = q.outcome(&["share", "--db", "w.duckdb", write, "-o", "bad.html"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("qore share only reads"), "{err}");
    }
    assert_eq!(q.ok(&["query", "--db", "w.duckdb", "--format", "csv", "SELECT count(*) AS n FROM w"]), "n\n1\n");
    assert!(!q.path("bad.html").exists());
    let (code, _, err) = q.outcome(&["share", "-o", "bad.html"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--snapshot NAME"), "{err}");
}

#[test]
fn a_snapshot_is_shared_as_saved() {
    let q = Qore::new();
    q.ok(&["snapshot", "save", "s1", "--db", "duckdb:", "SELECT i, 'v' || i AS v FROM range(3) t(i)"]);
    let link = q.ok(&["share", "--snapshot", "s1", "-o", "snap.html"]);
    let page = std::fs::read(q.path("snap.html")).unwrap();
    let opened = share::open(&page, &ShareKey::parse(link.trim()).unwrap(), None).unwrap();
    assert_eq!(opened.rows, vec![serde_json::json!([0, "v0"]), serde_json::json!([1, "v1"]), serde_json::json!([2, "v2"])]);
    assert!(opened.columns["source"].as_str().unwrap().starts_with("snapshot s1 of duckdb:"), "{}", opened.columns);
    let (code, _, err) = q.outcome(&["share", "--snapshot", "missing", "-o", "m.html"]);
    assert_eq!(code, 2);
    assert!(err.contains("missing"), "{err}");
}

fn env(var: &str) -> String {
    crate::server_url(var)
}

/// Whether `key` shows up in any file under `dir` or in `files`.
fn leaks(key: &str, dir: &Path, files: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if String::from_utf8_lossy(&std::fs::read(&p).unwrap()).contains(key) {
                found.push(p.display().to_string());
            }
        }
    }
    for f in files {
        if std::fs::read_to_string(f).unwrap_or_default().contains(key) {
            found.push(f.clone());
        }
    }
    found
}

#[test]
fn uploads_go_to_a_real_sftp_server_and_webdav_without_the_key() {
    let q = Qore::new();
    let http = env("QORE_TEST_HTTP_URL");
    let root = env("QORE_TEST_HTTP_ROOT");
    let logs = vec![env("QORE_TEST_HTTP_LOG"), env("QORE_TEST_SSH_LOG")];
    let sftp = format!(
        "sftp://{}@{}:{}{root}/sftp/q?identity={}&known_hosts={}",
        env("QORE_TEST_SSH_USER"),
        env("QORE_TEST_SSH_HOST"),
        env("QORE_TEST_SSH_PORT"),
        env("QORE_TEST_SSH_KEY"),
        env("QORE_TEST_SSH_KNOWN_HOSTS"),
    );
    let public = format!("{http}/sftp/q/");

    // SFTP into the directory nginx serves: the link opens over HTTP.
    let (code, link, err) = q.outcome(&["share", "--db", "duckdb:", ROWS, "-o", "up.html", "--upload", &sftp, "--public-url", &public]);
    assert_eq!(code, 0, "{err}");
    let link = link.trim().to_string();
    assert!(link.starts_with(&public) && link.contains(".html#k="), "{link}");
    let name = link[public.len()..].split('#').next().unwrap().to_string();
    assert_eq!(name.len(), 37, "a random name: {name}");
    let remote = std::fs::read(format!("{root}/sftp/q/{name}")).unwrap();
    assert_eq!(remote, std::fs::read(q.path("up.html")).unwrap());
    assert!(!Path::new(&format!("{root}/sftp/q/.{name}.part")).exists());
    let shown = browse(&link, &[]);
    assert_eq!(shown["ready"], true, "{shown}");
    assert_eq!(shown["count"], "2500 rows");
    let key = ShareKey::parse(&link).unwrap().fragment()[2..].to_string();

    // HTTP PUT (WebDAV) with an expiry.
    let (code, link2, err) = q.outcome(&["share", "--db", "duckdb:", "SELECT 1 AS one", "-o", "dav.html", "--upload", &format!("{http}/share/team"), "--expires", "3d"]);
    assert_eq!(code, 0, "{err}");
    let link2 = link2.trim();
    assert!(link2.starts_with(&format!("{http}/share/team/")), "{link2}");
    let shown = browse(link2, &[]);
    assert_eq!(shown["count"], "1 rows", "{shown}");
    let key2 = ShareKey::parse(link2).unwrap().fragment()[2..].to_string();

    // The keys reached no server: not in the served files, the access log
    // or sshd's log (which records the sftp session).
    assert!(std::fs::read_to_string(&logs[1]).unwrap().contains("Accepted publickey"));
    assert!(std::fs::read_to_string(&logs[0]).unwrap().contains("PUT /share/team/"));
    for k in [&key, &key2] {
        assert_eq!(leaks(k, Path::new(&root), &logs), Vec::<String>::new());
    }

    // A target that refuses: an error naming why, the local page kept and
    // its link printed.
    let (code, out, err) = q.outcome(&["share", "--db", "duckdb:", "SELECT 1 AS one", "-o", "kept.html", "--upload", &format!("{http}/ro/")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refused: HTTP 403"), "{err}");
    assert!(err.contains("kept at"), "{err}");
    assert!(out.trim().starts_with("file://") && out.contains("kept.html#k="), "{out}");
    assert_eq!(browse(out.trim(), &[])["count"], "1 rows");
    // An SSH server whose host key is not known: refused, page kept.
    std::fs::write(q.path("empty_known_hosts"), "").unwrap();
    let unknown = sftp.replace(&env("QORE_TEST_SSH_KNOWN_HOSTS"), q.path("empty_known_hosts").to_str().unwrap());
    let (code, _, err) = q.outcome(&["share", "--db", "duckdb:", "SELECT 1 AS one", "-o", "kept2.html", "--upload", &unknown, "--public-url", &public]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sftp upload to 127.0.0.1 failed") && err.contains("ost key verification failed"), "{err}");
    assert!(q.path("kept2.html").exists());
}
