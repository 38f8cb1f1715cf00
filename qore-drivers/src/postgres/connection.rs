//! `PostgresConnection`: one sqlx connection, owned by a task while a result
//! streams.

use std::sync::Arc;
use std::time::Duration;

use crate::session::{Held, HeldSession, Turn};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use qore_core::metadata::SOURCE_TYPE;
use qore_core::{
    Catalog, Connection, ConnectionSpec, Dialect, Engine, Error, ErrorKind, ExecuteOutcome,
    PlaceholderStyle, Result, SendableRecordBatchStream, Transaction, Value,
};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgSslMode, PgTypeInfo, PgTypeKind};
use sqlx::{
    Arguments, AssertSqlSafe, Column, ConnectOptions, Connection as _, Executor, Row, SqlSafeStr,
    Statement, TypeInfo, ValueRef,
};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use super::decode::{Kind, decode};
use super::encode::encode;
use crate::server::builder::Col;
use crate::server::{BATCH_ROWS, Batch, ChannelStream, Decoder, SpawnedTask, stream_rows};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to one PostgreSQL database.
pub struct PostgresConnection {
    /// `None` once closed.
    conn: Arc<Mutex<Option<sqlx::PgConnection>>>,
    options: PgConnectOptions,
    connect_timeout: Duration,
    /// Shared with stream tasks: a connection that had to be replaced gets a
    /// new backend.
    backend_pid: Arc<std::sync::atomic::AtomicI32>,
    server_version: String,
    fetch_copy: bool,
    turn: Turn,
    /// Set by a transaction dropped without an end: the next user of the
    /// connection rolls it back first.
    rollback_pending: Arc<AtomicBool>,
}

impl std::fmt::Debug for PostgresConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConnection")
            .field("backend_pid", &self.backend_pid)
            .field("server_version", &self.server_version)
            .finish_non_exhaustive()
    }
}

/// PostgreSQL's spelling: ANSI quoting, `$n` placeholders, and string
/// literals with a backslash written as `E'...'` so that they read the same
/// whatever `standard_conforming_strings` says.
#[derive(Debug)]
pub struct PostgresDialect;

static ANSI: qore_core::AnsiDialect =
    qore_core::AnsiDialect::new("postgres", PlaceholderStyle::Dollar);

impl Dialect for PostgresDialect {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        ANSI.quote_identifier(ident)
    }
    fn quote_string(&self, s: &str) -> Result<String> {
        if !s.contains('\\') {
            return ANSI.quote_string(s);
        }
        let inner = ANSI.quote_string(&s.replace('\\', "\\\\"))?;
        Ok(format!("E{inner}"))
    }
    fn quote_bytes(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("'\\x{hex}'::bytea")
    }
    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }
    fn float_literal(&self, f: f64) -> Result<String> {
        Ok(crate::dialects::float_words(f))
    }
    fn infinite_datetime(&self, positive: bool) -> Option<&'static str> {
        Some(if positive {
            "'infinity'"
        } else {
            "'-infinity'"
        })
    }
    fn bc_suffix(&self) -> Option<&'static str> {
        Some(" BC")
    }
    fn utc_session(&self) -> Option<&'static str> {
        Some("SET TIME ZONE 'UTC';")
    }
    fn column_type(&self, dt: &DataType) -> String {
        match dt {
            DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::BinaryView => "BYTEA".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMPTZ".into(),
            other => ANSI.column_type(other),
        }
    }
    fn supports_returning(&self) -> bool {
        true
    }
    fn upsert_style(&self) -> Option<qore_core::UpsertStyle> {
        Some(qore_core::UpsertStyle::OnConflict)
    }
    fn row_identity(&self) -> Option<&'static str> {
        Some("ctid")
    }
    fn cast_text(&self, expr: &str) -> String {
        format!("({expr})::text")
    }
    fn checksum_aggregate(&self, text_expr: &str) -> Option<String> {
        Some(format!(
            "sum(('x' || substr(md5({text_expr}), 1, 15))::bit(60)::bigint)"
        ))
    }
}

/// The one PostgreSQL dialect.
pub static POSTGRES_DIALECT: PostgresDialect = PostgresDialect;

