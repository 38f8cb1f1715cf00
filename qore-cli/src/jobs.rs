//! `qore job` and `qore worker`: submit, list, follow and run background
//! jobs (`qore_jobs` does the work).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use qore_core::ConnectionRef;
use qore_jobs::batch::{Action, BatchJob};
use qore_jobs::export::{Connector, ExportHandler, ExportJob};
use qore_jobs::migration::{MigrationHandler, MigrationJob};
use qore_jobs::sandbox_apply::{SandboxApplyHandler, SandboxApplyJob};
use qore_jobs::{Filter, JobId, State, StoreRef, Worker};

use crate::connections::{self, SafetyFlags};
use crate::format::Writer;
use crate::opts::ExportArgs;
use crate::opts_jobs::{BatchArgs, JobAction, JobOptions, StoreArg, SubmitWhat, WorkerArgs};

/// Opens jobs' connections the way every command does (profiles, SSH
/// flags), never asking on a terminal for a worker.
#[derive(Debug)]
struct CliConnector;

#[async_trait::async_trait]
impl Connector for CliConnector {
    async fn open(&self, db: &str) -> qore_core::Result<ConnectionRef> {
        let flags = SafetyFlags { yes: false, allow_destructive: false };
        connections::open(Some(db), flags)
            .await
            .map(|(c, _)| c)
            .map_err(|e| match e.downcast::<qore_core::Error>() {
                Ok(e) => e,
                Err(e) => qore_core::Error::connect(crate::error_message(&e), e),
            })
    }
}

async fn store(arg: &StoreArg) -> Result<StoreRef> {
    qore_jobs::open_store(arg.store.as_deref())
        .await
        .context("cannot open the job store")
}

fn id(s: &str) -> Result<JobId> {
    Ok(s.parse::<JobId>()?)
}

/// A stop signal for workers: the first Ctrl-C / SIGTERM stops them at
/// their next checkpoint; a second exits at once.
fn graceful_stop() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    #[allow(clippy::disallowed_methods)] // lives as long as the process
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
            return;
        };
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        eprintln!("qore: stopping: running jobs stop at their next checkpoint (again to exit now)");
        let _ = tx.send(true);
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        std::process::exit(130);
    });
    rx
}

fn worker(store: StoreRef) -> Worker {
    Worker::new(store)
        .handler(Arc::new(ExportHandler::new(Arc::new(CliConnector))))
        .handler(Arc::new(qore_jobs::batch::BatchHandler::new(Arc::new(CliConnector))))
        .handler(Arc::new(MigrationHandler::new(Arc::new(CliConnector))))
        .handler(Arc::new(SandboxApplyHandler::new(Arc::new(CliConnector))))
}

/// A job's `db`: a saved name or URL as given; a file path made absolute
/// (a worker may run elsewhere).
fn job_db(db: Option<&str>) -> Result<String> {
    let Some(db) = db.filter(|d| !d.is_empty()) else {
        bail!("a background job needs --db (a saved connection, a URL or a file)");
    };
    for prefix in ["sqlite:", "duckdb:"] {
        if let Some(path) = db.strip_prefix(prefix) {
            if path.is_empty() || path.starts_with(":memory:") || path.starts_with("//") {
                bail!("a background job cannot read an in-memory database");
            }
            let (p, q) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
            let abs = std::path::absolute(p).with_context(|| format!("bad path `{p}`"))?;
            return Ok(format!("{prefix}{}{}", abs.display(), q.map(|q| format!("?{q}")).unwrap_or_default()));
        }
    }
    if !db.contains("://") && Path::new(db).exists() {
        return Ok(std::path::absolute(db)?.display().to_string());
    }
    Ok(crate::connections::with_ssh(db))
}

/// The job an export's options describe.
pub(crate) fn export_job(a: &ExportArgs, chunk_rows: Option<u64>) -> Result<ExportJob> {
    if a.output == "-" {
        bail!("a background export cannot write to standard output: pass -o FILE");
    }
    let format = match &a.format {
        Some(f) => qore_export::Format::parse(f)?,
        None => qore_export::Format::from_path(Path::new(&a.output)).with_context(|| {
            format!("cannot tell the format from `{}`; pass --format (csv, parquet, ...)", a.output)
        })?,
    };
    let job = ExportJob {
        db: job_db(a.db.db.as_deref())?,
        table: a.table.clone(),
        sql: a.sql.clone(),
        output: std::path::absolute(&a.output)?,
        format: format.name().to_string(),
        compression: a.compression.clone(),
        chunk_rows: chunk_rows.unwrap_or_else(|| ExportJob::default_chunk_rows(format)),
        sql_table: a.sql_table.clone(),
        create_table: a.create_table,
        rows_per_insert: Some(a.rows_per_insert),
    };
    job.validate()?;
    Ok(job)
}

