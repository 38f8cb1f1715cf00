//! `MySqlConnection`: one connection to MySQL or MariaDB (our own wire
//! protocol, `wire.rs`), owned by a task while a result streams. Rows and
//! their schema are in `rows.rs`, the dialect in `dialect.rs`, the URL's
//! options in `options.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use qore_core::{
    Catalog, Connection, ConnectionSpec, Dialect, Engine, Error, ErrorKind, ExecuteOutcome, Result,
    SendableRecordBatchStream, Transaction, Value,
};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use super::codec::{ColumnDef, Param, Statement, WireError};
use super::decode::Kind;
use super::dialect::MySqlDialect;
use super::errors::map_err;
use crate::keepalive::{Health, Policy, breaks, describe, lost, ping_within};
use super::options::{Options, Settings, options_from_spec};
use super::rows::{BatchBuilder, KillOnDrop, bind, pump, ready, schema_of, wire_types};
use super::text::{FromTextRow, text_query};
use super::wire::Conn;
use crate::server::builder::Col;
use crate::server::{ChannelStream, SpawnedTask};
use crate::session::{Held, HeldSession, Turn};

/// A connection to one MySQL or MariaDB database.
pub struct MySqlConnection {
    conn: Arc<Mutex<Conn>>,
    /// Shared with streaming tasks, which may open a side connection.
    options: Arc<Options>,
    /// What a replacement connection is opened and set up with.
    settings: Settings,
    /// Changes when a broken connection is replaced.
    connection_id: AtomicU64,
    server_version: String,
    dialect: Arc<MySqlDialect>,
    turn: Turn,
    /// Set by a transaction dropped without an end: the next user of the
    /// connection rolls it back first.
    rollback_pending: Arc<AtomicBool>,
    /// Keep-alive, reconnects, and the settings a replacement restores.
    health: Arc<Health>,
}

impl std::fmt::Debug for MySqlConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlConnection")
            .field("connection_id", &self.connection_id)
            .field("server_version", &self.server_version)
            .finish_non_exhaustive()
    }
}

impl MySqlConnection {
    /// Checks the URL's options without connecting.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an unknown option or a bad value.
    pub fn check_options(spec: &ConnectionSpec) -> Result<()> {
        options_from_spec(spec).map(|_| ())
    }

    /// Connects to the server of a `mysql://` or `mariadb://` URL.
    ///
    /// URL options: `ssl-mode` (disabled, preferred (default), required,
    /// verify_ca, verify_identity), `ssl-ca` (PEM file; implies verify_ca),
    /// `connect_timeout` (seconds, default 10), `statement_timeout`
    /// (milliseconds: MariaDB's `max_statement_time`, MySQL's
    /// `max_execution_time`), `socket` (a Unix socket path), `read_only`,
    /// `server-public-key-path` (the server's RSA public key, PEM: lets
    /// `caching_sha2_password` and `sha256_password` send the password
    /// encrypted over plain TCP) and `get-server-public-key` (true: ask the
    /// server for that key instead; off by default, like MySQL's client,
    /// since a man in the middle could hand over his own).
    ///
    /// # Error handling
    ///
    /// [`Error::Auth`] for a wrong user or password, [`Error::Connect`] for a
    /// server that cannot be reached, [`Error::Timeout`] past the connect
    /// timeout, [`Error::InvalidInput`] for an unknown option.
    pub async fn connect(spec: &ConnectionSpec) -> Result<Self> {
        let settings = options_from_spec(spec)?;
        let policy = Policy::from_spec(spec)?;
        let (conn, id, version, mode) = open_session(&settings).await?;
        Ok(MySqlConnection {
            conn: Arc::new(Mutex::new(conn)),
            options: Arc::new(settings.options.clone()),
            settings,
            connection_id: AtomicU64::new(id),
            server_version: version,
            dialect: Arc::new(MySqlDialect::for_sql_mode(&mode)),
            turn: Turn::default(),
            rollback_pending: Arc::default(),
            health: Arc::new(Health::new(Engine::MySql, policy)),
        })
    }

