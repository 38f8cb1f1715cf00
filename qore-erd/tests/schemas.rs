//! Real schemas on real engines: the bulk catalog reads what the per-table
//! catalog reads, in a constant number of queries on PostgreSQL; every
//! foreign key comes out as a relation between the right columns in SVG,
//! Mermaid and DOT (parsed back); MongoDB collections with a virtual
//! relation drawn dashed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use qore_core::relations::{Relations, VirtualRelation};
use qore_core::{ConnectionRef, TableDetails, TableRef};
use qore_erd::layout::{HEADER, ROW};
use qore_erd::{ErdOptions, Format};

fn server(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the tests through scripts/servers.sh"))
}

async fn connect(url: &str) -> ConnectionRef {
    qore_drivers::connect(url).await.unwrap()
}

async fn run_all(conn: &ConnectionRef, sql: &str) {
    for s in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        conn.execute(s, &[]).await.unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

/// A schema with what real ones have: two namespaces with a relation
/// between them, a composite foreign key, a self reference, a one-to-one,
/// generated and identity columns, checks, an index, a view, and names
/// that need quoting.
fn postgres_schema(a: &str, b: &str) -> String {
    format!(
        "DROP SCHEMA IF EXISTS {a} CASCADE;
DROP SCHEMA IF EXISTS {b} CASCADE;
CREATE SCHEMA {a};
CREATE SCHEMA {b};
CREATE TABLE {a}.customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text UNIQUE NOT NULL, referrer_id bigint REFERENCES {a}.customers(id), created timestamptz DEFAULT now());
CREATE TABLE {a}.products (sku text, region text, name text NOT NULL, price numeric(10,2) CHECK (price >= 0), PRIMARY KEY (sku, region));
CREATE TABLE {a}.orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES {a}.customers(id) ON DELETE CASCADE, total numeric(12,2), doubled numeric GENERATED ALWAYS AS (total * 2) STORED);
CREATE TABLE {a}.order_lines (order_id bigint REFERENCES {a}.orders(id), line int, sku text, region text, qty int CHECK (qty > 0), PRIMARY KEY (order_id, line), CONSTRAINT line_product FOREIGN KEY (sku, region) REFERENCES {a}.products(sku, region));
CREATE INDEX lines_by_sku ON {a}.order_lines (sku);
CREATE TABLE {a}.\"Odd \"\"name\"\"\" (id int PRIMARY KEY, \"col,with <comma>\" bigint REFERENCES {a}.customers(id));
CREATE VIEW {a}.big_orders AS SELECT * FROM {a}.orders WHERE total > 100;
CREATE TABLE {b}.invoices (id serial PRIMARY KEY, order_id bigint UNIQUE REFERENCES {a}.orders(id), issued date NOT NULL);
CREATE TRIGGER never BEFORE UPDATE ON {b}.invoices FOR EACH ROW WHEN (false) EXECUTE FUNCTION suppress_redundant_updates_trigger()"
    )
}

fn mariadb_schema(a: &str, b: &str) -> String {
    format!(
        "DROP DATABASE IF EXISTS {a};
DROP DATABASE IF EXISTS {b};
CREATE DATABASE {a};
CREATE DATABASE {b};
CREATE TABLE {a}.customers (id bigint AUTO_INCREMENT PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, referrer_id bigint, created datetime DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (referrer_id) REFERENCES {a}.customers(id));
CREATE TABLE {a}.products (sku varchar(20), region varchar(8), name text NOT NULL, price decimal(10,2) CHECK (price >= 0), PRIMARY KEY (sku, region));
CREATE TABLE {a}.orders (id bigint AUTO_INCREMENT PRIMARY KEY, customer_id bigint NOT NULL, total decimal(12,2), doubled decimal(13,2) AS (total * 2) VIRTUAL, FOREIGN KEY (customer_id) REFERENCES {a}.customers(id) ON DELETE CASCADE);
CREATE TABLE {a}.order_lines (order_id bigint, line int, sku varchar(20), region varchar(8), qty int CHECK (qty > 0), PRIMARY KEY (order_id, line), FOREIGN KEY (order_id) REFERENCES {a}.orders(id), CONSTRAINT line_product FOREIGN KEY (sku, region) REFERENCES {a}.products(sku, region));
CREATE TABLE {a}.`Odd name` (id int PRIMARY KEY, `col,with <comma>` bigint, FOREIGN KEY (`col,with <comma>`) REFERENCES {a}.customers(id));
CREATE VIEW {a}.big_orders AS SELECT * FROM {a}.orders WHERE total > 100;
CREATE TABLE {b}.invoices (id int AUTO_INCREMENT PRIMARY KEY, order_id bigint UNIQUE, issued date NOT NULL, FOREIGN KEY (order_id) REFERENCES {a}.orders(id))"
    )
}

