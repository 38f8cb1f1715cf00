//! The export job: `qore export` in the background, resumable.
//!
//! A table of an SQL engine with a primary key (or SQLite's and DuckDB's
//! `rowid`) is read in pages in key order (`WHERE (k) > (last) ORDER BY k
//! LIMIT n`). After each page the output is synced and a checkpoint saved:
//! the last key, rows and bytes written, and the SHA-256 of the bytes so
//! far. A resumed start truncates the partial file to the checkpointed
//! length, checks its hash and carries on after the last key with an
//! encoder told what is already there, so the finished file is byte for
//! byte the one an uninterrupted run writes. Every format but Parquet
//! resumes this way ([`qore_export::PagedSink`]: CSV, TSV, JSON, NDJSON,
//! SQL, HTML, Arrow IPC; an Arrow file is written as a stream and turned
//! into the file format at the end); Parquet writes each page as a part
//! file and joins the parts' row groups at the end (see `export_parquet`).
//! Statements and tables without a key run whole on every start (into a
//! temporary file renamed at the end, so no start leaves a torn file).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use qore_core::read::Source;
use qore_core::{ConnectionRef, Error, Result, TableRef};
use qore_export::{Compression, ExportOptions, Format, PageState, PagedSink};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keyset::{KeysetPlan, keyset_plan};
use crate::worker::{Handler, JobContext};

/// The kind name of export jobs.
pub const KIND: &str = "export";

/// Opens the connection a job names (a profile or a URL). The CLI passes
/// one that knows its SSH settings; [`ProfileConnector`] is the plain one.
#[async_trait]
pub trait Connector: Send + Sync {
    /// One session on `db`.
    async fn open(&self, db: &str) -> Result<ConnectionRef>;
}

/// Opens saved profiles and URLs with `qore_drivers::profiles`, never
/// asking for a password (a job runs without a terminal).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfileConnector;

#[async_trait]
impl Connector for ProfileConnector {
    async fn open(&self, db: &str) -> Result<ConnectionRef> {
        use qore_drivers::profiles::{self, Profiles};
        let store = if profiles::valid_name(db) {
            Profiles::load()?
        } else {
            Profiles::empty()
        };
        let mut no_prompt = |_: &str, _: &qore_core::ConnectionSpec| Ok(None);
        let target = profiles::resolve(Some(db), &store, &mut no_prompt)?;
        target.open().await?.session().await
    }
}

/// What to export: the parameters of an export job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportJob {
    /// A profile name or a URL without a password.
    pub db: String,
    /// A whole table (`name` or `schema.name`).
    #[serde(default)]
    pub table: Option<String>,
    /// Or one statement.
    #[serde(default)]
    pub sql: Option<String>,
    /// The file to write (absolute).
    pub output: PathBuf,
    /// The format's name (`csv`, `ndjson`, `parquet`, ...).
    pub format: String,
    /// Parquet compression.
    #[serde(default = "default_compression")]
    pub compression: String,
    /// Rows per page, and so between checkpoints.
    #[serde(default = "default_chunk")]
    pub chunk_rows: u64,
    /// SQL format: the table the INSERTs target.
    #[serde(default)]
    pub sql_table: Option<String>,
    /// SQL format: a CREATE TABLE first.
    #[serde(default)]
    pub create_table: bool,
    /// SQL format: rows per INSERT.
    #[serde(default)]
    pub rows_per_insert: Option<usize>,
}

fn default_compression() -> String {
    "zstd".into()
}
fn default_chunk() -> u64 {
    50_000
}

impl ExportJob {
    /// Rows per page when the user names none: 50,000 for text formats;
    /// for Parquet, where each page becomes one row group, the row group
    /// size of `qore export` (262,144), since smaller groups repeat each
    /// column's dictionary (a 1M-row table: 1.30× the file of `qore
    /// export` at 262,144 rows per page, 1.78× at 50,000).
    pub fn default_chunk_rows(format: Format) -> u64 {
        match format {
            Format::Parquet => 256 * 1024,
            _ => default_chunk(),
        }
    }

