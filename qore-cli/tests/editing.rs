//! `qore edit`, `qore sandbox`, `qore peek`, `qore relation` on the real
//! binary, against the sample shop database (SQLite).

use crate::util::Qore;

fn code(q: &Qore, args: &[&str]) -> (i32, String, String) {
    let o = q.run(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn cell(q: &Qore, sql: &str) -> String {
    q.ok(&["query", "--db", "shop.db", "--format", "csv", sql])
        .lines()
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn inline_edits_write_exact_sql_and_refuse_bad_input() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let (rc, out, err) = code(&q, &["edit", "--db", "shop.db", "orders", "--key", "id=7", "--set", "status=paid", "--set", "total=12.50"]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.starts_with("UPDATE \"main\".\"orders\" SET \"status\" = 'paid', \"total\" = 12.5 WHERE \"id\" = 7 AND"), "{out}");
    assert!(err.contains("1 row updated (addressed by primary key (id))"), "{err}");
    assert_eq!(cell(&q, "SELECT status, total FROM orders WHERE id = 7"), "paid,12.5");
    // NULL, insert, delete.
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=7", "--null", "address_id"]);
    assert_eq!(cell(&q, "SELECT address_id IS NULL FROM orders WHERE id = 7"), "1");
    let out = q.ok(&["edit", "--db", "shop.db", "categories", "--insert", "--set", "name=It's \\ new ✓"]);
    assert!(out.contains("VALUES ('It''s \\ new ✓') RETURNING \"id\""), "{out}");
    assert_eq!(cell(&q, "SELECT count(*) FROM categories WHERE name = 'It''s \\ new ✓'"), "1");
    q.ok(&["edit", "--db", "shop.db", "categories", "--key", "name=It's \\ new ✓", "--delete"]);
    assert_eq!(cell(&q, "SELECT count(*) FROM categories WHERE name LIKE 'It%'"), "0");
    // Bad input: a clear message, exit 2, nothing written.
    for (args, needle) in [
        (vec!["--key", "id=7", "--set", "total=abc"], "`abc` is not a value of main.orders.total (DECIMAL(10,2))"),
        (vec!["--key", "id=999999", "--set", "status=paid"], "no row of main.orders has id=999999"),
        (vec!["--key", "customer_id=1", "--set", "status=paid"], "rows of main.orders have customer_id=1: give more key columns"),
        (vec!["--key", "id=7", "--set", "nope=1"], "main.orders has no column `nope`"),
        (vec!["--key", "id=7"], "nothing to edit"),
        (vec!["--set", "status=paid"], "say which row"),
        (vec!["--key", "id=7", "--set", "status=refunded"], "CHECK constraint failed"),
    ] {
        let mut all = vec!["edit", "--db", "shop.db", "orders"];
        all.extend(args.iter().copied());
        let (rc, _, err) = code(&q, &all);
        assert_eq!(rc, 2, "{all:?}: {err}");
        assert!(err.contains(needle), "{all:?}: {err}");
    }
    assert_eq!(cell(&q, "SELECT status, total FROM orders WHERE id = 7"), "paid,12.5");
    let (rc, _, err) = code(&q, &["edit", "--db", "shop.db", "order_totals", "--key", "order_id=1", "--set", "total=1"]);
    assert_eq!(rc, 2);
    assert!(err.contains("is a view"), "{err}");
}

#[test]
fn sandboxes_record_script_apply_and_undo() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let before = cell(&q, "SELECT id, status FROM orders WHERE id IN (2, 3) ORDER BY id");
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=2", "--set", "status=paid", "--sandbox", "s1"]);
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=2", "--set", "status=delivered", "--sandbox", "s1"]);
    let err = q.ok_err(&["edit", "--db", "shop.db", "order_items", "--key", "order_id=3", "--key", "line_no=1", "--delete", "--sandbox", "s1"]);
    assert!(err.contains("change #2 recorded in sandbox `s1`") && err.contains("nothing was written"), "{err}");
    // Nothing written yet.
    assert_eq!(cell(&q, "SELECT id, status FROM orders WHERE id IN (2, 3) ORDER BY id"), before);
    let show = q.ok(&["sandbox", "show", "--db", "shop.db", "s1", "--format", "csv"]);
    assert!(show.contains("1,update,main.orders,2,status=delivered,"), "{show}");
    assert!(show.contains("2,delete,main.order_items,\"3, 1\""), "{show}");
    let file = q.path("data/qore/sandboxes/sqlite_shop.db/s1.json");
    let saved = std::fs::read(&file).unwrap();
    // A refused edit leaves the file as it was.
    let (rc, _, _) = code(&q, &["edit", "--db", "shop.db", "orders", "--key", "id=2", "--set", "total=x", "--sandbox", "s1"]);
    assert_eq!(rc, 2);
    assert_eq!(std::fs::read(&file).unwrap(), saved);
    let script = q.ok(&["sandbox", "script", "--db", "shop.db", "s1"]);
    assert_eq!(script.lines().next(), Some("BEGIN;"));
    assert!(script.contains("UPDATE \"main\".\"orders\" SET \"status\" = 'delivered' WHERE \"id\" = 2 AND CAST(\"status\" AS TEXT) IS 'shipped';"), "{script}");
    assert!(script.ends_with("COMMIT;\n"), "{script}");
    let err = q.ok_err(&["sandbox", "apply", "--db", "shop.db", "s1"]);
    assert!(err.contains("2 statement(s), 2 row(s)"), "{err}");
    assert_eq!(cell(&q, "SELECT status FROM orders WHERE id = 2"), "delivered");
    assert_eq!(cell(&q, "SELECT count(*) FROM order_items WHERE order_id = 3 AND line_no = 1"), "0");
    let undo = q.ok(&["sandbox", "script", "--db", "shop.db", "s1", "--undo"]);
    assert!(undo.contains("INSERT INTO \"main\".\"order_items\""), "{undo}");
    q.ok(&["sandbox", "apply", "--db", "shop.db", "s1", "--undo"]);
    assert_eq!(cell(&q, "SELECT id, status FROM orders WHERE id IN (2, 3) ORDER BY id"), before);
    assert_eq!(cell(&q, "SELECT count(*) FROM order_items WHERE order_id = 3 AND line_no = 1"), "1");
    // Discard one change, then all.
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=4", "--set", "status=paid", "--sandbox", "s2"]);
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=5", "--set", "status=paid", "--sandbox", "s2"]);
    q.ok(&["sandbox", "discard", "--db", "shop.db", "s2", "--change", "1"]);
    let show = q.ok(&["sandbox", "show", "--db", "shop.db", "s2", "--format", "csv"]);
    assert_eq!(show.lines().count(), 2, "{show}");
    let ls = q.ok(&["sandbox", "ls", "--db", "shop.db", "--format", "csv"]);
    assert!(ls.contains("s1,0,") && ls.contains("s2,1,\"\",sqlite:shop.db"), "{ls}");
    q.ok(&["sandbox", "discard", "--db", "shop.db", "s2"]);
    let (rc, _, err) = code(&q, &["sandbox", "apply", "--db", "shop.db", "s2"]);
    assert_eq!(rc, 2);
    assert!(err.contains("no pending change"), "{err}");
}

#[test]
fn a_conflict_writes_nothing_and_shows_three_values() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=9", "--set", "status=paid", "--sandbox", "c"]);
    q.ok(&["edit", "--db", "shop.db", "orders", "--key", "id=10", "--set", "status=paid", "--sandbox", "c"]);
    let was = cell(&q, "SELECT status FROM orders WHERE id = 9");
    q.ok(&["query", "--db", "shop.db", "UPDATE orders SET status = 'cancelled' WHERE id = 9"]);
    let ten = cell(&q, "SELECT status FROM orders WHERE id = 10");
    let (rc, out, err) = code(&q, &["sandbox", "apply", "--db", "shop.db", "c"]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("1 row(s) changed since they were read: nothing was written"), "{err}");
    assert!(out.contains(&was) && out.contains("cancelled") && out.contains("#1"), "{out}");
    assert_eq!(cell(&q, "SELECT status FROM orders WHERE id = 9"), "cancelled");
    assert_eq!(cell(&q, "SELECT status FROM orders WHERE id = 10"), ten);
    // The sandbox keeps both changes.
    let show = q.ok(&["sandbox", "show", "--db", "shop.db", "c", "--format", "csv"]);
    assert_eq!(show.lines().count(), 3, "{show}");
}

