//! `MySqlConnection`: one connection to MySQL or MariaDB (our own wire
//! protocol, `wire.rs`), owned by a task while a result streams.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::session::{Held, HeldSession, Turn};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use futures::FutureExt;
use qore_core::metadata::SOURCE_TYPE;
use qore_core::{
    Catalog, Connection, ConnectionSpec, Dialect, Engine, Error, ErrorKind, ExecuteOutcome, Result,
    SendableRecordBatchStream, Transaction, Value,
};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use super::decode::{Kind, decode};
use super::codec::{ColumnDef, Param, Statement, WireError};
use super::options::{Options, SslMode};
use super::wire::Conn;
use crate::server::builder::Col;
use crate::server::{Batch, ChannelStream, Decoder, SpawnedTask};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to one MySQL or MariaDB database.
pub struct MySqlConnection {
    conn: Arc<Mutex<Conn>>,
    /// Shared with streaming tasks, which may open a side connection.
    options: Arc<Options>,
    connection_id: u64,
    server_version: String,
    dialect: Arc<MySqlDialect>,
    turn: Turn,
    /// Set by a transaction dropped without an end: the next user of the
    /// connection rolls it back first.
    rollback_pending: Arc<AtomicBool>,
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
    fn timestamp_offsets(&self) -> bool {
        // TIMESTAMP literals are wall clocks in the session zone.
        false
    }
    fn utc_session(&self) -> Option<&'static str> {
        Some("SET time_zone = '+00:00';")
    }
    fn column_type(&self, dt: &DataType) -> String {
        match dt {
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "INT UNSIGNED".into(),
            DataType::UInt64 => "BIGINT UNSIGNED".into(),
            DataType::Float64 => "DOUBLE".into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::BinaryView => "LONGBLOB".into(),
            DataType::Time32(_) | DataType::Time64(_) => "TIME(6)".into(),
            DataType::Timestamp(_, None) => "DATETIME(6)".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMP(6)".into(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "LONGTEXT".into(),
            DataType::Interval(_) | DataType::Duration(_) => "TEXT".into(),
            other => qore_core::AnsiDialect::new("mysql", qore_core::PlaceholderStyle::Question)
                .column_type(other),
        }
    }
    fn limit_clause(&self, limit: Option<u64>, offset: Option<u64>) -> String {
        match (limit, offset) {
            // MySQL has no OFFSET without LIMIT.
            (None, Some(o)) => format!("LIMIT 18446744073709551615 OFFSET {o}"),
            (Some(l), Some(o)) => format!("LIMIT {l} OFFSET {o}"),
            (Some(l), None) => format!("LIMIT {l}"),
            (None, None) => String::new(),
        }
    }
    fn upsert_style(&self) -> Option<qore_core::UpsertStyle> {
        Some(qore_core::UpsertStyle::OnDuplicateKey)
    }
    fn cast_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }
    fn md5_text(&self, expr: &str) -> Option<String> {
        Some(format!("MD5({expr})"))
    }
    fn checksum_aggregate(&self, text_expr: &str) -> Option<String> {
        Some(format!(
            "SUM(CAST(CONV(SUBSTRING(MD5({text_expr}), 1, 15), 16, 10) AS UNSIGNED))"
        ))
    }
}

/// Maps a protocol error to QoreDB's, keeping the server's error number.
pub(crate) fn map_err(e: WireError) -> Error {
    match e {
        WireError::Server {
            code,
            state,
            message,
        } => match code {
            1045 | 1044 | 1698 => Error::Auth(message),
            1969 | 3024 => {
                Error::Timeout(format!("{message}; raise it with ?statement_timeout=MS"))
            }
            1317 => Error::Cancelled,
            2006 | 2013 | 1927 | 1053 => Error::connect(message.clone(), message),
            _ => {
                let state = if state.is_empty() {
                    String::new()
                } else {
                    format!("/{state}")
                };
                let kind = kind_of(code, &state);
                Error::query_kind(kind, message, Some(format!("{code}{state}")))
            }
        },
        WireError::Other(e) => e,
    }
}