    /// Checks what can be checked without connecting.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a URL with a password (a job's parameters
    /// are stored: use a profile), neither or both of table and SQL, an
    /// unknown format, a relative output path, standard output.
    pub fn validate(&self) -> Result<Format> {
        refuse_password(&self.db)?;
        match (&self.table, &self.sql) {
            (Some(_), Some(_)) => return Err(Error::invalid("give a table or SQL to export, not both")),
            (None, None) => return Err(Error::invalid("give the SQL to export, or a table")),
            _ => {}
        }
        if self.output.as_os_str() == "-" {
            return Err(Error::invalid("a background export writes a file, not standard output"));
        }
        if !self.output.is_absolute() {
            return Err(Error::invalid(format!(
                "the output path {} must be absolute (a worker may run elsewhere)",
                self.output.display()
            )));
        }
        if self.chunk_rows == 0 {
            return Err(Error::invalid("chunk_rows must be at least 1"));
        }
        Compression::parse(&self.compression)?;
        Format::parse(&self.format)
    }

    /// This job as a store's parameters.
    ///
    /// # Error handling
    ///
    /// As [`validate`](Self::validate).
    pub fn to_new_job(&self) -> Result<crate::NewJob> {
        self.validate()?;
        let params = serde_json::to_value(self)
            .map_err(|e| Error::Internal(format!("export parameters: {e}")))?;
        Ok(crate::NewJob::new(KIND, params))
    }
}

/// Refuses a URL with a password: a job's parameters are stored.
pub(crate) fn refuse_password(db: &str) -> Result<()> {
    if db.contains("://") && qore_core::ConnectionSpec::parse(db)?.password.is_some() {
        return Err(Error::invalid(
            "a job's parameters are stored: name a saved connection (qore conn add) \
             instead of a URL with a password",
        ));
    }
    Ok(())
}

/// Where a resumable export is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// The partial file.
    part: PathBuf,
    /// The last key written, as SQL literals; empty before the first page.
    key: Vec<String>,
    rows: u64,
    bytes: u64,
    /// SHA-256 of the first `bytes` bytes, hex.
    sha256: String,
    /// Everything is written and the part file holds the whole output.
    complete: bool,
    /// Bytes the encoder kept back after the last page (HTML's base64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    carry: Vec<u8>,
}

/// The handler for [`KIND`].
#[derive(Clone)]
pub struct ExportHandler {
    connector: Arc<dyn Connector>,
}

impl std::fmt::Debug for ExportHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportHandler").finish_non_exhaustive()
    }
}

impl ExportHandler {
    /// Export jobs whose connections `connector` opens.
    pub fn new(connector: Arc<dyn Connector>) -> ExportHandler {
        ExportHandler { connector }
    }
}

#[async_trait]
impl Handler for ExportHandler {
    fn kind(&self) -> &str {
        KIND
    }

    async fn run(&self, ctx: &mut JobContext) -> Result<()> {
        let spec: ExportJob = serde_json::from_value(ctx.job().params.clone())
            .map_err(|e| Error::invalid(format!("export job parameters: {e}")))?;
        let format = spec.validate()?;
        let conn = self.connector.open(&spec.db).await?;
        let plan = match &spec.table {
            Some(t) => keyset_plan(&conn, &TableRef::parse(t)?).await?,
            _ => None,
        };
        let result = match plan {
            Some(plan) if format == Format::Parquet => crate::export_parquet::resumable(ctx, &spec, &conn, plan).await,
            Some(plan) => match options(ctx.job(), &spec, format, &conn) {
                Ok(options) => resumable(ctx, &spec, &options, &conn, plan).await,
                Err(e) => Err(e),
            },
            None => whole(ctx, &spec, format, &conn).await,
        };
        let _ = conn.close().await;
        result
    }
}

