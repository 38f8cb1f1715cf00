//! MongoDB collections as diff sides (SecantusDB, the MongoDB-protocol
//! server `scripts/servers.sh` starts): by `_id`, with a filter document,
//! and against a PostgreSQL table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use arrow::array::AsArray;
use common::{Engine, unique};
use futures::StreamExt;
use qore_core::{ConnectionRef, TableRef};
use qore_diff::{ColumnPair, DiffOptions, Side, Source, diff};
use serde_json::json;

fn url() -> String {
    std::env::var("QORE_TEST_MONGODB_URL").expect("QORE_TEST_MONGODB_URL is not set: run the tests through scripts/servers.sh")
}

async fn fill(c: &ConnectionRef, coll: &str, docs: serde_json::Value) {
    let _ = c.execute(&json!({ "drop": coll }).to_string(), &[]).await;
    c.execute(&json!({ "insert": coll, "documents": docs }).to_string(), &[]).await.unwrap();
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn kinds(mut d: qore_diff::Diff) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(b) = d.stream.next().await {
        let b = b.unwrap();
        let keys = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8).unwrap();
        for i in 0..b.num_rows() {
            out.push((b.column(0).as_string::<i32>().value(i).to_string(), keys.as_string::<i32>().value(i).to_string()));
        }
    }
    out
}

#[test]
fn collections_diff_by_id_with_a_filter() {
    rt().block_on(async {
        let c = qore_drivers::connect(&url()).await.unwrap();
        let (a, b) = (unique("ca"), unique("cb"));
        fill(&c, &a, json!([{"_id": 1, "name": "Ann", "n": 1}, {"_id": 2, "name": "Bob", "n": 2}, {"_id": 3, "name": "Cy", "n": 3}])).await;
        fill(&c, &b, json!([{"_id": 1, "name": "Ann", "n": 1}, {"_id": 2, "name": "bob", "n": 2}, {"_id": 4, "name": "Dee", "n": 4}])).await;
        let side = |t: &str| Side { conn: c.clone(), source: Source::Table(TableRef::new(t)), label: t.into() };
        let d = diff(side(&a), side(&b), DiffOptions::default()).await.unwrap();
        assert!(d.plan.notes.iter().any(|n| n.contains("key:") && n.contains("_id")), "{:?}", d.plan.notes);
        assert_eq!(kinds(d).await, [("changed".into(), "2".into()), ("removed".into(), "3".into()), ("added".into(), "4".into())]);
        let filtered = DiffOptions { filter: Some(r#"{"n": {"$lt": 3}}"#.into()), ..Default::default() };
        let d = diff(side(&a), side(&b), filtered).await.unwrap();
        assert_eq!(kinds(d).await, [("changed".into(), "2".into())]);
        let bad = DiffOptions { filter: Some("n < 3".into()), ..Default::default() };
        let e = match diff(side(&a), side(&b), bad).await {
            Ok(d) => d.finish().await.unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("JSON document"), "{e}");
    });
}

#[test]
fn a_collection_against_a_postgres_table() {
    rt().block_on(async {
        let c = qore_drivers::connect(&url()).await.unwrap();
        let coll = unique("people");
        fill(&c, &coll, json!([{"_id": 1, "name": "Ann", "age": 30}, {"_id": 2, "name": "Bob", "age": 41}])).await;
        let pg = Engine::postgres();
        let t = unique("people");
        pg.run(&[format!("CREATE TABLE {t} (id bigint PRIMARY KEY, name text, age bigint)"), format!("INSERT INTO {t} VALUES (1, 'Ann', 30), (2, 'Bob', 40)")]).await;
        let left = Side { conn: c.clone(), source: Source::Table(TableRef::new(&coll)), label: "mongo".into() };
        let o = DiffOptions { key: vec![ColumnPair::parse("_id:id")], ..Default::default() };
        let d = diff(left, pg.side(&t).await, o).await.unwrap();
        assert_eq!(kinds(d).await, [("changed".into(), "2".into())]);
    });
}
