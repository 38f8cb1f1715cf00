//! Global search on MongoDB (SecantusDB here, started by
//! `scripts/servers.sh`) against a brute-force oracle: generated documents
//! with emoji, combining characters, Greek and Cyrillic case, regex
//! metacharacters, NULLs and missing fields; every needle in every literal
//! mode, case-sensitive or not, must find exactly the fields the oracle
//! finds.

#![allow(clippy::unwrap_used)]

mod common;

use common::matches;

use std::collections::BTreeSet;

use futures::StreamExt;
use qore_core::TextMatch;
use qore_search::{SearchOptions, search};

const PIECES: &[&str] = &["a", "Z", "é", "É", "e\u{301}", "Σ", "σ", "Ж", "ж", "😀", " ", ".", "*", "(", "$", "^", "\\", "7", "x"];
const NEEDLES: &[&str] = &["é", "É", "σ", "ЖЖ", "😀", ".", "*", "(", "$", "\\", "aé", "x7", "e\u{301}"];




#[tokio::test]
async fn every_matching_field_and_nothing_else() {
    let url = std::env::var("QORE_TEST_MONGODB_URL")
        .unwrap_or_else(|_| panic!("QORE_TEST_MONGODB_URL is not set: run the tests through scripts/servers.sh"));
    let db = qore_drivers::open(&url).await.unwrap();
    let s = db.session().await.unwrap();
    s.execute("db.s_docs.drop()", &[]).await.ok();
    let mut seed = 7u64;
    let mut docs = Vec::new();
    // (id, field, value) of every string cell.
    let mut cells: Vec<(i64, &str, String)> = Vec::new();
    for id in 0..240i64 {
        let name = common::text(&mut seed, 1 + (id as usize % 4), PIECES);
        let mut doc = serde_json::json!({ "_id": id, "name": name, "n": id * 7 });
        cells.push((id, "name", name));
        match id % 3 {
            0 => {
                let note = common::text(&mut seed, 3, PIECES);
                doc["note"] = note.clone().into();
                cells.push((id, "note", note));
            }
            1 => doc["note"] = serde_json::Value::Null,
            _ => {}
        }
        docs.push(doc);
    }
    s.execute(&format!("db.s_docs.insertMany({})", serde_json::Value::Array(docs)), &[]).await.unwrap();

    let mut checked = 0;
    for needle in NEEDLES {
        for how in [TextMatch::Contains, TextMatch::Exact, TextMatch::Prefix] {
            for cs in [false, true] {
                let want: BTreeSet<(String, String)> = cells
                    .iter()
                    .filter(|(_, _, v)| matches(v, needle, how, cs))
                    .map(|(id, f, _)| (format!("{{\"_id\":\"{id}\"}}"), f.to_string()))
                    .collect();
                let options = SearchOptions {
                    mode: how,
                    case_sensitive: cs,
                    tables: vec!["s_docs".into()],
                    per_table: 10_000,
                    limit: 10_000,
                    ..SearchOptions::default()
                };
                let found = search(db.clone(), needle, &options).await.unwrap();
                let mut got = BTreeSet::new();
                let mut stream = found.stream;
                while let Some(b) = stream.next().await {
                    let b = b.unwrap();
                    let col = |i: usize| b.column(i).as_any().downcast_ref::<arrow::array::StringArray>().unwrap().clone();
                    let (table, column, key) = (col(1), col(2), col(3));
                    for r in 0..b.num_rows() {
                        assert_eq!(table.value(r), "s_docs");
                        assert!(got.insert((key.value(r).to_string(), column.value(r).to_string())), "a hit twice");
                    }
                }
                assert!(found.progress.skipped().is_empty(), "{:?}", found.progress.skipped());
                assert_eq!(want, got, "needle {needle:?} {how:?} case-sensitive {cs}");
                checked += want.len();
            }
        }
    }
    assert!(checked > 300, "the needles found too little to prove anything: {checked}");

    // The caps, a regex the server rejects, and regex mode itself.
    let options = SearchOptions { tables: vec!["s_docs".into()], per_table: 5, ..SearchOptions::default() };
    let found = search(db.clone(), "a", &options).await.unwrap();
    let n: usize = found.stream.map(|b| b.unwrap().num_rows()).fold(0, |a, n| async move { a + n }).await;
    assert_eq!(n, 5);
    let options = SearchOptions { mode: TextMatch::Regex, tables: vec!["s_docs".into()], ..SearchOptions::default() };
    let e = search(db.clone(), "(unclosed", &options).await.err().unwrap();
    assert!(e.to_string().contains("rejects this needle"), "{e}");
    let options = SearchOptions { mode: TextMatch::Regex, tables: vec!["s_docs".into()], per_table: 10_000, limit: 10_000, ..SearchOptions::default() };
    let found = search(db.clone(), "^x7", &options).await.unwrap();
    let n: usize = found.stream.map(|b| b.unwrap().num_rows()).fold(0, |a, n| async move { a + n }).await;
    assert_eq!(n, cells.iter().filter(|(_, _, v)| v.to_lowercase().starts_with("x7")).count());
    s.execute("db.s_docs.drop()", &[]).await.ok();
}