/// The export options of a job: those of `qore export` for its format,
/// with the SQL target and dialect, and an HTML page's facts (its time is
/// the job's submission, so that every start writes the same head).
fn options(job: &crate::Job, spec: &ExportJob, format: Format, conn: &ConnectionRef) -> Result<ExportOptions> {
    let mut options = ExportOptions::new(format);
    options.compression = Compression::parse(&spec.compression)?;
    let table = spec.table.as_deref().map(TableRef::parse).transpose()?;
    if format == Format::Sql {
        let target = match (&spec.sql_table, &table) {
            (Some(t), _) => TableRef::parse(t)?,
            (None, Some(t)) => t.clone(),
            (None, None) => {
                return Err(Error::invalid(
                    "a SQL export of a query needs a target table (sql_table)",
                ));
            }
        };
        let dialect = conn.dialect().ok_or_else(|| {
            Error::invalid(format!("{} speaks no SQL: export it as csv, json, parquet, ...", conn.engine()))
        })?;
        options.sql = qore_export::sql_options(target, dialect);
        options.sql.create_table = spec.create_table;
        if let Some(n) = spec.rows_per_insert {
            options.sql.rows_per_insert = n;
        }
    }
    options.html.title = table.as_ref().map(|t| t.to_string());
    options.html.query = spec.sql.clone().or_else(|| table.as_ref().map(|t| format!("table {t}")));
    options.html.source = Some(spec.db.clone());
    options.html.exported_at = Some(qore_core::calendar::rfc3339_utc(job.created.div_euclid(1000)));
    Ok(options)
}

/// The output file, hashed as it is written.
struct Hashed {
    file: File,
    hasher: Sha256,
    len: u64,
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

pub(crate) fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes what a removed export job left: its partial files, if any.
pub fn remove_partial(job: &crate::Job) {
    if job.kind != KIND {
        return;
    }
    let Ok(spec) = serde_json::from_value::<ExportJob>(job.params.clone()) else { return };
    remove_parts(&spec.output, job.id);
}

/// Removes every partial file of job `id` writing `output` (once the output
/// is in place, whatever an earlier start left is of no use).
pub(crate) fn remove_parts(output: &Path, id: crate::JobId) {
    let (Some(dir), prefix) = (output.parent(), part_prefix(output, id)) else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".part") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub(crate) fn part_prefix(output: &Path, job: crate::JobId) -> String {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    format!(".{name}.qore-job-{job}-")
}

/// The partial file of one start: named after its fencing token, so that a
/// paused worker that wakes up after its job was taken over writes only
/// into its own file, never into its successor's.
pub(crate) fn part_path(output: &Path, job: crate::JobId, token: i64) -> PathBuf {
    output.with_file_name(format!("{}{token}.part", part_prefix(output, job)))
}

/// Takes over the partial file of an earlier start: its checkpointed
/// prefix is copied into this start's own file (the earlier one may still
/// be open in a paused process), which is then checked like any resume.
fn adopt(cp: &Checkpoint, part: &Path) -> Result<Option<Hashed>> {
    if cp.part == part {
        return reopen(cp);
    }
    let mut from = match File::open(&cp.part) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("cannot resume from {}", cp.part.display()), e)),
    };
    let mut to = File::create(part).map_err(|e| Error::io(format!("cannot create {}", part.display()), e))?;
    std::io::copy(&mut (&mut from).take(cp.bytes), &mut to)
        .map_err(|e| Error::io(format!("cannot copy {} to {}", cp.part.display(), part.display()), e))?;
    drop(to);
    let _ = std::fs::remove_file(&cp.part);
    reopen(&Checkpoint { part: part.to_path_buf(), ..cp.clone() })
}

