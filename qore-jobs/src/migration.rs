//! Migration jobs: an SQL script run in one transaction, exactly once.
//!
//! The script is stored with the job (a later change to its file does not
//! change what runs) and split into statements by the target engine's
//! lexical rules. All of them run in one transaction, which also writes a
//! row keyed by the job's random key into the target database's
//! [`PROGRESS_TABLE`](crate::batch::PROGRESS_TABLE). A transient error
//! (a server restart, a lost connection) rolls the transaction back and the
//! worker starts the whole script again after its backoff; a start that
//! finds the row knows an earlier start committed (a crash between the
//! commit and the store's "succeeded", or a connection lost during COMMIT)
//! and does not run the script a second time. Any other error fails the
//! job at once, naming the statement; nothing of the script is left.
//!
//! MySQL and MariaDB commit before and after every DDL statement, so a
//! script with DDL cannot be one transaction there: such a script is
//! refused before any SQL is sent, naming the statement.

use std::sync::Arc;

use async_trait::async_trait;
use qore_core::sql::{Flavor, split_statements_in, tokenize_in};
use qore_core::{ConnectionRef, Engine, Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

use crate::export::Connector;
use crate::worker::{Handler, JobContext};

/// The job kind.
pub const KIND: &str = "migration";

/// The parameters of a migration job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationJob {
    /// A profile name or a URL without a password.
    pub db: String,
    /// What to call it in listings and logs (the script's file name).
    pub name: String,
    /// The script.
    pub script: String,
    /// The job's key in [`PROGRESS_TABLE`](crate::batch::PROGRESS_TABLE): random, made at submit time.
    pub key: String,
}

impl MigrationJob {
    /// A job with a fresh random key.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    pub fn new(db: String, name: String, script: String) -> Result<MigrationJob> {
        let job = MigrationJob { db, name, script, key: crate::batch::random_key()? };
        job.validate()?;
        Ok(job)
    }

    /// Checks what can be checked without connecting.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a URL with a password, a script without
    /// any statement, a statement that ends or starts a transaction, a key
    /// that is not 1 to 64 hex digits.
    pub fn validate(&self) -> Result<()> {
        crate::export::refuse_password(&self.db)?;
        if self.key.is_empty() || self.key.len() > 64 || !self.key.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid("a migration job's key is 1 to 64 hex digits"));
        }
        self.statements(Flavor::Standard)?;
        Ok(())
    }

    /// The script's statements by `flavor`'s lexical rules.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    fn statements(&self, flavor: Flavor) -> Result<Vec<&str>> {
        let statements = split_statements_in(&self.script, flavor);
        if statements.is_empty() {
            return Err(Error::invalid(format!("the migration `{}` holds no statement", self.name)));
        }
        for (i, st) in statements.iter().enumerate() {
            let words = leading_words(st, flavor);
            let first = words.first().map(String::as_str).unwrap_or("");
            let control = matches!(first, "BEGIN" | "COMMIT" | "ROLLBACK" | "START" | "END" | "ABORT")
                && !(first == "BEGIN" && words.get(1).is_some_and(|w| w == "NOT" || w == "ATOMIC"));
            if control {
                return Err(Error::invalid(format!(
                    "statement {} of `{}` ({}) controls the transaction: a migration job runs the whole \
                     script in its own transaction, so leave {first} out",
                    i + 1,
                    self.name,
                    head(st)
                )));
            }
        }
        Ok(statements)
    }

    /// This job as a store's parameters.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    pub fn to_new_job(&self) -> Result<crate::NewJob> {
        self.validate()?;
        let params =
            serde_json::to_value(self).map_err(|e| Error::Internal(format!("migration parameters: {e}")))?;
        Ok(crate::NewJob::new(KIND, params))
    }
}

/// The first two words of a statement, upper-cased.
fn leading_words(st: &str, flavor: Flavor) -> Vec<String> {
    tokenize_in(st, flavor)
        .into_iter()
        .take(2)
        .map(|t| t.text.to_ascii_uppercase())
        .collect()
}

/// A statement's start, for messages.
fn head(st: &str) -> String {
    let one_line: String = st.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None => one_line,
    }
}

/// Whether MySQL/MariaDB commits around `st` (DDL, account and lock
/// statements).
fn commits_implicitly(st: &str) -> bool {
    let words = leading_words(st, Flavor::MySql);
    let first = words.first().map(String::as_str).unwrap_or("");
    matches!(
        first,
        "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE" | "GRANT" | "REVOKE" | "LOCK" | "UNLOCK"
            | "ANALYZE" | "OPTIMIZE" | "REPAIR" | "FLUSH" | "INSTALL" | "UNINSTALL" | "LOAD"
    ) && !(first == "LOCK" && words.get(1).is_some_and(|w| w == "IN"))
}

/// The handler for [`KIND`].
#[derive(Clone)]
pub struct MigrationHandler {
    connector: Arc<dyn Connector>,
}

impl std::fmt::Debug for MigrationHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationHandler").finish_non_exhaustive()
    }
}

impl MigrationHandler {
    /// Migration jobs whose connections `connector` opens.
    pub fn new(connector: Arc<dyn Connector>) -> MigrationHandler {
        MigrationHandler { connector }
    }
}

#[async_trait]
impl Handler for MigrationHandler {
    fn kind(&self) -> &str {
        KIND
    }

    async fn run(&self, ctx: &mut JobContext) -> Result<()> {
        let spec: MigrationJob = serde_json::from_value(ctx.job().params.clone())
            .map_err(|e| Error::invalid(format!("migration job parameters: {e}")))?;
        spec.validate()?;
        let conn = self.connector.open(&spec.db).await?;
        let r = run(ctx, &spec, &conn).await;
        let _ = conn.close().await;
        r
    }
}

