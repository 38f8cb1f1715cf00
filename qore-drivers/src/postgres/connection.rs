//! `PostgresConnection`: one sqlx connection, owned by a task while a result
//! streams.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;

use qore_core::metadata::SOURCE_TYPE;
use qore_core::{
    Catalog, Connection, ConnectionSpec, Dialect, Engine, Error, ErrorKind, ExecuteOutcome, Result,
    SendableRecordBatchStream, Transaction, Value,
};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgTypeInfo, PgTypeKind};
use sqlx::{
    Arguments, AssertSqlSafe, Column, ConnectOptions, Connection as _, Executor, Row, SqlSafeStr,
    Statement, TypeInfo, ValueRef,
};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use super::copy::{copyable, pump_copy};
use super::decode::{Kind, decode};
use super::dialect::PostgresDialect;
use super::encode::encode;
use super::errors::{map_err, map_stream_err};
use crate::keepalive::{Health, Policy, breaks, describe, lost, ping_within};
use super::options::options_from_spec;
use crate::server::builder::Col;
use crate::server::{Batch, ChannelStream, Decoder, SpawnedTask, stream_rows};
use crate::session::{Held, HeldSession, Turn};

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
    /// Keep-alive, reconnects, and the settings a replacement restores.
    health: Arc<Health>,
}