    /// The server's version string (`10.11.6-MariaDB-0+deb12u1`).
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// `template` with each `?` replaced by a quoted literal (NULL for
    /// `None`). information_schema queries need literals: MariaDB and MySQL
    /// only narrow them to one table for constants, not for parameters, and
    /// otherwise open every table of every schema.
    pub(crate) fn inline(&self, template: &str, args: &[Option<&str>]) -> Result<String> {
        let mut out = String::with_capacity(template.len() + 64);
        let mut args = args.iter();
        for (i, part) in template.split('?').enumerate() {
            if i > 0 {
                match args.next() {
                    Some(Some(v)) => out.push_str(&self.dialect.quote_string(v)?),
                    Some(None) => out.push_str("NULL"),
                    None => return Err(Error::Internal("too few catalog query arguments".into())),
                }
            }
            out.push_str(part);
        }
        Ok(out)
    }

    /// Whether the server is MariaDB.
    pub fn is_mariadb(&self) -> bool {
        self.server_version.contains("MariaDB")
    }

    /// This connection's id (as in `SHOW PROCESSLIST`).
    pub fn connection_id(&self) -> u64 {
        self.connection_id.load(Ordering::Relaxed)
    }

    async fn lock(&self, held: Option<&Held>) -> Result<OwnedMutexGuard<Conn>> {
        let turn = match held {
            Some(_) => None,
            None => Some(self.turn.take().await),
        };
        let mut guard = self.conn.clone().lock_owned().await;
        drop(turn);
        match held {
            None => self.keep_alive(&mut guard).await?,
            // A transaction cannot move to a new connection.
            Some(_) if self.health.is_broken() || guard.peer_gone() => {
                self.health.mark_broken();
                return Err(Error::connection_lost(
                    "the transaction",
                    "the server closed the connection or an earlier statement found it broken",
                ));
            }
            Some(_) => {}
        }
        let r = ready(&mut guard, &self.rollback_pending).await;
        match r {
            Err(e) if held.is_none() && breaks(&e) && self.health.reconnects_enabled() => {
                self.replace(&mut guard, e).await?
            }
            r => r?,
        }
        Ok(guard)
    }