/// Maps a sqlx error to QoreDB's, keeping SQLSTATE, detail and hint.
pub(crate) fn map_err(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string());
            let mut message = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(d) = pg.detail() {
                    message.push_str(&format!(" (detail: {d})"));
                }
                if let Some(h) = pg.hint() {
                    message.push_str(&format!(" (hint: {h})"));
                }
            }
            match code.as_deref() {
                Some("28P01" | "28000") => Error::Auth(message),
                Some("57014") if message.contains("statement timeout") => {
                    Error::Timeout(format!("{message}; raise it with ?statement_timeout=MS"))
                }
                Some("57014") => Error::Cancelled,
                Some("57P01" | "57P02" | "57P03") => Error::connect(message, db.to_string()),
                Some(c) => Error::query_kind(ErrorKind::from_sqlstate(c), message, code),
                None => Error::query(message, code),
            }
        }
        sqlx::Error::Io(io) => {
            Error::connect("the PostgreSQL server is not reachable or went away", io)
        }
        sqlx::Error::Tls(t) => {
            Error::connect("TLS with the PostgreSQL server failed", t.to_string())
        }
        sqlx::Error::Protocol(p) => Error::connect(format!("protocol error: {p}"), p),
        sqlx::Error::Configuration(c) => Error::invalid(c.to_string()),
        other => Error::Internal(other.to_string()),
    }
}

fn options_from_spec(spec: &ConnectionSpec) -> Result<(PgConnectOptions, Duration, bool)> {
    let mut o = PgConnectOptions::new_without_pgpass();
    let host = spec.hosts.first();
    o = o
        .host(host.map(|h| h.host.as_str()).unwrap_or("localhost"))
        .port(host.and_then(|h| h.port).unwrap_or(5432))
        .application_name("qore");
    if let Some(u) = &spec.user {
        o = o.username(u);
    }
    if let Some(p) = &spec.password {
        o = o.password(p.expose());
    }
    if let Some(d) = &spec.database {
        o = o.database(d);
    }
    let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    let mut fetch_copy = true;
    let mut settings: Vec<(String, String)> = Vec::new();
    for (k, v) in &spec.options {
        let int = |what: &str| -> Result<u64> {
            v.parse().map_err(|_| {
                Error::invalid(format!("PostgreSQL option `{k}` must be {what}, not `{v}`"))
            })
        };
        match k.to_ascii_lowercase().as_str() {
            "sslmode" => {
                o = o.ssl_mode(v.parse::<PgSslMode>().map_err(|_| {
                    Error::invalid(format!(
                        "sslmode `{v}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ))
                })?)
            }
            "sslrootcert" => o = o.ssl_root_cert(v.as_str()),
            "connect_timeout" => connect_timeout = Duration::from_secs(int("seconds")?),
            "statement_timeout" => settings.push(("statement_timeout".into(), int("milliseconds")?.to_string())),
            "application_name" => o = o.application_name(v),
            "fetch" => {
                fetch_copy = match v.as_str() {
                    "copy" => true,
                    "rows" => false,
                    _ => return Err(Error::invalid(format!("fetch must be `copy` or `rows`, not `{v}`"))),
                }
            }
            "search_path" | "timezone" | "lock_timeout" | "idle_in_transaction_session_timeout" => {
                settings.push((k.to_ascii_lowercase(), v.clone()))
            }
            // The server refuses writes (SQLSTATE 25006) unless a
            // transaction asks for READ WRITE itself.
            "read_only" | "readonly" => {
                if crate::parse_flag(k, v)? {
                    settings.push(("default_transaction_read_only".into(), "on".into()));
                }
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown PostgreSQL option `{other}` (known: sslmode, sslrootcert, connect_timeout, \
                     statement_timeout, application_name, search_path, timezone, lock_timeout, fetch, read_only)"
                )));
            }
        }
    }
    if !settings.is_empty() {
        o = o.options(settings);
    }
    Ok((o, connect_timeout, fetch_copy))
}

