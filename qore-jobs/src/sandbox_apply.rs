//! Sandbox apply jobs: a sandbox's pending changes (or the undo of its
//! last apply) applied in the background, in one transaction, exactly once.
//!
//! The apply is the one `qore sandbox apply` runs (conflicts checked row by
//! row; any conflict rolls everything back and fails the job, naming the
//! changes). Its transaction first writes a row keyed by the job's random
//! key into the target's [`PROGRESS_TABLE`](crate::batch::PROGRESS_TABLE)
//! and, just before COMMIT, the changes applied and the values the database
//! generated for them. A transient error rolls back and the worker starts
//! the apply again after its backoff. A start that finds the row knows an
//! earlier one committed (a crash after COMMIT, before the sandbox file or
//! the store were updated): it applies nothing and records the apply in the
//! sandbox from the row, so the sandbox's undo script still knows every
//! generated key. MongoDB has no transaction: its apply checks every change
//! first and records each one written in the sandbox, so a second start
//! carries on after the last one.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use qore_core::{ConnectionRef, Error, ErrorKind, Result};
use qore_sandbox::{ApplyMark, ApplyReport, Captured, Sandbox};
use serde::{Deserialize, Serialize};

use crate::export::Connector;
use crate::worker::{Handler, JobContext};

/// The job kind.
pub const KIND: &str = "sandbox-apply";

/// The parameters of a sandbox apply job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxApplyJob {
    /// A profile name or a URL without a password.
    pub db: String,
    /// The sandbox's name.
    pub name: String,
    /// Its file (absolute).
    pub path: PathBuf,
    /// Apply the undo of its last apply instead.
    #[serde(default)]
    pub undo: bool,
    /// The job's key in the progress table: random, made at submit time.
    pub key: String,
}

impl SandboxApplyJob {
    /// A job with a fresh random key.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    pub fn new(db: String, name: String, path: PathBuf, undo: bool) -> Result<SandboxApplyJob> {
        let job = SandboxApplyJob { db, name, path, undo, key: crate::batch::random_key()? };
        job.validate()?;
        Ok(job)
    }

    /// The job for sandbox `name` of `target` (whose saved connection or
    /// URL is `db`), at the sandbox's usual place, checked to have
    /// something to apply (or undo).
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate) and [`check_sandbox`](Self::check_sandbox).
    pub fn for_target(
        db: String,
        target: &qore_drivers::profiles::Target,
        name: &str,
        undo: bool,
    ) -> Result<SandboxApplyJob> {
        let path = Sandbox::path_of(&target.scope(), name)?;
        let job = SandboxApplyJob::new(db, name.to_string(), path, undo)?;
        job.check_sandbox()?;
        Ok(job)
    }

    /// What to ask before submitting to a staging or prod profile of
    /// `target` (a worker has no terminal to ask on); `None` on dev.
    pub fn confirmation(&self, target: &qore_drivers::profiles::Target) -> Option<String> {
        let (profile, p) = target.profile.as_ref()?;
        (p.env != qore_core::Environment::Dev).then(|| {
            format!(
                "applying sandbox `{}`{} to {profile} ({}) in the background",
                self.name,
                if self.undo { " (undo)" } else { "" },
                p.env
            )
        })
    }

    /// Checks what can be checked without connecting: no password in the
    /// URL, an absolute sandbox file that exists and has something to apply.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming what is wrong; [`Error::Io`] when the
    /// sandbox file cannot be read.
    pub fn validate(&self) -> Result<()> {
        crate::export::refuse_password(&self.db)?;
        if self.key.is_empty() || self.key.len() > 64 || !self.key.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid("a sandbox apply job's key is 1 to 64 hex digits"));
        }
        if !self.path.is_absolute() {
            return Err(Error::invalid(format!(
                "the sandbox file {} must be an absolute path",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Checks that the sandbox has something to apply (or to undo), for a
    /// clear message at submit time rather than a failed job.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for nothing to apply or undo.
    pub fn check_sandbox(&self) -> Result<()> {
        let s = Sandbox::open(&self.path, &self.name, &self.db)?;
        if self.undo && s.applied().is_none() {
            return Err(Error::invalid(format!(
                "sandbox `{}` was never applied: there is nothing to undo",
                self.name
            )));
        }
        if !self.undo && s.changes().is_empty() {
            return Err(Error::invalid(format!("sandbox `{}` has no pending change", self.name)));
        }
        Ok(())
    }

    /// This job as a store's parameters.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    pub fn to_new_job(&self) -> Result<crate::NewJob> {
        self.validate()?;
        let params = serde_json::to_value(self)
            .map_err(|e| Error::Internal(format!("sandbox apply parameters: {e}")))?;
        Ok(crate::NewJob::new(KIND, params))
    }
}

/// What the transaction recorded: the changes applied and what they
/// captured.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    ids: Vec<u64>,
    captured: Vec<Captured>,
}

/// The handler for [`KIND`].
#[derive(Clone)]
pub struct SandboxApplyHandler {
    connector: Arc<dyn Connector>,
}

impl std::fmt::Debug for SandboxApplyHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxApplyHandler").finish_non_exhaustive()
    }
}

impl SandboxApplyHandler {
    /// Sandbox apply jobs whose connections `connector` opens.
    pub fn new(connector: Arc<dyn Connector>) -> SandboxApplyHandler {
        SandboxApplyHandler { connector }
    }
}

#[async_trait]
impl Handler for SandboxApplyHandler {
    fn kind(&self) -> &str {
        KIND
    }

    async fn run(&self, ctx: &mut JobContext) -> Result<()> {
        let spec: SandboxApplyJob = serde_json::from_value(ctx.job().params.clone())
            .map_err(|e| Error::invalid(format!("sandbox apply job parameters: {e}")))?;
        spec.validate()?;
        let conn = self.connector.open(&spec.db).await?;
        let r = run(ctx, &spec, &conn).await;
        let _ = conn.close().await;
        r
    }
}