    /// Before a statement outside a transaction: replaces a connection the
    /// server has closed (seen without a round trip) or an earlier call
    /// found broken, and pings one idle past the policy's threshold.
    async fn keep_alive(&self, conn: &mut Conn) -> Result<()> {
        let idle = self.health.touch();
        if !self.health.reconnects_enabled() || conn.is_closed() {
            return Ok(());
        }
        let why = if self.health.is_broken() || conn.peer_gone() {
            Error::Connect {
                message: "the server closed the connection".into(),
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

    /// Replaces a dead connection with a new one set up as the first was
    /// (URL settings, time zone, character set), then the session's own
    /// `SET`s and `USE`. A transaction the old one had open died with it.
    async fn replace(&self, conn: &mut Conn, why: Error) -> Result<()> {
        let started = Instant::now();
        let replaced = async {
            let (mut fresh, id, _, _) = open_session(&self.settings).await?;
            for sql in self.health.settings() {
                fresh
                    .query_text(&sql)
                    .await
                    .map_err(|e| map_err(e).context(format!("restoring `{sql}`")))?;
            }
            Ok::<_, Error>((fresh, id))
        }
        .await;
        let (fresh, id) = replaced.map_err(|e| {
            e.context(format!(
                "the session was lost ({why}) and could not be replaced"
            ))
        })?;
        self.connection_id.store(id, Ordering::Relaxed);
        self.rollback_pending.store(false, Ordering::Release);
        *conn = fresh;
        self.after_statement(conn, "sql_mode").await?;
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

    /// Prepares on a locked connection: a transport found broken here is
    /// replaced and the statement prepared again outside a transaction
    /// (COM_STMT_PREPARE runs nothing); inside one, it is the
    /// transaction's loss.
    async fn prepare_keeping(
        &self,
        held: Option<&Held>,
        guard: &mut Conn,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<(Statement, Vec<Param>)>> {
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

    /// Stops the statement on the server if the caller's future is dropped
    /// while it runs inline (not in a stream's task).
    fn kill_on_drop(&self) -> KillOnDrop {
        KillOnDrop(Some((Arc::clone(&self.options), self.connection_id())))
    }

    /// Re-reads the session's sql_mode after a statement that may change it.
    async fn after_statement(&self, guard: &mut Conn, sql: &str) -> Result<()> {
        if sql.to_ascii_lowercase().contains("sql_mode") {
            let rows: Vec<(String,)> = text_query(guard, "SELECT @@SESSION.sql_mode").await?;
            if let Some((mode,)) = rows.first() {
                self.dialect.set_sql_mode(mode);
            }
        }
        Ok(())
    }

    async fn prepare(
        guard: &mut Conn,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<(Statement, Vec<Param>)>> {
        let stmt = match guard.prepare(sql).await {
            Ok(s) => s,
            // ER_UNSUPPORTED_PS: the statement cannot be prepared (USE, some
            // admin statements): the caller runs it as plain text.
            Err(WireError::Server { code: 1295, .. }) => {
                if !params.is_empty() {
                    return Err(Error::invalid(
                        "this statement cannot be prepared, so it cannot take parameters",
                    ));
                }
                return Ok(None);
            }
            Err(e) => return Err(map_err(e)),
        };
        if stmt.params != params.len() {
            let n = stmt.params;
            crate::note(
                "closing a prepared statement",
                guard.close_statement(stmt.id).await,
            );
            return Err(Error::invalid(format!(
                "the statement has {n} parameter(s) but {} value(s) were given",
                params.len()
            )));
        }
        let mut args = Vec::with_capacity(params.len());
        for (i, v) in params.iter().enumerate() {
            match bind(v) {
                Ok(p) => args.push(p),
                Err(e) => {
                    crate::note(
                        "closing a prepared statement",
                        guard.close_statement(stmt.id).await,
                    );
                    return Err(Error::invalid(format!("parameter {}: {e}", i + 1)));
                }
            }
        }
        Ok(Some((stmt, args)))
    }

    /// The Arrow schema of a prepared statement's result. DECIMAL columns of
    /// a table get their precision and scale, and binary-looking columns
    /// their character set, from information_schema.
    async fn result_schema(
        guard: &mut Conn,
        columns: &[ColumnDef],
        mariadb: bool,
        dialect: &MySqlDialect,
    ) -> Result<(SchemaRef, Vec<Kind>)> {
        let (mut kinds, mut source) = wire_types(columns);
        let wanted: Vec<(usize, String, String, String)> = columns
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(kinds[*i], Kind::DecimalText | Kind::Binary | Kind::Text))
            .filter(|(_, c)| {
                !c.schema.is_empty() && !c.org_table.is_empty() && !c.org_name.is_empty()
            })
            .map(|(i, c)| (i, c.schema.clone(), c.org_table.clone(), c.org_name.clone()))
            .collect();
        if !wanted.is_empty() {
            let mut sql = String::from(
                "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, \
                 CAST(NUMERIC_PRECISION AS SIGNED), CAST(NUMERIC_SCALE AS SIGNED), CHARACTER_SET_NAME, ",
            );
            // MariaDB's JSON is LONGTEXT with a json_valid() check; MySQL's has DATA_TYPE json.
            sql.push_str(if mariadb {
                "CAST(EXISTS(SELECT 1 FROM information_schema.CHECK_CONSTRAINTS cc \
                   WHERE cc.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND cc.TABLE_NAME = c.TABLE_NAME \
                   AND cc.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')) AS SIGNED) \
                 FROM information_schema.COLUMNS c WHERE "
            } else {
                "CAST(c.DATA_TYPE = 'json' AS SIGNED) FROM information_schema.COLUMNS c WHERE "
            });
            // Literals, not parameters: information_schema is only narrowed
            // to the named tables for constants.
            for (n, (_, s, t, c)) in wanted.iter().enumerate() {
                if n > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str(&format!(
                    "(c.TABLE_SCHEMA = {} AND c.TABLE_NAME = {} AND c.COLUMN_NAME = {})",
                    dialect.quote_string(s)?,
                    dialect.quote_string(t)?,
                    dialect.quote_string(c)?
                ));
            }
            type Info = (
                String,
                String,
                String,
                String,
                String,
                Option<i64>,
                Option<i64>,
                Option<String>,
                i64,
            );
            let rows: Vec<Info> = text_query(guard, &sql).await?;
            for (i, s, t, c) in wanted {
                let Some(r) = rows.iter().find(|r| r.0 == s && r.1 == t && r.2 == c) else {
                    continue;
                };
                source[i] = r.3.clone();
                match kinds[i] {
                    Kind::DecimalText => {
                        if let (Some(p), Some(sc)) = (r.5, r.6)
                            && let (Ok(p), Ok(sc)) = (u8::try_from(p), i8::try_from(sc))
                            && p <= 38
                        {
                            kinds[i] = Kind::Decimal(p, sc);
                        }
                    }
                    Kind::Text | Kind::Binary if r.8 == 1 => kinds[i] = Kind::Json,
                    // A text column with a binary collation (utf8mb4_bin) is flagged binary.
                    Kind::Binary if r.7.is_some() => kinds[i] = Kind::Text,
                    _ => {}
                }
            }
        }
        Ok((schema_of(columns, &kinds, source), kinds))
    }

    /// The schema of a result whose rows are already coming (a CALL): the
    /// connection is busy, so there are no information_schema lookups and
    /// DECIMALs stay exact text.
    fn result_schema_after(columns: &[ColumnDef]) -> (SchemaRef, Vec<Kind>) {
        let (kinds, source) = wire_types(columns);
        (schema_of(columns, &kinds, source), kinds)
    }

    pub(super) async fn kill_query(options: &Options, id: u64) -> Result<()> {
        let mut side = Conn::connect(options).await.map_err(map_err)?;
        side.query_text(&format!("KILL QUERY {id}"))
            .await
            .map_err(map_err)?;
        side.quit().await;
        Ok(())
    }

    /// Runs a statement that cannot be prepared, as text; its result (small:
    /// such statements are administrative) is read whole, every column as text.
    async fn run_unprepared(guard: &mut Conn, sql: &str) -> Result<RecordBatch> {
        let result = guard.query_text(sql).await.map_err(map_err)?;
        if result.columns.is_empty() {
            return Ok(RecordBatch::new_empty(Arc::new(Schema::empty())));
        }
        let fields: Vec<Field> = result
            .columns
            .iter()
            .map(|c| Field::new(&c.name, DataType::Utf8, true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let mut cols: Vec<Col> = schema
            .fields()
            .iter()
            .map(|_| Col::new(&DataType::Utf8, result.rows.len()))
            .collect::<Result<_>>()?;
        for row in &result.rows {
            for (i, col) in cols.iter_mut().enumerate() {
                match row.get(i).and_then(|v| v.as_deref()) {
                    None => col.append_null(),
                    Some(b) => col.append_str(&String::from_utf8_lossy(b))?,
                }
            }
        }
        Ok(RecordBatch::try_new(
            schema,
            cols.iter_mut().map(Col::finish).collect(),
        )?)
    }
}

#[async_trait]
impl HeldSession for MySqlConnection {
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

    fn rollback_on_drop(&self, held: Held) {
        let (conn, pending) = (self.conn.clone(), self.rollback_pending.clone());
        crate::session::rollback_soon(&self.rollback_pending, held, async move {
            ready(&mut *conn.lock_owned().await, &pending).await
        });
    }
}

#[async_trait]
impl Connection for MySqlConnection {
    fn engine(&self) -> Engine {
        Engine::MySql
    }

    fn dialect(&self) -> Option<Arc<dyn Dialect>> {
        Some(self.dialect.clone())
    }

    async fn ping(&self) -> Result<()> {
        let r = self.lock(None).await?.ping().await.map_err(map_err);
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

    fn reconnects(&self) -> u64 {
        self.health.reconnects()
    }

    async fn session_info(&self) -> Result<qore_core::SessionInfo> {
        let rows: Vec<(String, String)> = self
            .fetch_all("SHOW SESSION STATUS LIKE 'Ssl_version'".into())
            .await?;
        let tls = rows
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "none".into());
        Ok(qore_core::SessionInfo::new(
            Some(self.server_version.clone()),
            Some(tls),
            Some(self.connection_id().to_string()),
        ))
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(self)
    }

    fn admin(&self) -> Option<&dyn qore_core::admin::Admin> {
        Some(self)
    }

    async fn close(&self) -> Result<()> {
        // A clean goodbye: the server does not count an aborted client.
        self.lock(None).await?.quit().await;
        Ok(())
    }
}

impl MySqlConnection {
    /// `query`, in a transaction when `held` is given.
    async fn query_with(
        &self,
        held: Option<&Held>,
        sql: &str,
        params: &[Value],
    ) -> Result<SendableRecordBatchStream> {
        if held.is_none() && crate::keepalive::records(Engine::MySql, sql) {
            // Run for its effect, so that it is recorded (to be restored on
            // a replacement) only once it has worked.
            self.execute_with(None, sql, params).await?;
            return Ok(Box::pin(qore_core::EmptyRecordBatchStream::new(Arc::new(
                Schema::empty(),
            ))));
        }
        let mut guard = self.lock(held).await?;
        let Some((stmt, args)) = self.prepare_keeping(held, &mut guard, sql, params).await? else {
            let kill = self.kill_on_drop();
            let batch = Self::run_unprepared(&mut guard, sql).await;
            kill.disarm();
            let batch = batch.map_err(|e| self.cut_off(e, sql))?;
            self.after_statement(&mut guard, sql).await?;
            let schema = batch.schema();
            return Ok(Box::pin(qore_core::RecordBatchStreamAdapter::new(
                schema,
                futures::stream::iter([Ok(batch)]),
            )));
        };
        if stmt.columns.is_empty() {
            // No result columns when prepared: run it now, so that its
            // effect (and a changed sql_mode) is there when this returns. A
            // CALL learns its columns only now: its first result set is
            // the stream (the others are read and dropped).
            let kill = self.kill_on_drop();
            let r = guard.execute(&stmt, &args).await;
            kill.disarm();
            let columns = match r {
                Ok(Some(columns)) => columns,
                Ok(None) => {
                    let r = guard.finish().await;
                    crate::note(
                        "closing a prepared statement",
                        guard.close_statement(stmt.id).await,
                    );
                    r.map_err(|e| self.cut_off(map_err(e), sql))?;
                    self.after_statement(&mut guard, sql).await?;
                    return Ok(Box::pin(qore_core::EmptyRecordBatchStream::new(Arc::new(
                        Schema::empty(),
                    ))));
                }
                Err(e) => {
                    crate::note(
                        "closing a prepared statement",
                        guard.close_statement(stmt.id).await,
                    );
                    return Err(self.cut_off(map_err(e), sql));
                }
            };
            let (schema, kinds) = Self::result_schema_after(&columns);
            let batch = BatchBuilder::new(schema.clone(), kinds)?;
            let (tx, rx) = mpsc::channel(1);
            let cancel = (Arc::clone(&self.options), self.connection_id());
            let task = SpawnedTask::spawn(pump(guard, stmt, None, batch, tx, cancel));
            return Ok(Box::pin(ChannelStream::new(schema, rx, task)));
        }
        let (schema, kinds) =
            match Self::result_schema(&mut guard, &stmt.columns, self.is_mariadb(), &self.dialect)
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    crate::note(
                        "closing a prepared statement",
                        guard.close_statement(stmt.id).await,
                    );
                    return Err(e);
                }
            };
        let batch = BatchBuilder::new(schema.clone(), kinds)?;
        let (tx, rx) = mpsc::channel(1);
        let cancel = (Arc::clone(&self.options), self.connection_id());
        let task = SpawnedTask::spawn(pump(guard, stmt, Some(args), batch, tx, cancel));
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
                    && qore_core::replay::replay_safe(sql, qore_core::sql::Flavor::MySql) =>
            {
                self.execute_once(None, sql, params).await
            }
            r => r,
        };
        if r.is_ok() && held.is_none() && crate::keepalive::records(Engine::MySql, sql) {
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
        let rows_affected = match self.prepare_keeping(held, &mut guard, sql, params).await? {
            Some((stmt, args)) => {
                let kill = self.kill_on_drop();
                let r = guard.execute(&stmt, &args).await;
                let r = match r {
                    Ok(_) => guard.finish().await.map(|_| guard.affected_rows()),
                    Err(e) => Err(e),
                };
                kill.disarm();
                crate::note(
                    "closing a prepared statement",
                    guard.close_statement(stmt.id).await,
                );
                r.map_err(|e| self.cut_off(map_err(e), sql))?
            }
            None => {
                let kill = self.kill_on_drop();
                let r = guard.query_text(sql).await;
                kill.disarm();
                r.map_err(|e| self.cut_off(map_err(e), sql))?.affected_rows
            }
        };
        super::text::report_warnings(&mut guard).await;
        self.after_statement(&mut guard, sql).await?;
        Ok(ExecuteOutcome { rows_affected })
    }

    /// Runs a catalog query (typed rows, no streaming) on this connection.
    pub(crate) async fn fetch_all<O: FromTextRow>(&self, sql: String) -> Result<Vec<O>> {
        let mut g = self.lock(None).await?;
        let r = text_query(&mut g, &sql).await;
        self.health.note(&r);
        r
    }
}

/// Opens a connection and sets the session up: UTC time zone (TIMESTAMP
/// values arrive in it, so they are instants), utf8mb4, the URL's statement
/// timeout and read-only flag. Returns it with its id, the server's
/// version and the session's sql_mode (kept as the server has it).
async fn open_session(settings: &Settings) -> Result<(Conn, u64, String, String)> {
    let mut conn = Conn::connect(&settings.options).await.map_err(map_err)?;
    let r = conn
        .query_text(
            "SET time_zone = '+00:00', NAMES utf8mb4; \
             SELECT CONNECTION_ID(), VERSION(), @@SESSION.sql_mode",
        )
        .await
        .map_err(map_err)?;
    let (id, version, mode) = r
        .rows
        .first()
        .map(|row| <(u64, String, String)>::from_row(row))
        .transpose()?
        .ok_or_else(|| Error::Internal("the session query returned no row".into()))?;
    if let Some(ms) = settings.statement_timeout_ms {
        let sql = if version.contains("MariaDB") {
            format!("SET SESSION max_statement_time = {}", ms as f64 / 1000.0)
        } else {
            format!("SET SESSION max_execution_time = {ms}")
        };
        conn.query_text(&sql).await.map_err(map_err)?;
    }
    if settings.read_only {
        // Every later transaction of the session, implicit ones too.
        conn.query_text("SET SESSION TRANSACTION READ ONLY")
            .await
            .map_err(map_err)?;
    }
    Ok((conn, id, version, mode))
}
