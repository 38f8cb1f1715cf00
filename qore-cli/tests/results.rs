//! The table format made for people: fitted to the terminal's width (long
//! values cut, columns that do not fit named on stderr), numbers
//! right-aligned, and `--expanded`.

use crate::util::Qore;

#[test]
fn tables_fit_the_terminal_and_expanded_shows_everything() {
    let q = Qore::new();
    q.ok(&["demo", "shop.db"]);
    let long = "x".repeat(120);
    let sql = format!(
        "SELECT o.id, o.total, '{long}' AS note, c.email, c.name, c.country, o.status, NULL AS missing \
         FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id LIMIT 2"
    );
    let out = q.run_env(&["query", "--db", "shop.db", &sql], "COLUMNS", "70");
    assert_eq!(out.status.code(), Some(0));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for line in stdout.lines() {
        assert!(line.chars().count() <= 70, "{} chars: {line}", line.chars().count());
    }
    // The long value is cut at 40 characters, the rest of the columns named.
    assert!(stdout.contains(&format!("{}…", "x".repeat(39))), "{stdout}");
    assert!(stderr.contains("columns not shown, the terminal is too narrow: email, name, country, status, missing"), "{stderr}");
    // Numbers right-aligned: the id's digit sits against the column's right edge.
    let first = stdout.lines().find(|l| l.contains("│") && l.contains(" 1 ┆")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(first.starts_with("│  "), "{first}");
    // Without a width (a pipe): every column, nothing cut.
    let all = q.ok(&["query", "--db", "shop.db", &sql]);
    assert!(all.contains(&long) && all.contains("missing"), "{all}");
    // Expanded: one block per row, every value whole, NULL shown.
    let x = q.ok(&["query", "--db", "shop.db", "-x", &sql]);
    assert!(x.starts_with("-[ RECORD 1 ]"), "{x}");
    assert!(x.contains(&format!("note    | {long}")) && x.contains("missing | NULL") && x.contains("-[ RECORD 2 ]"), "{x}");
}
