//! Quoting of identifiers and values through every engine, NUL, cycles of
//! foreign keys, generated and identity columns, and peek along real,
//! composite and virtual relations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Engine, rows, runtime};
use proptest::prelude::*;
use qore_core::relations::{Relations, VirtualRelation};
use qore_core::{ConnectionRef, Value};
use qore_sandbox::{Direction, Editor, Sandbox, ops, peek};

/// Identifiers every engine stores as given (no NUL; MySQL: no character
/// past the BMP, no trailing space; PostgreSQL: at most 63 bytes).
fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_\"'`\\\\ .%;é日-][a-zA-Z0-9_\"'`\\\\ .%;é日-]{0,8}[a-zA-Z0-9_\"'`\\\\.%;é日-]"
}

fn value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"'`\\\\%_;\n\té日\u{1F600}-]{0,20}"
}

async fn quoting_case(e: &Engine, c: &ConnectionRef, table: &str, col: &str, v1: &str, v2: &str) {
    let d = c.dialect().unwrap();
    let t = e.table(table);
    let qt = d.quote_table(&t).unwrap();
    let qc = d.quote_identifier(col).unwrap();
    let _ = c.execute(&format!("DROP TABLE IF EXISTS {qt}"), &[]).await;
    c.execute(&format!("CREATE TABLE {qt} (id INT PRIMARY KEY, {qc} {})", e.types.text), &[])
        .await
        .unwrap();
    let mut editor = Editor::new(c.as_ref()).unwrap();
    editor.model(&t).await.unwrap();
    // Insert with bound values, at once.
    let ins = editor.insert(&t, vec![("id".into(), Value::Int(1)), (col.into(), Value::Text(v1.into()))]).unwrap();
    assert!(editor.commit_now(ins).await.unwrap().committed());
    // Update through the script's literals.
    let row = editor.fetch_one(&t, &[("id".into(), Value::Int(1))]).await.unwrap();
    assert_eq!(row.get(col), Some(&Value::Text(v1.into())));
    let mut ch = editor.update(&row, vec![(col.into(), Value::Text(v2.into()))]).unwrap();
    ch.id = 1;
    let script = editor.plan(std::slice::from_ref(&ch)).await.unwrap().script(editor.dialect()).unwrap();
    for st in qore_core::sql::split_statements_in(&script, qore_core::sql::Flavor::of(c.engine())) {
        if !st.trim().is_empty() {
            c.execute(st.trim(), &[]).await.unwrap_or_else(|err| panic!("{st}: {err}"));
        }
    }
    let got = rows(c, &format!("SELECT {qc} FROM {qt}")).await;
    assert_eq!(got, vec![vec![Value::Text(v2.into())]], "{}: {script}", e.name);
    c.execute(&format!("DROP TABLE {qt}"), &[]).await.unwrap();
}

fn quoting(e: Engine, cases: u32) {
    let rt = runtime();
    let c = rt.block_on(e.connect());
    proptest!(ProptestConfig::with_cases(cases), |(table in ident(), col in ident(), v1 in value(), v2 in value())| {
        prop_assume!(col != "id" && !col.eq_ignore_ascii_case("id"));
        // MySQL folds table names to files: keep them apart by case too.
        rt.block_on(quoting_case(&e, &c, &table, &col, &v1, &v2));
    });
}

#[test]
fn quoting_sqlite() {
    quoting(Engine::sqlite(), 64);
}

#[test]
fn quoting_duckdb() {
    quoting(Engine::duckdb(), 64);
}

#[test]
fn quoting_postgres() {
    quoting(runtime().block_on(Engine::postgres("sbx_quoting")), 48);
}

#[test]
fn quoting_mysql() {
    quoting(runtime().block_on(Engine::mysql("sbx_quoting")), 48);
}