/// The portable kind of a MySQL/MariaDB error number, else of its SQLSTATE.
fn kind_of(code: u16, state: &str) -> ErrorKind {
    match code {
        1062 | 1586 | 1022 | 1169 => ErrorKind::UniqueViolation,
        1451 | 1452 | 1216 | 1217 => ErrorKind::ForeignKeyViolation,
        1048 | 1364 | 1138 => ErrorKind::NotNullViolation,
        3819 | 4025 => ErrorKind::CheckViolation,
        1213 => ErrorKind::Deadlock,
        1205 | 3572 => ErrorKind::LockTimeout,
        1040 | 1053 | 1203 => ErrorKind::Unavailable,
        1064 | 1149 => ErrorKind::Syntax,
        1146 | 1054 | 1049 | 1305 | 1091 | 1051 | 1109 | 1176 => ErrorKind::UndefinedObject,
        1050 | 1007 | 1060 | 1061 | 1304 | 1359 => ErrorKind::DuplicateObject,
        1142 | 1143 | 1227 | 1370 | 1044 => ErrorKind::PermissionDenied,
        1792 | 1290 | 1836 => ErrorKind::ReadOnly,
        1365 | 1264 | 1366 | 1292 | 1406 | 1690 | 3140 => ErrorKind::InvalidData,
        1317 => ErrorKind::Cancelled,
        _ if !state.is_empty() && state != "HY000" => ErrorKind::from_sqlstate(state),
        _ => ErrorKind::Other,
    }
}

struct Settings {
    options: Options,
    statement_timeout_ms: Option<u64>,
    read_only: bool,
}

fn options_from_spec(spec: &ConnectionSpec) -> Result<Settings> {
    let host = spec.hosts.first();
    let mut o = Options {
        host: host
            .map(|h| h.host.clone())
            .unwrap_or_else(|| "localhost".into()),
        port: host.and_then(|h| h.port).unwrap_or(3306),
        socket: None,
        user: spec.user.clone().unwrap_or_else(|| "root".into()),
        password: spec.password.as_ref().map(|p| p.expose().to_string()),
        database: spec.database.clone(),
        ssl_mode: SslMode::Preferred,
        ssl_ca: None,
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        server_public_key: None,
        get_server_public_key: false,
    };
    let mut statement_timeout_ms = None;
    let mut read_only = false;
    for (k, v) in &spec.options {
        let int = |what: &str| -> Result<u64> {
            v.parse().map_err(|_| {
                Error::invalid(format!("MySQL option `{k}` must be {what}, not `{v}`"))
            })
        };
        match k.to_ascii_lowercase().replace('-', "_").as_str() {
            "sslmode" | "ssl_mode" => {
                o.ssl_mode = SslMode::parse(v).ok_or_else(|| {
                    Error::invalid(format!(
                        "ssl-mode `{v}` is not one of disabled, preferred, required, verify_ca, verify_identity"
                    ))
                })?
            }
            "ssl_ca" | "sslrootcert" => o.ssl_ca = Some(v.into()),
            "connect_timeout" => o.connect_timeout = Duration::from_secs(int("seconds")?),
            "statement_timeout" => statement_timeout_ms = Some(int("milliseconds")?),
            "socket" => o.socket = Some(v.into()),
            "server_public_key_path" => o.server_public_key = Some(v.into()),
            "get_server_public_key" => o.get_server_public_key = crate::parse_flag(k, v)?,
            "read_only" | "readonly" => read_only = crate::parse_flag(k, v)?,
            other => {
                return Err(Error::invalid(format!(
                    "unknown MySQL option `{other}` (known: ssl-mode, ssl-ca, connect_timeout, statement_timeout, socket, read_only, server-public-key-path, get-server-public-key)"
                )));
            }
        }
    }
    if o.ssl_ca.is_some() && matches!(o.ssl_mode, SslMode::Preferred) {
        // A CA given means the user wants the server checked against it.
        o.ssl_mode = SslMode::VerifyCa;
    }
    Ok(Settings {
        options: o,
        statement_timeout_ms,
        read_only,
    })
}