/// Opens the partial file where the checkpoint left it: truncated to the
/// checkpointed length, its hash checked. `None` when it cannot be used
/// (missing, shorter, different): the export starts over.
fn reopen(cp: &Checkpoint) -> Result<Option<Hashed>> {
    let io = |e| Error::io(format!("cannot resume {}", cp.part.display()), e);
    let mut file = match OpenOptions::new().read(true).write(true).open(&cp.part) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if file.metadata().map_err(io)?.len() < cp.bytes {
        return Ok(None);
    }
    file.set_len(cp.bytes).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = cp.bytes;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    while left > 0 {
        let n = file.read(&mut buf[..left.min(1 << 20) as usize]).map_err(io)?;
        if n == 0 {
            return Ok(None);
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    if hex(&hasher.clone().finalize()) != cp.sha256 {
        return Ok(None);
    }
    file.seek(SeekFrom::End(0)).map_err(io)?;
    Ok(Some(Hashed { file, hasher, len: cp.bytes }))
}

async fn resumable(
    ctx: &mut JobContext,
    spec: &ExportJob,
    options: &ExportOptions,
    conn: &ConnectionRef,
    plan: KeysetPlan,
) -> Result<()> {
    let part = part_path(&spec.output, ctx.job().id, ctx.lease().token);
    let io = |what: &str, e| Error::io(format!("{what} {}", part.display()), e);
    let saved: Option<Checkpoint> = ctx
        .job()
        .checkpoint
        .clone()
        .and_then(|c| serde_json::from_value(c).ok());
    let fresh = || Checkpoint {
        part: part.clone(),
        key: Vec::new(),
        rows: 0,
        bytes: 0,
        sha256: hex(&Sha256::new().finalize()),
        complete: false,
        carry: Vec::new(),
    };
    let (mut cp, resumed): (Checkpoint, Option<Hashed>) = match saved {
        // Everything was written before the last start ended: only the
        // rename may be missing.
        Some(cp) if cp.complete && cp.part.exists() => {
            ctx.log(format!("resuming after {} rows: all written, only the rename was left", cp.rows)).await?;
            std::fs::rename(&cp.part, &spec.output).map_err(|e| {
                Error::io(format!("cannot rename {} to {}", cp.part.display(), spec.output.display()), e)
            })?;
            remove_parts(&spec.output, ctx.job().id);
            return Ok(());
        }
        // A kill between the rename and the store's "succeeded": the file
        // is there; its length tells it is ours and whole.
        Some(cp) if cp.complete && std::fs::metadata(&spec.output).is_ok_and(|m| m.len() == cp.bytes) => {
            ctx.log(format!("resuming after {} rows: the file was already complete", cp.rows)).await?;
            remove_parts(&spec.output, ctx.job().id);
            return Ok(());
        }
        Some(cp) if !cp.complete => match adopt(&cp, &part)? {
            Some(out) => {
                ctx.log(format!("resuming after {} rows ({} bytes checked)", cp.rows, cp.bytes)).await?;
                (Checkpoint { part: part.clone(), ..cp }, Some(out))
            }
            None => {
                ctx.log("the partial file is missing or changed: starting over").await?;
                (fresh(), None)
            }
        },
        Some(_) => {
            ctx.log("the finished file is missing or changed: starting over").await?;
            (fresh(), None)
        }
        None => (fresh(), None),
    };
    // A resumed start carries on after the checkpointed page; a fresh one
    // writes the head (the first page's schema is needed for it).
    let resume = resumed.is_some().then(|| PageState { rows: cp.rows, carry: cp.carry.clone() });
    let mut out = match resumed {
        Some(o) => o,
        None => Hashed {
            file: File::create(&part).map_err(|e| io("cannot create", e))?,
            hasher: Sha256::new(),
            len: 0,
        },
    };
    let mut sink: Option<PagedSink> = None;
    loop {
        let sql = plan.page(&cp.key, spec.chunk_rows);
        let mut stream = conn.query(&sql, &[]).await?;
        let page_schema = stream.schema();
        let key_idx = plan.key_indices(&page_schema)?;
        if sink.is_none() {
            let schema = plan.visible_schema(&page_schema)?;
            sink = Some(PagedSink::new(&schema, options, resume.as_ref(), &mut out)?);
        }
        let Some(s) = sink.as_mut() else { return Err(Error::Internal("no sink".into())) };
        let mut page_rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let (key, batch) = plan.split(batch, &key_idx)?;
            s.write(&batch, &mut out)?;
            page_rows += batch.num_rows() as u64;
            cp.key = key;
        }
        let state = s.end_page(&mut out)?;
        cp.rows = state.rows;
        cp.carry = state.carry;
        let last = page_rows < spec.chunk_rows;
        if last {
            s.finish(&mut out)?;
            cp.carry.clear();
        }
        out.file.sync_data().map_err(|e| io("cannot sync", e))?;
        cp.bytes = out.len;
        cp.sha256 = hex(&out.hasher.clone().finalize());
        if last {
            break;
        }
        save(ctx, &cp, plan.total).await?;
    }
    drop(out);
    if options.format == Format::ArrowFile {
        // The pages were an Arrow stream; the file format's footer lists
        // every batch, so it is written now, in one go from the stream.
        let file = part.with_extension("file.part");
        let mut to = Hashed {
            file: File::create(&file).map_err(|e| io("cannot create", e))?,
            hasher: Sha256::new(),
            len: 0,
        };
        let from = File::open(&part).map_err(|e| io("cannot read", e))?;
        qore_export::ipc_stream_to_file(from, &mut to)?;
        to.file.sync_data().map_err(|e| io("cannot sync", e))?;
        cp.part = file;
        cp.bytes = to.len;
        cp.sha256 = hex(&to.hasher.clone().finalize());
    }
    cp.complete = true;
    save(ctx, &cp, plan.total).await?;
    std::fs::rename(&cp.part, &spec.output).map_err(|e| {
        Error::io(format!("cannot rename {} to {}", cp.part.display(), spec.output.display()), e)
    })?;
    // The Arrow stream the file was made from, and anything an earlier
    // start left.
    remove_parts(&spec.output, ctx.job().id);
    ctx.log(format!("wrote {} rows ({} bytes) to {}", cp.rows, cp.bytes, spec.output.display()))
        .await?;
    Ok(())
}

async fn save(ctx: &mut JobContext, cp: &Checkpoint, total: Option<u64>) -> Result<()> {
    let value = serde_json::to_value(cp).map_err(|e| Error::Internal(e.to_string()))?;
    ctx.checkpoint(&value, cp.rows, total.map(|t| t.max(cp.rows))).await
}

/// Exports in one go (a statement, a format that cannot be appended to, a
/// table without a key): progress every second, nothing left behind when
/// it stops.
async fn whole(ctx: &mut JobContext, spec: &ExportJob, format: Format, conn: &ConnectionRef) -> Result<()> {
    let source = match (&spec.sql, &spec.table) {
        (Some(s), _) => Source::Statement(s.clone()),
        (None, Some(t)) => Source::Table(TableRef::parse(t)?),
        (None, None) => return Err(Error::invalid("give the SQL to export, or a table")),
    };
    let options = options(ctx.job(), spec, format, conn)?;
    if spec.table.is_some() {
        ctx.log(format!(
            "{} has no key to page by: the {} export runs whole on every start",
            spec.table.as_deref().unwrap_or_default(),
            format.name()
        ))
        .await?;
    }
    let opened = qore_core::read::open(&**conn, &source, true).await?;
    let total = opened.expected_rows;
    let rows = Arc::new(AtomicU64::new(0));
    let seen = rows.clone();
    let fut = qore_export::export_to_path(opened.stream, &spec.output, &options, move |p| {
        seen.store(p.rows, Ordering::Relaxed)
    });
    tokio::pin!(fut);
    let summary = loop {
        tokio::select! {
            r = &mut fut => break r?,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                ctx.progress(rows.load(Ordering::Relaxed), total).await?;
            }
        }
    };
    ctx.progress(summary.rows, Some(summary.rows)).await?;
    ctx.log(format!("wrote {} rows ({} bytes) to {}", summary.rows, summary.bytes, spec.output.display()))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(db: &str) -> ExportJob {
        ExportJob {
            db: db.into(),
            table: Some("t".into()),
            sql: None,
            output: PathBuf::from("/tmp/x.csv"),
            format: "csv".into(),
            compression: "zstd".into(),
            chunk_rows: 10,
            sql_table: None,
            create_table: false,
            rows_per_insert: None,
        }
    }

    #[test]
    fn a_password_is_never_stored() {
        let e = job("postgres://u:secret@h/db").validate().unwrap_err().to_string();
        assert!(e.contains("saved connection"), "{e}");
        assert!(!e.contains("secret"));
        assert!(job("postgres://u@h/db").validate().is_ok());
    }

    #[test]
    fn relative_outputs_and_stdout_are_refused() {
        let mut j = job("p");
        j.output = PathBuf::from("x.csv");
        assert!(j.validate().unwrap_err().to_string().contains("absolute"));
        j.output = PathBuf::from("-");
        assert!(j.validate().unwrap_err().to_string().contains("standard output"));
    }
}