/// A NUL in a value or a name: a clear error, nothing written, the
/// sandbox file unchanged.
#[tokio::test]
async fn nul_is_a_clear_error() {
    for e in [Engine::sqlite(), Engine::postgres("sbx_nul").await, Engine::mysql("sbx_nul").await] {
        let c = e.connect().await;
        c.execute(&format!("CREATE TABLE {} (id INT PRIMARY KEY, v {})", e.sql_name("n"), e.types.text), &[])
            .await
            .unwrap();
        let t = e.table("n");
        let mut editor = Editor::new(c.as_ref()).unwrap();
        editor.model(&t).await.unwrap();
        let mut ch = editor.insert(&t, vec![("id".into(), Value::Int(1)), ("v".into(), Value::Text("a\0b".into()))]).unwrap();
        ch.id = 1;
        let err = editor.plan(std::slice::from_ref(&ch)).await.unwrap().script(editor.dialect()).unwrap_err();
        assert!(err.to_string().contains("NUL"), "{}: {err}", e.name);
        let dir = tempfile::tempdir().unwrap();
        let request = ops::EditRequest {
            table: t.clone(),
            action: ops::EditAction::Insert,
            key: vec![],
            set: vec![("id".into(), Some("1".into())), ("v".into(), Some("a\0b".into()))],
        };
        let mut s = Sandbox::open(&dir.path().join("n.json"), "n", "t").unwrap();
        let err = ops::edit(c.as_ref(), &request, Some(&mut s)).await.unwrap_err();
        assert!(err.to_string().contains("NUL"), "{}: {err}", e.name);
        assert!(!dir.path().join("n.json").exists(), "nothing recorded");
        assert!(d_quote_nul(&c));
        assert!(rows(&c, &format!("SELECT * FROM {}", e.sql_name("n"))).await.is_empty());
    }
}

fn d_quote_nul(c: &ConnectionRef) -> bool {
    let d = c.dialect().unwrap();
    d.quote_identifier("a\0b").unwrap_err().to_string().contains("NUL")
}

/// Rows of two tables that reference each other: PostgreSQL defers
/// DEFERRABLE constraints, SQLite defers every foreign key; elsewhere the
/// rows go in with the references NULL and get them by an UPDATE (and lose
/// them by an UPDATE before they are deleted); NOT NULL references that
/// cannot be deferred are refused before anything runs.
#[tokio::test]
async fn foreign_key_cycles() {
    for (e, deferrable, null, works) in [
        (Engine::sqlite(), "", "NULL", true),
        (Engine::postgres("sbx_cycle").await, " DEFERRABLE", "NULL", true),
        (Engine::postgres("sbx_cycle2").await, "", "NULL", true),
        (Engine::mysql("sbx_cycle").await, "", "NULL", true),
        (Engine::postgres("sbx_cycle3").await, "", "NOT NULL", false),
    ] {
        let c = e.connect().await;
        let (a, b) = (e.sql_name("a"), e.sql_name("b"));
        if e.name == "sqlite" {
            // SQLite cannot add a constraint later; it resolves names late.
            c.execute(&format!("CREATE TABLE {a} (id INT PRIMARY KEY, b_id INT {null} REFERENCES b(id))"), &[]).await.unwrap();
            c.execute(&format!("CREATE TABLE {b} (id INT PRIMARY KEY, a_id INT {null} REFERENCES a(id))"), &[]).await.unwrap();
        } else {
            c.execute(&format!("CREATE TABLE {a} (id INT PRIMARY KEY, b_id INT {null})"), &[]).await.unwrap();
            c.execute(&format!("CREATE TABLE {b} (id INT PRIMARY KEY, a_id INT {null} REFERENCES {a}(id){deferrable})"), &[])
                .await
                .unwrap();
            c.execute(&format!("ALTER TABLE {a} ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES {b}(id){deferrable}"), &[])
                .await
                .unwrap();
        }
        let mut editor = Editor::new(c.as_ref()).unwrap();
        let (ta, tb) = (e.table("a"), e.table("b"));
        editor.model(&ta).await.unwrap();
        editor.model(&tb).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sandbox::open(&dir.path().join("c.json"), "c", "t").unwrap();
        s.record(editor.insert(&ta, vec![("id".into(), Value::Int(1)), ("b_id".into(), Value::Int(1))]).unwrap()).unwrap();
        s.record(editor.insert(&tb, vec![("id".into(), Value::Int(1)), ("a_id".into(), Value::Int(1))]).unwrap()).unwrap();
        let r = editor.apply_sandbox(&mut s).await;
        let count = |t: String| {
            let c = c.clone();
            async move {
                match rows(&c, &format!("SELECT count(*) FROM {t} WHERE id = 1 AND {}_id = 1", if t.ends_with('a') { "b" } else { "a" })).await[0][0] {
                    Value::Int(n) => n,
                    Value::UInt(n) => n as i64,
                    ref other => panic!("{other:?}"),
                }
            }
        };
        if !works {
            let err = r.unwrap_err().to_string();
            assert!(err.contains("reference each other"), "{}: {err}", e.name);
            assert_eq!(s.changes().len(), 2, "the sandbox keeps its changes");
            continue;
        }
        assert!(r.unwrap().committed(), "{}", e.name);
        assert_eq!((count(a.clone()).await, count(b.clone()).await), (1, 1), "{}", e.name);
        // Both rows out again, in one apply.
        let ra = editor.fetch_one(&ta, &[("id".into(), Value::Int(1))]).await.unwrap();
        let rb = editor.fetch_one(&tb, &[("id".into(), Value::Int(1))]).await.unwrap();
        let mut s2 = Sandbox::open(&dir.path().join("d.json"), "d", "t").unwrap();
        s2.record(editor.delete(&ra)).unwrap();
        s2.record(editor.delete(&rb)).unwrap();
        let script = ops::script(c.as_ref(), &s2, false).await.unwrap();
        assert!(editor.apply_sandbox(&mut s2).await.unwrap().committed(), "{}: {script}", e.name);
        assert_eq!((count(a.clone()).await, count(b.clone()).await), (0, 0), "{}", e.name);
        // And back with the undo.
        assert!(editor.apply_undo(&s2).await.unwrap().committed(), "{}", e.name);
        assert_eq!((count(a.clone()).await, count(b.clone()).await), (1, 1), "{}", e.name);
    }
}

