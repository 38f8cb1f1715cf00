//! MongoDB driver against a real server speaking the MongoDB wire protocol:
//! `scripts/servers.sh run -- ...` starts SecantusDB and exports
//! QORE_TEST_MONGODB_URL (set it yourself to use a real mongod).

#![allow(clippy::unwrap_used)]

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use common::{contracts, server_url};
use futures::StreamExt;
use mongodb::bson::{self, Bson, Document, doc};
use qore_core::{
    Catalog, Connection, ConnectionSpec, ConstraintKind, Error, TableKind, TableRef, collect,
};
use qore_drivers::mongodb::{MongoConnection, row_to_extjson};

fn url() -> String {
    server_url("QORE_TEST_MONGODB_URL")
}

async fn connect() -> MongoConnection {
    MongoConnection::connect(&ConnectionSpec::parse(&url()).unwrap())
        .await
        .unwrap()
}

/// Deterministic documents of varied, nested, partly inconsistent shapes,
/// with fields that appear only after the first thousand.
fn document(i: i32) -> Document {
    let mut d = doc! { "_id": i, "name": format!("user {i}") };
    if i % 3 != 0 {
        d.insert(
            "age",
            if i % 97 == 0 {
                Bson::String("unknown".into())
            } else {
                Bson::Int32(i % 90)
            },
        );
    }
    if i % 5 == 0 {
        d.insert("score", Bson::Null);
    } else {
        d.insert("score", Bson::Double(f64::from(i) / 7.0));
    }
    d.insert("big", Bson::Int64(i64::from(i) * 10_000_000_000));
    d.insert(
        "when",
        Bson::DateTime(bson::DateTime::from_millis(
            1_700_000_000_000 + i64::from(i) * 1000,
        )),
    );
    d.insert(
        "price",
        Bson::Decimal128(format!("{}.{:02}", i, i % 100).parse().unwrap()),
    );
    d.insert(
        "oid",
        Bson::ObjectId(bson::oid::ObjectId::from_bytes([(i % 256) as u8; 12])),
    );
    let city = ["Oslo", "Lima", "Pune"][(i % 3) as usize];
    let mut addr = doc! { "city": city, "zip": i % 1000 };
    if i % 11 == 0 {
        addr.insert("geo", doc! { "lat": 1.5, "lon": -2.25 });
    }
    if i % 13 == 0 {
        addr.insert("zip", "none");
    }
    d.insert("addr", addr);
    let tags: Vec<Bson> = (0..(i % 4))
        .map(|k| Bson::String(format!("t{k}")))
        .collect();
    d.insert("tags", tags);
    if i % 17 == 0 {
        d.insert(
            "tags",
            Bson::Array(vec![
                Bson::Int32(1),
                Bson::String("mixed".into()),
                Bson::Null,
            ]),
        );
    }
    if i % 7 == 0 {
        d.insert(
            "blob",
            Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![i as u8, 0, 255],
            }),
        );
    }
    if i % 19 == 0 {
        d.insert(
            "uuid",
            Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Uuid,
                bytes: vec![7; 16],
            }),
        );
    }
    if i > 2000 && i % 10 == 1 {
        d.insert("late", doc! { "flag": true, "n": i });
    }
    if i % 23 == 0 {
        d.insert(
            "items",
            vec![
                Bson::Document(doc! { "sku": "a", "qty": 1 }),
                Bson::Document(doc! { "sku": "b", "qty": Bson::Null }),
            ],
        );
    } else if i % 2 == 0 {
        d.insert(
            "items",
            vec![Bson::Document(doc! { "sku": "c", "qty": i % 9 })],
        );
    }
    d
}

#[tokio::test]
async fn a_hundred_thousand_documents_round_trip_exactly() {
    let c = connect().await;
    let coll = c.database().collection::<Document>("roundtrip");
    coll.drop().await.ok();
    let n = 100_000;
    let docs: Vec<Document> = (0..n).map(document).collect();
    for chunk in docs.chunks(10_000) {
        coll.insert_many(chunk.to_vec()).await.unwrap();
    }
    let mut s = c
        .query(r#"{"find": "roundtrip", "sort": {"_id": 1}}"#, &[])
        .await
        .unwrap();
    let schema = s.schema();
    assert!(matches!(
        schema.field_with_name("addr").unwrap().data_type(),
        DataType::Struct(_)
    ));
    assert!(matches!(
        schema.field_with_name("items").unwrap().data_type(),
        DataType::List(_)
    ));
    assert_eq!(
        schema.field_with_name("when").unwrap().data_type(),
        &DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, Some("UTC".into()))
    );
    assert_eq!(schema.fields().last().unwrap().name(), "_extra");
    let mut i = 0usize;
    let mut batches = 0;
    while let Some(b) = s.next().await {
        let b = b.unwrap();
        assert!(b.num_rows() <= 8192);
        batches += 1;
        for r in 0..b.num_rows() {
            let got = row_to_extjson(&b, r).unwrap();
            let want = Bson::Document(docs[i].clone()).into_canonical_extjson();
            assert_eq!(got, want, "document {i}");
            i += 1;
        }
    }
    assert_eq!(i, n as usize);
    assert!(batches >= 13);
}