/// The bulk read equals one `table()` per listed table.
async fn bulk_equals_per_table(conn: &ConnectionRef, ns: &str) -> Vec<TableDetails> {
    let cat = conn.catalog().unwrap();
    let bulk = cat.structure(Some(ns)).await.unwrap();
    let listed = cat.tables(Some(ns)).await.unwrap();
    assert_eq!(bulk.len(), listed.len());
    for (b, info) in bulk.iter().zip(&listed) {
        let one = cat.table(&info.table).await.unwrap();
        assert_eq!(b, &one, "bulk and per-table differ for {}", info.table);
    }
    bulk
}

/// Every foreign key of `details` whose target is among them, as
/// (from, from columns, to, to columns).
fn catalog_relations(details: &[TableDetails]) -> BTreeSet<(String, Vec<String>, String, Vec<String>)> {
    let names: BTreeSet<String> = details.iter().map(|d| d.info.table.to_string()).collect();
    details
        .iter()
        .flat_map(|d| d.foreign_keys().map(move |fk| (d, fk)))
        .filter(|(_, fk)| names.contains(&fk.target.to_string()))
        .map(|(d, fk)| (d.info.table.to_string(), fk.columns.clone(), fk.target.to_string(), fk.target_columns.clone()))
        .collect()
}

/// The value of attribute `name` in the tag text `tag`, unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

fn tags<'a>(svg: &'a str, open: &str) -> Vec<&'a str> {
    svg.match_indices(open).map(|(i, _)| &svg[i..i + svg[i..].find('>').unwrap()]).collect()
}