/// Generated columns cannot be set; a `GENERATED ALWAYS` identity comes
/// back with its own value in the undo of a delete.
#[tokio::test]
async fn generated_and_identity_columns() {
    let e = Engine::postgres("sbx_generated").await;
    let c = e.connect().await;
    let g = e.sql_name("g");
    c.execute(
        &format!("CREATE TABLE {g} (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int, twice int GENERATED ALWAYS AS (a * 2) STORED)"),
        &[],
    )
    .await
    .unwrap();
    c.execute(&format!("INSERT INTO {g} (a) VALUES (5), (6)"), &[]).await.unwrap();
    let t = e.table("g");
    let mut editor = Editor::new(c.as_ref()).unwrap();
    let row = editor.fetch_one(&t, &[("a".into(), Value::Int(6))]).await.unwrap();
    let err = editor.update(&row, vec![("twice".into(), Value::Int(1))]).unwrap_err();
    assert!(err.to_string().contains("generated column"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let mut s = Sandbox::open(&dir.path().join("g.json"), "g", "t").unwrap();
    s.record(editor.delete(&row)).unwrap();
    s.record(editor.insert(&t, vec![("a".into(), Value::Int(7))]).unwrap()).unwrap();
    assert!(editor.apply_sandbox(&mut s).await.unwrap().committed());
    let undo = ops::script(c.as_ref(), &s, true).await.unwrap();
    assert!(undo.contains("OVERRIDING SYSTEM VALUE"), "{undo}");
    assert!(editor.apply_undo(&s).await.unwrap().committed());
    let now = rows(&c, &format!("SELECT id, a, twice FROM {g} ORDER BY id")).await;
    assert_eq!(now, vec![vec![Value::Int(1), Value::Int(5), Value::Int(10)], vec![Value::Int(2), Value::Int(6), Value::Int(12)]]);
}

/// Peek along a composite foreign key and a virtual relation, both ways,
/// on the servers.
#[tokio::test]
async fn peek_real_composite_and_virtual() {
    for e in [Engine::postgres("sbx_peek").await, Engine::mysql("sbx_peek").await] {
        let c = e.connect().await;
        let (p, k, n) = (e.sql_name("p"), e.sql_name("k"), e.sql_name("notes"));
        c.execute(&format!("CREATE TABLE {p} (a INT, b INT, name VARCHAR(10), PRIMARY KEY (a, b))"), &[]).await.unwrap();
        c.execute(&format!("CREATE TABLE {k} (id INT PRIMARY KEY, pa INT, pb INT, FOREIGN KEY (pa, pb) REFERENCES {p}(a, b))"), &[])
            .await
            .unwrap();
        c.execute(&format!("CREATE TABLE {n} (id INT PRIMARY KEY, about INT, body VARCHAR(20))"), &[]).await.unwrap();
        c.execute(&format!("INSERT INTO {p} VALUES (1, 1, 'one'), (1, 2, 'two')"), &[]).await.unwrap();
        c.execute(&format!("INSERT INTO {k} VALUES (10, 1, 2), (11, 1, 2), (12, 1, 1)"), &[]).await.unwrap();
        c.execute(&format!("INSERT INTO {n} VALUES (1, 10, 'hi'), (2, 10, 'again'), (3, 12, 'x')"), &[]).await.unwrap();
        let none = Relations::default();
        let got = ops::peek_rows(c.as_ref(), &none, &e.table("k"), &[("id".into(), "10".into())], Some("pb"), Direction::Referenced, 5)
            .await
            .unwrap();
        let rows_of = |p: peek::Peek| async move {
            qore_core::collect(p.rows).await.unwrap().iter().map(|b| b.num_rows()).sum::<usize>()
        };
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].relation.from_columns, vec!["pa", "pb"]);
        let first = got.into_iter().next().unwrap();
        assert_eq!(rows_of(first).await, 1);
        let back = ops::peek_rows(c.as_ref(), &none, &e.table("p"), &[("a".into(), "1".into()), ("b".into(), "2".into())], None, Direction::Referencing, 5)
            .await
            .unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(rows_of(back.into_iter().next().unwrap()).await, 2);
        // A virtual relation notes.about → k.id.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rel.toml");
        let rel = VirtualRelation::new("note_k", e.table("notes"), &["about"], e.table("k"), &["id"]);
        ops::add_relation(c.as_ref(), &path, rel, false).await.unwrap();
        let bad = VirtualRelation::new("bad", e.table("notes"), &["body"], e.table("k"), &["id"]);
        assert!(ops::add_relation(c.as_ref(), &path, bad, false).await.unwrap_err().to_string().contains("different values"));
        let rels = Relations::load(&path).unwrap();
        assert_eq!(rels.all().len(), 1);
        let got = ops::peek_rows(c.as_ref(), &rels, &e.table("notes"), &[("id".into(), "3".into())], Some("about"), Direction::Referenced, 5)
            .await
            .unwrap();
        assert!(got[0].relation.is_virtual);
        assert_eq!(rows_of(got.into_iter().next().unwrap()).await, 1);
        let back = ops::peek_rows(c.as_ref(), &rels, &e.table("k"), &[("id".into(), "10".into())], Some("note_k"), Direction::Referencing, 5)
            .await
            .unwrap();
        assert_eq!(rows_of(back.into_iter().next().unwrap()).await, 2);
    }
}

