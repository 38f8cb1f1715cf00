//! `MySqlConnection`: one sqlx connection to MySQL or MariaDB, owned by a
//! task while a result streams.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use qore_core::metadata::SOURCE_TYPE;
use qore_core::{
    Catalog, Connection, ConnectionSpec, Dialect, Engine, Error, ExecuteOutcome, Result,
    SendableRecordBatchStream, Value,
};
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlRow, MySqlSslMode, MySqlStatement};
use sqlx::{
    Arguments, AssertSqlSafe, Column, ConnectOptions, Connection as _, Executor, Row, SqlSafeStr,
    Statement, TypeInfo,
};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use super::decode::{Kind, decode};
use crate::server::builder::Col;
use crate::server::{Batch, ChannelStream, Decoder, SpawnedTask, stream_rows};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to one MySQL or MariaDB database.
pub struct MySqlConnection {
    conn: Arc<Mutex<sqlx::MySqlConnection>>,
    options: MySqlConnectOptions,
    connect_timeout: Duration,
    connection_id: u64,
    server_version: String,
    dialect: MySqlDialect,
}

impl std::fmt::Debug for MySqlConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlConnection")
            .field("connection_id", &self.connection_id)
            .field("server_version", &self.server_version)
            .finish_non_exhaustive()
    }
}

/// MySQL's spelling, following the session's `sql_mode`.
///
/// Identifiers are always backquoted, which every mode reads (`"` would be
/// a string without ANSI_QUOTES). Strings always use single quotes (`"` is an
/// identifier under ANSI_QUOTES) with `'` doubled; a backslash is doubled
/// unless NO_BACKSLASH_ESCAPES is set, where it is an ordinary character.
#[derive(Debug)]
pub struct MySqlDialect {
    no_backslash_escapes: AtomicBool,
    ansi_quotes: AtomicBool,
}

impl MySqlDialect {
    /// A dialect for a session whose `sql_mode` is `mode`.
    pub fn for_sql_mode(mode: &str) -> Self {
        let d = MySqlDialect {
            no_backslash_escapes: AtomicBool::new(false),
            ansi_quotes: AtomicBool::new(false),
        };
        d.set_sql_mode(mode);
        d
    }

    fn set_sql_mode(&self, mode: &str) {
        let has = |flag: &str| mode.split(',').any(|m| m.trim().eq_ignore_ascii_case(flag));
        self.no_backslash_escapes
            .store(has("NO_BACKSLASH_ESCAPES"), Ordering::Relaxed);
        // ANSI is a combination mode that includes ANSI_QUOTES.
        self.ansi_quotes
            .store(has("ANSI_QUOTES") || has("ANSI"), Ordering::Relaxed);
    }

    /// Whether the session reads `"x"` as an identifier.
    pub fn ansi_quotes(&self) -> bool {
        self.ansi_quotes.load(Ordering::Relaxed)
    }

    /// Whether backslashes are ordinary characters in string literals.
    pub fn no_backslash_escapes(&self) -> bool {
        self.no_backslash_escapes.load(Ordering::Relaxed)
    }
}

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn quote_identifier(&self, ident: &str) -> Result<String> {
        if ident.is_empty() {
            return Err(Error::invalid("an identifier cannot be empty"));
        }
        if ident.contains('\0') {
            return Err(Error::invalid(
                "the identifier contains a NUL character (\\0), which SQL cannot hold",
            ));
        }
        Ok(format!("`{}`", ident.replace('`', "``")))
    }

    fn quote_string(&self, s: &str) -> Result<String> {
        if s.contains('\0') {
            return Err(Error::invalid(
                "the string literal contains a NUL character (\\0); bind it as a parameter",
            ));
        }
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        let escapes = !self.no_backslash_escapes();
        for c in s.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' if escapes => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('\'');
        Ok(out)
    }

    fn placeholder(&self, _index: usize) -> String {
        "?".into()
    }
}

