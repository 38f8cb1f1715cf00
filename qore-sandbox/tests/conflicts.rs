//! Injected conflicts: a second session writes a row after an edit read
//! it. The apply must find every one, write nothing, report it three-way,
//! and keep the sandbox; the other session's write must survive (no lost
//! update). 1,000 conflicts over the four SQL engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Engine, rows};
use qore_core::{ConnectionRef, Value};
use qore_sandbox::{Editor, Sandbox};

const ROWS: i64 = 20;

async fn setup(e: &Engine, c: &ConnectionRef) {
    let t = &e.types;
    c.execute(
        &format!(
            "CREATE TABLE {} (id {i} PRIMARY KEY, owner {v} NOT NULL, balance {i} NOT NULL, note {v} NULL)",
            e.sql_name("acct"),
            i = t.int,
            v = t.varchar
        ),
        &[],
    )
    .await
    .unwrap();
    c.execute(
        &format!("CREATE TABLE {} (x {} NULL, y {} NULL)", e.sql_name("loose"), t.int, t.varchar),
        &[],
    )
    .await
    .unwrap();
}

async fn reset(e: &Engine, c: &ConnectionRef) {
    let d = c.dialect().unwrap();
    for t in ["acct", "loose"] {
        c.execute(&format!("DELETE FROM {}", e.sql_name(t)), &[]).await.unwrap();
    }
    for id in 1..=ROWS {
        c.execute(
            &format!(
                "INSERT INTO {} (id, owner, balance, note) VALUES ({}, {}, 100, 'n')",
                e.sql_name("acct"),
                d.placeholder(1),
                d.placeholder(2)
            ),
            &[Value::Int(id), Value::Text(format!("o{id}"))],
        )
        .await
        .unwrap();
        c.execute(
            &format!("INSERT INTO {} (x, y) VALUES ({}, 'y')", e.sql_name("loose"), d.placeholder(1)),
            &[Value::Int(id)],
        )
        .await
        .unwrap();
    }
}

async fn cell(c: &ConnectionRef, sql: &str) -> Vec<Vec<Value>> {
    rows(c, sql).await
}