/// Relations parsed back from the SVG, each checked to start on the row
/// of its first column and end on the row of the referenced one.
fn svg_relations(svg: &str) -> BTreeSet<(String, Vec<String>, String, Vec<String>)> {
    // Table boxes: name → (x, y, column names in row order).
    let mut boxes = std::collections::BTreeMap::new();
    for (i, _) in svg.match_indices("<g class=\"t\"") {
        let end = i + svg[i..].find("</g>").unwrap();
        let g = &svg[i..end];
        let head = &g[..g.find('>').unwrap()];
        let name = attr(head, "data-table").unwrap();
        let tr = attr(head, "transform").unwrap();
        let nums: Vec<f64> = tr.trim_start_matches("translate(").trim_end_matches(')').split(' ').map(|n| n.parse().unwrap()).collect();
        let cols: Vec<String> = tags(g, "<text class=\"c").iter().map(|t| attr(t, "data-column").unwrap()).collect();
        boxes.insert(name, (nums[0], nums[1], cols));
    }
    let mut out = BTreeSet::new();
    for p in tags(svg, "<path class=\"r") {
        let from = attr(p, "data-from").unwrap();
        let to = attr(p, "data-to").unwrap();
        let fc: Vec<String> = serde_json::from_str(&attr(p, "data-from-columns").unwrap()).unwrap();
        let tc: Vec<String> = serde_json::from_str(&attr(p, "data-to-columns").unwrap()).unwrap();
        let d = attr(p, "d").unwrap();
        let pts: Vec<(f64, f64)> = d
            .split(['M', 'L'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (x, y) = s.split_once(' ').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        let row_y = |table: &str, col: &str| {
            let (_, y, cols) = &boxes[table];
            let row = cols.iter().position(|c| c == col).unwrap_or_else(|| panic!("{col} not drawn in {table}"));
            y + HEADER + row as f64 * ROW + ROW / 2.0
        };
        assert!((pts[0].1 - row_y(&from, &fc[0])).abs() < 0.11, "{from}.{} starts at {:?}", fc[0], pts[0]);
        let last = pts[pts.len() - 1];
        assert!((last.1 - row_y(&to, &tc[0])).abs() < 0.11, "{to}.{} ends at {last:?}", tc[0]);
        out.insert((from, fc, to, tc));
    }
    out
}

fn unmermaid(s: &str) -> String {
    s.replace("#quot;", "\"").replace("#35;", "#")
}

/// Relations parsed back from Mermaid: aliases mapped to the quoted names,
/// columns from the relation's label.
fn mermaid_relations(text: &str) -> BTreeSet<(String, Vec<String>, String, Vec<String>)> {
    let mut alias = std::collections::BTreeMap::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some((a, rest)) = l.split_once("[\"") {
            if l.ends_with('{') {
                alias.insert(a.to_string(), unmermaid(&rest[..rest.find("\"]").unwrap()]));
            }
        }
    }
    let cols = |s: &str| -> Vec<String> { s.split(", ").map(unmermaid).collect() };
    text.lines()
        .filter(|l| l.contains("--") || l.contains(".."))
        .filter(|l| l.contains(" : "))
        .map(|l| {
            let l = l.trim();
            let parts: Vec<&str> = l.splitn(4, ' ').collect();
            let (to, from) = (alias[parts[0]].clone(), alias[parts[2]].clone());
            let label = l[l.find(" : \"").unwrap() + 4..l.len() - 1].to_string();
            let label = label.split_once(": ").map(|(_, r)| r.to_string()).unwrap_or(label);
            let (f, t) = label.split_once(") → (").unwrap();
            let t = t.trim_end_matches(" virtual");
            (from, cols(&f[1..]), to, cols(&t[..t.len() - 1]))
        })
        .collect()
}

/// Relations parsed back from DOT: ports mapped to column names through
/// the node labels; the full column lists from the edge label.
fn dot_relations(text: &str) -> BTreeSet<(String, Vec<String>, String, Vec<String>)> {
    let unquote = |s: &str| s[1..s.len() - 1].replace("\\\"", "\"").replace("\\\\", "\\");
    let mut ports = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| l.contains("[label=<<TABLE")) {
        let name = unquote(&line.trim()[..line.trim().find(" [label=").unwrap()]);
        for (i, _) in line.match_indices("PORT=\"p") {
            let rest = &line[i + 7..];
            let k = &rest[..rest.find('"').unwrap()];
            let cell = &rest[rest.find('>').unwrap() + 1..];
            let col = cell[..cell.find(" <FONT").unwrap()].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
            ports.insert((name.clone(), format!("p{k}")), col);
        }
    }
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| l.contains(" -> ")) {
        let (lhs, rhs) = line.trim().split_once(" -> ").unwrap();
        let split = |s: &str| {
            let i = s.rfind("\":").unwrap();
            (unquote(&s[..=i]), s[i + 2..].to_string())
        };
        let (from, fp) = split(lhs);
        let rhs_node = &rhs[..rhs.find(" [label=").unwrap()];
        let (to, tp) = split(rhs_node);
        let label = unquote(&rhs[rhs.find("[label=").unwrap() + 7..rhs.rfind(']').unwrap()].split(", style").next().unwrap().to_string());
        let label = label.split_once(": ").map(|(_, r)| r.to_string()).unwrap_or(label);
        let (f, t) = label.split_once(") → (").unwrap();
        let t = t.trim_end_matches(" virtual");
        let fc: Vec<String> = f[1..].split(", ").map(String::from).collect();
        let tc: Vec<String> = t[..t.len() - 1].split(", ").map(String::from).collect();
        assert_eq!(ports[&(from.clone(), fp)], fc[0]);
        assert_eq!(ports[&(to.clone(), tp)], tc[0]);
        out.insert((from, fc, to, tc));
    }
    out
}