/// The decoding kind of a result or parameter type.
pub(crate) fn kind_of(ty: &PgTypeInfo) -> Kind {
    if let Some(k) = ty.oid().and_then(|o| Kind::from_builtin_oid(o.0)) {
        return k;
    }
    match ty.kind() {
        PgTypeKind::Enum(_) => Kind::Text,
        PgTypeKind::Domain(base) => kind_of(base),
        PgTypeKind::Array(elem) => match kind_of(elem) {
            // A list of lists would need the dimensions up front.
            Kind::Array(_) => Kind::Raw,
            k => Kind::Array(Box::new(k)),
        },
        PgTypeKind::Range(elem) => match kind_of(elem) {
            k @ (Kind::Int4
            | Kind::Int8
            | Kind::NumericText
            | Kind::Date
            | Kind::Timestamp
            | Kind::TimestampTz
            | Kind::Text) => Kind::Range(Box::new(k)),
            _ => Kind::Raw,
        },
        _ if ty.name() == "citext" => Kind::Text,
        _ => Kind::Raw,
    }
}

impl PostgresConnection {
    /// Checks the URL's options without connecting.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an unknown option or a bad value.
    pub fn check_options(spec: &ConnectionSpec) -> Result<()> {
        options_from_spec(spec).map(|_| ())
    }

    /// Connects to the server of a `postgres://` URL.
    ///
    /// URL options: `sslmode`, `sslrootcert`, `connect_timeout` (seconds,
    /// default 10), `statement_timeout` (milliseconds), `application_name`,
    /// `search_path`, `timezone`, `lock_timeout`.
    ///
    /// # Error handling
    ///
    /// [`Error::Auth`] for a wrong user or password, [`Error::Connect`] for a
    /// server that cannot be reached, [`Error::Timeout`] past the connect
    /// timeout, [`Error::InvalidInput`] for an unknown option.
    pub async fn connect(spec: &ConnectionSpec) -> Result<Self> {
        let (options, connect_timeout, fetch_copy) = options_from_spec(spec)?;
        let mut conn = connect_with(&options, connect_timeout).await?;
        let (pid, version): (i32, String) =
            sqlx::query_as("SELECT pg_backend_pid(), current_setting('server_version')")
                .fetch_one(&mut conn)
                .await
                .map_err(map_err)?;
        Ok(PostgresConnection {
            conn: Arc::new(Mutex::new(Some(conn))),
            options,
            connect_timeout,
            backend_pid: Arc::new(std::sync::atomic::AtomicI32::new(pid)),
            server_version: version,
            fetch_copy,
            turn: Turn::default(),
            rollback_pending: Arc::default(),
        })
    }