#[tokio::test]
async fn shorthand_and_commands() {
    let c = connect().await;
    c.execute("db.people.drop()", &[]).await.ok();
    let done = c
        .execute("db.people.insertMany([{_id: 1, name: 'ann', age: 31, team: 'a'}, {_id: 2, name: 'bob', age: 25, team: 'b'}, {_id: 3, name: \"cy\", age: 40, team: 'a'}])", &[])
        .await
        .unwrap();
    assert_eq!(done.rows_affected, 3);
    let b = collect(
        c.query(
            "db.people.find({age: {$gt: 26}}, {name: 1}).sort({age: -1}).limit(5)",
            &[],
        )
        .await
        .unwrap(),
    )
    .await
    .unwrap();
    let names: Vec<String> = b
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name("name").unwrap().as_string::<i32>();
            col.iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(names, ["cy", "ann"]);
    let b = collect(
        c.query(
            "db.people.aggregate([{$group: {_id: '$team', n: {$sum: 1}}}, {$sort: {_id: 1}}])",
            &[],
        )
        .await
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(b[0].num_rows(), 2);
    let b = collect(
        c.query("db.people.countDocuments({team: 'a'})", &[])
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        b[0].column_by_name("n")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int32Type>()
            .value(0),
        2
    );
    let b = collect(c.query("db.people.distinct('team')", &[]).await.unwrap())
        .await
        .unwrap();
    assert_eq!(b[0].num_rows(), 2);
    assert_eq!(
        c.execute(
            "db.people.updateMany({team: 'a'}, {$set: {senior: true}})",
            &[]
        )
        .await
        .unwrap()
        .rows_affected,
        2
    );
    assert_eq!(
        c.execute("db.people.deleteOne({_id: 2})", &[])
            .await
            .unwrap()
            .rows_affected,
        1
    );
    let b = collect(c.query(r#"{"count": "people"}"#, &[]).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        b[0].column_by_name("n")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int32Type>()
            .value(0),
        2
    );
    let one = collect(c.query("db.people.findOne({_id: 3})", &[]).await.unwrap())
        .await
        .unwrap();
    assert_eq!(one.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    // Late fields (after the sample) still arrive: with a one-document
    // sample, `nick` is unknown to the schema and travels in `_extra`.
    c.execute(
        "db.people.insertOne({_id: 9, name: 'zed', nick: ['z', 1]})",
        &[],
    )
    .await
    .unwrap();
    let small =
        MongoConnection::connect(&ConnectionSpec::parse(&format!("{}&sample=1", url())).unwrap())
            .await
            .unwrap();
    let b = collect(
        small
            .query("db.people.find({}).sort({_id: 1})", &[])
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(b[0].num_rows(), 3);
    assert!(b[0].schema().column_with_name("nick").is_none());
    let extra = b[0].column_by_name("_extra").unwrap();
    assert!(extra.is_null(0) && !extra.is_null(2));
    assert_eq!(
        row_to_extjson(&b[0], 2).unwrap()["nick"],
        serde_json::json!(["z", {"$numberInt": "1"}])
    );
    assert_eq!(
        row_to_extjson(&b[0], 1).unwrap()["senior"],
        serde_json::json!(true)
    );
}

/// The legacy and find-and-modify methods, and renameCollection (which
/// MongoDB only runs against `admin`, with full namespaces).
#[tokio::test]
async fn legacy_methods_find_and_modify_and_rename() {
    let c = connect().await;
    for coll in ["legacy", "legacy_renamed"] {
        c.execute(&format!("db.{coll}.drop()"), &[]).await.ok();
    }
    c.execute(
        "db.legacy.insert([{_id: 1, n: 1, t: 'a'}, {_id: 2, n: 2, t: 'a'}, {_id: 3, n: 3, t: 'b'}])",
        &[],
    )
    .await
    .unwrap();
    // The legacy update changes one document unless told `multi`.
    let one = c
        .execute("db.legacy.update({t: 'a'}, {$inc: {n: 10}})", &[])
        .await
        .unwrap();
    assert_eq!(one.rows_affected, 1);
    let many = c
        .execute(
            "db.legacy.update({t: 'a'}, {$set: {seen: true}}, {multi: true})",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(many.rows_affected, 2);
    // findOneAndUpdate answers with the document, after the change when asked.
    let b = collect(
        c.query(
            "db.legacy.findOneAndUpdate({_id: 3}, {$set: {n: 30}}, {returnDocument: 'after'})",
            &[],
        )
        .await
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    let n = b[0].column_by_name("n").unwrap();
    assert_eq!(
        arrow::compute::cast(n, &DataType::Int64)
            .unwrap()
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0),
        30
    );
    // Nothing matched: no row, not an error.
    let b = collect(
        c.query("db.legacy.findOneAndDelete({_id: 99})", &[])
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    let b = collect(
        c.query("db.legacy.findOneAndDelete({_id: 3})", &[])
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    // remove(filter, justOne)
    let gone = c
        .execute("db.legacy.remove({t: 'a'}, true)", &[])
        .await
        .unwrap();
    assert_eq!(gone.rows_affected, 1);
    c.execute("db.legacy.renameCollection('legacy_renamed')", &[])
        .await
        .unwrap();
    let left = collect(c.query("db.legacy_renamed.find({})", &[]).await.unwrap())
        .await
        .unwrap();
    assert_eq!(left.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    let old = collect(c.query("db.legacy.find({})", &[]).await.unwrap())
        .await
        .unwrap();
    assert_eq!(old.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    c.execute("db.legacy_renamed.drop()", &[]).await.unwrap();
}

/// `?read_only=true`: MongoDB has no read-only session, so each command
/// is judged before it is sent: reads pass, writes (an aggregate with
/// `$out` too) are refused and change nothing.
#[tokio::test]
async fn a_read_only_session_sends_only_reads() {
    let rw = connect().await;
    rw.execute("db.ro.drop()", &[]).await.ok();
    rw.execute("db.ro.insertOne({_id: 1, n: 1})", &[])
        .await
        .unwrap();
    let sep = if url().contains('?') { '&' } else { '?' };
    let ro = qore_drivers::connect(&format!("{}{sep}read_only=true", url()))
        .await
        .unwrap();
    for cmd in [
        "db.ro.insertOne({_id: 2})",
        "db.ro.deleteMany({})",
        "db.ro.updateOne({_id: 1}, {$set: {n: 2}})",
        "db.ro.drop()",
        "db.ro.aggregate([{$match: {}}, {$out: 'ro_copy'}])",
        r#"{"dropDatabase": 1}"#,
    ] {
        let e = ro.execute(cmd, &[]).await.unwrap_err();
        assert_eq!(e.kind(), qore_core::ErrorKind::Denied, "{cmd}: {e}");
        assert!(e.to_string().contains("read-only"), "{e}");
    }
    let b = collect(ro.query("db.ro.find({n: 1})", &[]).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        b.iter().map(|b| b.num_rows()).sum::<usize>(),
        1,
        "nothing changed"
    );
    collect(
        ro.query("db.ro.aggregate([{$count: 'n'}])", &[])
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    rw.execute("db.ro.drop()", &[]).await.unwrap();
}

#[tokio::test]
async fn the_catalog_is_complete() {
    let c = connect().await;
    let db = c.database();
    for name in ["cat_items", "cat_valid", "cat_view"] {
        db.collection::<Document>(name).drop().await.ok();
    }
    db.run_command(doc! { "create": "cat_valid", "validator": { "$jsonSchema": { "bsonType": "object", "required": ["sku"] } } }).await.unwrap();
    // `at` lies in the future: the TTL index created below must not expire
    // the document while the test reads the catalog (it did, once, when the
    // server's TTL sweep ran in between).
    c.execute("db.cat_items.insertMany([{sku: 'a', qty: 1, at: ISODate('2999-01-01')}, {sku: 'b', qty: 'two'}, {sku: 'c'}])", &[]).await.unwrap();
    c.execute(
        "db.cat_items.createIndex({sku: 1}, {unique: true, name: 'sku_u'})",
        &[],
    )
    .await
    .unwrap();
    c.execute(
        "db.cat_items.createIndex({qty: -1}, {sparse: true, name: 'qty_sparse'})",
        &[],
    )
    .await
    .unwrap();
    c.execute(
        "db.cat_items.createIndex({at: 1}, {expireAfterSeconds: 3600, name: 'at_ttl'})",
        &[],
    )
    .await
    .unwrap();
    c.execute("db.cat_items.createIndex({qty: 1}, {partialFilterExpression: {qty: {$exists: true}}, name: 'qty_partial'})", &[]).await.unwrap();
    db.run_command(doc! { "create": "cat_view", "viewOn": "cat_items", "pipeline": [ { "$match": { "qty": { "$exists": true } } } ] }).await.unwrap();

    assert!(
        c.namespaces()
            .await
            .unwrap()
            .iter()
            .any(|n| n.name == "qore_test" && n.is_default)
    );
    let tables = c.tables(None).await.unwrap();
    let kind = |n: &str| tables.iter().find(|t| t.table.name == n).map(|t| t.kind);
    assert_eq!(kind("cat_items"), Some(TableKind::Collection));
    assert_eq!(kind("cat_view"), Some(TableKind::View));
    let d = c.table(&TableRef::new("cat_items")).await.unwrap();
    assert_eq!(d.primary_key(), ["_id"]);
    let qty = d.column("qty").unwrap();
    assert!(
        qty.source_type.contains("int") && qty.source_type.contains("string"),
        "{qty:?}"
    );
    assert!(
        qty.comment.as_deref().unwrap().contains("missing 33%"),
        "{qty:?}"
    );
    let ix = |n: &str| {
        d.indexes
            .iter()
            .find(|i| i.name == n)
            .unwrap_or_else(|| panic!("{n}: {:?}", d.indexes))
    };
    assert!(ix("sku_u").unique);
    assert!(
        ix("qty_sparse")
            .method
            .as_deref()
            .unwrap()
            .contains("sparse")
    );
    assert!(ix("at_ttl").method.as_deref().unwrap().contains("ttl"));
    assert!(
        ix("qty_partial")
            .predicate
            .as_deref()
            .unwrap()
            .contains("$exists")
    );
    let v = c.table(&TableRef::new("cat_valid")).await.unwrap();
    assert!(v.constraints.iter().any(|k| matches!(&k.kind, ConstraintKind::Check { expression, .. } if expression.contains("required"))), "{:?}", v.constraints);
    let view = c.table(&TableRef::new("cat_view")).await.unwrap();
    assert!(view.view_definition.unwrap().contains("cat_items"));
    assert!(matches!(
        c.table(&TableRef::new("nope")).await.unwrap_err(),
        Error::NotFound(_)
    ));
}

#[tokio::test]
async fn bad_input_gives_clear_errors() {
    let c = connect().await;
    let e = c.query("db.people.find({age: })", &[]).await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput(m) if m.contains("position")),
        "{e}"
    );
    let e = c.query(r#"{"noSuchCommand": 1}"#, &[]).await.unwrap_err();
    assert!(matches!(&e, Error::Query(_)), "{e}");
    let mut spec = ConnectionSpec::parse(&url()).unwrap();
    spec.password = Some(qore_core::Secret::new("wrong"));
    let e = MongoConnection::connect(&spec).await.unwrap_err();
    assert!(matches!(&e, Error::Auth(_)), "{e}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = MongoConnection::connect(
        &ConnectionSpec::parse(&format!(
            "mongodb://127.0.0.1:{port}/x?serverSelectionTimeoutMS=500"
        ))
        .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&e, Error::Connect { .. }), "{e}");
}

#[tokio::test]
async fn a_server_that_goes_away_mid_stream_is_an_error_not_a_hang() {
    let tools = std::env::var("QORE_TOOLS")
        .unwrap_or_else(|_| format!("{}/.cache/qoredb/tools", std::env::var("HOME").unwrap()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(format!("{tools}/venv/bin/secantusd-py"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
            ":memory:",
            "--log-level",
            "ERROR",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("mongodb://127.0.0.1:{port}/gone");
    let mut conn = None;
    for _ in 0..100 {
        if let Ok(c) = MongoConnection::connect(&ConnectionSpec::parse(&url).unwrap()).await {
            conn = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let c = conn.expect("a private SecantusDB starts");
    let docs: Vec<Document> = (0..30_000)
        .map(|i| doc! { "i": i, "pad": "x".repeat(100) })
        .collect();
    c.database()
        .collection::<Document>("big")
        .insert_many(docs)
        .await
        .unwrap();
    let mut s = c
        .query(r#"{"find": "big", "batchSize": 1000}"#, &[])
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let r = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(item) = s.next().await {
            if let Err(e) = item {
                return Some(e);
            }
        }
        None
    })
    .await
    .expect("the stream ends instead of hanging");
    let e = r.expect("the stream ends in an error");
    assert!(matches!(e, Error::Connect { .. } | Error::Query(_)), "{e}");
}

#[tokio::test]
async fn error_kinds_and_no_transactions() {
    let db = qore_drivers::open(&url()).await.unwrap();
    let (c, other) = (db.session().await.unwrap(), db.session().await.unwrap());
    c.execute("db.ek.drop()", &[]).await.ok();
    c.execute("db.ek.insertOne({_id: 1})", &[]).await.unwrap();
    let e = c
        .execute("db.ek.insertOne({_id: 1})", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), qore_core::ErrorKind::UniqueViolation, "{e}");
    let e = other
        .execute("db.ek.insertMany([{_id: 2}, {_id: 1}])", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), qore_core::ErrorKind::UniqueViolation, "{e}");
    assert!(
        e.to_string()
            .contains("1 document of the command was written"),
        "{e}"
    );
    let e = c
        .execute(r#"{"qoreNoSuchCommand": 1}"#, &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), qore_core::ErrorKind::UndefinedObject, "{e}");
    let e = c.begin().await.unwrap_err();
    assert_eq!(e.kind(), qore_core::ErrorKind::NotSupported, "{e}");
    c.execute("db.ek.drop()", &[]).await.unwrap();
}

/// The documents facet goes through interceptors like commands do: a find
/// and an aggregate are seen with their rows, and can be denied.
#[tokio::test]
async fn finds_go_through_interceptors() {
    use qore_core::intercept::{Call, Chain, Intercepted};
    let raw: qore_core::ConnectionRef = std::sync::Arc::new(connect().await);
    raw.execute("db.icpt.drop()", &[]).await.ok();
    raw.execute(
        "db.icpt.insertMany([{_id: 1, k: 'a'}, {_id: 2, k: 'b'}, {_id: 3, k: 'a'}])",
        &[],
    )
    .await
    .unwrap();
    let log = std::sync::Arc::new(contracts::CallLog::default());
    let g = Intercepted::new(raw.clone(), Chain::new().with(log.clone()));
    let docs = g.documents().unwrap();
    let found = qore_core::collect(
        docs.find("icpt", &serde_json::json!({"k": "a"}), None)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(found.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    let agg = qore_core::collect(
        docs.aggregate("icpt", &serde_json::json!([{"$count": "n"}]))
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(agg.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    let seen = log.0.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        [Call::Find, Call::Aggregate]
    );
    assert_eq!(seen[0].1, r#"icpt {"k":"a"}"#);
    assert_eq!(seen[0].2.rows, 2);

    let strict = Intercepted::new(
        raw.clone(),
        Chain::new().with(std::sync::Arc::new(contracts::DenyCall(Call::Find))),
    );
    let e = strict
        .documents()
        .unwrap()
        .find("icpt", &serde_json::json!({}), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), qore_core::ErrorKind::Denied, "{e}");
    assert!(strict.key_value().is_none());
    raw.execute("db.icpt.drop()", &[]).await.unwrap();
}

/// SecantusDB killed and started again on the same port and files, five
/// times: the next read and write on the same session succeed each time
/// (the client's pool replaces its connections). MongoDB sessions have no
/// multi-statement transactions in QoreDB, so there is none to lose.
#[tokio::test]
async fn a_restarted_server_is_read_again_on_the_same_session() {
    let tools = std::env::var("QORE_TOOLS")
        .unwrap_or_else(|_| format!("{}/.cache/qoredb/tools", std::env::var("HOME").unwrap()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        std::process::Command::new(format!("{tools}/venv/bin/secantusd-py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--storage-path"])
            .arg(dir.path().join("data"))
            .args(["--log-level", "ERROR"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let listening = || async {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("SecantusDB did not start");
    };
    /// Kills the server also when an assertion fails.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Running(start());
    listening().await;
    let url = format!("mongodb://127.0.0.1:{port}/again");
    let c = qore_drivers::connect(&url).await.unwrap();
    c.execute("db.items.insertOne({_id: 1, name: 'kept'})", &[])
        .await
        .unwrap();
    for round in 0..5 {
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        server = Running(start());
        listening().await;
        // The read works on the same session (what the killed server had
        // not flushed may be gone: only the read's success is the point).
        collect(c.query("db.items.find({})", &[]).await.unwrap())
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        c.execute(&format!("db.items.insertOne({{_id: {}, name: 'after'}})", 100 + round), &[])
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let b = collect(c.query(&format!("db.items.find({{_id: {}}})", 100 + round), &[]).await.unwrap())
            .await
            .unwrap();
        assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 1, "round {round}");
    }
    drop(server);
}