async fn render(conn: &ConnectionRef, namespace: &str, format: Format, relations: &Relations) -> String {
    let opts = ErdOptions { namespace: Some(namespace.into()), format, ..ErdOptions::default() };
    let mut out = Vec::new();
    qore_erd::write_erd(&**conn, relations, &opts, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

/// The three parsed renderings each hold exactly the catalog's relations.
async fn every_relation_drawn(conn: &ConnectionRef, namespaces: &str, details: &[TableDetails]) {
    let want = catalog_relations(details);
    assert!(want.len() >= 6, "{want:?}");
    let none = Relations::default();
    assert_eq!(svg_relations(&render(conn, namespaces, Format::Svg, &none).await), want);
    assert_eq!(mermaid_relations(&render(conn, namespaces, Format::Mermaid, &none).await), want);
    assert_eq!(dot_relations(&render(conn, namespaces, Format::Dot, &none).await), want);
}

#[tokio::test]
async fn postgres_schema_bulk_catalog_and_every_relation() {
    let conn = connect(&server("QORE_TEST_POSTGRES_URL")).await;
    run_all(&conn, &postgres_schema("erd_sales", "erd_billing")).await;
    let mut details = bulk_equals_per_table(&conn, "erd_sales").await;
    details.extend(bulk_equals_per_table(&conn, "erd_billing").await);
    assert_eq!(details.len(), 7);
    let inv = details.iter().find(|d| d.info.table.name == "invoices").unwrap();
    assert_eq!(inv.triggers, ["never"]);
    let big = details.iter().find(|d| d.info.table.name == "big_orders").unwrap();
    assert!(big.view_definition.as_deref().unwrap_or("").contains("total > "), "{big:?}");
    every_relation_drawn(&conn, "erd_sales,erd_billing", &details).await;
}

#[tokio::test]
async fn mariadb_schema_bulk_catalog_and_every_relation() {
    let conn = connect(&server("QORE_TEST_MYSQL_URL")).await;
    run_all(&conn, &mariadb_schema("erd_sales", "erd_billing")).await;
    let mut details = bulk_equals_per_table(&conn, "erd_sales").await;
    details.extend(bulk_equals_per_table(&conn, "erd_billing").await);
    assert_eq!(details.len(), 7);
    let products = details.iter().find(|d| d.info.table.name == "products").unwrap();
    assert!(products.constraints.iter().any(|c| matches!(&c.kind, qore_core::ConstraintKind::Check { expression, .. } if expression.contains("price"))));
    every_relation_drawn(&conn, "erd_sales,erd_billing", &details).await;
}

/// Sum of pg_stat_statements calls in database `db` (read from another
/// database, so the reading is not counted).
async fn calls(observer: &ConnectionRef, db: &str) -> i64 {
    let mut s = observer
        .query(
            "SELECT coalesce(sum(s.calls), 0)::int8 FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
            &[qore_core::Value::Text(db.into())],
        )
        .await
        .unwrap();
    use futures::StreamExt;
    let b = s.next().await.unwrap().unwrap();
    qore_core::Value::from_array(b.column(0).as_ref(), 0).unwrap().to_string().parse().unwrap()
}

#[tokio::test]
async fn postgres_bulk_catalog_costs_the_same_few_queries_for_any_table_count() {
    let url = server("QORE_TEST_POSTGRES_URL");
    let (base, _) = url.rsplit_once('/').unwrap();
    // scripts/servers.sh created the extension in the postgres database.
    let observer = connect(&format!("{base}/postgres")).await;
    let db = "qore_erd_count";
    observer.execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"), &[]).await.unwrap();
    observer.execute(&format!("CREATE DATABASE {db}"), &[]).await.unwrap();
    let conn = connect(&format!("{base}/{db}")).await;
    let mut counts = Vec::new();
    for (ns, tables) in [("small", 10), ("large", 120)] {
        let mut sql = format!("CREATE SCHEMA {ns};\n");
        for i in 0..tables {
            sql.push_str(&format!("CREATE TABLE {ns}.t{i} (id int PRIMARY KEY, parent int REFERENCES {ns}.t{}(id), note text CHECK (note <> ''));\nCREATE INDEX ON {ns}.t{i} (note);\n", i / 2));
        }
        run_all(&conn, &sql).await;
        let before = calls(&observer, db).await;
        let details = conn.catalog().unwrap().structure(Some(ns)).await.unwrap();
        let used = calls(&observer, db).await - before;
        assert_eq!(details.len(), tables);
        assert_eq!(details.iter().map(|d| d.foreign_keys().count()).sum::<usize>(), tables);
        counts.push(used);
    }
    assert!(counts[0] <= 10, "{counts:?}");
    assert_eq!(counts[0], counts[1], "the count grows with the tables: {counts:?}");
    drop(conn);
    let _ = observer.execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"), &[]).await;
}

#[tokio::test]
async fn sqlite_and_duckdb_demo_every_relation() {
    for engine in [qore_core::Engine::Sqlite, qore_core::Engine::DuckDb] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop");
        qore_drivers::demo::write_demo(&path, engine, true).await.unwrap();
        let scheme = if engine == qore_core::Engine::Sqlite { "sqlite" } else { "duckdb" };
        let conn = connect(&format!("{scheme}:{}", path.display())).await;
        let ns = conn.catalog().unwrap().namespaces().await.unwrap().into_iter().find(|n| n.is_default).unwrap().name;
        let details = bulk_equals_per_table(&conn, &ns).await;
        every_relation_drawn(&conn, &ns, &details).await;
    }
}

#[tokio::test]
async fn mongodb_collections_with_a_virtual_relation_drawn_dashed() {
    let conn = connect(&server("QORE_TEST_MONGODB_URL")).await;
    let (authors, books) = (format!("erd_authors_{}", std::process::id()), format!("erd_books_{}", std::process::id()));
    conn.execute(&format!("db.{authors}.insertMany([{{_id: 1, name: 'Ann', born: 1970}}, {{_id: 2, name: 'Bob'}}])"), &[]).await.unwrap();
    conn.execute(&format!("db.{books}.insertMany([{{_id: 10, title: 'T', author_id: 1, tags: ['x']}}, {{_id: 11, title: 'U', author_id: 2}}])"), &[]).await.unwrap();
    let mut rels = Relations::default();
    rels.add(VirtualRelation::new("book_author", TableRef::new(&books), &["author_id"], TableRef::new(&authors), &["_id"]), false).unwrap();
    let draw = |format| {
        let opts = ErdOptions {
            subset: qore_erd::Subset { tables: Some(format!("{authors},{books}")), ..Default::default() },
            format,
            ..ErdOptions::default()
        };
        let (conn, rels) = (conn.clone(), rels.clone());
        async move {
            let mut out = Vec::new();
            let s = qore_erd::write_erd(&*conn, &rels, &opts, &mut out).await.unwrap();
            assert_eq!((s.tables, s.relations), (2, 1));
            String::from_utf8(out).unwrap()
        }
    };
    let svg = draw(Format::Svg).await;
    for field in ["name", "born", "title", "author_id", "tags"] {
        assert!(svg.contains(&format!("data-column=\"{field}\"")), "{field} missing: {svg}");
    }
    let dashed = tags(&svg, "<path class=\"r v\"");
    assert_eq!(dashed.len(), 1, "{svg}");
    assert!(attr(dashed[0], "data-from").unwrap().ends_with(&books) && attr(dashed[0], "data-to").unwrap().ends_with(&authors));
    assert!(svg.contains("VFK"), "the virtual tag is shown");
    let mermaid = draw(Format::Mermaid).await;
    assert!(mermaid.contains("..o{"), "{mermaid}");
    conn.execute(&format!("db.{authors}.drop()"), &[]).await.ok();
    conn.execute(&format!("db.{books}.drop()"), &[]).await.ok();
}
