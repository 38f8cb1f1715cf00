//! Server-side kills of a session, for every SQL server engine: reads go on
//! transparently on a replacement that keeps the session's settings; a
//! write inside a transaction fails with ConnectionLost and is not
//! replayed.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use qore_core::{Connection, ErrorKind};

use super::contracts::int;
use super::{rows, text};

/// How to find and kill a session of one engine from another session.
pub(crate) struct Killer<'a> {
    /// A second session that does the killing and the checking.
    pub admin: &'a dyn Connection,
    /// The session's id, asked on the session itself.
    pub id_sql: &'static str,
    /// Kills the session with this id.
    pub kill_sql: fn(i64) -> String,
    /// Counts live sessions with this id (0 once it is gone).
    pub alive_sql: fn(i64) -> String,
}

impl Killer<'_> {
    /// Kills the session with `id` and waits until the server has let it go.
    pub(crate) async fn kill_id(&self, id: i64) {
        self.admin.execute(&(self.kill_sql)(id), &[]).await.unwrap();
        let gone = async {
            while int(self.admin, &(self.alive_sql)(id)).await != 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), gone)
            .await
            .expect("the killed session goes away");
    }

    /// Kills `c`'s current session; its id.
    pub(crate) async fn kill(&self, c: &dyn Connection) -> i64 {
        let id = int(c, self.id_sql).await;
        self.kill_id(id).await;
        id
    }
}

/// The checks, on session `c` (opened with the default policy): `setting`
/// is a statement changing the session that `check` (one text cell) shows
/// as `expected`; `table` a fresh table name with an integer column `n`.
pub(crate) async fn killed_sessions(
    c: &dyn Connection,
    k: &Killer<'_>,
    setting: &str,
    check: &str,
    expected: &str,
    table: &str,
    rounds: usize,
) {
    c.execute(setting, &[]).await.unwrap();
    let before = c.reconnects();
    for round in 0..rounds {
        let old = k.kill(c).await;
        // Both paths: a streamed query, and a statement run for its effect.
        if round % 2 == 0 {
            let b = rows(c, check).await;
            assert_eq!(text(&b, 0, 0), expected, "round {round}: the setting is restored");
        } else {
            c.execute(check, &[]).await.unwrap();
        }
        assert_ne!(int(c, k.id_sql).await, old, "round {round}: a new session");
    }
    assert_eq!(c.reconnects() - before, rounds as u64, "one replacement per kill");

    c.execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
        .await
        .unwrap();
    c.execute(&format!("CREATE TABLE {table} (n int)"), &[])
        .await
        .unwrap();
    let count = || async { int(k.admin, &format!("SELECT count(*) FROM {table}")).await };

    // Inside a transaction: the write after the kill fails, the one before
    // is gone with the transaction, and nothing is replayed.
    let id = int(c, k.id_sql).await;
    let tx = c.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {table} VALUES (1)"), &[])
        .await
        .unwrap();
    k.kill_id(id).await;
    let e = tx
        .execute(&format!("INSERT INTO {table} VALUES (2)"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    assert!(e.to_string().contains("may or may not have run"), "{e}");
    assert!(e.is_transient());
    let e = tx.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    assert_eq!(count().await, 0, "nothing of the transaction was kept or replayed");

    // After the transaction, the session goes on; a write after a kill runs
    // (the dead session is found before anything is sent).
    k.kill(c).await;
    c.execute(&format!("INSERT INTO {table} VALUES (3)"), &[])
        .await
        .unwrap();
    assert_eq!(count().await, 1);
    let b = rows(c, check).await;
    assert_eq!(text(&b, 0, 0), expected);

    // With reconnect=off, a killed session is an error, as it always was.
}

/// A session opened with `?reconnect=off` reports a killed session as an
/// error of kind Connection, and does not replace itself.
pub(crate) async fn no_reconnect(c: &dyn Connection, k: &Killer<'_>) {
    k.kill(c).await;
    let e = c.execute("SELECT 1", &[]).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Connection | ErrorKind::ConnectionLost),
        "{e}"
    );
    assert_eq!(c.reconnects(), 0);
}
