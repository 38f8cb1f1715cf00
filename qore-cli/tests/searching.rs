//! `qore search`: hits from every table of the demo shop, formats, exit
//! codes, and bad input named.

use crate::util::Qore;

#[test]
fn search_finds_a_needle_in_every_table() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let (code, out, err) = q.outcome(&["search", "--db", "shop.db", "JOSÉ.PERLMAN1", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("namespace,table,column,key,value"));
    let hits: Vec<&str> = lines.collect();
    assert!(!hits.is_empty(), "{out}");
    assert!(hits.iter().any(|h| h.contains(",customers,email,") && h.contains("josé.perlman1@example.com")), "{out}");
    assert!(hits.iter().all(|h| h.to_lowercase().contains("josé.perlman1")), "{out}");
    assert!(err.contains(" hits in ") && err.contains(" tables"), "{err}");

    // A number is looked for in number columns; JSON lines out.
    let out = q.ok(&["search", "--db", "shop.db", "4810", "--tables", "orders", "--format", "ndjson", "--per-table", "3"]);
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!rows.is_empty() && rows.len() <= 3, "{out}");
    assert!(rows.iter().all(|r| r["table"] == "orders"), "{out}");
    assert!(rows.iter().any(|r| r["column"] == "customer_id" && r["value"] == "4810"), "{out}");
    assert!(rows.iter().all(|r| r["key"].as_str().unwrap().starts_with("{\"id\":")), "{out}");

    // The total cap stops the search and says so.
    let (code, out, err) = q.outcome(&["search", "--db", "shop.db", "example.com", "--limit", "5", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(err.contains("stopped at --limit 5"), "{err}");

    // Nothing found: exit 1.
    let (code, _, err) = q.outcome(&["search", "--db", "shop.db", "no such thing anywhere"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("0 hits"), "{err}");

    // Bad input, named.
    let (code, _, err) = q.outcome(&["search", "--db", "shop.db", "x", "--mode", "sideways"]);
    assert_eq!(code, 2);
    assert!(err.contains("not `sideways`"), "{err}");
    let (code, _, err) = q.outcome(&["search", "--db", "shop.db", "([", "--mode", "regex"]);
    assert_eq!(code, 2);
    assert!(err.contains("rejects this needle"), "{err}");
    let (code, _, err) = q.outcome(&["search", "--db", "shop.db", ""]);
    assert_eq!(code, 2);
    assert!(err.contains("empty"), "{err}");
}