/// A selection (a grid's checkbox column): rows fetched in one statement,
/// edited together, a key that matches nothing named.
#[tokio::test]
async fn selections_of_rows() {
    for e in [Engine::sqlite(), Engine::postgres("sbx_selection").await] {
        let c = e.connect().await;
        let t = e.sql_name("sel");
        c.execute(&format!("CREATE TABLE {t} (a INT, b INT, v INT, PRIMARY KEY (a, b))"), &[]).await.unwrap();
        c.execute(&format!("INSERT INTO {t} VALUES (1, 1, 0), (1, 2, 0), (2, 1, 0), (2, 2, 0)"), &[]).await.unwrap();
        let mut editor = Editor::new(c.as_ref()).unwrap();
        let key = |a: i64, b: i64| vec![("a".to_string(), Value::Int(a)), ("b".to_string(), Value::Int(b))];
        let rows_ = editor.fetch_selection(&e.table("sel"), &[key(1, 2), key(2, 1), key(2, 2)]).await.unwrap();
        assert_eq!(rows_.len(), 3);
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sandbox::open(&dir.path().join("s.json"), "s", "t").unwrap();
        for r in &rows_ {
            s.record(editor.update(r, vec![("v".into(), Value::Int(9))]).unwrap()).unwrap();
        }
        assert!(editor.apply_sandbox(&mut s).await.unwrap().committed());
        let now = rows(&c, &format!("SELECT a, b FROM {t} WHERE v = 9 ORDER BY a, b")).await;
        assert_eq!(now.len(), 3, "{}", e.name);
        let err = editor.fetch_selection(&e.table("sel"), &[key(1, 1), key(5, 5)]).await.unwrap_err();
        assert!(err.to_string().contains("no row of") && err.to_string().contains("a=5, b=5"), "{err}");
        let err = editor.fetch_selection(&e.table("sel"), &[vec![("a".to_string(), Value::Int(1))]]).await.unwrap_err();
        assert!(err.to_string().contains("several rows"), "{err}");
    }
}