/// `rounds` conflicts of four kinds; returns how many were caught.
async fn inject(e: Engine, rounds: u32) -> u32 {
    let mine = e.connect().await;
    let theirs = e.connect().await;
    setup(&e, &mine).await;
    let dir = tempfile::tempdir().unwrap();
    let acct = e.table("acct");
    let loose = e.table("loose");
    let mut caught = 0;
    reset(&e, &mine).await;
    for round in 0..rounds {
        let id = i64::from(round) % ROWS + 1;
        let other = id % ROWS + 1;
        let kind = round % 4;
        let mut editor = Editor::new(mine.as_ref()).unwrap();
        let mut sandbox = Sandbox::open(&dir.path().join(format!("r{round}.json")), "r", "t").unwrap();
        // A change that does not conflict, to show the rollback.
        let o = editor.fetch_one(&acct, &[("id".into(), Value::Int(other))]).await.unwrap();
        sandbox.record(editor.update(&o, vec![("note".into(), Value::Text("mine".into()))]).unwrap()).unwrap();
        let row_key = [("id".to_string(), Value::Int(id))];
        let loose_key = [("x".to_string(), Value::Int(id))];
        // Read, then the other session writes, then the edit is recorded.
        let conflicting = match kind {
            0 | 1 => {
                let r = editor.fetch_one(&acct, &row_key).await.unwrap();
                sandbox.record(editor.update(&r, vec![("balance".into(), Value::Int(1))]).unwrap()).unwrap()
            }
            2 => {
                let r = editor.fetch_one(&acct, &row_key).await.unwrap();
                sandbox.record(editor.delete(&r)).unwrap()
            }
            _ => {
                let r = editor.fetch_one(&loose, &loose_key).await.unwrap();
                sandbox.record(editor.update(&r, vec![("y".into(), Value::Text("mine".into()))]).unwrap()).unwrap()
            }
        };
        let d = theirs.dialect().unwrap();
        let theirs_sql = match kind {
            0 => format!("UPDATE {} SET balance = balance + 7 WHERE id = {}", e.sql_name("acct"), d.placeholder(1)),
            1 => format!("DELETE FROM {} WHERE id = {}", e.sql_name("acct"), d.placeholder(1)),
            2 => format!("UPDATE {} SET note = 'theirs' WHERE id = {}", e.sql_name("acct"), d.placeholder(1)),
            _ => format!("UPDATE {} SET y = 'theirs' WHERE x = {}", e.sql_name("loose"), d.placeholder(1)),
        };
        theirs.execute(&theirs_sql, &[Value::Int(id)]).await.unwrap();
        let report = editor.apply_sandbox(&mut sandbox).await.unwrap();
        assert!(!report.committed(), "{} round {round}: the conflict went unnoticed", e.name);
        assert_eq!(report.conflicts.len(), 1, "{} round {round}: {:?}", e.name, report.conflicts);
        let c = &report.conflicts[0];
        assert_eq!(c.change, conflicting);
        // Three-way: what the edit read, what it wanted, what is there now.
        match kind {
            0 => {
                assert!(c.original.contains(&("balance".into(), Value::Int(100))));
                assert_eq!(c.yours, vec![("balance".into(), Value::Int(1))]);
                let now = c.current.as_ref().expect("the row is still there");
                assert!(now.contains(&("balance".into(), Value::Int(107))), "{now:?}");
            }
            1 => assert_eq!(c.current, None, "the row is gone"),
            2 => {
                let now = c.current.as_ref().expect("the row is still there");
                assert!(now.contains(&("note".into(), Value::Text("theirs".into()))), "{now:?}");
            }
            _ => {}
        }
        // Nothing of mine was written; theirs survived.
        let notes = cell(&mine, &format!("SELECT note FROM {} WHERE id = {other}", e.sql_name("acct"))).await;
        assert_eq!(notes, vec![vec![Value::Text("n".into())]], "{} round {round}: a partial apply", e.name);
        let survived = match kind {
            0 => cell(&mine, &format!("SELECT balance FROM {} WHERE id = {id}", e.sql_name("acct"))).await == vec![vec![Value::Int(107)]],
            1 => cell(&mine, &format!("SELECT id FROM {} WHERE id = {id}", e.sql_name("acct"))).await.is_empty(),
            2 => cell(&mine, &format!("SELECT note FROM {} WHERE id = {id}", e.sql_name("acct"))).await == vec![vec![Value::Text("theirs".into())]],
            _ => cell(&mine, &format!("SELECT y FROM {} WHERE x = {id}", e.sql_name("loose"))).await == vec![vec![Value::Text("theirs".into())]],
        };
        assert!(survived, "{} round {round}: the other session's write was lost", e.name);
        // The sandbox still holds both edits, on disk too.
        assert_eq!(sandbox.changes().len(), 2);
        assert_eq!(Sandbox::open(sandbox.path(), "r", "t").unwrap().changes().len(), 2);
        caught += 1;
        // Put the row back for the next rounds.
        let d = mine.dialect().unwrap();
        match kind {
            0 => mine.execute(&format!("UPDATE {} SET balance = 100 WHERE id = {id}", e.sql_name("acct")), &[]).await.unwrap(),
            1 => mine
                .execute(
                    &format!("INSERT INTO {} (id, owner, balance, note) VALUES ({id}, {}, 100, 'n')", e.sql_name("acct"), d.placeholder(1)),
                    &[Value::Text(format!("o{id}"))],
                )
                .await
                .unwrap(),
            2 => mine.execute(&format!("UPDATE {} SET note = 'n' WHERE id = {id}", e.sql_name("acct")), &[]).await.unwrap(),
            _ => mine.execute(&format!("UPDATE {} SET y = 'y' WHERE x = {id}", e.sql_name("loose")), &[]).await.unwrap(),
        };
    }
    caught
}

/// A write of another column of the same row is no conflict for a table
/// with a key: both edits stay.
async fn other_columns_merge(e: Engine) {
    let mine = e.connect().await;
    let theirs = e.connect().await;
    setup(&e, &mine).await;
    reset(&e, &mine).await;
    let acct = e.table("acct");
    let mut editor = Editor::new(mine.as_ref()).unwrap();
    let r = editor.fetch_one(&acct, &[("id".into(), Value::Int(3))]).await.unwrap();
    let change = editor.update(&r, vec![("balance".into(), Value::Int(5))]).unwrap();
    theirs
        .execute(&format!("UPDATE {} SET note = 'theirs' WHERE id = 3", e.sql_name("acct")), &[])
        .await
        .unwrap();
    let report = editor.commit_now(change).await.unwrap();
    assert!(report.committed(), "{}: {:?}", e.name, report.conflicts);
    let now = rows(&mine, &format!("SELECT balance, note FROM {} WHERE id = 3", e.sql_name("acct"))).await;
    assert_eq!(now, vec![vec![Value::Int(5), Value::Text("theirs".into())]]);
}

#[tokio::test]
async fn sqlite_conflicts() {
    assert_eq!(inject(Engine::sqlite(), 400).await, 400);
    other_columns_merge(Engine::sqlite()).await;
}

#[tokio::test]
async fn duckdb_conflicts() {
    assert_eq!(inject(Engine::duckdb(), 200).await, 200);
    other_columns_merge(Engine::duckdb()).await;
}

#[tokio::test]
async fn postgres_conflicts() {
    assert_eq!(inject(Engine::postgres("sbx_conflicts").await, 200).await, 200);
    other_columns_merge(Engine::postgres("sbx_conflicts2").await).await;
}

#[tokio::test]
async fn mysql_conflicts() {
    assert_eq!(inject(Engine::mysql("sbx_conflicts").await, 200).await, 200);
    other_columns_merge(Engine::mysql("sbx_conflicts2").await).await;
}
