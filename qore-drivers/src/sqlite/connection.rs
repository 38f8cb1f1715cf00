//! `SqliteConnection`: rusqlite on a worker thread.

use std::sync::Arc;

use crate::session::{Held, HeldSession};
use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema};
use async_trait::async_trait;
use qore_core::{
    Catalog, Connection, Dialect, Engine, Error, ErrorKind, ExecuteOutcome, Result,
    SendableRecordBatchStream, Transaction, Value, metadata,
};
use rusqlite::OpenFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};

use super::options::{OpenMode, SqliteOptions};
use super::types::{ColumnBuilder, Seen, arrow_type_for_decl};
use crate::worker::{BatchSink, Worker};

/// SQLite's spelling.
pub(crate) static SQLITE_DIALECT: crate::dialects::SqliteDialect = crate::dialects::SqliteDialect;

/// A connection to a SQLite database file or memory.
pub struct SqliteConnection {
    pub(crate) worker: Worker<rusqlite::Connection>,
    interrupt: Arc<rusqlite::InterruptHandle>,
    options: SqliteOptions,
}

/// What a WAL checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Whether a reader or writer kept it from finishing.
    pub busy: bool,
    /// Frames in the WAL.
    pub log_frames: i64,
    /// Frames copied back into the database.
    pub checkpointed_frames: i64,
}

pub(crate) fn map_err(e: rusqlite::Error) -> Error {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            if f.code == rusqlite::ErrorCode::OperationInterrupted {
                return Error::Cancelled;
            }
            let message = msg.unwrap_or_else(|| f.to_string());
            let kind = kind_of(f.extended_code, &message);
            Error::query_kind(kind, message, Some(code_name(f.extended_code)))
        }
        rusqlite::Error::SqlInputError { msg, offset, .. } => Error::query_kind(
            kind_of(1, &msg),
            format!("{msg} (at byte {offset} of the statement)"),
            Some("SQLITE_ERROR".into()),
        ),
        rusqlite::Error::InvalidParameterCount(got, want) => Error::invalid(format!(
            "the statement takes {want} parameters, {got} were given"
        )),
        rusqlite::Error::NulError(_) => Error::invalid("the statement contains a NUL character"),
        other => Error::query(other.to_string(), None),
    }
}

/// The portable kind of an SQLite extended result code; plain
/// `SQLITE_ERROR` is told apart by its message, which is all SQLite gives.
fn kind_of(extended: std::ffi::c_int, message: &str) -> ErrorKind {
    match extended {
        2067 | 1555 => return ErrorKind::UniqueViolation,
        787 => return ErrorKind::ForeignKeyViolation,
        1299 => return ErrorKind::NotNullViolation,
        275 => return ErrorKind::CheckViolation,
        517 => return ErrorKind::SerializationFailure,
        // SQLITE_CONSTRAINT_DATATYPE: a STRICT table refused a value.
        3091 => return ErrorKind::InvalidData,
        _ => {}
    }
    match extended & 0xff {
        5 | 6 => ErrorKind::LockTimeout,
        8 => ErrorKind::ReadOnly,
        3 | 23 => ErrorKind::PermissionDenied,
        9 => ErrorKind::Cancelled,
        10 | 13 => ErrorKind::Io,
        14 => ErrorKind::Connection,
        18 | 20 | 25 => ErrorKind::InvalidData,
        19 => ErrorKind::CheckViolation,
        1 if message.contains("syntax error") || message.starts_with("incomplete input") => {
            ErrorKind::Syntax
        }
        1 if message.starts_with("no such ") || message.starts_with("unknown database") => {
            ErrorKind::UndefinedObject
        }
        1 if message.contains("already exists") || message.starts_with("duplicate column") => {
            ErrorKind::DuplicateObject
        }
        _ => ErrorKind::Other,
    }
}

/// `SQLITE_CONSTRAINT/787`: the primary result code's name and the extended code.
fn code_name(extended: std::ffi::c_int) -> String {
    let name = match extended & 0xff {
        1 => "ERROR",
        2 => "INTERNAL",
        3 => "PERM",
        4 => "ABORT",
        5 => "BUSY",
        6 => "LOCKED",
        7 => "NOMEM",
        8 => "READONLY",
        9 => "INTERRUPT",
        10 => "IOERR",
        11 => "CORRUPT",
        13 => "FULL",
        14 => "CANTOPEN",
        15 => "PROTOCOL",
        17 => "SCHEMA",
        18 => "TOOBIG",
        19 => "CONSTRAINT",
        20 => "MISMATCH",
        21 => "MISUSE",
        23 => "AUTH",
        25 => "RANGE",
        26 => "NOTADB",
        _ => "UNKNOWN",
    };
    format!("SQLITE_{name}/{extended}")
}