#[test]
fn prod_profiles_confirm_before_applying() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let url = format!("sqlite:{}", q.path("shop.db").display());
    q.ok(&["conn", "add", "shop", &url, "--env", "prod"]);
    q.ok(&["edit", "--db", "shop", "orders", "--key", "id=11", "--set", "status=paid", "--sandbox", "p"]);
    let (rc, _, err) = code(&q, &["sandbox", "apply", "--db", "shop", "p"]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("(prod): 1 statement(s)") && err.contains("--yes confirms"), "{err}");
    assert_ne!(cell(&q, "SELECT status FROM orders WHERE id = 11"), "paid");
    q.ok(&["sandbox", "apply", "--db", "shop", "p", "--yes"]);
    assert_eq!(cell(&q, "SELECT status FROM orders WHERE id = 11"), "paid");
}

#[test]
fn relations_and_peek() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    // A real foreign key, forward and back.
    let (rc, out, err) = code(&q, &["peek", "--db", "shop.db", "orders", "--key", "id=5", "customer_id", "--format", "csv"]);
    assert_eq!(rc, 0, "{err}");
    let customer = cell(&q, "SELECT customer_id FROM orders WHERE id = 5");
    assert!(out.lines().nth(1).unwrap().starts_with(&format!("{customer},")), "{out}");
    assert!(err.contains("main.orders(customer_id) → main.customers(id)") && err.contains("open related: SELECT t.* FROM \"main\".\"customers\" t WHERE EXISTS"), "{err}");
    let back = q.ok(&["peek", "--db", "shop.db", "customers", "--key", &format!("id={customer}"), "--referencing", "--limit", "500", "--format", "csv"]);
    let orders = cell(&q, &format!("SELECT count(*) FROM orders WHERE customer_id = {customer}"));
    assert!(back.matches(&format!(",{customer},")).count() >= orders.parse::<usize>().unwrap(), "{back}");
    // Virtual relations: checked against the catalog, stored, shown, followed.
    for (args, needle) in [
        (vec!["--from", "reviews(nope)", "--to", "orders(id)"], "has no column `nope`"),
        (vec!["--from", "reviews(body)", "--to", "orders(id)"], "the types hold different values"),
        (vec!["--from", "reviews", "--to", "orders(id)"], "is not TABLE(COLUMN"),
        (vec!["--from", "reviews(id)", "--to", "nowhere(id)"], "nowhere"),
    ] {
        let mut all = vec!["relation", "add", "--db", "shop.db", "bad"];
        all.extend(args.iter().copied());
        let (rc, _, err) = code(&q, &all);
        assert_eq!(rc, 2, "{all:?}");
        assert!(err.contains(needle), "{all:?}: {err}");
    }
    q.ok(&["relation", "add", "--db", "shop.db", "wh_stock", "--from", "warehouses(id)", "--to", "inventory(warehouse_id)", "--cardinality", "one-to-many"]);
    let ls = q.ok(&["relation", "ls", "--db", "shop.db", "--format", "csv"]);
    assert!(ls.contains("wh_stock,warehouses(id),inventory(warehouse_id),one-to-many"), "{ls}");
    let d = q.ok(&["describe", "--db", "shop.db", "warehouses"]);
    assert!(d.contains("VFK→inventory(warehouse_id)"), "{d}");
    let (rc, out, err) = code(&q, &["peek", "--db", "shop.db", "warehouses", "--key", "id=1", "id", "--limit", "3", "--format", "csv"]);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("[virtual]") && err.contains("qore: 3 row(s)"), "{err}");
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(d.contains("VIRTUAL FK") && d.contains("(id) → inventory(warehouse_id), not enforced"), "{d}");
    q.ok(&["relation", "rm", "--db", "shop.db", "wh_stock"]);
    let (rc, _, err) = code(&q, &["relation", "rm", "--db", "shop.db", "wh_stock"]);
    assert_eq!(rc, 2);
    assert!(err.contains("no virtual relation named `wh_stock`"), "{err}");
}
