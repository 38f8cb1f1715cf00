//! Random edit sessions against every SQL engine: updates, inserts and
//! deletes on a table with a primary key, one with a composite key and a
//! foreign key to the first, one with no key and duplicate rows, and one
//! with a generated key and a default, recorded in a sandbox, applied
//! (with bound values, or as the script's text), compared with a model of
//! the expected rows; then the undo, compared with the original rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{Engine, rows, runtime};
use proptest::prelude::*;
use qore_core::{ConnectionRef, Value};
use qore_sandbox::{Editor, Sandbox};

#[derive(Debug, Clone)]
enum Op {
    ParentName(usize, String),
    ParentScore(usize, Option<f64>),
    InsertParent(String, Option<f64>),
    DeleteParent(usize),
    ChildNote(usize, Option<String>),
    ChildParent(usize, Option<usize>),
    InsertChild(Option<usize>, Option<String>),
    DeleteChild(usize),
    NokeyY(usize, Option<String>),
    InsertNokey(Option<i64>, Option<String>),
    DeleteNokey(usize),
    InsertAuto(Option<i64>, bool),
    AutoV(usize, Option<i64>),
    DeleteAuto(usize),
}

fn wild_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 '\"\\\\%_;éß✓日本\u{1F600}-]{0,16}"
}

fn score() -> impl Strategy<Value = Option<f64>> {
    proptest::option::of(prop_oneof![
        Just(0.1),
        Just(1e300),
        (-1_000_000i64..1_000_000, 1u32..1000).prop_map(|(a, b)| a as f64 / f64::from(b)),
    ])
}

fn op() -> impl Strategy<Value = Op> {
    let idx = 0usize..8;
    prop_oneof![
        (idx.clone(), wild_text()).prop_map(|(i, s)| Op::ParentName(i, s)),
        (idx.clone(), score()).prop_map(|(i, s)| Op::ParentScore(i, s)),
        (wild_text(), score()).prop_map(|(s, f)| Op::InsertParent(s, f)),
        idx.clone().prop_map(Op::DeleteParent),
        (idx.clone(), proptest::option::of(wild_text())).prop_map(|(i, s)| Op::ChildNote(i, s)),
        (idx.clone(), proptest::option::of(0usize..8)).prop_map(|(i, p)| Op::ChildParent(i, p)),
        (proptest::option::of(0usize..8), proptest::option::of(wild_text()))
            .prop_map(|(p, s)| Op::InsertChild(p, s)),
        idx.clone().prop_map(Op::DeleteChild),
        (idx.clone(), proptest::option::of("[a-z0-9]{0,6}")).prop_map(|(i, s)| Op::NokeyY(i, s)),
        (proptest::option::of(0i64..3), proptest::option::of("[a-z]{0,3}"))
            .prop_map(|(x, y)| Op::InsertNokey(x, y)),
        idx.clone().prop_map(Op::DeleteNokey),
        (proptest::option::of(-5i64..5), any::<bool>()).prop_map(|(v, d)| Op::InsertAuto(v, d)),
        (idx.clone(), proptest::option::of(-5i64..5)).prop_map(|(i, v)| Op::AutoV(i, v)),
        idx.prop_map(Op::DeleteAuto),
    ]
}

/// The starting rows of a session.
#[derive(Debug, Clone)]
struct Start {
    parents: Vec<(String, Option<f64>)>,
    children: Vec<(Option<usize>, Option<String>)>,
    nokey: Vec<(Option<i64>, Option<String>)>,
    auto: Vec<Option<i64>>,
}

fn start() -> impl Strategy<Value = Start> {
    (
        proptest::collection::vec((wild_text(), score()), 0..5),
        proptest::collection::vec(
            (proptest::option::of(0usize..5), proptest::option::of(wild_text())),
            0..5,
        ),
        // Few distinct values: duplicate rows.
        proptest::collection::vec(
            (proptest::option::of(0i64..2), proptest::option::of("[ab]")),
            0..5,
        ),
        proptest::collection::vec(proptest::option::of(-3i64..3), 0..4),
    )
        .prop_map(|(parents, children, nokey, auto)| Start {
            parents,
            children,
            nokey,
            auto,
        })
}