pub(crate) fn to_sql(v: &Value) -> Result<ToSqlOutput<'_>> {
    Ok(match v {
        Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::UInt(u) => match i64::try_from(*u) {
            Ok(i) => ToSqlOutput::Borrowed(ValueRef::Integer(i)),
            Err(_) => {
                return Err(Error::invalid(format!(
                    "{u} does not fit SQLite's 64-bit signed integer"
                )));
            }
        },
        Value::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        // Dates, decimals and the rest are stored the way SQLite's own
        // functions read them: as their ISO / decimal text.
        other => ToSqlOutput::Owned(rusqlite::types::Value::Text(other.to_string())),
    })
}

fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<()> {
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(Error::invalid(format!(
            "the statement takes {expected} parameters, {} were given",
            params.len()
        )));
    }
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, to_sql(p)?)
            .map_err(map_err)?;
    }
    Ok(())
}

impl std::fmt::Debug for SqliteConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteConnection")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SqliteConnection {
    /// Opens a database with `options`.
    ///
    /// # Error handling
    ///
    /// [`Error::Connect`] when the file cannot be opened: a read-only or
    /// read-write open of a missing file fails without creating it.
    pub async fn open(options: SqliteOptions) -> Result<Self> {
        let opts = options.clone();
        let (itx, irx) = tokio::sync::oneshot::channel();
        let worker = Worker::start("sqlite", move || {
            let conn = open_sync(&opts)?;
            let _ = itx.send(conn.get_interrupt_handle());
            Ok(conn)
        })
        .await?;
        let interrupt = Arc::new(
            irx.await
                .map_err(|_| Error::Internal("sqlite worker did not start".into()))?,
        );
        Ok(SqliteConnection {
            worker,
            interrupt,
            options,
        })
    }

    /// The options this connection was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// The current journal mode (`wal`, `delete`, ...).
    pub async fn journal_mode(&self) -> Result<String> {
        self.worker
            .run(|c| {
                c.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
                    .map_err(map_err)
            })
            .await
    }

    /// Runs `PRAGMA wal_checkpoint(TRUNCATE)`: copies the WAL back into the
    /// database and truncates it.
    pub async fn checkpoint(&self) -> Result<Checkpoint> {
        self.worker
            .run(|c| {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok(Checkpoint {
                        busy: r.get::<_, i64>(0)? != 0,
                        log_frames: r.get(1)?,
                        checkpointed_frames: r.get(2)?,
                    })
                })
                .map_err(map_err)
            })
            .await
    }

    /// Runs a script of several statements for their effects, in one transaction.
    pub async fn execute_batch(&self, sql: &str) -> Result<()> {
        let sql = sql.to_string();
        self.worker
            .run(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                tx.execute_batch(&sql).map_err(map_err)?;
                tx.commit().map_err(map_err)
            })
            .await
    }
}

fn open_sync(o: &SqliteOptions) -> Result<rusqlite::Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    flags |= match o.mode {
        OpenMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        OpenMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        OpenMode::ReadWriteCreate => {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        }
    };
    let conn = match (&o.path, &o.shared_memory) {
        // The memdb VFS shares one in-memory database among the handles
        // of this process that open the same name, with the usual locking.
        (None, Some(name)) => rusqlite::Connection::open_with_flags(
            format!("file:/{name}?vfs=memdb"),
            flags | OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        ),
        (None, None) => rusqlite::Connection::open_in_memory_with_flags(
            flags | OpenFlags::SQLITE_OPEN_READ_WRITE,
        ),
        (Some(p), _) => {
            if o.mode != OpenMode::ReadWriteCreate && !p.exists() {
                return Err(Error::Connect {
                    message: format!(
                        "SQLite database `{}` does not exist (opened {}; nothing was created)",
                        p.display(),
                        if o.mode == OpenMode::ReadOnly {
                            "read-only"
                        } else {
                            "without create"
                        }
                    ),
                    source: None,
                });
            }
            // SQLITE_OPEN_URI must not reinterpret a plain path that starts with "file:".
            let flags = if p.to_string_lossy().starts_with("file:") {
                flags - OpenFlags::SQLITE_OPEN_URI
            } else {
                flags
            };
            rusqlite::Connection::open_with_flags(p, flags)
        }
    }
    .map_err(|e| {
        let what = o
            .path
            .as_ref()
            .map(|p| format!("`{}`", p.display()))
            .unwrap_or_else(|| "in memory".into());
        Error::connect(format!("cannot open SQLite database {what}"), e)
    })?;
    conn.busy_timeout(o.busy_timeout).map_err(map_err)?;
    conn.pragma_update(None, "foreign_keys", o.foreign_keys)
        .map_err(map_err)?;
    if let Some(mode) = &o.journal_mode {
        let got: String = conn
            .pragma_update_and_check(None, "journal_mode", mode, |r| r.get(0))
            .map_err(map_err)?;
        if !got.eq_ignore_ascii_case(mode) && o.path.is_some() {
            return Err(Error::NotSupported(format!(
                "SQLite kept journal_mode={got} instead of {mode} (read-only files cannot change it)"
            )));
        }
    }
    if let Some(s) = &o.synchronous {
        conn.pragma_update(None, "synchronous", s)
            .map_err(map_err)?;
    }
    for ext in &o.extensions {
        load_extension(&conn, ext)?;
    }
    super::functions::register(&conn)?;
    Ok(conn)
}