impl std::fmt::Debug for PostgresConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConnection")
            .field("backend_pid", &self.backend_pid)
            .field("server_version", &self.server_version)
            .finish_non_exhaustive()
    }
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
        let policy = Policy::from_spec(spec)?;
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
            health: Arc::new(Health::new(Engine::Postgres, policy)),
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
        match held {
            None => self.keep_alive(&mut guard).await?,
            // A transaction cannot move to a new connection.
            Some(_) if self.health.is_broken() => {
                return Err(Error::connection_lost(
                    "the transaction",
                    "an earlier statement of the transaction found the connection broken",
                ));
            }
            Some(_) => {}
        }
        let pending = rollback_if_pending(&mut guard, &self.rollback_pending).await;
        match pending {
            Err(e) if held.is_none() && breaks(&e) && self.health.reconnects_enabled() => {
                self.replace(&mut guard, e).await?
            }
            r => r?,
        }
        // Normally already done by `forget_statements`; this covers a
        // statement whose task was stopped before it could. Inside a
        // transaction, the statements without results that `execute_with`
        // keeps stay (the commit closes them).
        if held.is_none() && guard.cached_statements_size() > 0 {
            guard.clear_cached_statements().await.map_err(map_err)?;
        }
        Ok(guard)
    }

    /// Before a statement outside a transaction: pings a session idle past
    /// the policy's threshold, and replaces one found (or known) broken.
    async fn keep_alive(&self, conn: &mut sqlx::PgConnection) -> Result<()> {
        let idle = self.health.touch();
        if !self.health.reconnects_enabled() {
            return Ok(());
        }
        let why = if self.health.is_broken() {
            Error::Connect {
                message: "an earlier call found the connection broken".into(),
                source: None,
            }
        } else if idle {
            let ping = async { conn.ping().await.map_err(map_err) };
            match ping_within(self.health.policy.ping_timeout, ping).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            }
        } else {
            return Ok(());
        };
        self.replace(conn, why).await
    }

    /// Replaces a dead connection with a new one to the same server, with
    /// the URL's settings (startup options) and the session's own `SET`s.
    /// A transaction the old one had open died with it.
    async fn replace(&self, conn: &mut sqlx::PgConnection, why: Error) -> Result<()> {
        let started = Instant::now();
        let replaced = async {
            let mut fresh = connect_with(&self.options, self.connect_timeout).await?;
            let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
                .fetch_one(&mut fresh)
                .await
                .map_err(map_err)?;
            for sql in self.health.settings() {
                sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                    .execute(&mut fresh)
                    .await
                    .map_err(|e| map_err(e).context(format!("restoring `{sql}`")))?;
            }
            Ok::<_, Error>((fresh, pid))
        }
        .await;
        let (fresh, pid) = replaced.map_err(|e| {
            e.context(format!(
                "the session was lost ({why}) and could not be replaced"
            ))
        })?;
        self.backend_pid.store(pid, Ordering::Relaxed);
        self.rollback_pending.store(false, Ordering::Release);
        // The old one's socket is dead: dropped, not closed politely.
        drop(std::mem::replace(conn, fresh));
        self.health.replaced(&why, started);
        Ok(())
    }

    /// A failure after the statement was sent: a broken transport marks
    /// the session for replacement and is
    /// [`ErrorKind::ConnectionLost`](qore_core::ErrorKind::ConnectionLost).
    fn cut_off(&self, e: Error, sql: &str) -> Error {
        if breaks(&e) {
            self.health.mark_broken();
            lost(e, &describe(sql))
        } else {
            e
        }
    }

    /// Prepares on a connection locked by [`lock`](Self::lock): a transport
    /// found broken here is replaced and the statement prepared again
    /// outside a transaction (nothing has run yet: Parse and Describe do
    /// not execute); inside one, it is the transaction's loss.
    async fn prepare_keeping(
        &self,
        held: Option<&Held>,
        guard: &mut sqlx::PgConnection,
        sql: &str,
        params: &[Value],
    ) -> Result<(sqlx::postgres::PgStatement, PgArguments)> {
        match Self::prepare(guard, sql, params).await {
            Err(e) if held.is_none() && breaks(&e) && self.health.reconnects_enabled() => {
                self.replace(guard, e).await?;
                let r = Self::prepare(guard, sql, params).await;
                self.health.note(&r);
                r
            }
            Err(e) => {
                let r = Err(e);
                self.health.note(&r);
                r.map_err(|e| match held {
                    Some(_) => lost(e, &describe(sql)),
                    None => e,
                })
            }
            ok => ok,
        }
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
    pub(super) async fn cancel_backend(
        options: &PgConnectOptions,
        timeout: Duration,
        pid: i32,
    ) -> Result<()> {
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

pub(super) async fn connect_with(
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<sqlx::PgConnection> {
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(r) => r.map_err(map_err),
        Err(_) => Err(Error::Timeout(format!(
            "the PostgreSQL server did not answer within {} s; raise it with ?connect_timeout=S",
            timeout.as_secs()
        ))),
    }
}

/// Decodes rows into Arrow columns, one batch at a time.
pub(super) type BatchBuilder = Batch<Kind>;

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

/// A locked, open connection.
pub(super) type PgGuard =
    tokio::sync::OwnedMappedMutexGuard<Option<sqlx::PgConnection>, sqlx::PgConnection>;

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
pub(super) fn forget_statements(mut guard: PgGuard) {
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
    let abandoned = stream_rows(rows, &mut batch, push_row, &tx, map_stream_err).await;
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
pub(super) type Cancel = (
    PgConnectOptions,
    Duration,
    Arc<std::sync::atomic::AtomicI32>,
);

impl PostgresConnection {
    /// `query`, in a transaction when `held` is given.
    async fn query_with(
        &self,
        held: Option<&Held>,
        sql: &str,
        params: &[Value],
    ) -> Result<SendableRecordBatchStream> {
        if held.is_none() && crate::keepalive::records(Engine::Postgres, sql) {
            // Run for its effect, so that it is recorded (to be restored on
            // a replacement) only once it has worked.
            self.execute_with(None, sql, params).await?;
            return Ok(Box::pin(qore_core::EmptyRecordBatchStream::new(Arc::new(
                Schema::empty(),
            ))));
        }
        let mut guard = self.lock(held).await?;
        let (stmt, args) = self.prepare_keeping(held, &mut guard, sql, params).await?;
        let shape = Self::result_schema(&mut guard, &stmt).await;
        self.health.note(&shape);
        let (schema, kinds) = shape?;
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

    /// `execute`, in a transaction when `held` is given. A read cut off by
    /// a broken connection outside a transaction runs once more on a new
    /// one; anything else cut off is [`Error::ConnectionLost`].
    async fn execute_with(
        &self,
        held: Option<&Held>,
        sql: &str,
        params: &[Value],
    ) -> Result<ExecuteOutcome> {
        let r = match self.execute_once(held, sql, params).await {
            Err(e)
                if e.kind() == ErrorKind::ConnectionLost
                    && held.is_none()
                    && self.health.reconnects_enabled()
                    && qore_core::replay::replay_safe(sql, qore_core::sql::Flavor::Standard) =>
            {
                self.execute_once(None, sql, params).await
            }
            r => r,
        };
        if r.is_ok() && held.is_none() && crate::keepalive::records(Engine::Postgres, sql) {
            self.health.record(sql);
        }
        r
    }

    async fn execute_once(
        &self,
        held: Option<&Held>,
        sql: &str,
        params: &[Value],
    ) -> Result<ExecuteOutcome> {
        let mut guard = self.lock(held).await?;
        let (stmt, args) = self.prepare_keeping(held, &mut guard, sql, params).await?;
        let cancel = CancelOnDrop(Some((
            self.options.clone(),
            self.connect_timeout,
            self.backend_pid.load(std::sync::atomic::Ordering::Relaxed),
        )));
        // A statement without result columns (UPDATE, DELETE, INSERT) stays
        // prepared for the rest of a transaction: its next run (the next row
        // of a sandbox apply) is one round trip instead of three, and no
        // result shape can go stale. Outside a transaction, and after any
        // query, prepared statements are closed as before.
        let keep = held.is_some() && stmt.columns().is_empty();
        let done = stmt.query_with(args).execute(&mut *guard).await;
        cancel.disarm();
        if !keep {
            forget_statements(guard);
        }
        let done = done.map_err(|e| self.cut_off(map_err(e), sql))?;
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
        // What the transaction kept prepared goes now.
        forget_statements(guard);
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
        let r = g.ping().await.map_err(map_err);
        self.health.note(&r);
        r
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        self.query_with(None, sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        self.execute_with(None, sql, params).await
    }

    async fn begin(&self) -> Result<Transaction<'_>> {
        // A transaction starts on a live connection: checked (and replaced
        // if dead) as a plain statement would be.
        drop(self.lock(None).await?);
        crate::session::begin(self, &self.turn).await
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(self)
    }

    fn admin(&self) -> Option<&dyn qore_core::admin::Admin> {
        Some(self)
    }

    fn reconnects(&self) -> u64 {
        self.health.reconnects()
    }

    async fn session_info(&self) -> Result<qore_core::SessionInfo> {
        let rows: Vec<(bool, Option<String>)> = self
            .fetch_all(sqlx::query_as(
                "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            ))
            .await?;
        let tls = match rows.into_iter().next() {
            Some((true, v)) => v.unwrap_or_else(|| "TLS".into()),
            _ => "none".into(),
        };
        Ok(qore_core::SessionInfo::new(
            Some(self.server_version.clone()),
            Some(tls),
            Some(self.backend_pid().to_string()),
        ))
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
        let r = q
            .persistent(false)
            .fetch_all(&mut *g)
            .await
            .map_err(map_err);
        self.health.note(&r);
        r
    }
}