/// What the tables hold, in comparable form.
#[derive(Debug, Clone, PartialEq, Default)]
struct Model {
    /// id → (name, score)
    parent: BTreeMap<i64, (String, Option<f64>)>,
    /// (a, b) → (parent_id, note)
    child: BTreeMap<(i64, i64), (Option<i64>, Option<String>)>,
    /// (x, y), sorted
    nokey: Vec<(Option<i64>, Option<String>)>,
    /// (v, d), sorted
    auto: Vec<(Option<i64>, i64)>,
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(*i),
        Value::UInt(u) => Some(*u as i64),
        other => panic!("not an integer: {other:?}"),
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        other => panic!("not a float: {other:?}"),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        other => panic!("not text: {other:?}"),
    }
}

fn opt_text(s: &Option<String>) -> Value {
    s.clone().map_or(Value::Null, Value::Text)
}

fn opt_int(i: Option<i64>) -> Value {
    i.map_or(Value::Null, Value::Int)
}

fn opt_float(f: Option<f64>) -> Value {
    f.map_or(Value::Null, Value::Float)
}

async fn read(e: &Engine, c: &ConnectionRef) -> Model {
    let mut m = Model::default();
    for r in rows(c, &format!("SELECT id, name, score FROM {} ORDER BY id", e.sql_name("parent"))).await {
        m.parent.insert(int(&r[0]).unwrap(), (text(&r[1]).unwrap(), float(&r[2])));
    }
    for r in rows(c, &format!("SELECT a, b, parent_id, note FROM {}", e.sql_name("child"))).await {
        m.child.insert((int(&r[0]).unwrap(), int(&r[1]).unwrap()), (int(&r[2]), text(&r[3])));
    }
    for r in rows(c, &format!("SELECT x, y FROM {}", e.sql_name("nokey"))).await {
        m.nokey.push((int(&r[0]), text(&r[1])));
    }
    m.nokey.sort();
    for r in rows(c, &format!("SELECT v, d FROM {}", e.sql_name("auto"))).await {
        m.auto.push((int(&r[0]), int(&r[1]).unwrap()));
    }
    m.auto.sort();
    m
}

async fn create(e: &Engine, c: &ConnectionRef) {
    let t = &e.types;
    for s in t.auto_setup {
        c.execute(s, &[]).await.unwrap();
    }
    let ddl = [
        format!(
            "CREATE TABLE {} (id {} PRIMARY KEY, name {} NOT NULL, score {} NULL)",
            e.sql_name("parent"),
            t.int,
            t.varchar,
            t.double
        ),
        format!(
            "CREATE TABLE {} (a {i} NOT NULL, b {i} NOT NULL, parent_id {i} NULL REFERENCES {}(id), note {} NULL, PRIMARY KEY (a, b))",
            e.sql_name("child"),
            e.sql_name("parent"),
            t.text,
            i = t.int
        ),
        format!("CREATE TABLE {} (x {} NULL, y {} NULL)", e.sql_name("nokey"), t.int, t.varchar),
        format!(
            "CREATE TABLE {} ({}, v {i} NULL, d {i} NOT NULL DEFAULT 7)",
            e.sql_name("auto"),
            t.auto_key,
            i = t.int
        ),
    ];
    for s in ddl {
        c.execute(&s, &[]).await.unwrap();
    }
}