    /// The server's version string (`15.8 (Debian 15.8-0+deb12u1)`).
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// The backend process id of this connection (as in `pg_stat_activity.pid`).
    pub fn backend_pid(&self) -> i32 {
        self.backend_pid.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Locks the connection for a statement, making sure no statement
    /// prepared by an earlier call is left: a cached statement would keep the
    /// result shape it had before a DDL change and fail with "cached plan
    /// must not change result type".
    async fn lock(&self, held: Option<&Held>) -> Result<PgGuard> {
        let turn = match held {
            Some(_) => None,
            None => Some(self.turn.take().await),
        };
        let guard = self.conn.clone().lock_owned().await;
        drop(turn);
        let mut guard =
            OwnedMutexGuard::try_map(guard, Option::as_mut).map_err(|_| Error::Connect {
                message: "the PostgreSQL connection is closed".into(),
                source: None,
            })?;
        rollback_if_pending(&mut guard, &self.rollback_pending).await?;
        // Normally already done by `forget_statements`; this covers a
        // statement whose task was stopped before it could.
        if guard.cached_statements_size() > 0 {
            guard.clear_cached_statements().await.map_err(map_err)?;
        }
        Ok(guard)
    }

    async fn prepare(
        guard: &mut sqlx::PgConnection,
        sql: &str,
        params: &[Value],
    ) -> Result<(sqlx::postgres::PgStatement, PgArguments)> {
        // The protocol ends strings at NUL: the server would answer with
        // "insufficient data left in message", which names nothing.
        if let Some(at) = sql.find('\0') {
            return Err(Error::invalid(format!(
                "the SQL holds a NUL character (at byte {at}), which PostgreSQL does not accept"
            )));
        }
        let stmt = guard
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await
            .map_err(map_err)?;
        let types: Vec<PgTypeInfo> = match stmt.parameters() {
            Some(sqlx::Either::Left(types)) => types.to_vec(),
            _ => Vec::new(),
        };
        if types.len() != params.len() {
            return Err(Error::invalid(format!(
                "the statement has {} parameter(s) but {} value(s) were given",
                types.len(),
                params.len()
            )));
        }
        let mut args = PgArguments::default();
        for (i, (v, t)) in params.iter().zip(&types).enumerate() {
            args.add(encode(i + 1, v, t)?)
                .map_err(|e| Error::invalid(format!("parameter ${}: {e}", i + 1)))?;
        }
        Ok((stmt, args))
    }

    /// The Arrow schema of a prepared statement's result, and how to decode
    /// each column. `numeric(p, s)` columns read from a table become
    /// Decimal128(p, s): their type modifier is looked up in `pg_attribute`.
    async fn result_schema(
        guard: &mut sqlx::PgConnection,
        stmt: &sqlx::postgres::PgStatement,
    ) -> Result<(SchemaRef, Vec<Kind>)> {
        let mut kinds: Vec<Kind> = stmt
            .columns()
            .iter()
            .map(|c| kind_of(c.type_info()))
            .collect();
        let numeric_origins: Vec<(usize, u32, i16)> = stmt
            .columns()
            .iter()
            .enumerate()
            .filter(|(i, _)| kinds[*i] == Kind::NumericText)
            .filter_map(|(i, c)| Some((i, c.relation_id()?.0, c.relation_attribute_no()?)))
            .collect();
        if !numeric_origins.is_empty() {
            let rels: Vec<i64> = numeric_origins.iter().map(|o| i64::from(o.1)).collect();
            let atts: Vec<i16> = numeric_origins.iter().map(|o| o.2).collect();
            let rows: Vec<(i64, i16, i32)> = sqlx::query_as(
                "SELECT attrelid::int8, attnum, atttypmod FROM pg_attribute \
                 JOIN unnest($1::int8[], $2::int2[]) AS u(r, a) ON attrelid = u.r::oid AND attnum = u.a",
            )
            .bind(&rels)
            .bind(&atts)
            .persistent(false)
            .fetch_all(&mut *guard)
            .await
            .map_err(map_err)?;
            for (i, rel, att) in numeric_origins {
                if let Some((_, _, typmod)) =
                    rows.iter().find(|r| r.0 == i64::from(rel) && r.1 == att)
                {
                    kinds[i] = Kind::numeric_with_typmod(*typmod);
                }
            }
        }
        let fields: Vec<Field> = stmt
            .columns()
            .iter()
            .zip(&kinds)
            .map(|(c, k)| {
                let mut f = Field::new(c.name(), k.arrow_type(), true);
                let mut md = std::collections::HashMap::new();
                md.insert(SOURCE_TYPE.to_string(), c.type_info().name().to_lowercase());
                if matches!(k, Kind::Json | Kind::VersionedText)
                    && matches!(c.type_info().name(), "JSON" | "JSONB")
                {
                    md.insert(qore_core::metadata::JSON.to_string(), "true".into());
                }
                f = f.with_metadata(md);
                f
            })
            .collect();
        Ok((Arc::new(Schema::new(fields)), kinds))
    }

    /// Opens a second connection and asks the server to cancel what this
    /// connection's backend runs.
    async fn cancel_backend(options: &PgConnectOptions, timeout: Duration, pid: i32) -> Result<()> {
        let mut side = connect_with(options, timeout).await?;
        sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&mut side)
            .await
            .map_err(map_err)?;
        crate::note("closing the cancel connection", side.close().await);
        Ok(())
    }
}

async fn connect_with(options: &PgConnectOptions, timeout: Duration) -> Result<sqlx::PgConnection> {
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(r) => r.map_err(map_err),
        Err(_) => Err(Error::Timeout(format!(
            "the PostgreSQL server did not answer within {} s; raise it with ?connect_timeout=S",
            timeout.as_secs()
        ))),
    }
}

/// Decodes rows into Arrow columns, one batch at a time.
type BatchBuilder = Batch<Kind>;

impl Decoder for Kind {
    fn decode(&self, bytes: &[u8], col: &mut Col) -> Result<()> {
        decode(self, bytes, col)
    }
}

/// One row of the row protocol.
fn push_row(batch: &mut BatchBuilder, row: &sqlx::postgres::PgRow) -> Result<()> {
    for i in 0..batch.width() {
        let v = row.try_get_raw(i).map_err(map_err)?;
        if v.is_null() {
            batch.append(i, None)?;
        } else {
            let bytes = v
                .as_bytes()
                .map_err(|e| Error::data(format!("column {}: {e}", i + 1)))?;
            batch.append(i, Some(bytes))?;
        }
    }
    batch.end_row();
    Ok(())
}