/// Maps a sqlx error to QoreDB's, keeping the server's error number.
pub(crate) fn map_err(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let number = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|m| m.number());
            let message = db.message().to_string();
            let code = number.map(|n| {
                let state = db.code().map(|c| format!("/{c}")).unwrap_or_default();
                format!("{n}{state}")
            });
            match number {
                Some(1045 | 1044 | 1698) => Error::Auth(message),
                Some(1969 | 3024) => {
                    Error::Timeout(format!("{message}; raise it with ?statement_timeout=MS"))
                }
                Some(1317) => Error::Cancelled,
                Some(2006 | 2013 | 1927 | 1053) => Error::connect(message, db.to_string()),
                _ => Error::query(message, code),
            }
        }
        sqlx::Error::Io(io) => Error::connect("the MySQL server is not reachable or went away", io),
        sqlx::Error::Tls(t) => Error::connect("TLS with the MySQL server failed", t.to_string()),
        sqlx::Error::Protocol(p) => Error::connect(format!("protocol error: {p}"), p),
        sqlx::Error::Configuration(c) => Error::invalid(c.to_string()),
        other => Error::Internal(other.to_string()),
    }
}

struct Settings {
    options: MySqlConnectOptions,
    connect_timeout: Duration,
    statement_timeout_ms: Option<u64>,
}

fn options_from_spec(spec: &ConnectionSpec) -> Result<Settings> {
    let host = spec.hosts.first();
    let mut o = MySqlConnectOptions::new()
        .host(host.map(|h| h.host.as_str()).unwrap_or("localhost"))
        .port(host.and_then(|h| h.port).unwrap_or(3306))
        .charset("utf8mb4")
        // Keep the server's own sql_mode: sqlx would add PIPES_AS_CONCAT,
        // which changes what `||` means in the user's statements.
        .pipes_as_concat(false)
        .no_engine_substitution(false);
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
    let mut statement_timeout_ms = None;
    for (k, v) in &spec.options {
        let int = |what: &str| -> Result<u64> {
            v.parse().map_err(|_| {
                Error::invalid(format!("MySQL option `{k}` must be {what}, not `{v}`"))
            })
        };
        match k.to_ascii_lowercase().replace('-', "_").as_str() {
            "sslmode" | "ssl_mode" => {
                o = o.ssl_mode(v.parse::<MySqlSslMode>().map_err(|_| {
                    Error::invalid(format!(
                        "ssl-mode `{v}` is not one of disabled, preferred, required, verify_ca, verify_identity"
                    ))
                })?)
            }
            "ssl_ca" | "sslrootcert" => o = o.ssl_ca(v),
            "connect_timeout" => connect_timeout = Duration::from_secs(int("seconds")?),
            "statement_timeout" => statement_timeout_ms = Some(int("milliseconds")?),
            "socket" => o = o.socket(v),
            other => {
                return Err(Error::invalid(format!(
                    "unknown MySQL option `{other}` (known: ssl-mode, ssl-ca, connect_timeout, statement_timeout, socket)"
                )));
            }
        }
    }
    Ok(Settings {
        options: o,
        connect_timeout,
        statement_timeout_ms,
    })
}

async fn connect_with(
    options: &MySqlConnectOptions,
    timeout: Duration,
) -> Result<sqlx::MySqlConnection> {
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(r) => r.map_err(map_err),
        Err(_) => Err(Error::Timeout(format!(
            "the MySQL server did not answer within {} s; raise it with ?connect_timeout=S",
            timeout.as_secs()
        ))),
    }
}