/// Empties the tables and fills them with `s`; returns the model.
async fn reset(e: &Engine, c: &ConnectionRef, s: &Start) -> Model {
    for t in ["child", "parent", "nokey", "auto"] {
        c.execute(&format!("DELETE FROM {}", e.sql_name(t)), &[]).await.unwrap();
    }
    let d = c.dialect().unwrap();
    let ph = |i| d.placeholder(i);
    for (i, (name, score)) in s.parents.iter().enumerate() {
        c.execute(
            &format!("INSERT INTO {} (id, name, score) VALUES ({}, {}, {})", e.sql_name("parent"), ph(1), ph(2), ph(3)),
            &[Value::Int(i as i64 + 1), Value::Text(name.clone()), opt_float(*score)],
        )
        .await
        .unwrap();
    }
    for (i, (p, note)) in s.children.iter().enumerate() {
        let p = p.filter(|p| *p < s.parents.len()).map(|p| p as i64 + 1);
        c.execute(
            &format!("INSERT INTO {} (a, b, parent_id, note) VALUES ({}, {}, {}, {})", e.sql_name("child"), ph(1), ph(2), ph(3), ph(4)),
            &[Value::Int(i as i64 % 2), Value::Int(i as i64), opt_int(p), opt_text(note)],
        )
        .await
        .unwrap();
    }
    for (x, y) in &s.nokey {
        c.execute(
            &format!("INSERT INTO {} (x, y) VALUES ({}, {})", e.sql_name("nokey"), ph(1), ph(2)),
            &[opt_int(*x), opt_text(y)],
        )
        .await
        .unwrap();
    }
    for v in &s.auto {
        c.execute(&format!("INSERT INTO {} (v) VALUES ({})", e.sql_name("auto"), ph(1)), &[opt_int(*v)])
            .await
            .unwrap();
    }
    read(e, c).await
}

/// Runs one session: the ops recorded in a sandbox (and applied to the
/// model), then applied; the tables must equal the model; then the undo
/// must bring back the start.
/// Sessions that applied and undid changes, and that ran the script.
static APPLIED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static SCRIPTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