impl BatchBuilder {
    /// Decodes up to `max_rows` tuples of binary COPY data from the start of
    /// `data`; returns how many bytes it used (a tuple cut at the end waits
    /// for more data) and whether the end-of-data marker was seen.
    fn push_copy(&mut self, data: &[u8], max_rows: usize) -> Result<(usize, bool)> {
        let mut at = 0;
        let mut rows = 0;
        while rows < max_rows {
            let Some(count) = data.get(at..at + 2) else {
                break;
            };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                return Ok((at + 2, true));
            }
            if usize::try_from(count).ok() != Some(self.width()) {
                return Err(Error::data(format!(
                    "COPY sent a row of {count} fields for {} columns",
                    self.width()
                )));
            }
            // The whole tuple must be here before any of it is decoded.
            let mut end = at + 2;
            let mut complete = true;
            for _ in 0..self.width() {
                let Some(len) = data.get(end..end + 4) else {
                    complete = false;
                    break;
                };
                let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                end += 4 + usize::try_from(len).unwrap_or(0);
                if end > data.len() {
                    complete = false;
                    break;
                }
            }
            if !complete {
                break;
            }
            let mut p = at + 2;
            for i in 0..self.width() {
                let len = i32::from_be_bytes([data[p], data[p + 1], data[p + 2], data[p + 3]]);
                p += 4;
                if len < 0 {
                    self.append(i, None)?;
                } else {
                    let n = len as usize;
                    self.append(i, Some(&data[p..p + n]))?;
                    p += n;
                }
            }
            self.end_row();
            rows += 1;
            at = end;
        }
        Ok((at, false))
    }
}

/// A locked, open connection.
type PgGuard = tokio::sync::OwnedMappedMutexGuard<Option<sqlx::PgConnection>, sqlx::PgConnection>;

/// Rolls back what a dropped transaction left open.
async fn rollback_if_pending(conn: &mut sqlx::PgConnection, pending: &AtomicBool) -> Result<()> {
    if pending.swap(false, Ordering::AcqRel) {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// Closes the statements prepared for the call that just ended (see
/// [`PostgresConnection::lock`]) from a task of its own that holds the
/// connection: the caller has its answer one round trip sooner, and the
/// next statement waits for the close only if it comes before the server
/// has answered it.
fn forget_statements(mut guard: PgGuard) {
    if guard.cached_statements_size() == 0 {
        return;
    }
    // Without a runtime (a caller tearing down), `lock` closes them later.
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    SpawnedTask::spawn(async move {
        crate::note(
            "closing prepared statements",
            guard.clear_cached_statements().await,
        );
    })
    .run_to_completion();
}

/// Runs the statement and sends batches until the result ends or the
/// receiver goes away; then, if rows were left, cancels the statement on the
/// server and waits until the connection is ready again.
async fn pump(
    mut guard: PgGuard,
    stmt: sqlx::postgres::PgStatement,
    args: PgArguments,
    mut batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: Cancel,
) {
    let rows = stmt.query_with(args).fetch(&mut *guard);
    let abandoned = stream_rows(rows, &mut batch, push_row, &tx, map_err).await;
    if abandoned {
        let (options, timeout, pid) = cancel;
        let pid = pid.load(std::sync::atomic::Ordering::Relaxed);
        if PostgresConnection::cancel_backend(&options, timeout, pid)
            .await
            .is_ok()
        {
            // Reading up to ReadyForQuery; a cancel that arrived late may hit
            // this ping instead, so try once more.
            if guard.ping().await.is_err() {
                crate::note("resyncing after a cancel", guard.ping().await);
            }
        }
    }
    forget_statements(guard);
}

/// Cancels the backend's statement from a task of its own when dropped
/// armed: the future running `execute` was cancelled (Ctrl-C), and the
/// server would otherwise run the statement to its end.
struct CancelOnDrop(Option<(PgConnectOptions, Duration, i32)>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some((options, timeout, pid)) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            SpawnedTask::spawn(async move {
                crate::note(
                    "cancelling a statement",
                    PostgresConnection::cancel_backend(&options, timeout, pid).await,
                );
            })
            .run_to_completion();
        }
    }
}