/// A value of a text-protocol row, typed.
pub(crate) trait FromText: Sized {
    /// Converts one value (None: NULL).
    fn from_text(v: Option<&[u8]>) -> Result<Self>;
}

impl FromText for String {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        let v = v.ok_or_else(|| Error::data("unexpected NULL in a catalog row"))?;
        Ok(String::from_utf8_lossy(v).into_owned())
    }
}

/// An integer from its decimal text.
fn integer<T: std::str::FromStr>(v: Option<&[u8]>, what: &str) -> Result<T> {
    let v = v.ok_or_else(|| Error::data("unexpected NULL in a catalog row"))?;
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::data(format!("`{}` is not {what}", String::from_utf8_lossy(v))))
}

impl FromText for i64 {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        integer(v, "an integer")
    }
}

impl FromText for u64 {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        integer(v, "an unsigned integer")
    }
}

impl<T: FromText> FromText for Option<T> {
    fn from_text(v: Option<&[u8]>) -> Result<Self> {
        v.map(|b| T::from_text(Some(b))).transpose()
    }
}

/// A typed text-protocol row (tuples of [`FromText`] values).
pub(crate) trait FromTextRow: Sized {
    /// Converts one row.
    fn from_row(row: &[Option<Vec<u8>>]) -> Result<Self>;
}

macro_rules! tuple_row {
    ($n:literal; $($t:ident $i:tt),+) => {
        impl<$($t: FromText),+> FromTextRow for ($($t,)+) {
            fn from_row(row: &[Option<Vec<u8>>]) -> Result<Self> {
                if row.len() != $n {
                    return Err(Error::Internal(format!(
                        "a catalog query returned {} columns, not {}", row.len(), $n
                    )));
                }
                Ok(($($t::from_text(row[$i].as_deref())?,)+))
            }
        }
    };
}