async fn session(e: &Engine, c: &ConnectionRef, s: Start, ops: Vec<Op>, by_script: bool, dir: &std::path::Path) {
    let before = reset(e, c, &s).await;
    let mut model = before.clone();
    let mut editor = Editor::new(c.as_ref()).unwrap();
    let path = dir.join("s.json");
    let _ = std::fs::remove_file(&path);
    let mut sandbox = Sandbox::open(&path, "s", "test").unwrap();
    // Rows of the start that ops address (deleted ones drop out).
    let mut parents: Vec<i64> = before.parent.keys().copied().collect();
    let mut children: Vec<(i64, i64)> = before.child.keys().copied().collect();
    let start_nokey: Vec<(Option<i64>, Option<String>)> = rows(c, &format!("SELECT x, y FROM {}", e.sql_name("nokey")))
        .await
        .iter()
        .map(|r| (int(&r[0]), text(&r[1])))
        .collect();
    // Current model values of the start's keyless rows, by start position.
    let mut nokey_now: Vec<Option<(Option<i64>, Option<String>)>> = start_nokey.iter().cloned().map(Some).collect();
    let start_auto: Vec<(i64, Option<i64>, i64)> = rows(c, &format!("SELECT id, v, d FROM {} ORDER BY id", e.sql_name("auto")))
        .await
        .iter()
        .map(|r| (int(&r[0]).unwrap(), int(&r[1]), int(&r[2]).unwrap()))
        .collect();
    let mut auto_now: Vec<Option<(Option<i64>, i64)>> = start_auto.iter().map(|(_, v, d)| Some((*v, *d))).collect();
    let mut auto_new: Vec<(Option<i64>, i64)> = Vec::new();
    let mut new_parent = 100;
    let mut new_child = 100;
    let pt = e.table("parent");
    let ct = e.table("child");
    let nt = e.table("nokey");
    let at = e.table("auto");
    let referenced = |model: &Model, id: i64| model.child.values().any(|(p, _)| *p == Some(id));
    for op in ops {
        match op {
            Op::ParentName(i, name) => {
                let Some(&id) = parents.get(i) else { continue };
                let row = editor.fetch_one(&pt, &[("id".into(), Value::Int(id))]).await.unwrap();
                let ch = editor.update(&row, vec![("name".into(), Value::Text(name.clone()))]).unwrap();
                sandbox.record(ch).unwrap();
                model.parent.get_mut(&id).unwrap().0 = name;
            }
            Op::ParentScore(i, score) => {
                let Some(&id) = parents.get(i) else { continue };
                let row = editor.fetch_one(&pt, &[("id".into(), Value::Int(id))]).await.unwrap();
                let ch = editor.update(&row, vec![("score".into(), opt_float(score))]).unwrap();
                sandbox.record(ch).unwrap();
                model.parent.get_mut(&id).unwrap().1 = score;
            }
            Op::InsertParent(name, score) => {
                new_parent += 1;
                editor.model(&pt).await.unwrap();
                let ch = editor
                    .insert(&pt, vec![("id".into(), Value::Int(new_parent)), ("name".into(), Value::Text(name.clone())), ("score".into(), opt_float(score))])
                    .unwrap();
                sandbox.record(ch).unwrap();
                model.parent.insert(new_parent, (name, score));
            }
            Op::DeleteParent(i) => {
                let Some(&id) = parents.get(i) else { continue };
                if referenced(&model, id) {
                    continue;
                }
                let row = editor.fetch_one(&pt, &[("id".into(), Value::Int(id))]).await.unwrap();
                sandbox.record(editor.delete(&row)).unwrap();
                model.parent.remove(&id);
                parents.remove(i);
            }
            Op::ChildNote(i, note) => {
                let Some(&(a, b)) = children.get(i) else { continue };
                let row = editor.fetch_one(&ct, &[("a".into(), Value::Int(a)), ("b".into(), Value::Int(b))]).await.unwrap();
                sandbox.record(editor.update(&row, vec![("note".into(), opt_text(&note))]).unwrap()).unwrap();
                model.child.get_mut(&(a, b)).unwrap().1 = note;
            }
            Op::ChildParent(i, p) => {
                let Some(&(a, b)) = children.get(i) else { continue };
                let all: Vec<i64> = model.parent.keys().copied().collect();
                let p = p.and_then(|p| all.get(p % all.len().max(1)).copied());
                let row = editor.fetch_one(&ct, &[("a".into(), Value::Int(a)), ("b".into(), Value::Int(b))]).await.unwrap();
                sandbox.record(editor.update(&row, vec![("parent_id".into(), opt_int(p))]).unwrap()).unwrap();
                model.child.get_mut(&(a, b)).unwrap().0 = p;
            }
            Op::InsertChild(p, note) => {
                new_child += 1;
                let all: Vec<i64> = model.parent.keys().copied().collect();
                let p = p.and_then(|p| all.get(p % all.len().max(1)).copied());
                editor.model(&ct).await.unwrap();
                let ch = editor
                    .insert(&ct, vec![("a".into(), Value::Int(7)), ("b".into(), Value::Int(new_child)), ("parent_id".into(), opt_int(p)), ("note".into(), opt_text(&note))])
                    .unwrap();
                sandbox.record(ch).unwrap();
                model.child.insert((7, new_child), (p, note));
            }
            Op::DeleteChild(i) => {
                let Some(&(a, b)) = children.get(i) else { continue };
                let row = editor.fetch_one(&ct, &[("a".into(), Value::Int(a)), ("b".into(), Value::Int(b))]).await.unwrap();
                sandbox.record(editor.delete(&row)).unwrap();
                model.child.remove(&(a, b));
                children.remove(i);
            }
            Op::NokeyY(i, y) => {
                let Some(i) = canonical(&start_nokey, &nokey_now, i) else { continue };
                let (x0, y0) = start_nokey[i].clone();
                let row = editor.fetch_one(&nt, &[("x".into(), opt_int(x0)), ("y".into(), opt_text(&y0))]).await.unwrap();
                sandbox.record(editor.update(&row, vec![("y".into(), opt_text(&y))]).unwrap()).unwrap();
                nokey_now[i].as_mut().unwrap().1 = y;
            }
            Op::InsertNokey(x, y) => {
                editor.model(&nt).await.unwrap();
                sandbox.record(editor.insert(&nt, vec![("x".into(), opt_int(x)), ("y".into(), opt_text(&y))]).unwrap()).unwrap();
                model.nokey.push((x, y));
            }
            Op::DeleteNokey(i) => {
                let Some(i) = canonical(&start_nokey, &nokey_now, i) else { continue };
                let (x0, y0) = start_nokey[i].clone();
                let row = editor.fetch_one(&nt, &[("x".into(), opt_int(x0)), ("y".into(), opt_text(&y0))]).await.unwrap();
                sandbox.record(editor.delete(&row)).unwrap();
                nokey_now[i] = None;
            }
            Op::InsertAuto(v, give_d) => {
                editor.model(&at).await.unwrap();
                let mut cells = vec![("v".into(), opt_int(v))];
                if give_d {
                    cells.push(("d".into(), Value::Int(3)));
                }
                sandbox.record(editor.insert(&at, cells).unwrap()).unwrap();
                auto_new.push((v, if give_d { 3 } else { 7 }));
            }
            Op::AutoV(i, v) => {
                let Some((id, _, _)) = start_auto.get(i) else { continue };
                if auto_now[i].is_none() {
                    continue;
                }
                let row = editor.fetch_one(&at, &[("id".into(), Value::Int(*id))]).await.unwrap();
                sandbox.record(editor.update(&row, vec![("v".into(), opt_int(v))]).unwrap()).unwrap();
                auto_now[i].as_mut().unwrap().0 = v;
            }
            Op::DeleteAuto(i) => {
                let Some((id, _, _)) = start_auto.get(i) else { continue };
                if auto_now[i].is_none() {
                    continue;
                }
                let row = editor.fetch_one(&at, &[("id".into(), Value::Int(*id))]).await.unwrap();
                sandbox.record(editor.delete(&row)).unwrap();
                auto_now[i] = None;
            }
        }
    }
    // The model's keyless and generated-key tables: what is left of the
    // start, plus the inserts.
    model.nokey = nokey_now.iter().flatten().cloned().chain(model.nokey.iter().skip(before.nokey.len()).cloned()).collect();
    model.nokey.sort();
    model.auto = auto_now.iter().flatten().cloned().chain(auto_new).collect();
    model.auto.sort();
    // The sandbox file holds the session.
    let reopened = Sandbox::open(&path, "s", "test").unwrap();
    assert_eq!(reopened.changes(), sandbox.changes());
    if sandbox.changes().is_empty() {
        assert_eq!(read(e, c).await, before);
        return;
    }
    if by_script {
        let plan = editor.plan(sandbox.changes()).await.unwrap();
        let script = plan.script(editor.dialect()).unwrap();
        let flavor = qore_core::sql::Flavor::of(c.engine());
        for st in qore_core::sql::split_statements_in(&script, flavor) {
            let st = st.trim();
            if st.is_empty() {
                continue;
            }
            // Statements with RETURNING return rows: read them.
            let done = if st.contains(" RETURNING ") {
                match c.query(st, &[]).await {
                    Ok(s) => qore_core::collect(s).await.map(|_| ()),
                    Err(e) => Err(e),
                }
            } else {
                c.execute(st, &[]).await.map(|_| ())
            };
            done.unwrap_or_else(|err| panic!("{st}: {err}\n{script}"));
        }
        assert_eq!(read(e, c).await, model, "{}: after the script\n{script}", e.name);
        SCRIPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return;
    }
    // Read through the sandbox, the tables already look applied.
    let seen = through(e, c, &sandbox).await;
    assert_eq!(
        (seen.parent, seen.child, seen.nokey),
        (model.parent.clone(), model.child.clone(), model.nokey.clone()),
        "{}: the overlay",
        e.name
    );
    let report = match editor.apply_sandbox(&mut sandbox).await {
        Err(err) if held_until_commit(c, &err) => return,
        other => other.unwrap(),
    };
    assert!(report.committed(), "{:?}", report.conflicts);
    assert_eq!(read(e, c).await, model, "{}: after apply", e.name);
    let undo = match editor.apply_undo(&sandbox).await {
        Err(err) if held_until_commit(c, &err) => return,
        other => other.unwrap(),
    };
    assert!(undo.committed(), "{:?}", undo.conflicts);
    assert_eq!(read(e, c).await, before, "{}: after undo", e.name);
    APPLIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// The tables read through the sandbox's overlay (the generated-key table
/// left out: its inserted rows have no key before apply).
async fn through(e: &Engine, c: &ConnectionRef, sandbox: &Sandbox) -> Model {
    let mut m = Model::default();
    let read = async |t: &str| -> Vec<Vec<Value>> {
        let s = qore_sandbox::overlay::read_table(c.as_ref(), sandbox, &e.table(t)).await.unwrap();
        let schema = s.schema();
        assert_eq!(schema.metadata().get(qore_sandbox::overlay::MARKS).map(String::as_str), Some("qore_change,qore_edited"));
        let inserts = sandbox.changes_of(&e.table(t)).filter(|c| c.kind == qore_sandbox::ChangeKind::Insert).count();
        let mut out = Vec::new();
        let mut marked = 0;
        for b in qore_core::collect(s).await.unwrap() {
            for r in 0..b.num_rows() {
                let row: Vec<Value> = (0..b.num_columns()).map(|i| Value::from_array(b.column(i).as_ref(), r).unwrap()).collect();
                if row[row.len() - 2] == Value::Text("insert".into()) {
                    marked += 1;
                }
                out.push(row);
            }
        }
        assert_eq!(marked, inserts, "{t}: inserted rows are marked");
        out
    };
    for r in read("parent").await {
        m.parent.insert(int(&r[0]).unwrap(), (text(&r[1]).unwrap(), float(&r[2])));
    }
    for r in read("child").await {
        m.child.insert((int(&r[0]).unwrap(), int(&r[1]).unwrap()), (int(&r[2]), text(&r[3])));
    }
    for r in read("nokey").await {
        m.nokey.push((int(&r[0]), text(&r[1])));
    }
    m.nokey.sort();
    m
}

/// DuckDB's refusal, before anything runs, of deleting a parent row and a
/// row that referenced it in one transaction.
fn held_until_commit(c: &ConnectionRef, err: &qore_core::Error) -> bool {
    let held = c.dialect().unwrap().references_held_until_commit()
        && matches!(err, qore_core::Error::InvalidInput(m) if m.contains("until the commit"));
    if held {
        assert_eq!(c.engine(), qore_core::Engine::DuckDb);
    }
    held
}

/// The first start row with the same values as row `i` (identical rows
/// cannot be told apart: an edit of either is an edit of the first), if
/// it is still there.
fn canonical(
    start: &[(Option<i64>, Option<String>)],
    now: &[Option<(Option<i64>, Option<String>)>],
    i: usize,
) -> Option<usize> {
    let target = start.get(i)?;
    let first = start.iter().position(|r| r == target)?;
    now[first].as_ref()?;
    Some(first)
}

fn sessions() -> u32 {
    std::env::var("QORE_SANDBOX_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn run(engine: Engine) {
    let rt = runtime();
    let c = rt.block_on(engine.connect());
    rt.block_on(create(&engine, &c));
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0u32);
    proptest!(ProptestConfig { cases: sessions(), ..ProptestConfig::default() },
        |(s in start(), ops in proptest::collection::vec(op(), 1..12))| {
            n.set(n.get() + 1);
            rt.block_on(session(&engine, &c, s, ops, n.get() % 4 == 0, dir.path()));
        });
    // Most sessions did something (each test binary runs one engine's test
    // per process under nextest; the counters are per process).
    let (applied, scripted) = (APPLIED.load(std::sync::atomic::Ordering::Relaxed), SCRIPTED.load(std::sync::atomic::Ordering::Relaxed));
    assert!(applied >= sessions() / 3 && scripted >= sessions() / 10, "{}: {applied} applied and undone, {scripted} by script, of {}", engine.name, sessions());
}

#[test]
fn sqlite_sessions() {
    run(Engine::sqlite());
}

#[test]
fn duckdb_sessions() {
    run(Engine::duckdb());
}

#[test]
fn postgres_sessions() {
    let e = runtime().block_on(Engine::postgres("sbx_sessions"));
    run(e);
}

#[test]
fn mysql_sessions() {
    let e = runtime().block_on(Engine::mysql("sbx_sessions"));
    run(e);
}