/// What a stream task needs to stop its statement: how to open a second
/// connection, and the backend to cancel.
type Cancel = (
    PgConnectOptions,
    Duration,
    Arc<std::sync::atomic::AtomicI32>,
);

/// The binary COPY header: signature, flags, header extension length.
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Like [`pump`], for `COPY (query) TO STDOUT (FORMAT binary)`: the same
/// binary values without sqlx's per-row work. On abandon, the statement is
/// cancelled and the rest of the COPY read and dropped (the connection must
/// see the end of the COPY before it can run anything else).
async fn pump_copy(
    mut guard: PgGuard,
    copy_sql: String,
    batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: Cancel,
) {
    let broken = copy_rows(&mut guard, copy_sql, batch, tx, &cancel).await;
    if broken {
        // sqlx leaves the server's ReadyForQuery unread when a COPY fails
        // before it starts, and the connection cannot resync: replace it
        // (settings made with SET are lost; the URL's options apply again).
        let (options, timeout, pid_cell) = &cancel;
        if let Ok(mut fresh) = connect_with(options, *timeout).await
            && let Ok((p,)) = sqlx::query_as::<_, (i32,)>("SELECT pg_backend_pid()")
                .fetch_one(&mut fresh)
                .await
        {
            pid_cell.store(p, std::sync::atomic::Ordering::Relaxed);
            *guard = fresh;
        }
    }
    forget_statements(guard);
}

/// The body of [`pump_copy`]; returns whether the connection is out of sync.
async fn copy_rows(
    guard: &mut sqlx::PgConnection,
    copy_sql: String,
    mut batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: &Cancel,
) -> bool {
    let (options, timeout, pid_cell) = cancel;
    let (options, timeout) = (options.clone(), *timeout);
    let pid = pid_cell.load(std::sync::atomic::Ordering::Relaxed);
    // The server sends nothing until the first row (its CopyOutResponse
    // waits in its output buffer), so a receiver that leaves now is
    // noticed here: cancel, and go on waiting for the start, which then
    // fails or starts and ends at once.
    let mut cancelled = false;
    let started = {
        let start = guard.copy_out_raw(&copy_sql);
        tokio::pin!(start);
        let closed = tx.closed();
        tokio::pin!(closed);
        loop {
            tokio::select! {
                biased;
                _ = &mut closed, if !cancelled => {
                    cancelled = true;
                    crate::note("cancelling a statement", PostgresConnection::cancel_backend(&options, timeout, pid).await);
                }
                r = &mut start => break r,
            }
        }
    };
    let chunks = match started {
        Ok(c) => Some(c),
        Err(e) => {
            let err = map_err(e);
            if !cancelled {
                let _ = tx.send(Err(err)).await;
            }
            None
        }
    };
    let Some(mut chunks) = chunks else {
        return true;
    };
    if cancelled {
        while let Some(r) = chunks.next().await {
            if r.is_err() {
                break;
            }
        }
        return false;
    }
    let mut parser = CopyParser::default();
    let mut abandoned = false;
    {
        // One `closed` future for the whole COPY: a fresh one per message
        // costs more than decoding the row.
        let closed = tx.closed();
        tokio::pin!(closed);
        'read: loop {
            let first = tokio::select! {
                biased;
                _ = &mut closed => { abandoned = true; break 'read; }
                next = chunks.next() => next,
            };
            let mut next = first;
            // Then every chunk that is already there, without going back
            // through the select (a bounded number, to notice a dropped
            // receiver in time).
            let mut budget = 4096;
            loop {
                match next {
                    Some(Ok(chunk)) => match parser.feed(&chunk, &mut batch, &tx).await {
                        Ok(true) => {}
                        Ok(false) => {
                            abandoned = true;
                            break 'read;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            abandoned = true;
                            break 'read;
                        }
                    },
                    Some(Err(e)) => {
                        let _ = tx.send(Err(map_err(e))).await;
                        return false;
                    }
                    None => break 'read,
                }
                budget -= 1;
                if budget == 0 {
                    continue 'read;
                }
                match chunks.next().now_or_never() {
                    Some(n) => next = n,
                    None => continue 'read,
                }
            }
        }
    }
    if abandoned {
        crate::note(
            "cancelling a statement",
            PostgresConnection::cancel_backend(&options, timeout, pid).await,
        );
        // Read the COPY to its end (the server stops at the cancel) so the
        // connection is in sync again.
        while let Some(r) = chunks.next().await {
            if r.is_err() {
                break;
            }
        }
        return false;
    }
    if batch.len() > 0 {
        let _ = tx.send(batch.finish()).await;
    }
    false
}

