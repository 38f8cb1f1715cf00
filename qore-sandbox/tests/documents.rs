//! MongoDB edits by `_id` against the SecantusDB server of
//! `scripts/servers.sh`: random sessions applied and undone against a
//! model, an injected conflict, peek between collections through a
//! virtual relation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::runtime;
use proptest::prelude::*;
use qore_core::relations::{Relations, VirtualRelation};
use qore_core::{ConnectionRef, TableRef};
use qore_sandbox::ops::{self, EditAction, EditRequest};
use qore_sandbox::{Direction, Sandbox};
use serde_json::{Value as Json, json};

fn url() -> String {
    std::env::var("QORE_TEST_MONGODB_URL")
        .expect("QORE_TEST_MONGODB_URL is not set: run the tests through scripts/servers.sh")
}

async fn reset(c: &ConnectionRef, coll: &str, docs: &[(i64, String, i64)]) {
    let _ = c.execute(&json!({ "drop": coll }).to_string(), &[]).await;
    if docs.is_empty() {
        c.execute(&json!({ "create": coll }).to_string(), &[]).await.unwrap();
        return;
    }
    let docs: Vec<Json> = docs.iter().map(|(id, name, n)| json!({ "_id": id, "name": name, "n": n })).collect();
    c.execute(&json!({ "insert": coll, "documents": docs }).to_string(), &[]).await.unwrap();
}

/// `_id` → (name, n), as the collection holds them.
async fn read(c: &ConnectionRef, coll: &str) -> BTreeMap<String, (Json, Json)> {
    let docs = qore_sandbox::documents::find(c.as_ref(), coll, &json!({}), 10_000).await.unwrap();
    docs.into_iter()
        .map(|d| {
            (d["_id"].to_string(), (d.get("name").cloned().unwrap_or(Json::Null), d.get("n").cloned().unwrap_or(Json::Null)))
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    Name(usize, String),
    N(usize, i64),
    Insert(String, i64),
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..6, "[a-zA-Z'\" é✓$.]{0,8}").prop_map(|(i, s)| Op::Name(i, s)),
        (0usize..6, -1000i64..1000).prop_map(|(i, n)| Op::N(i, n)),
        ("[a-z]{1,6}", -5i64..5).prop_map(|(s, n)| Op::Insert(s, n)),
        (0usize..6).prop_map(Op::Delete),
    ]
}

fn req(action: EditAction, key: &[(&str, String)], set: Vec<(&str, String)>) -> EditRequest {
    EditRequest {
        table: TableRef::new("edits"),
        action,
        key: key.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        set: set.into_iter().map(|(k, v)| (k.to_string(), Some(v))).collect(),
    }
}