#[allow(unsafe_code)]
fn load_extension(conn: &rusqlite::Connection, path: &std::path::Path) -> Result<()> {
    // SAFETY: loading native code is what the user asked for, explicitly, with
    // allow_extensions=true in the URL (checked in SqliteOptions::from_spec).
    // The guard turns extension loading back off right after, so the SQL
    // function load_extension() stays disabled for queries.
    unsafe {
        let _guard = rusqlite::LoadExtensionGuard::new(conn).map_err(map_err)?;
        conn.load_extension(path, None::<&str>).map_err(|e| {
            Error::connect(
                format!("cannot load SQLite extension `{}`", path.display()),
                e,
            )
        })
    }
}

fn owned(v: ValueRef<'_>) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        ValueRef::Null => V::Null,
        ValueRef::Integer(i) => V::Integer(i),
        ValueRef::Real(f) => V::Real(f),
        // Invalid UTF-8 stays bytes; the column's builder reports it precisely.
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => V::Text(s.to_string()),
            Err(_) => V::Blob(t.to_vec()),
        },
        ValueRef::Blob(b) => V::Blob(b.to_vec()),
    }
}

/// Runs a query on the worker, streaming batches into `sink`.
pub(crate) fn run_query(
    conn: &mut rusqlite::Connection,
    sql: &str,
    params: &[Value],
    batch_size: usize,
    sink: &mut BatchSink,
) -> Result<()> {
    let mut stmt = conn.prepare(sql).map_err(map_err)?;
    bind(&mut stmt, params)?;
    let cols: Vec<(String, Option<String>)> = stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.decl_type().map(str::to_string)))
        .collect();
    let n = cols.len();
    let mut rows = stmt.raw_query();
    // Look ahead one batch to settle the types of undeclared or mixed columns.
    let mut first: Vec<Vec<rusqlite::types::Value>> = Vec::new();
    let mut seen = vec![Seen::default(); n];
    while first.len() < batch_size {
        let Some(row) = rows.next().map_err(map_err)? else {
            break;
        };
        let mut vals = Vec::with_capacity(n);
        for (i, s) in seen.iter_mut().enumerate() {
            let v = row.get_ref(i).map_err(map_err)?;
            s.add(v);
            vals.push(owned(v));
        }
        first.push(vals);
    }
    let fields: Vec<Field> = cols
        .iter()
        .zip(&seen)
        .map(|((name, decl), s)| {
            let dt = s.resolve(arrow_type_for_decl(decl.as_deref()));
            let mut f = Field::new(name, dt, true);
            if let Some(d) = decl {
                f.set_metadata(std::collections::HashMap::from([(
                    metadata::SOURCE_TYPE.to_string(),
                    d.clone(),
                )]));
            }
            f
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    sink.schema(schema.clone());
    if n == 0 {
        // A statement without result columns (DDL, DML) ran while stepping.
        while rows.next().map_err(map_err)?.is_some() {}
        return Ok(());
    }
    let mut builders: Vec<ColumnBuilder> = schema
        .fields()
        .iter()
        .map(|f| ColumnBuilder::new(f.data_type(), batch_size))
        .collect();
    let mut row_no: u64 = 0;
    let mut in_batch = 0usize;
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let flush = |builders: &mut Vec<ColumnBuilder>, sink: &mut BatchSink| -> Result<()> {
        let arrays = builders.iter_mut().map(ColumnBuilder::finish).collect();
        sink.push(RecordBatch::try_new(schema.clone(), arrays)?)
    };
    for vals in &first {
        row_no += 1;
        for ((b, v), name) in builders.iter_mut().zip(vals).zip(&names) {
            b.append(v.into(), name, row_no)?;
        }
    }
    in_batch += first.len();
    let short = first.len() < batch_size;
    drop(first);
    if short {
        if in_batch > 0 {
            flush(&mut builders, sink)?;
        }
        return Ok(());
    }
    // Cut a batch at the row limit, or early when rows are very wide.
    const MAX_BATCH_BYTES: usize = 32 << 20;
    loop {
        if in_batch >= batch_size
            || (in_batch.is_multiple_of(256)
                && builders.iter().map(ColumnBuilder::size).sum::<usize>() > MAX_BATCH_BYTES)
        {
            flush(&mut builders, sink)?;
            in_batch = 0;
        }
        let Some(row) = rows.next().map_err(map_err)? else {
            break;
        };
        row_no += 1;
        for (i, (b, name)) in builders.iter_mut().zip(&names).enumerate() {
            b.append(row.get_ref(i).map_err(map_err)?, name, row_no)?;
        }
        in_batch += 1;
    }
    if in_batch > 0 {
        flush(&mut builders, sink)?;
    }
    Ok(())
}

#[async_trait]
impl HeldSession for SqliteConnection {
    async fn query_held(
        &self,
        held: &Held,
        sql: &str,
        params: &[Value],
    ) -> Result<SendableRecordBatchStream> {
        let sql = sql.to_string();
        let params = params.to_vec();
        let batch_size = self.options.batch_size;
        let interrupt = self.interrupt.clone();
        self.worker
            .stream_held(
                held,
                Some(Box::new(move || interrupt.interrupt())),
                move |c, sink| run_query(c, &sql, &params, batch_size, sink),
            )
            .await
    }

    async fn execute_held(
        &self,
        held: &Held,
        sql: &str,
        params: &[Value],
    ) -> Result<ExecuteOutcome> {
        let sql = sql.to_string();
        let params = params.to_vec();
        self.worker
            .run_held(held, move |c| {
                let mut stmt = c.prepare(&sql).map_err(map_err)?;
                bind(&mut stmt, &params)?;
                // sqlite3_changes() keeps the last DML's count through DDL
                // and other statements: a CREATE TABLE after an INSERT would
                // report the INSERT's rows. The total moves only when rows do.
                let before = c.total_changes();
                let n = stmt.raw_execute().map_err(map_err)?;
                let moved = c.total_changes() != before;
                Ok(ExecuteOutcome {
                    rows_affected: if moved { n as u64 } else { 0 },
                })
            })
            .await
    }

    fn rollback_on_drop(&self, held: Held) {
        // Queued before the turn is released: it runs before any later job.
        let queued = self.worker.submit(Box::new(|c| {
            if !c.is_autocommit()
                && let Err(e) = c.execute_batch("ROLLBACK")
            {
                tracing::debug!(error = %e, "rollback of a dropped transaction failed");
            }
        }));
        if let Err(e) = queued {
            tracing::debug!(error = %e, "the session closed before a dropped transaction's rollback");
        }
        drop(held);
    }
}

#[async_trait]
impl Connection for SqliteConnection {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn dialect(&self) -> Option<Arc<dyn Dialect>> {
        static SHARED: std::sync::LazyLock<Arc<dyn Dialect>> =
            std::sync::LazyLock::new(|| Arc::new(SQLITE_DIALECT));
        Some(SHARED.clone())
    }

    async fn ping(&self) -> Result<()> {
        self.worker
            .run(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(map_err))
            .await
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        let held = self.worker.turn.take().await;
        self.query_held(&held, sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        let held = self.worker.turn.take().await;
        self.execute_held(&held, sql, params).await
    }

    async fn begin(&self) -> Result<Transaction<'_>> {
        crate::session::begin(self, &self.worker.turn).await
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(self)
    }

    fn admin(&self) -> Option<&dyn qore_core::admin::Admin> {
        Some(self)
    }

    async fn session_info(&self) -> Result<qore_core::SessionInfo> {
        let v = self
            .worker
            .run(|c| {
                c.query_row("SELECT sqlite_version()", [], |r| r.get::<_, String>(0))
                    .map_err(map_err)
            })
            .await?;
        Ok(qore_core::SessionInfo::new(Some(v), None, None))
    }

    async fn close(&self) -> Result<()> {
        self.worker
            .run(|c| c.execute_batch("PRAGMA optimize").map_err(map_err))
            .await
    }
}