/// Splits binary COPY data into tuples, whatever the chunking.
#[derive(Default)]
struct CopyParser {
    /// Bytes of a tuple (or the header) cut at the end of the last chunk.
    pending: Vec<u8>,
    header: bool,
    finished: bool,
}

impl CopyParser {
    /// Decodes what `chunk` completes into `batch`, sending full batches.
    /// Returns `Ok(false)` when the receiver is gone.
    async fn feed(
        &mut self,
        chunk: &[u8],
        batch: &mut BatchBuilder,
        tx: &mpsc::Sender<Result<RecordBatch>>,
    ) -> Result<bool> {
        if self.finished {
            return Ok(true);
        }
        let joined;
        let mut data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            self.pending.extend_from_slice(chunk);
            joined = std::mem::take(&mut self.pending);
            &joined
        };
        if !self.header {
            if data.len() < COPY_SIGNATURE.len() + 8 {
                self.pending.extend_from_slice(data);
                return Ok(true);
            }
            if &data[..COPY_SIGNATURE.len()] != COPY_SIGNATURE {
                return Err(Error::data("COPY did not start with the binary signature"));
            }
            let ext = u32::from_be_bytes([data[15], data[16], data[17], data[18]]) as usize;
            if data.len() < 19 + ext {
                self.pending.extend_from_slice(data);
                return Ok(true);
            }
            data = &data[19 + ext..];
            self.header = true;
        }
        loop {
            let room = BATCH_ROWS.saturating_sub(batch.len()).max(1);
            let (used, end) = batch.push_copy(data, room)?;
            data = &data[used..];
            if batch.full() && tx.send(batch.finish()).await.is_err() {
                return Ok(false);
            }
            if end {
                self.finished = true;
                return Ok(true);
            }
            if used == 0 || data.is_empty() {
                break;
            }
        }
        self.pending.extend_from_slice(data);
        Ok(true)
    }
}

/// Whether `sql` is one read-only query that `COPY (...) TO STDOUT` accepts.
fn copyable(sql: &str) -> Option<String> {
    let body = sql
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let tokens = qore_core::sql::tokenize(body);
    let first = tokens.first()?;
    if !["SELECT", "VALUES", "TABLE", "WITH"]
        .iter()
        .any(|k| first.is_keyword(k))
    {
        return None;
    }
    // One statement, and not SELECT ... INTO (which COPY refuses).
    if tokens
        .iter()
        .any(|t| t.kind == qore_core::sql::TokenKind::Punct(';') || t.is_keyword("INTO"))
    {
        return None;
    }
    // The newline ends a trailing `-- comment` before the closing parenthesis.
    Some(format!("COPY ({body}\n) TO STDOUT (FORMAT binary)"))
}

impl PostgresConnection {
    /// `query`, in a transaction when `held` is given.
    async fn query_with(
        &self,
        held: Option<&Held>,
        sql: &str,
        params: &[Value],
    ) -> Result<SendableRecordBatchStream> {
        let mut guard = self.lock(held).await?;
        let (stmt, args) = Self::prepare(&mut guard, sql, params).await?;
        let (schema, kinds) = Self::result_schema(&mut guard, &stmt).await?;
        let batch = BatchBuilder::new(schema.clone(), kinds)?;
        let (tx, rx) = mpsc::channel(1);
        let cancel = (
            self.options.clone(),
            self.connect_timeout,
            self.backend_pid.clone(),
        );
        // Not in a transaction: the EXPLAIN that guards COPY would abort the
        // transaction where it fails, and a COPY that breaks the connection
        // (see `pump_copy`) would lose it.
        let mut copy = if held.is_none()
            && self.fetch_copy
            && params.is_empty()
            && !schema.fields().is_empty()
        {
            copyable(sql)
        } else {
            None
        };
        if copy.is_some() {
            // Plan it once first: an error while planning (a constant folded
            // to 1/0, say) would otherwise hit COPY before it starts, where
            // sqlx cannot resync the connection. Such queries take the
            // prepared path, which reports the error cleanly.
            let body = sql
                .trim()
                .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
            let explain = format!("EXPLAIN (COSTS OFF) {body}");
            if sqlx::raw_sql(AssertSqlSafe(explain))
                .execute(&mut *guard)
                .await
                .is_err()
            {
                copy = None;
            }
        }
        let task = match copy {
            Some(copy_sql) => SpawnedTask::spawn(pump_copy(guard, copy_sql, batch, tx, cancel)),
            None => SpawnedTask::spawn(pump(guard, stmt, args, batch, tx, cancel)),
        };
        Ok(Box::pin(ChannelStream::new(schema, rx, task)))
    }