/// Submits an export; with `run`, runs it here. Prints the id on stdout.
pub(crate) async fn submit_export(a: &ExportArgs, o: &JobOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let new = export_job(a, o.chunk_rows)?.to_new_job()?;
    submit(new, o, a.quiet, out, err).await
}

/// Submits a batch update or delete.
async fn submit_batch(a: &BatchArgs, action: Action, o: &JobOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let job = BatchJob::new(
        job_db(a.db.db.as_deref())?,
        a.table.clone(),
        action,
        a.filter.clone(),
        o.chunk_rows.unwrap_or(10_000),
    )?;
    submit(job.to_new_job()?, o, a.quiet, out, err).await
}

/// Submits a migration script (read now: the job keeps its text).
async fn submit_migration(db: Option<&str>, file: &str, quiet: bool, o: &JobOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let (name, script) = if file == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("cannot read the script from standard input")?;
        ("stdin".to_string(), text)
    } else {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read the script {file}"))?;
        let name = Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| file.to_string());
        (name, text)
    };
    let job = MigrationJob::new(job_db(db)?, name, script)?;
    submit(job.to_new_job()?, o, quiet, out, err).await
}

/// Submits a sandbox apply, after a confirmation on a staging or prod
/// profile (the worker has no terminal to ask on).
#[allow(clippy::too_many_arguments)]
async fn submit_sandbox_apply(
    db: Option<&str>,
    name: Option<&str>,
    undo: bool,
    yes: bool,
    quiet: bool,
    o: &JobOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let target = connections::target_of(db)?;
    let job = SandboxApplyJob::for_target(job_db(db)?, &target, name.unwrap_or("default"), undo)?;
    if let Some(message) = job.confirmation(&target)
        && !connections::ask(yes, &message, "submit?")
    {
        writeln!(err, "qore: not submitted")?;
        return Ok(ExitCode::from(1));
    }
    submit(job.to_new_job()?, o, quiet, out, err).await
}

