//! `DuckDbConnection`: duckdb-rs on a worker thread, handing over DuckDB's own Arrow batches.

use std::sync::Arc;

use crate::session::{Held, HeldSession};
use arrow::compute::BatchCoalescer;
use async_trait::async_trait;
use duckdb::types::{ToSqlOutput, Value as DValue, ValueRef};
use qore_core::{
    Catalog, Connection, Dialect, Engine, Error, ErrorKind, ExecuteOutcome, Result,
    SendableRecordBatchStream, Transaction, Value,
};

use super::options::DuckDbOptions;
use crate::worker::{BatchSink, Worker};

/// DuckDB's spelling.
pub(crate) static DUCKDB_DIALECT: crate::dialects::DuckDbDialect = crate::dialects::DuckDbDialect;

/// A connection to a DuckDB database file or memory.
pub struct DuckDbConnection {
    pub(crate) worker: Worker<duckdb::Connection>,
    interrupt: Arc<duckdb::InterruptHandle>,
    options: DuckDbOptions,
    /// The database instance, for more sessions: the connection that
    /// opened it, kept alive while any session lives.
    instance: Instance,
}

/// A DuckDB database instance, held through the connection that opened it.
pub(crate) type Instance = Arc<std::sync::Mutex<duckdb::Connection>>;

pub(crate) fn map_err(e: duckdb::Error) -> Error {
    match e {
        duckdb::Error::DuckDBFailure(f, msg) => {
            let message = msg.unwrap_or_else(|| f.to_string());
            if message.contains("INTERRUPT") || message.contains("Interrupted") {
                return Error::Cancelled;
            }
            // DuckDB prefixes messages with their class: "Parser Error: ...".
            let code = message
                .split_once(" Error:")
                .map(|(k, _)| k.trim().to_string())
                .filter(|k| !k.contains(' ') || k.len() < 24);
            Error::query_kind(kind_of(&message), message, code)
        }
        duckdb::Error::InvalidParameterCount(got, want) => Error::invalid(format!(
            "the statement takes {want} parameters, {got} were given"
        )),
        duckdb::Error::NulError(_) => Error::invalid("the statement contains a NUL character"),
        other => Error::query(other.to_string(), None),
    }
}

/// The portable kind of a DuckDB error, from its message: DuckDB's C API
/// gives a class prefix ("Constraint Error:") and no code.
fn kind_of(message: &str) -> ErrorKind {
    let (class, rest) = message.split_once(" Error:").unwrap_or(("", message));
    let has = |s: &str| rest.contains(s);
    if has("read-only mode") || has("read only mode") {
        return ErrorKind::ReadOnly;
    }
    match class.trim() {
        "Constraint" if has("foreign key") => ErrorKind::ForeignKeyViolation,
        "Constraint" if has("NOT NULL") => ErrorKind::NotNullViolation,
        "Constraint" if has("CHECK") => ErrorKind::CheckViolation,
        "Constraint" => ErrorKind::UniqueViolation,
        "TransactionContext" if has("onflict") => ErrorKind::SerializationFailure,
        "Parser" => ErrorKind::Syntax,
        "Catalog" if has("already exists") => ErrorKind::DuplicateObject,
        "Catalog" | "Binder" if has("does not exist") || has("not found") => {
            ErrorKind::UndefinedObject
        }
        "Conversion" | "Out of Range" | "Invalid Input" | "Mismatch Type" => ErrorKind::InvalidData,
        "Permission" => ErrorKind::PermissionDenied,
        "IO" => ErrorKind::Io,
        "Interrupt" => ErrorKind::Cancelled,
        _ => ErrorKind::Other,
    }
}