impl MySqlConnection {
    /// Connects to the server of a `mysql://` or `mariadb://` URL.
    ///
    /// URL options: `ssl-mode`, `ssl-ca`, `connect_timeout` (seconds, default
    /// 10), `statement_timeout` (milliseconds: MariaDB's `max_statement_time`,
    /// MySQL's `max_execution_time`), `socket`.
    ///
    /// # Error handling
    ///
    /// [`Error::Auth`] for a wrong user or password, [`Error::Connect`] for a
    /// server that cannot be reached, [`Error::Timeout`] past the connect
    /// timeout, [`Error::InvalidInput`] for an unknown option.
    pub async fn connect(spec: &ConnectionSpec) -> Result<Self> {
        let settings = options_from_spec(spec)?;
        let mut conn = connect_with(&settings.options, settings.connect_timeout).await?;
        let (id, version, mode): (u64, String, String) =
            sqlx::query_as("SELECT CONNECTION_ID(), VERSION(), @@SESSION.sql_mode")
                .fetch_one(&mut conn)
                .await
                .map_err(map_err)?;
        if let Some(ms) = settings.statement_timeout_ms {
            let sql = if version.contains("MariaDB") {
                format!("SET SESSION max_statement_time = {}", ms as f64 / 1000.0)
            } else {
                format!("SET SESSION max_execution_time = {ms}")
            };
            conn.execute(AssertSqlSafe(sql)).await.map_err(map_err)?;
        }
        Ok(MySqlConnection {
            conn: Arc::new(Mutex::new(conn)),
            options: settings.options,
            connect_timeout: settings.connect_timeout,
            connection_id: id,
            server_version: version,
            dialect: MySqlDialect::for_sql_mode(&mode),
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
        self.connection_id
    }

    async fn lock(&self) -> Result<OwnedMutexGuard<sqlx::MySqlConnection>> {
        Ok(self.conn.clone().lock_owned().await)
    }

    /// After DDL, statements cached by sqlx would keep the column list they
    /// had when prepared: drop them.
    async fn after_statement(&self, guard: &mut sqlx::MySqlConnection, sql: &str) -> Result<()> {
        if is_ddl(sql) && guard.cached_statements_size() > 0 {
            guard.clear_cached_statements().await.map_err(map_err)?;
        }
        self.refresh_sql_mode(guard, sql).await
    }

    /// Re-reads the session's sql_mode after a statement that may change it.
    async fn refresh_sql_mode(&self, guard: &mut sqlx::MySqlConnection, sql: &str) -> Result<()> {
        if sql.to_ascii_lowercase().contains("sql_mode") {
            let rows: Vec<(String,)> =
                text_query(guard, "SELECT @@SESSION.sql_mode".into()).await?;
            if let Some((mode,)) = rows.first() {
                self.dialect.set_sql_mode(mode);
            }
        }
        Ok(())
    }

    async fn prepare(
        guard: &mut sqlx::MySqlConnection,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<(MySqlStatement, MySqlArguments)>> {
        let stmt = match guard
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await
        {
            Ok(s) => s,
            // ER_UNSUPPORTED_PS: the statement cannot be prepared (USE, some
            // admin statements): the caller runs it as plain text.
            Err(sqlx::Error::Database(db))
                if db
                    .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                    .map(|m| m.number())
                    == Some(1295) =>
            {
                if !params.is_empty() {
                    return Err(Error::invalid(
                        "this statement cannot be prepared, so it cannot take parameters",
                    ));
                }
                return Ok(None);
            }
            Err(e) => return Err(map_err(e)),
        };
        let count = match stmt.parameters() {
            Some(sqlx::Either::Right(n)) => n,
            Some(sqlx::Either::Left(t)) => t.len(),
            None => 0,
        };
        if count != params.len() {
            return Err(Error::invalid(format!(
                "the statement has {count} parameter(s) but {} value(s) were given",
                params.len()
            )));
        }
        let mut args = MySqlArguments::default();
        for (i, v) in params.iter().enumerate() {
            bind(&mut args, v).map_err(|e| Error::invalid(format!("parameter {}: {e}", i + 1)))?;
        }
        Ok(Some((stmt, args)))
    }

    /// The Arrow schema of a prepared statement's result. DECIMAL columns of
    /// a table get their precision and scale, and binary-looking columns
    /// their character set, from information_schema.
    async fn result_schema(
        guard: &mut sqlx::MySqlConnection,
        stmt: &MySqlStatement,
        mariadb: bool,
        dialect: &MySqlDialect,
    ) -> Result<(SchemaRef, Vec<Kind>)> {
        let mut kinds: Vec<Kind> = stmt
            .columns()
            .iter()
            .map(|c| Kind::from_type_name(c.type_info().name()))
            .collect();
        let mut source: Vec<String> = stmt
            .columns()
            .iter()
            .map(|c| c.type_info().name().to_lowercase())
            .collect();
        let wanted: Vec<(usize, String, String, String)> = stmt
            .columns()
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(kinds[*i], Kind::DecimalText | Kind::Binary | Kind::Text))
            .filter_map(|(i, c)| match c.origin() {
                sqlx::ColumnOrigin::Table(t) => {
                    let (schema, table) = t.table.split_once('.')?;
                    Some((i, schema.to_string(), table.to_string(), t.name.to_string()))
                }
                _ => None,
            })
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
            let rows: Vec<Info> = text_query(guard, sql).await?;
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
        let fields: Vec<Field> = stmt
            .columns()
            .iter()
            .zip(&kinds)
            .zip(source)
            .map(|((c, k), src)| {
                let mut md = HashMap::new();
                md.insert(SOURCE_TYPE.to_string(), src);
                if *k == Kind::Json {
                    md.insert(qore_core::metadata::JSON.to_string(), "true".into());
                }
                Field::new(c.name(), k.arrow_type(), true).with_metadata(md)
            })
            .collect();
        Ok((Arc::new(Schema::new(fields)), kinds))
    }

    async fn kill_query(options: &MySqlConnectOptions, timeout: Duration, id: u64) -> Result<()> {
        let mut side = connect_with(options, timeout).await?;
        side.execute(AssertSqlSafe(format!("KILL QUERY {id}")))
            .await
            .map_err(map_err)?;
        let _ = side.close().await;
        Ok(())
    }

    /// Runs a statement that cannot be prepared, as text; its result (small:
    /// such statements are administrative) is read whole, every column as text.
    async fn run_unprepared(guard: &mut sqlx::MySqlConnection, sql: &str) -> Result<RecordBatch> {
        let rows: Vec<MySqlRow> = sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .fetch_all(&mut *guard)
            .await
            .map_err(map_err)?;
        let Some(first) = rows.first() else {
            return Ok(RecordBatch::new_empty(Arc::new(Schema::empty())));
        };
        let fields: Vec<Field> = first
            .columns()
            .iter()
            .map(|c| Field::new(c.name(), DataType::Utf8, true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let mut cols: Vec<Col> = schema
            .fields()
            .iter()
            .map(|_| Col::new(&DataType::Utf8, rows.len()))
            .collect::<Result<_>>()?;
        for row in &rows {
            for (i, col) in cols.iter_mut().enumerate() {
                let v: Option<&[u8]> = row.try_get_unchecked(i).map_err(map_err)?;
                match v {
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

/// Runs `sql` in the text protocol and decodes its rows.
///
/// One request, one reply: sqlx does not set TCP_NODELAY, and a one-off
/// prepared statement is followed by a reply-less COM_STMT_CLOSE, so the
/// next request would wait for the server's delayed ACK (40 ms each).
async fn text_query<O>(conn: &mut sqlx::MySqlConnection, sql: String) -> Result<Vec<O>>
where
    O: Send + Unpin + for<'r> sqlx::FromRow<'r, MySqlRow>,
{
    let rows = sqlx::raw_sql(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| O::from_row(r).map_err(map_err))
        .collect()
}

/// Whether a statement can change the result shape of cached statements.
fn is_ddl(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    ["create", "alter", "drop", "rename", "truncate"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}

fn bind(args: &mut MySqlArguments, v: &Value) -> std::result::Result<(), sqlx::error::BoxDynError> {
    use arrow::datatypes::TimeUnit;
    let micros = |value: i64, unit: TimeUnit| match unit {
        TimeUnit::Second => value.saturating_mul(1_000_000),
        TimeUnit::Millisecond => value.saturating_mul(1000),
        TimeUnit::Microsecond => value,
        TimeUnit::Nanosecond => value.div_euclid(1000),
    };
    match v {
        Value::Null => args.add(None::<String>),
        Value::Bool(b) => args.add(*b),
        Value::Int(i) => args.add(*i),
        Value::UInt(u) => args.add(*u),
        Value::Float(f) => args.add(*f),
        Value::Text(s) => args.add(s.clone()),
        Value::Bytes(b) => args.add(b.clone()),
        Value::Decimal { .. } => args.add(v.to_string()),
        Value::Date(d) => args.add(crate::server::text::date(i64::from(*d))),
        Value::Time { value, unit } => args.add(crate::server::text::time(micros(*value, *unit))),
        Value::Timestamp { value, unit, .. } => {
            args.add(crate::server::text::timestamp(micros(*value, *unit)))
        }
        Value::Duration { value, unit } => {
            args.add(crate::server::text::time(micros(*value, *unit)))
        }
        other => Err(format!("{other} has no MySQL parameter form; pass it as text").into()),
    }
}

/// Decodes rows into Arrow columns, one batch at a time.
type BatchBuilder = Batch<Kind>;

impl Decoder for Kind {
    fn decode(&self, bytes: &[u8], col: &mut Col) -> Result<()> {
        decode(self, bytes, col)
    }
}

/// One row of a result.
fn push_row(batch: &mut BatchBuilder, row: &MySqlRow) -> Result<()> {
    for i in 0..batch.width() {
        let v: Option<&[u8]> = row.try_get_unchecked(i).map_err(map_err)?;
        batch.append(i, v)?;
    }
    batch.end_row();
    Ok(())
}

async fn pump(
    mut guard: OwnedMutexGuard<sqlx::MySqlConnection>,
    stmt: MySqlStatement,
    args: MySqlArguments,
    mut batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: (MySqlConnectOptions, Duration, u64),
) {
    let rows = stmt.query_with(args).fetch(&mut *guard);
    let abandoned = stream_rows(rows, &mut batch, push_row, &tx, map_err).await;
    if abandoned {
        let (options, timeout, id) = cancel;
        if MySqlConnection::kill_query(&options, timeout, id)
            .await
            .is_ok()
            && guard.ping().await.is_err()
        {
            let _ = guard.ping().await;
        }
    }
}

#[async_trait]
impl Connection for MySqlConnection {
    fn engine(&self) -> Engine {
        Engine::MySql
    }

    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    async fn ping(&self) -> Result<()> {
        self.conn.lock().await.ping().await.map_err(map_err)
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        let mut guard = self.lock().await?;
        let Some((stmt, args)) = Self::prepare(&mut guard, sql, params).await? else {
            let batch = Self::run_unprepared(&mut guard, sql).await?;
            self.after_statement(&mut guard, sql).await?;
            let schema = batch.schema();
            return Ok(Box::pin(qore_core::RecordBatchStreamAdapter::new(
                schema,
                futures::stream::iter([Ok(batch)]),
            )));
        };
        let (schema, kinds) =
            Self::result_schema(&mut guard, &stmt, self.is_mariadb(), &self.dialect).await?;
        if stmt.columns().is_empty() {
            // Not a row-returning statement: run it now so that its effect
            // (and a changed sql_mode) is there when this returns.
            stmt.query_with(args)
                .execute(&mut *guard)
                .await
                .map_err(map_err)?;
            self.after_statement(&mut guard, sql).await?;
            return Ok(Box::pin(qore_core::EmptyRecordBatchStream::new(schema)));
        }
        let batch = BatchBuilder::new(schema.clone(), kinds)?;
        let (tx, rx) = mpsc::channel(1);
        let cancel = (
            self.options.clone(),
            self.connect_timeout,
            self.connection_id,
        );
        let task = SpawnedTask::spawn(pump(guard, stmt, args, batch, tx, cancel));
        Ok(Box::pin(ChannelStream::new(schema, rx, task)))
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        let mut guard = self.lock().await?;
        let rows_affected = match Self::prepare(&mut guard, sql, params).await? {
            Some((stmt, args)) => stmt
                .query_with(args)
                .execute(&mut *guard)
                .await
                .map_err(map_err)?
                .rows_affected(),
            None => sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                .execute(&mut *guard)
                .await
                .map_err(map_err)?
                .rows_affected(),
        };
        self.after_statement(&mut guard, sql).await?;
        Ok(ExecuteOutcome { rows_affected })
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(self)
    }

    async fn close(&self) -> Result<()> {
        self.conn.lock().await.ping().await.map_err(map_err)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl MySqlConnection {
    /// Runs a catalog query (typed rows, no streaming) on this connection.
    pub(crate) async fn fetch_all<O>(&self, sql: String) -> Result<Vec<O>>
    where
        O: Send + Unpin + for<'r> sqlx::FromRow<'r, MySqlRow>,
    {
        let mut g = self.conn.lock().await;
        text_query(&mut g, sql).await
    }
}