async fn submit(mut new: qore_jobs::NewJob, o: &JobOptions, quiet: bool, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let store = store(&o.store).await?;
    new.max_attempts = o.max_attempts.max(1);
    let id = store.submit(new).await?;
    writeln!(out, "{id}")?;
    out.flush()?;
    if !o.run {
        if !quiet {
            writeln!(err, "qore: job {id} queued in {} (qore worker runs it; qore job watch {id} follows it)", store.describe())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !(o.lease.is_finite() && o.lease >= 0.3) {
        bail!("--lease must be at least 0.3 seconds");
    }
    let w = worker(store.clone()).lease(Duration::from_secs_f64(o.lease));
    let stop = graceful_stop();
    #[allow(clippy::disallowed_methods)] // aborted below
    let follow = (!quiet).then(|| tokio::spawn(watch_bar(store.clone(), id)));
    let job = w.run_one(id, stop).await;
    if let Some(f) = follow {
        f.abort();
    }
    report(&job?, err)
}

fn report(job: &qore_jobs::Job, err: &mut dyn Write) -> Result<ExitCode> {
    match job.state {
        State::Succeeded => {
            let unit = if job.kind == qore_jobs::migration::KIND { "statements" } else { "rows" };
            writeln!(err, "qore: job {} succeeded: {} {unit}", job.id, job.done)?;
            Ok(ExitCode::SUCCESS)
        }
        State::Queued => {
            let why = job.error.as_ref().map(|e| format!(" after: {}", e.message)).unwrap_or_default();
            writeln!(err, "qore: job {} stopped at its checkpoint ({} rows) and is queued again{why}; qore worker or qore job watch resumes it", job.id, job.done)?;
            Ok(ExitCode::from(3))
        }
        s => {
            let why = job.error.as_ref().map(|e| format!(": {} [{}]", e.message, e.kind)).unwrap_or_default();
            writeln!(err, "qore: job {} {s}{why}", job.id)?;
            Ok(ExitCode::from(2))
        }
    }
}

/// A progress bar over a job until it ends (a terminal only).
async fn watch_bar(store: StoreRef, id: JobId) {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} job {prefix} {msg} [{elapsed_precise}] {human_pos}/{human_len} {per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(id.to_string());
    loop {
        if let Ok(j) = store.get(id).await {
            if let Some(t) = j.total {
                bar.set_length(t.max(j.done));
            }
            bar.set_position(j.done);
            bar.set_message(j.state.name());
            if j.state.is_final() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    bar.finish_and_clear();
}

/// `qore worker`.
pub(crate) async fn run_worker(a: WorkerArgs, err: &mut dyn Write) -> Result<ExitCode> {
    if !(a.lease.is_finite() && a.lease >= 0.3) {
        bail!("--lease must be at least 0.3 seconds");
    }
    let store = store(&a.store).await?;
    let w = worker(store.clone())
        .concurrency(a.concurrency)
        .lease(Duration::from_secs_f64(a.lease));
    writeln!(err, "qore: worker {} on {} ({} at a time)", w.name(), store.describe(), a.concurrency.max(1))?;
    let ran = if a.until_idle {
        w.run_until_idle().await?
    } else {
        w.run(graceful_stop()).await?
    };
    writeln!(
        err,
        "qore: worker stopped: {} succeeded, {} failed, {} retried, {} cancelled, {} released, {} lost",
        ran.succeeded, ran.failed, ran.retried, ran.cancelled, ran.released, ran.lost
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `qore job ...`.
pub(crate) async fn run(action: JobAction, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    match action {
        JobAction::Submit { what: SubmitWhat::Export { args, job } } => submit_export(&args, &job, out, err).await,
        JobAction::Submit { what: SubmitWhat::Update { args, set, job } } => {
            submit_batch(&args, Action::Update { set }, &job, out, err).await
        }
        JobAction::Submit { what: SubmitWhat::Delete { args, job } } => submit_batch(&args, Action::Delete, &job, out, err).await,
        JobAction::Submit { what: SubmitWhat::Migrate { db, file, quiet, job } } => {
            submit_migration(db.db.as_deref(), &file, quiet, &job, out, err).await
        }
        JobAction::Submit { what: SubmitWhat::SandboxApply { db, name, undo, yes, quiet, job } } => {
            submit_sandbox_apply(db.db.as_deref(), name.as_deref(), undo, yes, quiet, &job, out, err).await
        }
        JobAction::Ls { store: s, state, limit, format } => {
            let store = store(&s).await?;
            let states = state.iter().map(|s| State::parse(s)).collect::<qore_core::Result<Vec<_>>>()?;
            let jobs = store.list(&Filter { states, kind: None, limit: Some(limit) }).await?;
            let batch = qore_jobs::jobs_batch(&jobs)?;
            let mut w = Writer::with_types(format, out, batch.schema(), 0, false);
            w.write(&batch)?;
            w.finish()?;
            if jobs.is_empty() && format == crate::opts::Format::Table {
                writeln!(err, "qore: no jobs in {}", store.describe())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        JobAction::Show { id: i, store: s } => {
            let job = store(&s).await?.get(id(&i)?).await?;
            let text = serde_json::to_string_pretty(&job)?;
            writeln!(out, "{text}")?;
            Ok(ExitCode::SUCCESS)
        }
        JobAction::Logs { id: i, store: s } => {
            for l in store(&s).await?.logs(id(&i)?).await? {
                writeln!(out, "{} [{}] {}", qore_core::calendar::rfc3339_utc(l.at / 1000), l.token, l.line)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        JobAction::Cancel { id: i, store: s } => {
            let id = id(&i)?;
            match store(&s).await?.cancel(id).await? {
                State::Cancelled => writeln!(err, "qore: job {id} cancelled")?,
                _ => writeln!(err, "qore: job {id} is running: it stops at its next checkpoint")?,
            }
            Ok(ExitCode::SUCCESS)
        }
        JobAction::Retry { id: i, store: s } => {
            let id = id(&i)?;
            store(&s).await?.retry(id).await?;
            writeln!(err, "qore: job {id} queued again; it resumes from its last checkpoint")?;
            Ok(ExitCode::SUCCESS)
        }
        JobAction::Rm { id: i, store: s } => {
            let id = id(&i)?;
            let job = store(&s).await?.remove(id).await?;
            qore_jobs::export::remove_partial(&job);
            writeln!(err, "qore: job {id} removed")?;
            Ok(ExitCode::SUCCESS)
        }
        JobAction::Watch { id: i, store: s } => {
            let id = id(&i)?;
            let store = store(&s).await?;
            store.get(id).await?;
            watch_bar(store.clone(), id).await;
            loop {
                let job = store.get(id).await?;
                if job.state.is_final() {
                    return report(&job, err);
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
}