fn to_sql(v: &Value) -> Result<ToSqlOutput<'_>> {
    Ok(match v {
        Value::Null => ToSqlOutput::Owned(DValue::Null),
        Value::Bool(b) => ToSqlOutput::Owned(DValue::Boolean(*b)),
        Value::Int(i) => ToSqlOutput::Owned(DValue::BigInt(*i)),
        Value::UInt(u) => ToSqlOutput::Owned(DValue::UBigInt(*u)),
        Value::Float(f) => ToSqlOutput::Owned(DValue::Double(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Date(d) => ToSqlOutput::Owned(DValue::Date32(*d)),
        // DuckDB casts text to the parameter's type exactly (decimals, timestamps, intervals).
        other => ToSqlOutput::Owned(DValue::Text(other.to_string())),
    })
}

fn bind(stmt: &mut duckdb::Statement<'_>, params: &[Value]) -> Result<()> {
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

impl std::fmt::Debug for DuckDbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDbConnection")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl DuckDbConnection {
    /// Opens a database with `options`.
    ///
    /// # Error handling
    ///
    /// [`Error::Connect`] when the file cannot be opened; a read-only open of a
    /// missing file fails without creating it.
    pub async fn open(options: DuckDbOptions) -> Result<Self> {
        let opts = options.clone();
        Self::start(options, move || {
            let conn = open_sync(&opts)?;
            let instance = conn.try_clone().map_err(map_err)?;
            Ok((conn, Arc::new(std::sync::Mutex::new(instance))))
        })
        .await
    }

    /// The database instance this connection belongs to, for more sessions.
    pub(crate) fn instance(&self) -> Instance {
        self.instance.clone()
    }

    /// A new session of `instance`.
    pub(crate) async fn session_of(instance: Instance, options: DuckDbOptions) -> Result<Self> {
        Self::start(options, move || {
            let conn = instance
                .lock()
                .map_err(|_| Error::Internal("a DuckDB instance lock is poisoned".into()))?
                .try_clone()
                .map_err(map_err)?;
            // Temporary macros belong to one connection.
            without_icu(&conn)?;
            Ok((conn, instance))
        })
        .await
    }

    async fn start<F>(options: DuckDbOptions, open: F) -> Result<Self>
    where
        F: FnOnce() -> Result<(duckdb::Connection, Instance)> + Send + 'static,
    {
        let (itx, irx) = tokio::sync::oneshot::channel();
        let worker = Worker::start("duckdb", move || {
            let (conn, instance) = open()?;
            let _ = itx.send((conn.interrupt_handle(), instance));
            Ok(conn)
        })
        .await?;
        let (interrupt, instance) = irx
            .await
            .map_err(|_| Error::Internal("duckdb worker did not start".into()))?;
        Ok(DuckDbConnection {
            worker,
            interrupt,
            options,
            instance,
        })
    }

    /// The options this connection was opened with.
    pub fn options(&self) -> &DuckDbOptions {
        &self.options
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

fn open_sync(o: &DuckDbOptions) -> Result<duckdb::Connection> {
    let what = o
        .path
        .as_ref()
        .map(|p| format!("`{}`", p.display()))
        .unwrap_or_else(|| "in memory".into());
    // Never download extensions: qore works offline, and a query must not
    // hang on (or be slowed by) a network fetch. Extensions already
    // installed in DuckDB's extension directory still load on demand.
    let mut config = duckdb::Config::default()
        .with("autoinstall_known_extensions", "false")
        .map_err(map_err)?;
    if o.read_only {
        if let Some(p) = &o.path
            && !p.exists()
        {
            return Err(Error::Connect {
                message: format!(
                    "DuckDB database `{}` does not exist (opened read-only; nothing was created)",
                    p.display()
                ),
                source: None,
            });
        }
        config = config
            .access_mode(duckdb::AccessMode::ReadOnly)
            .map_err(map_err)?;
    }
    if let Some(t) = o.threads {
        config = config.threads(t).map_err(map_err)?;
    }
    if let Some(m) = &o.memory_limit {
        config = config.max_memory(m).map_err(map_err)?;
    }
    let conn = match &o.path {
        None => duckdb::Connection::open_in_memory_with_flags(config),
        Some(p) => duckdb::Connection::open_with_flags(p, config),
    }
    .map_err(|e| Error::connect(format!("cannot open DuckDB database {what}"), e))?;
    without_icu(&conn)?;
    if let Some((path, table)) = &o.snapshot {
        load_snapshot(&conn, path, table)?;
    }
    Ok(conn)
}

/// The current date and time functions, which DuckDB 2 keeps in its ICU
/// extension, as macros in UTC when that extension is not installed
/// locally: the bundled build has no ICU and must not download it.
/// Time-zone-aware functions (`AT TIME ZONE`, parts of a TIMESTAMPTZ)
/// still need ICU and fail with DuckDB's message naming it.
const UTC_CLOCK_MACROS: &str = r#"
CREATE OR REPLACE TEMP MACRO "current_date"() AS CAST(CAST(get_current_timestamp() AS TIMESTAMP) AS DATE);
CREATE OR REPLACE TEMP MACRO today() AS CAST(CAST(get_current_timestamp() AS TIMESTAMP) AS DATE);
CREATE OR REPLACE TEMP MACRO current_localtimestamp() AS CAST(get_current_timestamp() AS TIMESTAMP);
CREATE OR REPLACE TEMP MACRO current_localtime() AS CAST(CAST(get_current_timestamp() AS TIMESTAMP) AS TIME);
CREATE OR REPLACE TEMP MACRO get_current_time() AS CAST(CAST(get_current_timestamp() AS TIMESTAMP) AS TIME);
"#;

/// Loads ICU when it is installed; otherwise defines [`UTC_CLOCK_MACROS`].
fn without_icu(conn: &duckdb::Connection) -> Result<()> {
    if conn.execute_batch("LOAD icu").is_ok() {
        return Ok(());
    }
    conn.execute_batch(UTC_CLOCK_MACROS).map_err(map_err)
}

fn run_query(
    conn: &mut duckdb::Connection,
    sql: &str,
    params: &[Value],
    batch_size: usize,
    sink: &mut BatchSink,
) -> Result<()> {
    let mut stmt = conn.prepare(sql).map_err(map_err)?;
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(Error::invalid(format!(
            "the statement takes {expected} parameters, {} were given",
            params.len()
        )));
    }
    let values = params.iter().map(to_sql).collect::<Result<Vec<_>>>()?;
    let mut batches = stmt
        .stream_arrow(duckdb::params_from_iter(values.iter()))
        .map_err(map_err)?;
    let schema = batches.get_schema();
    sink.schema(schema.clone());
    // DuckDB hands over vectors of 2048 rows; downstream writers do better with fewer, larger batches.
    let mut coalescer = BatchCoalescer::new(schema, batch_size);
    for batch in batches.by_ref() {
        coalescer.push_batch(batch.map_err(map_err)?)?;
        while let Some(b) = coalescer.next_completed_batch() {
            sink.push(b)?;
        }
    }
    coalescer.finish_buffered_batch()?;
    while let Some(b) = coalescer.next_completed_batch() {
        sink.push(b)?;
    }
    Ok(())
}

#[async_trait]
impl HeldSession for DuckDbConnection {
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
                let n = stmt.raw_execute().map_err(map_err)?;
                Ok(ExecuteOutcome {
                    rows_affected: n as u64,
                })
            })
            .await
    }

    fn rollback_on_drop(&self, held: Held) {
        // Queued before the turn is released: it runs before any later job.
        // duckdb-rs cannot tell whether a transaction is open (its
        // `is_autocommit` is always true); one that DuckDB already ended
        // makes ROLLBACK fail harmlessly.
        let queued = self.worker.submit(Box::new(|c| {
            if let Err(e) = c.execute_batch("ROLLBACK") {
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
impl Connection for DuckDbConnection {
    fn engine(&self) -> Engine {
        Engine::DuckDb
    }

    fn dialect(&self) -> Option<Arc<dyn Dialect>> {
        static SHARED: std::sync::LazyLock<Arc<dyn Dialect>> =
            std::sync::LazyLock::new(|| Arc::new(DUCKDB_DIALECT));
        Some(SHARED.clone())
    }

    async fn ping(&self) -> Result<()> {
        self.worker
            .run(|c| c.execute_batch("SELECT 1").map_err(map_err))
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
                c.query_row("SELECT version()", [], |r| r.get::<_, String>(0))
                    .map_err(map_err)
            })
            .await?;
        Ok(qore_core::SessionInfo::new(Some(v), None, None))
    }

    async fn close(&self) -> Result<()> {
        self.worker
            .run(|c| c.execute_batch("CHECKPOINT").map_err(map_err))
            .await
    }
}

/// Loads a qore snapshot (checked against its content hash first) into a
/// new table, through DuckDB's Arrow table function: the types follow the
/// snapshot's Arrow schema, one batch in memory at a time.
fn load_snapshot(conn: &duckdb::Connection, path: &std::path::Path, table: &str) -> Result<u64> {
    use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
    let store = qore_core::snapshot::SnapshotStore::at(path.parent().unwrap_or(std::path::Path::new(".")));
    store.verify(&path.display().to_string())?;
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let reader = arrow::ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
        .map_err(|e| Error::data(format!("{} is not a whole snapshot: {e}", path.display())))?;
    let quoted = qore_core::Dialect::quote_identifier(&DUCKDB_DIALECT, table)?;
    // Registered once per connection; a second load finds it there.
    let _ = conn.register_table_function::<ArrowVTab>("qore_arrow");
    let empty = ArrowBatchRegistration::new(arrow::array::RecordBatch::new_empty(reader.schema()));
    conn.execute(&format!("CREATE TABLE {quoted} AS SELECT * FROM qore_arrow(?)"), [&empty])
        .map_err(|e| Error::data(format!("cannot load snapshot {} as table {table}: {e}", path.display())))?;
    let insert = format!("INSERT INTO {quoted} SELECT * FROM qore_arrow(?)");
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| Error::data(format!("cannot read {}: {e}", path.display())))?;
        rows += batch.num_rows() as u64;
        let reg = ArrowBatchRegistration::new(batch);
        conn.execute(&insert, [&reg]).map_err(map_err)?;
    }
    Ok(rows)
}