    /// `execute`, in a transaction when `held` is given.
    async fn execute_with(
        &self,
        held: Option<&Held>,
        sql: &str,
        params: &[Value],
    ) -> Result<ExecuteOutcome> {
        let mut guard = self.lock(held).await?;
        let (stmt, args) = Self::prepare(&mut guard, sql, params).await?;
        let cancel = CancelOnDrop(Some((
            self.options.clone(),
            self.connect_timeout,
            self.backend_pid.load(std::sync::atomic::Ordering::Relaxed),
        )));
        let done = stmt.query_with(args).execute(&mut *guard).await;
        cancel.disarm();
        forget_statements(guard);
        let done = done.map_err(map_err)?;
        Ok(ExecuteOutcome {
            rows_affected: done.rows_affected(),
        })
    }
}

#[async_trait]
impl HeldSession for PostgresConnection {
    async fn query_held(
        &self,
        held: &Held,
        sql: &str,
        params: &[Value],
    ) -> Result<SendableRecordBatchStream> {
        self.query_with(Some(held), sql, params).await
    }

    async fn execute_held(
        &self,
        held: &Held,
        sql: &str,
        params: &[Value],
    ) -> Result<ExecuteOutcome> {
        self.execute_with(Some(held), sql, params).await
    }

    async fn commit_held(&self, held: &Held) -> Result<()> {
        let mut guard = self.lock(Some(held)).await?;
        // PostgreSQL answers COMMIT in an aborted transaction (a statement
        // cancelled because its stream was dropped) with a rollback and no
        // error; the SELECT fails there first and COMMIT is not run.
        sqlx::raw_sql("SELECT 1; COMMIT")
            .execute(&mut *guard)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    fn rollback_on_drop(&self, held: Held) {
        let (conn, pending) = (self.conn.clone(), self.rollback_pending.clone());
        crate::session::rollback_soon(&self.rollback_pending, held, async move {
            match conn.lock_owned().await.as_mut() {
                Some(conn) => rollback_if_pending(conn, &pending).await,
                None => Ok(()),
            }
        });
    }
}

#[async_trait]
impl Connection for PostgresConnection {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn dialect(&self) -> Option<Arc<dyn Dialect>> {
        static SHARED: std::sync::LazyLock<Arc<dyn Dialect>> =
            std::sync::LazyLock::new(|| Arc::new(PostgresDialect));
        Some(SHARED.clone())
    }

    async fn ping(&self) -> Result<()> {
        let mut g = self.lock(None).await?;
        g.ping().await.map_err(map_err)
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        self.query_with(None, sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        self.execute_with(None, sql, params).await
    }

    async fn begin(&self) -> Result<Transaction<'_>> {
        crate::session::begin(self, &self.turn).await
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(self)
    }

    /// Says goodbye with Terminate, so the server logs no broken
    /// connection; later calls fail with "closed".
    async fn close(&self) -> Result<()> {
        let _turn = self.turn.take().await;
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_mut() {
            rollback_if_pending(conn, &self.rollback_pending).await?;
        }
        match slot.take() {
            Some(conn) => conn.close().await.map_err(map_err),
            None => Ok(()),
        }
    }
}

impl PostgresConnection {
    /// Runs a catalog query (typed rows, no streaming) on this connection.
    pub(crate) async fn fetch_all<'q, O>(
        &self,
        q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, PgArguments>,
    ) -> Result<Vec<O>>
    where
        O: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut g = self.lock(None).await?;
        q.persistent(false)
            .fetch_all(&mut *g)
            .await
            .map_err(map_err)
    }
}
