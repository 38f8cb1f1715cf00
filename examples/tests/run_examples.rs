//! Runs every example binary so that none of them can rot.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn embed_runs_against_a_fresh_demo_and_a_given_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_embed")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("connected to DuckDB"), "{stdout}");
    assert!(
        stdout.contains("order_items")
            && stdout.contains("[\"product_id\", \"warehouse_id\"]→inventory"),
        "{stdout}"
    );
    assert!(
        stdout.contains("streamed 2000 rows") || stdout.contains("streamed 19"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let out = Command::new(env!("CARGO_BIN_EXE_embed"))
        .arg(format!("sqlite:{}", db.display()))
        .output()
        .unwrap();
    // An empty SQLite file has no order_items: a clear error and exit 2, not a panic.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such table: order_items"));
}

#[test]
fn sessions_shows_isolation_rollback_and_error_kinds() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "duckdb:".to_string(),
        format!("sqlite:{}", dir.path().join("s.db").display()),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sessions"))
            .arg(&url)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in [
            "before commit, the reader sees 0",
            "after commit, the reader sees 30",
            "after a dropped transaction, id 1 has 70",
            "duplicate key: unique violation (transient: false)",
        ] {
            assert!(stdout.contains(line), "{url}: {line}\n{stdout}");
        }
    }
}