tuple_row!(1; A 0);
tuple_row!(2; A 0, B 1);
tuple_row!(3; A 0, B 1, C 2);
tuple_row!(4; A 0, B 1, C 2, D 3);
tuple_row!(5; A 0, B 1, C 2, D 3, E 4);
tuple_row!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_row!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_row!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_row!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_row!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_row!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_row!(13; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);

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
        let mut conn = Conn::connect(&settings.options).await.map_err(map_err)?;
        // TIMESTAMP values arrive in the session time zone: UTC makes them
        // instants. The server's sql_mode is kept as it is.
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
        Ok(MySqlConnection {
            conn: Arc::new(Mutex::new(conn)),
            options: Arc::new(settings.options),
            connection_id: id,
            server_version: version,
            dialect: Arc::new(MySqlDialect::for_sql_mode(&mode)),
            turn: Turn::default(),
            rollback_pending: Arc::default(),
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

    async fn lock(&self, held: Option<&Held>) -> Result<OwnedMutexGuard<Conn>> {
        let turn = match held {
            Some(_) => None,
            None => Some(self.turn.take().await),
        };
        let mut guard = self.conn.clone().lock_owned().await;
        drop(turn);
        ready(&mut guard, &self.rollback_pending).await?;
        Ok(guard)
    }

    /// Stops the statement on the server if the caller's future is dropped
    /// while it runs inline (not in a stream's task).
    fn kill_on_drop(&self) -> KillOnDrop {
        KillOnDrop(Some((Arc::clone(&self.options), self.connection_id)))
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

    async fn kill_query(options: &Options, id: u64) -> Result<()> {
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

/// Each column's kind and source type name as the wire describes them.
fn wire_types(columns: &[ColumnDef]) -> (Vec<Kind>, Vec<String>) {
    columns
        .iter()
        .map(|c| {
            let name = c.type_name();
            (Kind::from_type_name(name), name.to_lowercase())
        })
        .unzip()
}

/// The Arrow schema of result columns of these kinds and source types.
fn schema_of(columns: &[ColumnDef], kinds: &[Kind], source: Vec<String>) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .zip(kinds)
        .zip(source)
        .map(|((c, k), src)| {
            let mut md = HashMap::new();
            md.insert(SOURCE_TYPE.to_string(), src);
            if *k == Kind::Json {
                md.insert(qore_core::metadata::JSON.to_string(), "true".into());
            }
            Field::new(&c.name, k.arrow_type(), true).with_metadata(md)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Runs `sql` in the text protocol and types its rows.
async fn text_query<O: FromTextRow>(conn: &mut Conn, sql: &str) -> Result<Vec<O>> {
    let result = conn.query_text(sql).await.map_err(map_err)?;
    result.rows.iter().map(|r| O::from_row(r)).collect()
}

fn bind(v: &Value) -> std::result::Result<Param, String> {
    use arrow::datatypes::TimeUnit;
    let micros = |value: i64, unit: TimeUnit| match unit {
        TimeUnit::Second => value.saturating_mul(1_000_000),
        TimeUnit::Millisecond => value.saturating_mul(1000),
        TimeUnit::Microsecond => value,
        TimeUnit::Nanosecond => value.div_euclid(1000),
    };
    Ok(match v {
        Value::Null => Param::Null,
        Value::Bool(b) => Param::I64(i64::from(*b)),
        Value::Int(i) => Param::I64(*i),
        Value::UInt(u) => Param::U64(*u),
        Value::Float(f) => Param::F64(*f),
        Value::Text(s) => Param::Text(s.clone()),
        Value::Bytes(b) => Param::Bytes(b.clone()),
        Value::Decimal { .. } => Param::Text(v.to_string()),
        Value::Date(d) => Param::Text(crate::server::text::date(i64::from(*d))),
        Value::Time { value, unit } => {
            Param::Text(crate::server::text::time(micros(*value, *unit)))
        }
        Value::Timestamp { value, unit, .. } => {
            Param::Text(crate::server::text::timestamp(micros(*value, *unit)))
        }
        Value::Duration { value, unit } => {
            Param::Text(crate::server::text::time(micros(*value, *unit)))
        }
        other => {
            return Err(format!(
                "{other} has no MySQL parameter form; pass it as text"
            ));
        }
    })
}

/// Decodes rows into Arrow columns, one batch at a time.
type BatchBuilder = Batch<Kind>;

impl Decoder for Kind {
    fn decode(&self, bytes: &[u8], col: &mut Col) -> Result<()> {
        decode(self, bytes, col)
    }
}

/// Reads the executing statement's rows into batches until the end, an
/// error, or the consumer going away. True when abandoned.
async fn read_rows(
    conn: &mut Conn,
    batch: &mut BatchBuilder,
    tx: &mpsc::Sender<Result<RecordBatch>>,
) -> bool {
    let closed = tx.closed();
    tokio::pin!(closed);
    loop {
        // Rows already buffered come without a trip through the scheduler;
        // only a wait for the socket also watches for the consumer leaving.
        let next = match conn.next_row().now_or_never() {
            Some(r) => r,
            None => tokio::select! {
                biased;
                _ = &mut closed => return true,
                r = conn.next_row() => r,
            },
        };
        match next {
            Ok(true) => {
                for i in 0..batch.width() {
                    if let Err(e) = batch.append(i, conn.value(i)) {
                        let _ = tx.send(Err(e)).await;
                        return true;
                    }
                }
                batch.end_row();
                if batch.full() && tx.send(batch.finish()).await.is_err() {
                    return true;
                }
            }
            Ok(false) => {
                if batch.len() > 0 {
                    let _ = tx.send(batch.finish()).await;
                }
                return false;
            }
            Err(e) => {
                let _ = tx.send(Err(map_err(e))).await;
                return false;
            }
        }
    }
}

/// Sends `KILL QUERY` from a task of its own when dropped armed: the
/// future running a statement inline was cancelled (Ctrl-C), and the
/// server would otherwise run the statement to its end.
struct KillOnDrop(Option<(Arc<Options>, u64)>);

impl KillOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some((options, id)) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            SpawnedTask::spawn(async move {
                crate::note(
                    "KILL QUERY",
                    MySqlConnection::kill_query(&options, id).await,
                );
            })
            .run_to_completion();
        }
    }
}

async fn pump(
    mut guard: OwnedMutexGuard<Conn>,
    stmt: Statement,
    args: Option<Vec<Param>>,
    mut batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: (Arc<Options>, u64),
) {
    // The server answers only when the first row is ready (a long query
    // sends nothing for a while): wait for it here, watching the consumer.
    let abandoned = {
        let closed = tx.closed();
        tokio::pin!(closed);
        match args {
            // Executed already (its columns were learnt from the reply).
            None => read_rows(&mut guard, &mut batch, &tx).await,
            Some(args) => tokio::select! {
                biased;
                _ = &mut closed => true,
                r = guard.execute(&stmt, &args) => match r {
                    Ok(Some(_)) => read_rows(&mut guard, &mut batch, &tx).await,
                    Ok(None) => false,
                    Err(e) => {
                        let _ = tx.send(Err(map_err(e))).await;
                        false
                    }
                },
            },
        }
    };
    if abandoned && guard.in_result() {
        let (options, id) = cancel;
        crate::note(
            "KILL QUERY",
            MySqlConnection::kill_query(&options, id).await,
        );
    }
    // Whatever is left of the result (up to KILL QUERY's error) is read
    // before the statement is freed, so the connection is ready again.
    crate::note("draining a cancelled result", guard.drain().await);
    crate::note(
        "closing a prepared statement",
        guard.close_statement(stmt.id).await,
    );
}

/// Makes the connection ready for a statement: reads what a caller that
/// dropped its statement mid-reply left unread (its future was cancelled,
/// and KillOnDrop stopped the statement), and rolls back what a dropped
/// transaction left open.
async fn ready(conn: &mut Conn, rollback_pending: &AtomicBool) -> Result<()> {
    if conn.in_result()
        && let Err(e) = conn.drain().await
    {
        tracing::debug!(error = ?e, "draining an abandoned reply failed");
    }
    if rollback_pending.swap(false, Ordering::AcqRel) {
        conn.query_text("ROLLBACK").await.map_err(map_err)?;
    }
    Ok(())
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
        self.lock(None).await?.ping().await.map_err(map_err)
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
        let mut guard = self.lock(held).await?;
        let Some((stmt, args)) = Self::prepare(&mut guard, sql, params).await? else {
            let kill = self.kill_on_drop();
            let batch = Self::run_unprepared(&mut guard, sql).await;
            kill.disarm();
            let batch = batch?;
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
                    r.map_err(map_err)?;
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
                    return Err(map_err(e));
                }
            };
            let (schema, kinds) = Self::result_schema_after(&columns);
            let batch = BatchBuilder::new(schema.clone(), kinds)?;
            let (tx, rx) = mpsc::channel(1);
            let cancel = (Arc::clone(&self.options), self.connection_id);
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
        let cancel = (Arc::clone(&self.options), self.connection_id);
        let task = SpawnedTask::spawn(pump(guard, stmt, Some(args), batch, tx, cancel));
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
        let rows_affected = match Self::prepare(&mut guard, sql, params).await? {
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
                r.map_err(map_err)?
            }
            None => {
                let kill = self.kill_on_drop();
                let r = guard.query_text(sql).await;
                kill.disarm();
                r.map_err(map_err)?.affected_rows
            }
        };
        self.after_statement(&mut guard, sql).await?;
        Ok(ExecuteOutcome { rows_affected })
    }

    /// Runs a catalog query (typed rows, no streaming) on this connection.
    pub(crate) async fn fetch_all<O: FromTextRow>(&self, sql: String) -> Result<Vec<O>> {
        let mut g = self.lock(None).await?;
        text_query(&mut g, &sql).await
    }
}
