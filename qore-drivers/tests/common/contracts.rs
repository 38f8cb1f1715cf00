//! The engine contracts every SQL driver must keep, run against each real
//! engine: sessions, transactions, error kinds.
#![allow(dead_code, clippy::unwrap_used, clippy::disallowed_methods)]

use std::time::Duration;

use qore_core::{Connection, DatabaseRef, ErrorKind};

use super::{rows, text};

/// The first cell of `sql`, as an integer.
pub(crate) async fn int(c: &dyn Connection, sql: &str) -> i64 {
    let b = rows(c, sql).await;
    text(&b, 0, 0).parse().unwrap()
}

/// Every `id` of `table`, in order.
pub(crate) async fn ids(c: &dyn Connection, table: &str) -> Vec<i64> {
    let b = rows(c, &format!("SELECT id FROM {table} ORDER BY id")).await;
    (0..b.num_rows())
        .map(|i| text(&b, 0, i).parse().unwrap())
        .collect()
}

/// Transactions on `db`: `ns` qualifies table names (`schema.` or empty);
/// `savepoints` says whether the engine has them.
pub(crate) async fn transactions(db: &DatabaseRef, ns: &str, savepoints: bool) {
    let a = db.session().await.unwrap();
    let b = db.session().await.unwrap();
    let t = format!("{ns}tx_items");
    a.execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await
        .unwrap();
    a.execute(
        &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
        &[],
    )
    .await
    .unwrap();
    let count = format!("SELECT count(*) FROM {t}");

    // Committed: seen by the other session only after the commit.
    let tx = a.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (1, 10)"), &[])
        .await
        .unwrap();
    assert_eq!(int(&*b, &count).await, 0, "uncommitted rows leaked");
    tx.commit().await.unwrap();
    assert_eq!(int(&*b, &count).await, 1);

    // Dropped without commit: rolled back before the session runs anything else.
    {
        let tx = a.begin().await.unwrap();
        tx.execute(&format!("INSERT INTO {t} VALUES (2, 20)"), &[])
            .await
            .unwrap();
    }
    assert_eq!(ids(&*a, &t).await, [1]);
    assert_eq!(ids(&*b, &t).await, [1]);

    // Rolled back explicitly.
    let tx = a.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (3, 30)"), &[])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(ids(&*b, &t).await, [1]);

    // A failed statement poisons the transaction: commit rolls back.
    let tx = a.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (4, 40)"), &[])
        .await
        .unwrap();
    let e = tx
        .execute(&format!("INSERT INTO {t} VALUES (1, 11)"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
    assert!(tx.is_poisoned());
    let e = tx.commit().await.unwrap_err();
    assert!(e.to_string().contains("rolled back"), "{e}");
    assert_eq!(ids(&*b, &t).await, [1]);
    assert_eq!(ids(&*a, &t).await, [1]);

    if savepoints {
        let mut tx = a.begin().await.unwrap();
        tx.execute(&format!("INSERT INTO {t} VALUES (5, 50)"), &[])
            .await
            .unwrap();
        {
            let sp = tx.savepoint().await.unwrap();
            sp.execute(&format!("INSERT INTO {t} VALUES (6, 60)"), &[])
                .await
                .unwrap();
            sp.rollback().await.unwrap();
        }
        {
            let mut sp = tx.savepoint().await.unwrap();
            sp.execute(&format!("INSERT INTO {t} VALUES (7, 70)"), &[])
                .await
                .unwrap();
            {
                let inner = sp.savepoint().await.unwrap();
                assert_eq!(inner.depth(), 2);
                inner
                    .execute(&format!("INSERT INTO {t} VALUES (71, 71)"), &[])
                    .await
                    .unwrap();
                // Dropped: undone before the next statement.
            }
            sp.commit().await.unwrap();
        }
        {
            let sp = tx.savepoint().await.unwrap();
            sp.execute(&format!("INSERT INTO {t} VALUES (8, 80)"), &[])
                .await
                .unwrap();
        }
        {
            // A failure inside a savepoint is recovered by rolling it back.
            let sp = tx.savepoint().await.unwrap();
            let e = sp
                .execute(&format!("INSERT INTO {t} VALUES (1, 12)"), &[])
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UniqueViolation);
            sp.rollback().await.unwrap();
        }
        tx.execute(&format!("INSERT INTO {t} VALUES (9, 90)"), &[])
            .await
            .unwrap();
        assert!(!tx.is_poisoned());
        tx.commit().await.unwrap();
        assert_eq!(ids(&*b, &t).await, [1, 5, 7, 9]);
    } else {
        let mut tx = a.begin().await.unwrap();
        let e = tx.savepoint().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported, "{e}");
        tx.execute(&format!("INSERT INTO {t} VALUES (5, 50)"), &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        for id in [7, 9] {
            a.execute(&format!("INSERT INTO {t} VALUES ({id}, 0)"), &[])
                .await
                .unwrap();
        }
        assert_eq!(ids(&*b, &t).await, [1, 5, 7, 9]);
    }

    // While a transaction is open, another caller of the same session waits.
    let tx = a.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (10, 100)"), &[])
        .await
        .unwrap();
    let waiter = {
        let (a, count) = (a.clone(), count.clone());
        tokio::spawn(async move { int(&*a, &count).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiter.is_finished(),
        "a statement ran inside another caller's transaction"
    );
    // Rows stream inside the transaction.
    let mut s = tx
        .query(&format!("SELECT id FROM {t} ORDER BY id"), &[])
        .await
        .unwrap();
    let mut n = 0;
    while let Some(batch) = futures::StreamExt::next(&mut s).await {
        n += batch.unwrap().num_rows();
    }
    drop(s);
    assert_eq!(n, 5);
    tx.commit().await.unwrap();
    assert_eq!(waiter.await.unwrap(), 5);

    // A caller whose future is dropped mid-transaction (a timeout, Ctrl-C)
    // leaves nothing behind.
    let gave_up = tokio::time::timeout(Duration::from_millis(300), async {
        let tx = a.begin().await.unwrap();
        tx.execute(&format!("INSERT INTO {t} VALUES (11, 110)"), &[])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    assert!(gave_up.is_err());
    assert_eq!(ids(&*a, &t).await, [1, 5, 7, 9, 10]);
    assert_eq!(ids(&*b, &t).await, [1, 5, 7, 9, 10]);
}

/// Two sessions work at once: one streams a result while the other runs
/// statements and reads the catalog.
pub(crate) async fn parallel_sessions(db: &DatabaseRef, ns: &str, namespace: Option<&str>) {
    let a = db.session().await.unwrap();
    let b = db.session().await.unwrap();
    let t = format!("{ns}par_items");
    a.execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await
        .unwrap();
    a.execute(&format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY)"), &[])
        .await
        .unwrap();
    for i in 0..3 {
        a.execute(&format!("INSERT INTO {t} VALUES ({i})"), &[])
            .await
            .unwrap();
    }
    // Held open, not consumed: session a is busy.
    let stream = a
        .query(&format!("SELECT id FROM {t} ORDER BY id"), &[])
        .await
        .unwrap();
    let tables = tokio::time::timeout(Duration::from_secs(10), async {
        b.catalog().unwrap().tables(namespace).await.unwrap()
    })
    .await
    .expect("the other session waited for the stream");
    assert!(
        tables.iter().any(|t| t.table.name == "par_items"),
        "{tables:?}"
    );
    assert_eq!(
        tokio::time::timeout(
            Duration::from_secs(10),
            int(&*b, &format!("SELECT count(*) FROM {t}"))
        )
        .await
        .unwrap(),
        3
    );
    let batches = qore_core::collect(stream).await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
}

/// The error kinds every SQL engine reports alike.
pub(crate) async fn error_kinds(c: &dyn Connection, ns: &str) {
    let (p, ch) = (format!("{ns}ek_parent"), format!("{ns}ek_child"));
    for t in [&ch, &p] {
        c.execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
            .await
            .unwrap();
    }
    c.execute(&format!("CREATE TABLE {p} (id INTEGER PRIMARY KEY)"), &[])
        .await
        .unwrap();
    c.execute(
        &format!(
            "CREATE TABLE {ch} (id INTEGER PRIMARY KEY, p INTEGER, v INTEGER NOT NULL, \
             CHECK (v > 0), FOREIGN KEY (p) REFERENCES {p} (id))"
        ),
        &[],
    )
    .await
    .unwrap();
    c.execute(&format!("INSERT INTO {p} VALUES (1)"), &[])
        .await
        .unwrap();
    c.execute(&format!("INSERT INTO {ch} VALUES (1, 1, 1)"), &[])
        .await
        .unwrap();
    let cases = [
        (
            format!("INSERT INTO {ch} VALUES (1, 1, 1)"),
            ErrorKind::UniqueViolation,
        ),
        (
            format!("INSERT INTO {ch} VALUES (2, 99, 1)"),
            ErrorKind::ForeignKeyViolation,
        ),
        (
            format!("INSERT INTO {ch} VALUES (3, 1, NULL)"),
            ErrorKind::NotNullViolation,
        ),
        (
            format!("INSERT INTO {ch} VALUES (4, 1, -1)"),
            ErrorKind::CheckViolation,
        ),
        ("SELEC 1".to_string(), ErrorKind::Syntax),
        (
            format!("SELECT * FROM {ns}ek_no_such_table"),
            ErrorKind::UndefinedObject,
        ),
        (
            format!("CREATE TABLE {p} (id INTEGER)"),
            ErrorKind::DuplicateObject,
        ),
    ];
    for (sql, kind) in cases {
        let e = c.execute(&sql, &[]).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{sql}: {e}");
        assert!(!e.is_transient(), "{sql}: {e}");
    }
    assert_eq!(ids(c, &ch).await, [1]);
}

/// A profile opens sessions labelled with its environment and, when it
/// says read-only, the engine refuses writes. `url` has no password; the
/// profile's source (here the asking callback) gives `password`.
pub(crate) async fn profile_label_and_read_only(url: &str, password: Option<&str>, ns: &str) {
    use qore_drivers::profiles::{self, Profile, Profiles};
    let dir = tempfile::tempdir().unwrap();
    let mut store = Profiles::load_from(&dir.path().join("connections.toml")).unwrap();
    let (mut p, _) = Profile::new(url, qore_core::Environment::Prod).unwrap();
    p.read_only = true;
    p.password = Some(profiles::PasswordSource::Prompt);
    store.add("ro-prod", p, false).unwrap();
    let (p, _) = Profile::new(url, qore_core::Environment::Dev).unwrap();
    store.add("rw-dev", p, false).unwrap();
    let store = Profiles::load_from(store.path()).unwrap();
    let mut asked = 0;
    let mut ask = |_: &str, _: &qore_core::ConnectionSpec| {
        asked += 1;
        Ok(password.map(qore_core::Secret::new))
    };
    let rw = profiles::resolve(Some("rw-dev"), &store, &mut ask)
        .unwrap()
        .open()
        .await
        .unwrap()
        .session()
        .await
        .unwrap();
    assert_eq!(rw.environment(), Some(qore_core::Environment::Dev));
    let t = format!("{ns}profile_t");
    rw.execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await
        .unwrap();
    rw.execute(&format!("CREATE TABLE {t} (id INTEGER)"), &[])
        .await
        .unwrap();
    let db = profiles::resolve(Some("ro-prod"), &store, &mut ask)
        .unwrap()
        .open()
        .await
        .unwrap();
    assert_eq!(db.environment(), Some(qore_core::Environment::Prod));
    let ro = db.session().await.unwrap();
    assert_eq!(ro.environment(), Some(qore_core::Environment::Prod));
    assert_eq!(int(&*ro, &format!("SELECT count(*) FROM {t}")).await, 0);
    let e = ro
        .execute(&format!("INSERT INTO {t} VALUES (1)"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    // Not even inside a transaction.
    let tx = ro.begin().await.unwrap();
    let e = tx
        .execute(&format!("INSERT INTO {t} VALUES (2)"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    drop(tx);
    if password.is_some() {
        assert!(asked >= 2, "the password comes from the asking callback");
    }
}

/// The dialect's hooks produce SQL the engine runs: LIMIT/OFFSET, upsert,
/// RETURNING, row identity, and a checksum that equals DuckDB's for the
/// same texts (what a cross-engine diff compares).
pub(crate) async fn dialect_hooks(c: &dyn Connection, ns: &str) {
    let d = c.dialect().unwrap();
    let t = format!("{ns}dh_items");
    c.execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await
        .unwrap();
    c.execute(
        &format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, v {})",
            d.column_type(&arrow::datatypes::DataType::Utf8)
        ),
        &[],
    )
    .await
    .unwrap();
    for (id, v) in [(1, "a"), (2, "b"), (3, "c")] {
        c.execute(
            &format!(
                "INSERT INTO {t} VALUES ({id}, {})",
                d.quote_string(v).unwrap()
            ),
            &[],
        )
        .await
        .unwrap();
    }
    let page = |l, o| format!("SELECT id FROM {t} ORDER BY id {}", d.limit_clause(l, o));
    let ids_of = |b: arrow::array::RecordBatch| -> Vec<String> {
        (0..b.num_rows()).map(|i| text(&b, 0, i)).collect()
    };
    assert_eq!(ids_of(rows(c, &page(None, Some(1))).await), ["2", "3"]);
    assert_eq!(ids_of(rows(c, &page(Some(1), Some(1))).await), ["2"]);
    assert_eq!(ids_of(rows(c, &page(Some(2), None)).await), ["1", "2"]);

    let upsert = match d.upsert_style().unwrap() {
        qore_core::UpsertStyle::OnConflict => {
            format!("INSERT INTO {t} VALUES (2, 'B') ON CONFLICT (id) DO UPDATE SET v = excluded.v")
        }
        qore_core::UpsertStyle::OnDuplicateKey => {
            format!("INSERT INTO {t} VALUES (2, 'B') ON DUPLICATE KEY UPDATE v = VALUES(v)")
        }
    };
    c.execute(&upsert, &[]).await.unwrap();
    let b = rows(c, &format!("SELECT v FROM {t} WHERE id = 2")).await;
    assert_eq!(text(&b, 0, 0), "B");
    if d.supports_returning() {
        let b = rows(c, &format!("INSERT INTO {t} VALUES (4, 'd') RETURNING id")).await;
        assert_eq!(text(&b, 0, 0), "4");
    } else {
        c.execute(&format!("INSERT INTO {t} VALUES (4, 'd')"), &[])
            .await
            .unwrap();
    }
    if let Some(rid) = d.row_identity() {
        let b = rows(c, &format!("SELECT {rid} FROM {t}")).await;
        assert_eq!(b.num_rows(), 4);
    }
    let Some(sum) = d.checksum_aggregate(&d.cast_text("v")) else {
        assert!(d.md5_text("v").is_none());
        return;
    };
    let here = rows(c, &format!("SELECT {sum} AS s FROM {t}")).await;
    let duck = qore_drivers::connect("duckdb:").await.unwrap();
    let dd = duck.dialect().unwrap();
    let reference = rows(
        &*duck,
        &format!(
            "SELECT {} AS s FROM (VALUES ('a'), ('B'), ('c'), ('d')) AS x(v)",
            dd.checksum_aggregate(&dd.cast_text("v")).unwrap()
        ),
    )
    .await;
    assert_eq!(text(&here, 0, 0), text(&reference, 0, 0), "{sum}");
}

/// Interceptors around a session of `db` (qore_core::intercept): denials
/// never reach the engine, confirmations are asked and answered, a hook
/// that fails denies, outcomes (rows, batches, first batch, affected rows,
/// error kinds, drops) are reported, and transactions (savepoints too) go
/// through the same chain.
pub(crate) async fn interceptors(db: &DatabaseRef, ns: &str, savepoints: bool) {
    use qore_core::intercept::{
        Call, Chain, Confirmer, Decision, Intercepted, Interceptor, Outcome, Request, Verdict,
    };
    use std::sync::{Arc, Mutex};

    #[derive(Debug)]
    struct Rules;
    #[async_trait::async_trait]
    impl Interceptor for Rules {
        async fn before(&self, r: &Request, _: &dyn Connection) -> qore_core::Result<Decision> {
            let up = r.text.trim_start().to_ascii_uppercase();
            Ok(if up.starts_with("DROP") {
                Decision::Deny("no drops here".into())
            } else if up.starts_with("DELETE") {
                Decision::Confirm("this deletes rows".into())
            } else if up.contains("QORE_HOOK_FAILS") {
                return Err(qore_core::Error::Internal("the hook failed".into()));
            } else {
                Decision::Allow
            })
        }
    }
    #[derive(Debug, Default)]
    struct Log(Mutex<Vec<(Call, String, Outcome)>>);
    impl Interceptor for Log {
        fn after(&self, r: &Request, o: &Outcome) {
            self.0
                .lock()
                .unwrap()
                .push((r.call, r.text.clone(), o.clone()));
        }
    }
    impl Log {
        fn last(&self) -> (Call, String, Outcome) {
            self.0.lock().unwrap().last().cloned().unwrap()
        }
        fn calls(&self) -> Vec<Call> {
            self.0.lock().unwrap().iter().map(|e| e.0).collect()
        }
    }
    #[derive(Debug)]
    struct Answer(bool);
    #[async_trait::async_trait]
    impl Confirmer for Answer {
        async fn confirm(&self, _: &Request, message: &str) -> bool {
            assert_eq!(message, "this deletes rows");
            self.0
        }
    }

    let raw = db.session().await.unwrap();
    let t = format!("{ns}icpt_items");
    raw.execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await
        .unwrap();
    let log = Arc::new(Log::default());
    let chain = Chain::new()
        .with(Arc::new(Rules))
        .with(log.clone())
        .confirm_with(Arc::new(Answer(true)));
    let g = Intercepted::new(db.session().await.unwrap(), chain);

    g.execute(&format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY)"), &[])
        .await
        .unwrap();
    assert_eq!(log.last().2.verdict, Verdict::Allowed);
    g.execute(&format!("INSERT INTO {t} VALUES (1), (2), (3)"), &[])
        .await
        .unwrap();
    assert_eq!(log.last().2.rows_affected, Some(3));

    // A stream read to its end, and one dropped unread.
    let b = rows(&g, &format!("SELECT id FROM {t} ORDER BY id")).await;
    assert_eq!(b.num_rows(), 3);
    let (call, _, o) = log.last();
    assert_eq!(call, Call::Query);
    assert_eq!((o.rows, o.complete, o.error), (3, true, None));
    assert!(
        o.batches >= 1 && o.bytes > 0 && o.first_batch.is_some(),
        "{o:?}"
    );
    drop(g.query(&format!("SELECT id FROM {t}"), &[]).await.unwrap());
    let o = log.last().2;
    assert_eq!((o.rows, o.complete), (0, false));

    // Denied: never reaches the engine.
    let e = g
        .execute(&format!("DROP TABLE {t}"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied, "{e}");
    assert!(e.to_string().contains("no drops here"), "{e}");
    assert_eq!(int(&*raw, &format!("SELECT count(*) FROM {t}")).await, 3);
    let o = log.last().2;
    assert_eq!(
        (o.verdict, o.error),
        (Verdict::Denied, Some(ErrorKind::Denied))
    );

    // Confirmed by the confirmer; refused without one.
    let out = g
        .execute(&format!("DELETE FROM {t} WHERE id = 3"), &[])
        .await
        .unwrap();
    assert_eq!(out.rows_affected, 1);
    assert_eq!(log.last().2.verdict, Verdict::Confirmed);
    let strict = Intercepted::new(
        db.session().await.unwrap(),
        Chain::new().with(Arc::new(Rules)),
    );
    let e = strict
        .execute(&format!("DELETE FROM {t}"), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nobody can give one"), "{e}");
    let refusing = Intercepted::new(
        db.session().await.unwrap(),
        Chain::new()
            .with(Arc::new(Rules))
            .confirm_with(Arc::new(Answer(false))),
    );
    let e = refusing
        .execute(&format!("DELETE FROM {t}"), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not confirmed"), "{e}");
    assert_eq!(int(&*raw, &format!("SELECT count(*) FROM {t}")).await, 2);

    // A failing hook denies; an engine error is reported with its kind.
    let e = g
        .query("SELECT 1 AS qore_hook_fails", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert_eq!(log.last().2.verdict, Verdict::Denied);
    assert!(g.execute("SELEC nothing", &[]).await.is_err());
    assert_eq!(log.last().2.error, Some(ErrorKind::Syntax));

    // Transactions: statements, savepoints, denials and the end go
    // through the chain; a denial poisons the transaction.
    log.0.lock().unwrap().clear();
    let mut tx = g.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (4)"), &[])
        .await
        .unwrap();
    if savepoints {
        let sp = tx.savepoint().await.unwrap();
        sp.execute(&format!("INSERT INTO {t} VALUES (5)"), &[])
            .await
            .unwrap();
        sp.rollback().await.unwrap();
        assert!(
            log.0
                .lock()
                .unwrap()
                .iter()
                .any(|e| e.1.starts_with("SAVEPOINT")),
            "savepoint statements are intercepted"
        );
    }
    let e = tx
        .execute(&format!("DROP TABLE {t}"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(tx.is_poisoned());
    tx.rollback().await.unwrap();
    let calls = log.calls();
    assert_eq!(calls.first(), Some(&Call::Begin));
    assert_eq!(calls.last(), Some(&Call::Rollback));
    assert_eq!(ids(&*raw, &t).await, [1, 2]);

    let tx = g.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (6)"), &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(log.last().0, Call::Commit);
    assert_eq!(log.last().2.error, None);
    {
        let tx = g.begin().await.unwrap();
        tx.execute(&format!("INSERT INTO {t} VALUES (7)"), &[])
            .await
            .unwrap();
    }
    assert_eq!(log.last().0, Call::Rollback);
    assert_eq!(ids(&g, &t).await, [1, 2, 6]);
    raw.execute(&format!("DROP TABLE {t}"), &[]).await.unwrap();
}

/// Every call an interceptor saw: its kind, text and outcome.
#[derive(Debug, Default)]
pub(crate) struct CallLog(
    pub(crate)  std::sync::Mutex<
        Vec<(
            qore_core::intercept::Call,
            String,
            qore_core::intercept::Outcome,
        )>,
    >,
);

impl qore_core::intercept::Interceptor for CallLog {
    fn after(&self, r: &qore_core::intercept::Request, o: &qore_core::intercept::Outcome) {
        self.0
            .lock()
            .unwrap()
            .push((r.call, r.text.clone(), o.clone()));
    }
}

/// Denies every call of one kind.
#[derive(Debug)]
pub(crate) struct DenyCall(pub(crate) qore_core::intercept::Call);

#[async_trait::async_trait]
impl qore_core::intercept::Interceptor for DenyCall {
    async fn before(
        &self,
        r: &qore_core::intercept::Request,
        _: &dyn Connection,
    ) -> qore_core::Result<qore_core::intercept::Decision> {
        Ok(if r.call == self.0 {
            qore_core::intercept::Decision::Deny(format!("no {} here", r.call.name()))
        } else {
            qore_core::intercept::Decision::Allow
        })
    }
}