async fn run(ctx: &mut JobContext, spec: &MigrationJob, conn: &ConnectionRef) -> Result<()> {
    let engine = conn.engine();
    let dialect = conn.dialect().ok_or_else(|| {
        Error::NotSupported(format!("{} is not SQL: a migration job runs an SQL script", engine.name()))
    })?;
    let statements = spec.statements(Flavor::of(engine))?;
    let ddl = statements.iter().enumerate().find(|(_, st)| commits_implicitly(st));
    if let (Engine::MySql, Some((i, st))) = (engine, ddl) {
        return Err(Error::NotSupported(format!(
            "statement {} of `{}` ({}) commits implicitly on MySQL/MariaDB, so the script cannot run \
             in one transaction there; run it with `qore query` or split the DDL out",
            i + 1,
            spec.name,
            head(st)
        )));
    }
    let total = statements.len() as u64;
    let progress = crate::batch::progress_table(conn, dialect.as_ref()).await?;
    let key = dialect.quote_string(&spec.key)?;
    if let Some(rows) = committed(conn, &progress, &key).await? {
        ctx.log(format!(
            "`{}` was committed by an earlier start ({rows} rows): not run again",
            spec.name
        ))
        .await?;
        return finish(ctx, total, rows).await;
    }
    if ctx.job().attempts > 1 {
        ctx.log(format!("starting `{}` again from its first statement (the last start rolled back)", spec.name))
            .await?;
    }
    ctx.progress(0, Some(total)).await?;
    let tx = conn.begin().await?;
    // The mark goes in first: a start that overlaps an older one still in
    // its transaction (a worker paused past its lease) waits on the mark's
    // key, then finds it taken once the older one commits, and runs nothing.
    let mark = tx
        .execute(
            &format!(
                "INSERT INTO {progress} (job, last_key, rows_done, batches) VALUES ({key}, {}, 0, {total})",
                dialect.quote_string("\"migration\"")?
            ),
            &[],
        )
        .await;
    match mark {
        Err(e) if e.kind() == ErrorKind::UniqueViolation => {
            drop(tx);
            let rows = committed(conn, &progress, &key).await?.unwrap_or(0);
            ctx.log(format!(
                "`{}` was committed by an overlapping earlier start ({rows} rows): not run again",
                spec.name
            ))
            .await?;
            return finish(ctx, total, rows).await;
        }
        r => r?,
    };
    let mut rows = 0u64;
    for (i, st) in statements.iter().enumerate() {
        if ctx.should_stop() {
            // Dropping the transaction rolls it back: nothing is left.
            return Err(Error::Cancelled);
        }
        let done = tx.execute(st, &[]).await.map_err(|e| {
            e.context(format!("statement {} of {} in `{}` ({}), rolled back", i + 1, total, spec.name, head(st)))
        })?;
        rows += done.rows_affected;
    }
    tx.execute(&format!("UPDATE {progress} SET rows_done = {rows} WHERE job = {key}"), &[])
        .await?;
    tx.commit().await?;
    ctx.log(format!("committed `{}`: {total} statements, {rows} rows", spec.name)).await?;
    finish(ctx, total, rows).await
}

async fn finish(ctx: &mut JobContext, total: u64, rows: u64) -> Result<()> {
    let cp = serde_json::json!({ "committed": true, "statements": total, "rows": rows });
    ctx.checkpoint(&cp, total, Some(total)).await
}

/// The rows an earlier start committed, if one did.
async fn committed(conn: &ConnectionRef, progress: &str, key: &str) -> Result<Option<u64>> {
    Ok(crate::batch::progress_row(conn, progress, key).await?.map(|r| r.rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn job(script: &str) -> MigrationJob {
        MigrationJob { db: "x.db".into(), name: "m.sql".into(), script: script.into(), key: "ab12".into() }
    }

    #[test]
    fn transaction_control_and_empty_scripts_are_refused() {
        assert!(job("").validate().unwrap_err().to_string().contains("no statement"));
        assert!(job(" ; -- nothing\n;").validate().is_err());
        for bad in ["BEGIN; INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1); COMMIT", "start transaction", "rollback"] {
            let e = job(bad).validate().unwrap_err().to_string();
            assert!(e.contains("controls the transaction"), "{bad}: {e}");
        }
        job("INSERT INTO t VALUES (1); UPDATE t SET n = n + 1").validate().unwrap();
        // A compound body is not a transaction.
        job("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = 1; END").validate().unwrap();
        let mut k = job("SELECT 1");
        k.key = "not hex".into();
        assert!(k.validate().is_err());
        k.key = "ab".into();
        k.db = "postgres://u:secret@h/db".into();
        assert!(k.validate().unwrap_err().to_string().contains("password"));
    }

    #[test]
    fn ddl_commits_on_mysql() {
        for st in ["CREATE TABLE t(a int)", "alter table t add b int", "DROP VIEW v", "TRUNCATE t", "LOCK TABLES t WRITE"] {
            assert!(commits_implicitly(st), "{st}");
        }
        for st in ["INSERT INTO t VALUES (1)", "UPDATE t SET a = 1", "DELETE FROM t", "SELECT 1"] {
            assert!(!commits_implicitly(st), "{st}");
        }
    }

    proptest! {
        #[test]
        fn heads_are_short_and_never_split_a_char(s in "\\PC{0,200}") {
            let h = head(&s);
            prop_assert!(h.chars().count() <= 63);
        }
    }
}