async fn run(ctx: &mut JobContext, spec: &SandboxApplyJob, conn: &ConnectionRef) -> Result<()> {
    let mut sandbox = Sandbox::open(&spec.path, &spec.name, &spec.db)?;
    let what = if spec.undo { "the undo of sandbox" } else { "sandbox" };
    let Some(dialect) = conn.dialect() else {
        let report = qore_sandbox::ops::apply(conn.as_ref(), &mut sandbox, spec.undo).await?;
        return done(ctx, spec, &report).await;
    };
    let progress = crate::batch::progress_table(conn, dialect.as_ref()).await?;
    let key = dialect.quote_string(&spec.key)?;
    if let Some(record) = committed(conn, &progress, &key).await? {
        return adopt(ctx, spec, &mut sandbox, record).await;
    }
    if ctx.job().attempts > 1 {
        ctx.log(format!("applying {what} `{}` again (the last start rolled back)", spec.name)).await?;
    }
    let ids: Vec<u64> = if spec.undo {
        Vec::new()
    } else {
        sandbox.changes().iter().map(|c| c.id).collect()
    };
    ctx.progress(0, Some(ids.len() as u64)).await?;
    let (update_progress, update_key, d) = (progress.clone(), key.clone(), dialect.clone());
    let mark = ApplyMark {
        first: format!(
            "INSERT INTO {progress} (job, last_key, rows_done, batches) VALUES ({key}, {}, 0, {})",
            dialect.quote_string("{}")?,
            ids.len()
        ),
        last: Box::new(move |report: &ApplyReport| {
            let record = Record { ids: ids.clone(), captured: report.captured.clone() };
            let json = serde_json::to_string(&record).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(format!(
                "UPDATE {update_progress} SET last_key = {}, rows_done = {} WHERE job = {update_key}",
                d.quote_string(&json)?,
                report.rows
            ))
        }),
    };
    match qore_sandbox::ops::apply_marked(conn.as_ref(), &mut sandbox, spec.undo, Some(&mark)).await {
        Err(e) if e.kind() == ErrorKind::UniqueViolation => {
            // An earlier start still in its transaction held the key; it
            // has committed since (else the key would be free).
            match committed(conn, &progress, &key).await? {
                Some(record) => adopt(ctx, spec, &mut sandbox, record).await,
                None => Err(e),
            }
        }
        Err(e) => Err(e),
        Ok(report) => done(ctx, spec, &report).await,
    }
}

/// Ends the job after an apply: a conflict fails it (nothing was written).
async fn done(ctx: &mut JobContext, spec: &SandboxApplyJob, report: &ApplyReport) -> Result<()> {
    if !report.committed() {
        let list: Vec<String> = report
            .conflicts
            .iter()
            .map(|c| format!("#{} ({} of {})", c.change, c.kind.label(), c.table))
            .collect();
        return Err(Error::data(format!(
            "sandbox `{}`: {} change(s) conflict with the database as it is now: {}; nothing was \
             applied (qore sandbox apply shows each row three-way)",
            spec.name,
            list.len(),
            list.join(", ")
        )));
    }
    ctx.log(format!(
        "committed {}sandbox `{}`: {} statements, {} rows",
        if spec.undo { "the undo of " } else { "" },
        spec.name,
        report.statements,
        report.rows
    ))
    .await?;
    finish(ctx, report.rows).await
}

/// An earlier start committed: record its apply in the sandbox unless the
/// sandbox already has it.
async fn adopt(ctx: &mut JobContext, spec: &SandboxApplyJob, sandbox: &mut Sandbox, record: (Record, u64)) -> Result<()> {
    let (record, rows) = record;
    let pending: Vec<u64> = sandbox
        .changes()
        .iter()
        .map(|c| c.id)
        .filter(|id| record.ids.contains(id))
        .collect();
    if !spec.undo && !pending.is_empty() {
        sandbox.mark_applied_some(&pending, record.captured)?;
    }
    ctx.log(format!(
        "sandbox `{}` was applied by an earlier start ({rows} rows): not applied again",
        spec.name
    ))
    .await?;
    finish(ctx, rows).await
}

async fn finish(ctx: &mut JobContext, rows: u64) -> Result<()> {
    let cp = serde_json::json!({ "committed": true, "rows": rows });
    ctx.checkpoint(&cp, rows, Some(rows)).await
}

/// What an earlier start committed, if one did.
async fn committed(conn: &ConnectionRef, progress: &str, key: &str) -> Result<Option<(Record, u64)>> {
    let Some(row) = crate::batch::progress_row(conn, progress, key).await? else {
        return Ok(None);
    };
    let record: Record = serde_json::from_str(&row.last_key).map_err(|e| {
        Error::data(format!("{}: a damaged sandbox apply record: {e}", crate::batch::PROGRESS_TABLE))
    })?;
    Ok(Some((record, row.rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_relative_paths_and_bad_keys_are_refused() {
        let ok = SandboxApplyJob {
            db: "pg".into(),
            name: "default".into(),
            path: PathBuf::from("/tmp/s.json"),
            undo: false,
            key: "0af3".into(),
        };
        ok.validate().unwrap();
        let mut j = ok.clone();
        j.db = "postgres://u:secret@h/db".into();
        assert!(j.validate().unwrap_err().to_string().contains("saved connection"));
        let mut j = ok.clone();
        j.path = PathBuf::from("s.json");
        assert!(j.validate().unwrap_err().to_string().contains("absolute"));
        let mut j = ok;
        j.key = "zz".into();
        assert!(j.validate().is_err());
    }
}