#[test]
fn mongodb_sessions() {
    let rt = runtime();
    let c = rt.block_on(qore_drivers::connect(&url())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sessions: u32 = std::env::var("QORE_SANDBOX_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let applied = std::cell::Cell::new(0u32);
    proptest!(ProptestConfig::with_cases(sessions), |(start in proptest::collection::vec(("[a-z]{1,5}", 0i64..9), 0..6), ops in proptest::collection::vec(op(), 1..8))| {
        rt.block_on(async {
            let docs: Vec<(i64, String, i64)> = start.iter().enumerate().map(|(i, (s, n))| (i as i64 + 1, s.clone(), *n)).collect();
            reset(&c, "edits", &docs).await;
            let before = read(&c, "edits").await;
            let mut model = before.clone();
            let path = dir.path().join("m.json");
            let _ = std::fs::remove_file(&path);
            let mut s = Sandbox::open(&path, "m", "t").unwrap();
            let mut alive: Vec<i64> = docs.iter().map(|d| d.0).collect();
            for op in ops {
                match op {
                    Op::Name(i, name) => {
                        let Some(&id) = alive.get(i) else { continue };
                        ops::edit(c.as_ref(), &req(EditAction::Update, &[("_id", id.to_string())], vec![("name", Json::String(name.clone()).to_string())]), Some(&mut s)).await.unwrap();
                        model.get_mut(&json!({"$numberInt": id.to_string()}).to_string()).unwrap().0 = Json::String(name);
                    }
                    Op::N(i, n) => {
                        let Some(&id) = alive.get(i) else { continue };
                        ops::edit(c.as_ref(), &req(EditAction::Update, &[("_id", id.to_string())], vec![("n", n.to_string())]), Some(&mut s)).await.unwrap();
                        // Relaxed JSON 42 is stored as a 32-bit integer.
                        model.get_mut(&json!({"$numberInt": id.to_string()}).to_string()).unwrap().1 = json!({"$numberInt": n.to_string()});
                    }
                    Op::Insert(name, n) => {
                        let out = ops::edit(c.as_ref(), &req(EditAction::Insert, &[], vec![("name", name.clone()), ("n", n.to_string())]), Some(&mut s)).await.unwrap();
                        let id = match &out.change.after[0].1 { qore_core::Value::Text(t) => t.clone(), _ => unreachable!() };
                        let id: Json = serde_json::from_str(&id).unwrap();
                        model.insert(id.to_string(), (Json::String(name), json!({"$numberInt": n.to_string()})));
                    }
                    Op::Delete(i) => {
                        let Some(&id) = alive.get(i) else { continue };
                        ops::edit(c.as_ref(), &req(EditAction::Delete, &[("_id", id.to_string())], vec![]), Some(&mut s)).await.unwrap();
                        model.remove(&json!({"$numberInt": id.to_string()}).to_string());
                        alive.remove(i);
                    }
                }
            }
            if s.changes().is_empty() {
                return;
            }
            // Read through the sandbox, the collection already looks applied.
            let through = qore_sandbox::documents::read_through(c.as_ref(), &s, "edits").await.unwrap();
            assert_eq!(through.schema().metadata().get(qore_sandbox::overlay::MARKS).map(String::as_str), Some("qore_change,qore_edited"));
            let mut seen = BTreeMap::new();
            for b in qore_core::collect(through).await.unwrap() {
                for r in 0..b.num_rows() {
                    let d = qore_drivers::mongodb::row_to_extjson(&b, r).unwrap();
                    seen.insert(d["_id"].to_string(), (d.get("name").cloned().unwrap_or(Json::Null), d.get("n").cloned().unwrap_or(Json::Null)));
                }
            }
            assert_eq!(seen, model, "the overlay");
            let report = ops::apply(c.as_ref(), &mut s, false).await.unwrap();
            assert!(report.committed(), "{:?}", report.conflicts);
            assert_eq!(read(&c, "edits").await, model);
            let undo = ops::apply(c.as_ref(), &mut s, true).await.unwrap();
            assert!(undo.committed(), "{:?}", undo.conflicts);
            assert_eq!(read(&c, "edits").await, before);
            applied.set(applied.get() + 1);
        });
    });
    assert!(applied.get() >= sessions / 2, "{} of {sessions} sessions applied", applied.get());
}

#[tokio::test]
async fn mongodb_conflicts_write_nothing() {
    let c = qore_drivers::connect(&url()).await.unwrap();
    let other = qore_drivers::connect(&url()).await.unwrap();
    reset(&c, "edits_conflict", &[(1, "a".into(), 1), (2, "b".into(), 2)]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Sandbox::open(&dir.path().join("c.json"), "c", "t").unwrap();
    let r = |id: i64, v: &str| EditRequest {
        table: TableRef::new("edits_conflict"),
        action: EditAction::Update,
        key: vec![("_id".into(), id.to_string())],
        set: vec![("name".into(), Some(v.into()))],
    };
    ops::edit(c.as_ref(), &r(2, "mine"), Some(&mut s)).await.unwrap();
    ops::edit(c.as_ref(), &r(1, "mine"), Some(&mut s)).await.unwrap();
    other
        .execute(&json!({ "update": "edits_conflict", "updates": [{ "q": { "_id": 1 }, "u": { "$set": { "name": "theirs" } } }] }).to_string(), &[])
        .await
        .unwrap();
    let script = ops::script(c.as_ref(), &s, false).await.unwrap();
    assert_eq!(script.lines().count(), 2, "{script}");
    assert!(script.contains("\"$set\":{\"name\":\"mine\"}"), "{script}");
    let report = ops::apply(c.as_ref(), &mut s, false).await.unwrap();
    assert_eq!(report.conflicts.len(), 1);
    let now = report.conflicts[0].current.as_ref().unwrap();
    assert!(now.iter().any(|(k, v)| k == "name" && v.to_string().contains("theirs")), "{now:?}");
    let docs = read(&c, "edits_conflict").await;
    assert_eq!(docs.values().map(|v| v.0.clone()).collect::<Vec<_>>(), vec![json!("theirs"), json!("b")]);
    assert_eq!(s.changes().len(), 2, "the sandbox keeps its changes");
}

#[tokio::test]
async fn mongodb_peek_through_a_virtual_relation() {
    let c = qore_drivers::connect(&url()).await.unwrap();
    for coll in ["peek_customers", "peek_orders"] {
        let _ = c.execute(&json!({ "drop": coll }).to_string(), &[]).await;
    }
    c.execute(&json!({ "insert": "peek_customers", "documents": [{ "_id": 1, "name": "ann" }, { "_id": 2, "name": "bob" }] }).to_string(), &[])
        .await
        .unwrap();
    c.execute(
        &json!({ "insert": "peek_orders", "documents": [{ "_id": 10, "customer": 2 }, { "_id": 11, "customer": 2 }, { "_id": 12, "customer": 1 }] }).to_string(),
        &[],
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.toml");
    let rel = VirtualRelation::new("order_customer", TableRef::new("peek_orders"), &["customer"], TableRef::new("peek_customers"), &["_id"]);
    ops::add_relation(c.as_ref(), &path, rel, false).await.unwrap();
    let rels = Relations::load(&path).unwrap();
    let rows = |p: qore_sandbox::Peek| async move {
        let batches = qore_core::collect(p.rows).await.unwrap();
        let mut out = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                out.push(qore_drivers::mongodb::row_to_extjson(b, r).unwrap());
            }
        }
        out
    };
    let got = ops::peek_rows(c.as_ref(), &rels, &TableRef::new("peek_orders"), &[("_id".into(), "10".into())], Some("customer"), Direction::Referenced, 5)
        .await
        .unwrap();
    assert!(got[0].relation.is_virtual);
    let docs = rows(got.into_iter().next().unwrap()).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["name"], json!("bob"));
    let back = ops::peek_rows(c.as_ref(), &rels, &TableRef::new("peek_customers"), &[("_id".into(), "2".into())], None, Direction::Referencing, 5)
        .await
        .unwrap();
    assert_eq!(rows(back.into_iter().next().unwrap()).await.len(), 2);
}
