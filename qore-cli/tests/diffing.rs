//! `qore diff` on the real binary: two SQLite copies of the sample shop,
//! one edited; exit codes, formats, the SQL patch applied makes them equal.

use crate::util::Qore;

#[test]
fn diff_exit_codes_formats_and_a_patch_that_makes_sides_equal() {
    let q = Qore::new();
    q.ok(&["demo", "a.db"]);
    q.ok(&["demo", "b.db"]);
    let base = ["diff", "--left", "sqlite:a.db", "--right", "sqlite:b.db", "--table", "customers"];
    let (rc, out, err) = q.outcome(&base);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(err.starts_with("equal"), "{err}");
    q.ok(&["query", "--db", "b.db", "UPDATE customers SET email = 'changed@example.com' WHERE id = 3"]);
    q.ok(&["query", "--db", "b.db", "DELETE FROM orders WHERE customer_id = 5"]);
    q.ok(&["query", "--db", "b.db", "DELETE FROM customers WHERE id = 5"]);
    let (rc, out, err) = q.outcome(&base);
    assert_eq!(rc, 1, "{err}");
    assert!(out.contains("~ (3)  email: [-") && out.contains("{+changed@example.com+}"), "{out}");
    assert!(out.contains("- (5)"), "{out}");
    assert!(err.contains("1 changed, 0 added (right only), 1 removed (left only)"), "{err}");
    // Summary to stdout; JSON rows; an HTML file written whole.
    let (rc, out, _) = q.outcome(&[&base[..], &["--format", "summary"]].concat());
    assert!(rc == 1 && out.contains("changed cells by column: email 1"), "{out}");
    let (_, out, _) = q.outcome(&[&base[..], &["--format", "ndjson"]].concat());
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("\"diff\":\"changed\"") && out.contains("\"changed\":\"[\\\"email\\\"]\""), "{out}");
    q.outcome(&[&base[..], &["--format", "html", "-o", "d.html"]].concat());
    let html = std::fs::read_to_string(q.dir().join("d.html")).expect("report written");
    assert!(html.contains("changed@example.com") && html.contains("Content-Security-Policy") && !html.contains("<script src"), "{html}");
    // The patch makes the right equal to the left.
    let (rc, patch, _) = q.outcome(&[&base[..], &["--format", "sql"]].concat());
    assert_eq!(rc, 1);
    assert!(patch.starts_with("BEGIN;") && patch.contains("INSERT INTO") && patch.contains("UPDATE"), "{patch}");
    std::fs::write(q.dir().join("patch.sql"), &patch).expect("patch saved");
    q.ok(&["query", "--db", "b.db", "--file", "patch.sql"]);
    let (rc, _, err) = q.outcome(&base);
    assert_eq!(rc, 0, "after the patch: {err}");
    // Bad input: exit 2 with the reason.
    let (rc, _, err) = q.outcome(&[&base[..], &["--key", "nope"]].concat());
    assert!(rc == 2 && err.contains("key column `nope` is not on the left side"), "{err}");
    let (rc, _, err) = q.outcome(&["diff", "--left", "sqlite:a.db", "--right", "sqlite:b.db"]);
    assert!(rc == 2 && err.contains("--table") , "{err}");
    let (rc, _, err) = q.outcome(&[&base[..], &["--float-tolerance", "lots"]].concat());
    assert!(rc == 2 && err.contains("float tolerance `lots`"), "{err}");
}
