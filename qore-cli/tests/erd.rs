//! `qore erd` on the real binary: every format written from the sample
//! shop, the interactive page driven in Chromium (search, a table's panel
//! with its first rows and `qore query`, the GUI hook, no network, hostile
//! names stay text), and bad input.

use crate::util::Qore;

#[test]
fn erd_formats_the_page_in_a_browser_and_bad_input() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&[
        "query",
        "--db",
        "shop.db",
        "CREATE TABLE \"</script><script>window.__pwned=1</script>\" (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id))",
    ]);
    for (file, magic) in [
        ("d.svg", "<svg xmlns"),
        ("d.mmd", "erDiagram"),
        ("d.dot", "digraph erd {"),
        ("d.puml", "@startuml"),
        ("d.dbml", "Table \"main\"."),
        ("d.json", "{"),
    ] {
        let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "-o", file]);
        assert_eq!(rc, 0, "{file}: {err}");
        assert!(err.contains("erd: 11 tables, 12 relations"), "{err}");
        let text = std::fs::read_to_string(q.path(file)).unwrap();
        assert!(text.starts_with(magic), "{file}: {}", &text[..text.len().min(200)]);
    }
    // PNG: a real image, rendered without a browser.
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "--columns", "keys", "-o", "d.png"]);
    assert_eq!(rc, 0, "{err}");
    let png = std::fs::read(q.path("d.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
    // To stdout; a subset around one table.
    let (rc, out, _) = q.outcome(&["erd", "--db", "shop.db", "--around", "orders", "--depth", "1", "--format", "mermaid"]);
    assert_eq!(rc, 0);
    for t in ["main.orders", "main.customers", "main.addresses", "main.order_items"] {
        assert!(out.contains(&format!("[\"{t}\"]")), "{t}: {out}");
    }
    assert!(!out.contains("[\"main.warehouses\"]"), "{out}");
    // --columns keys: only key columns, in the text formats too.
    let (_, out, _) = q.outcome(&["erd", "--db", "shop.db", "--tables", "orders", "--columns", "keys", "--format", "mermaid"]);
    assert!(out.contains("\"customer_id\" FK") && !out.contains("\"status\""), "{out}");
    let (_, out, _) = q.outcome(&["erd", "--db", "shop.db", "--tables", "order*", "--format", "dot"]);
    assert_eq!(out.matches("[label=<<TABLE").count(), 3, "{out}");

    // The page in a browser.
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "--with-rows", "3", "--title", "Shop", "-o", "d.html"]);
    assert_eq!(rc, 0, "{err}");
    let out = std::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/erd_check.mjs"))
        .arg(q.path("d.html"))
        .arg("main.customers")
        .arg("email")
        .env("QORE_TOOLS", crate::tools())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["tables"], 11, "{page}");
    assert_eq!(page["title"], "Shop");
    assert_eq!(page["search"]["names"], serde_json::json!(["main.customers"]), "{page}");
    assert_eq!(page["search"]["hits"], "1 table");
    assert_eq!(page["panelOpen"], true, "{page}");
    assert_eq!(page["panelTitle"], "main.customers");
    let cols = page["panelColumns"].as_array().unwrap();
    assert_eq!(cols[0][0], "id");
    assert!(cols[1][2].as_str().unwrap().contains("UQ"), "{page}");
    assert!(page["query"].as_str().unwrap().starts_with("qore query --db"), "{page}");
    assert!(page["query"].as_str().unwrap().contains("customers"), "{page}");
    assert_eq!(page["sampleRows"], 3, "{page}");
    assert_eq!(page["hook"], serde_json::json!(["main.customers"]));
    assert_eq!(page["panelAfterHook"], false);
    assert!(page["frames"].as_u64().unwrap() > 10, "{page}");
    assert!(page["legend"].as_str().unwrap().contains("primary key"), "{page}");
    assert_eq!(page["pwned"], false);
    assert_eq!(page["requests"], serde_json::json!([]));
    assert_eq!(page["errors"], serde_json::json!([]));

    // Bad input: exit 2 with the reason.
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "--columns", "wide"]);
    assert!(rc == 2 && err.contains("--columns `wide`: expected all, keys or none"), "{err}");
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "--around", "nope"]);
    assert!(rc == 2 && err.contains("table `nope`"), "{err}");
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "--format", "visio"]);
    assert!(rc == 2 && err.contains("format `visio`"), "{err}");
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "--tables", "zzz*"]);
    assert!(rc == 2 && err.contains("no table matches `zzz*`"), "{err}");
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "nope"]);
    assert!(rc == 2 && err.contains("namespace `nope`"), "{err}");
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "--direction", "up"]);
    assert!(rc == 2 && err.contains("--direction `up`"), "{err}");
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "-o", "/nonexistent/dir/x.svg"]);
    assert!(rc == 2 && err.contains("cannot create a file in /nonexistent/dir"), "{err}");
    // -o writes through a symbolic link and into a device, never over them.
    std::os::unix::fs::symlink(q.path("target.svg"), q.path("link.svg")).unwrap();
    std::fs::write(q.path("target.svg"), "old").unwrap();
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "-o", "link.svg"]);
    assert_eq!(rc, 0, "{err}");
    assert!(std::fs::symlink_metadata(q.path("link.svg")).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(q.path("target.svg")).unwrap().starts_with("<svg"));
    let (rc, _, err) = q.outcome(&["erd", "--db", "shop.db", "-o", "/dev/null"]);
    assert_eq!(rc, 0, "{err}");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
}
