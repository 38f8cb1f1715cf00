//! `RedisConnection`: a multiplexed async connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use async_trait::async_trait;
use futures::stream;
use qore_core::{
    BrowseOptions, Connection, ConnectionSpec, Dialect, Engine, Error, ErrorKind, ExecuteOutcome,
    KeyValue, RecordBatchStreamAdapter, Result, SendableRecordBatchStream, Value,
};
use redis::Value as R;

use super::tokenize::tokenize;
use crate::keepalive::{Health, Policy, breaks, lost, ping_within};

/// How long connecting may take before it is an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Metadata key marking a text column whose values are all JSON documents.
pub const JSON_METADATA: &str = qore_core::metadata::JSON;
/// Schema metadata key holding the cursor a `SCAN` reply returned.
pub const CURSOR_METADATA: &str = "qore.redis.cursor";

/// A connection to one Redis database. Clones share the connection (and
/// its replacement when it breaks).
#[derive(Clone)]
pub struct RedisConnection {
    conn: Arc<RwLock<redis::aio::MultiplexedConnection>>,
    /// How to open a replacement.
    client: redis::Client,
    config: redis::AsyncConnectionConfig,
    /// Counts replacements, so that callers that saw the same failure
    /// replace the connection once.
    generation: Arc<AtomicU64>,
    replacing: Arc<tokio::sync::Mutex<()>>,
    /// Between MULTI and EXEC/DISCARD: the queued commands live on this
    /// connection only, so it is never replaced behind the caller's back.
    in_multi: Arc<AtomicBool>,
    health: Arc<Health>,
    /// `rediss://`.
    tls: bool,
    db: u8,
    /// `?read_only=true`: commands that may write are refused.
    read_only: Option<super::readonly::ReadOnly>,
}

/// Commands that only read, run again on a new connection when the old one
/// broke under them. (Anything else cut off is reported as
/// [`ErrorKind::ConnectionLost`].)
const REPLAYABLE: &[&str] = &[
    "ping", "echo", "time", "dbsize", "info", "get", "mget", "getrange", "strlen", "exists",
    "type", "ttl", "pttl", "expiretime", "pexpiretime", "hget", "hmget", "hgetall", "hkeys",
    "hvals", "hlen", "hexists", "hstrlen", "hscan", "lrange", "llen", "lindex", "lpos", "smembers",
    "sismember", "smismember", "scard", "srandmember", "sscan", "sinter", "sunion", "sdiff",
    "zrange", "zrangebyscore", "zrangebylex", "zrevrange", "zrevrangebyscore", "zscore",
    "zmscore", "zcard", "zcount", "zlexcount", "zrank", "zrevrank", "zscan", "xrange",
    "xrevrange", "xlen", "scan", "keys", "randomkey", "bitcount", "getbit", "bitpos",
    "pfcount", "geopos", "geodist", "geohash", "json.get", "json.type", "json.mget",
    "json.strlen", "json.arrlen", "json.objkeys", "json.objlen", "client|id", "client|getname",
    "client|info", "client|list", "config|get", "memory|usage", "object|encoding",
];

/// Whether a command (its words) only reads and may run again.
fn replayable(args: &[Vec<u8>]) -> bool {
    let word = |i: usize| {
        args.get(i)
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
    };
    let Some(name) = word(0) else {
        return false;
    };
    let sub = word(1).map(|w| format!("{name}|{w}"));
    REPLAYABLE.contains(&name.as_str()) || sub.is_some_and(|s| REPLAYABLE.contains(&s.as_str()))
}

/// Whether a command changes what the connection keeps (its database, its
/// name), so a replacement must run it too.
fn changes_session(args: &[Vec<u8>]) -> bool {
    let word = |i: usize| {
        args.get(i)
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
    };
    match word(0).as_deref() {
        Some("select") => true,
        Some("client") => word(1).as_deref() == Some("setname"),
        _ => false,
    }
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

pub(crate) fn map_err(e: redis::RedisError) -> Error {
    if e.kind() == redis::ErrorKind::AuthenticationFailed
        || e.code().is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH")
    {
        return Error::Auth(e.to_string());
    }
    if e.is_timeout() {
        return Error::Timeout(format!(
            "no reply from Redis in time ({e}); raise it with ?timeout_ms=N"
        ));
    }
    if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
        return Error::connect("the Redis server is not reachable", e);
    }
    let code = e.code().map(str::to_string);
    let message = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.to_string());
    let kind = kind_of(code.as_deref().unwrap_or(""), &message);
    Error::query_kind(kind, message, code)
}

/// The portable kind of a Redis error, from its prefix (`WRONGTYPE`,
/// `NOPERM`, ...) and, for plain `ERR`, its words.
fn kind_of(prefix: &str, message: &str) -> ErrorKind {
    match prefix {
        "NOPERM" => ErrorKind::PermissionDenied,
        "WRONGTYPE" => ErrorKind::InvalidData,
        "BUSY" | "LOADING" | "MASTERDOWN" | "TRYAGAIN" | "CLUSTERDOWN" | "OOM" => {
            ErrorKind::Unavailable
        }
        "READONLY" => ErrorKind::ReadOnly,
        "NOSCRIPT" => ErrorKind::UndefinedObject,
        "BUSYKEY" => ErrorKind::DuplicateObject,
        "ERR"
            if message.contains("syntax error")
                || message.contains("wrong number of arguments") =>
        {
            ErrorKind::Syntax
        }
        "ERR" if message.contains("unknown command") || message.contains("no such key") => {
            ErrorKind::UndefinedObject
        }
        "ERR"
            if message.contains("not an integer")
                || message.contains("not a valid float")
                || message.contains("out of range") =>
        {
            ErrorKind::InvalidData
        }
        _ => ErrorKind::Other,
    }
}

impl RedisConnection {
    /// Checks the URL's options without connecting.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an unknown option or a bad value.
    pub fn check_options(spec: &ConnectionSpec) -> Result<()> {
        Policy::from_spec(spec)?;
        for (k, v) in &spec.options {
            match k.to_ascii_lowercase().as_str() {
                _ if crate::keepalive::is_option(k) => {}
                "timeout_ms" => {
                    timeout_ms(v)?;
                }
                "tls_ca" | "tls_cert" | "tls_key" if spec.scheme == "rediss" => {}
                "tls_ca" | "tls_cert" | "tls_key" => {
                    return Err(Error::invalid(format!("`{k}` needs a rediss:// (TLS) URL")));
                }
                "protocol" => {}
                "read_only" => {
                    crate::parse_flag(k, v)?;
                }
                _ => return Err(unknown_option(k)),
            }
        }
        Ok(())
    }

    /// Connects to the server and database of a `redis://` URL.
    ///
    /// # Error handling
    ///
    /// [`Error::Auth`] for a wrong user or password, [`Error::Connect`] when
    /// the server cannot be reached within 10 s (or its TLS certificate is not
    /// trusted).
    ///
    /// `rediss://` connects with TLS (rustls): the server's certificate is
    /// checked against the web PKI roots, or against `?tls_ca=PATH` (PEM);
    /// `tls_cert=PATH&tls_key=PATH` add a client certificate. (There is no
    /// switch to skip verification: trust a self-signed server with
    /// `tls_ca`.) An ACL user goes in the URL (`redis://user:pw@...`).
    pub async fn connect(spec: &ConnectionSpec) -> Result<Self> {
        let db: u8 = spec
            .database
            .as_deref()
            .map(|d| d.parse().unwrap_or(0))
            .unwrap_or(0);
        // Ours: timeout_ms bounds each reply (default: none, like redis-cli; the
        // crate's own 500 ms default would cut off long EVALs and big replies).
        let mut response_timeout = None;
        let mut read_only = None;
        let policy = Policy::from_spec(spec)?;
        let mut passed = spec.clone();
        passed.options.clear();
        let tls = spec.scheme == "rediss";
        let mut root_cert: Option<Vec<u8>> = None;
        let mut client_cert: Option<Vec<u8>> = None;
        let mut client_key: Option<Vec<u8>> = None;
        let read = |what: &str, path: &str| -> Result<Vec<u8>> {
            if !tls {
                return Err(Error::invalid(format!(
                    "`{what}` needs a rediss:// (TLS) URL"
                )));
            }
            std::fs::read(path)
                .map_err(|e| Error::io(format!("cannot read the {what} file {path}"), e))
        };
        for (k, v) in &spec.options {
            let key = k.to_ascii_lowercase();
            if key == "tls_ca" {
                root_cert = Some(read("tls_ca", v)?);
                continue;
            }
            if key == "tls_cert" {
                client_cert = Some(read("tls_cert", v)?);
                continue;
            }
            if key == "tls_key" {
                client_key = Some(read("tls_key", v)?);
                continue;
            }
            if key == "read_only" {
                if crate::parse_flag(k, v)? {
                    read_only = Some(super::readonly::ReadOnly::default());
                }
                continue;
            }
            if crate::keepalive::is_option(k) {
                continue;
            }
            if k.eq_ignore_ascii_case("timeout_ms") {
                response_timeout = Some(Duration::from_millis(timeout_ms(v)?));
            } else if k.eq_ignore_ascii_case("protocol") {
                passed.options.push((k.clone(), v.clone()));
            } else {
                return Err(unknown_option(k));
            }
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(response_timeout);
        let bad_url = |e: redis::RedisError| {
            Error::invalid(format!(
                "bad Redis URL {spec}: {}",
                e.detail().unwrap_or("invalid")
            ))
        };
        let url = passed.expose_url();
        // Keep-alive probes and TCP_USER_TIMEOUT: a server that stops
        // answering is found in seconds, not after minutes of retransmits.
        let tcp = redis::io::tcp::TcpSettings::default()
            .set_nodelay(true)
            .set_keepalive(
                socket2::TcpKeepalive::new()
                    .with_time(Duration::from_secs(10))
                    .with_interval(Duration::from_secs(5)),
            )
            .set_user_timeout(crate::keepalive::TCP_USER_TIMEOUT);
        let url = redis::IntoConnectionInfo::into_connection_info(url.as_str())
            .map_err(bad_url)?
            .set_tcp_settings(tcp);
        let client = if root_cert.is_some() || client_cert.is_some() {
            let client_tls = match (client_cert, client_key) {
                (Some(client_cert), Some(client_key)) => Some(redis::ClientTlsConfig {
                    client_cert,
                    client_key,
                }),
                (None, None) => None,
                _ => {
                    return Err(Error::invalid(
                        "tls_cert and tls_key go together (a client certificate and its key)",
                    ));
                }
            };
            redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls,
                    root_cert,
                },
            )
            .map_err(bad_url)?
        } else {
            redis::Client::open(url).map_err(bad_url)?
        };
        let conn = open(&client, &config).await.map_err(|e| match e {
            Error::Timeout(_) => Error::Timeout(format!(
                "connecting to {spec} took more than {CONNECT_TIMEOUT:?}"
            )),
            e => e,
        })?;
        let mut this = RedisConnection {
            conn: Arc::new(RwLock::new(conn)),
            client,
            config,
            generation: Arc::default(),
            replacing: Arc::default(),
            in_multi: Arc::default(),
            health: Arc::new(Health::new(Engine::Redis, policy)),
            tls,
            db,
            read_only,
        };
        this.raw(&[b"PING".to_vec()]).await?;
        this.db = db;
        Ok(this)
    }

    async fn raw(&self, args: &[Vec<u8>]) -> Result<R> {
        if let Some(ro) = &self.read_only {
            ro.check(args, |a| async move { self.send(&a).await })
                .await?;
        }
        self.send(args).await
    }

    /// The connection as it is now (a cheap clone of the multiplexed handle).
    fn current(&self) -> redis::aio::MultiplexedConnection {
        match self.conn.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Before a command: pings a connection idle past the policy's
    /// threshold and replaces one found (or known) broken, unless a
    /// MULTI is open on it.
    async fn keep_alive(&self) -> Result<()> {
        let idle = self.health.touch();
        if !self.health.reconnects_enabled() || self.in_multi.load(Ordering::Acquire) {
            return Ok(());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let why = if self.health.is_broken() {
            Error::Connect {
                message: "an earlier command found the connection broken".into(),
                source: None,
            }
        } else if idle {
            let mut conn = self.current();
            let ping = async {
                redis::cmd("PING")
                    .query_async::<R>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(map_err)
            };
            match ping_within(self.health.policy.ping_timeout, ping).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            }
        } else {
            return Ok(());
        };
        self.replace(generation, why).await
    }

    /// Replaces the connection seen at `generation` with a new one, running
    /// the session's recorded `SELECT` / `CLIENT SETNAME` on it; a caller
    /// that comes second finds it replaced already.
    async fn replace(&self, generation: u64, why: Error) -> Result<()> {
        let _one = self.replacing.lock().await;
        if self.generation.load(Ordering::Acquire) != generation {
            return Ok(());
        }
        let started = Instant::now();
        let replaced = async {
            let mut fresh = open(&self.client, &self.config).await?;
            for line in self.health.settings() {
                let args = tokenize(&line)?;
                command(&args)?
                    .query_async::<R>(&mut fresh)
                    .await
                    .map_err(|e| map_err(e).context(format!("restoring `{line}`")))?;
            }
            Ok::<_, Error>(fresh)
        }
        .await;
        let fresh = replaced.map_err(|e| {
            e.context(format!(
                "the connection was lost ({why}) and could not be replaced"
            ))
        })?;
        match self.conn.write() {
            Ok(mut c) => *c = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.health.replaced(&why, started);
        Ok(())
    }

    /// Sends one command as it is, on a live connection: a read cut off by
    /// a broken connection runs once more on a new one; anything else cut
    /// off (a write, a command inside MULTI) is
    /// [`ErrorKind::ConnectionLost`].
    async fn send(&self, args: &[Vec<u8>]) -> Result<R> {
        self.keep_alive().await?;
        let generation = self.generation.load(Ordering::Acquire);
        let r = self.send_once(args).await;
        let r = match r {
            Err(e) if breaks(&e) => {
                self.health.mark_broken();
                let in_multi = self.in_multi.swap(false, Ordering::AcqRel);
                if !in_multi && self.health.reconnects_enabled() && replayable(args) {
                    self.replace(generation, e).await?;
                    self.send_once(args).await
                } else {
                    let what = format!(
                        "the command `{}`{}",
                        String::from_utf8_lossy(args.first().map(Vec::as_slice).unwrap_or(b"")),
                        if in_multi { " inside MULTI" } else { "" }
                    );
                    Err(lost(e, &what))
                }
            }
            r => r,
        };
        self.health.note(&r);
        if r.is_ok()
            && let Some(name) = args.first()
        {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            match name.as_str() {
                "multi" => self.in_multi.store(true, Ordering::Release),
                "exec" | "discard" => self.in_multi.store(false, Ordering::Release),
                _ if changes_session(args) => {
                    let line: Vec<String> = args
                        .iter()
                        .map(|a| super::tokenize::quote(a))
                        .collect();
                    self.health.record(&line.join(" "));
                }
                _ => {}
            }
        }
        r
    }

    async fn send_once(&self, args: &[Vec<u8>]) -> Result<R> {
        let cmd = command(args)?;
        let mut conn = self.current();
        let reply: R = cmd.query_async(&mut conn).await.map_err(map_err)?;
        if let R::ServerError(e) = &reply {
            return Err(Error::query(
                e.details().unwrap_or("").to_string(),
                Some(e.code().to_string()),
            ));
        }
        Ok(reply)
    }

    /// Lists keys with SCAN (never KEYS): key, type, TTL in ms (-1 none),
    /// memory usage in bytes, encoding and length, one batch per SCAN page.
    fn scan_keys(&self, options: BrowseOptions) -> SendableRecordBatchStream {
        let schema = Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
            Field::new("ttl_ms", DataType::Int64, true),
            Field::new("memory_bytes", DataType::Int64, true),
            Field::new("encoding", DataType::Utf8, true),
            Field::new("length", DataType::Int64, true),
        ]));
        let this = self.clone();
        let out_schema = schema.clone();
        let pages = stream::unfold(Some(0u64), move |cursor| {
            let this = this.clone();
            let options = options.clone();
            let schema = schema.clone();
            async move {
                let cursor = cursor?;
                let page = this.browse_page(cursor, &options, &schema).await;
                match page {
                    Ok((next, batch)) => Some((Ok(batch), (next != 0).then_some(next))),
                    Err(e) => Some((Err(e), None)),
                }
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(out_schema, Box::pin(pages)))
    }

    async fn browse_page(
        &self,
        cursor: u64,
        o: &BrowseOptions,
        schema: &Arc<Schema>,
    ) -> Result<(u64, RecordBatch)> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor).arg("COUNT").arg(o.count.max(1));
        if let Some(p) = &o.pattern {
            cmd.arg("MATCH").arg(p);
        }
        if let Some(t) = &o.key_type {
            cmd.arg("TYPE").arg(t);
        }
        let mut conn = self.current();
        let (next, keys): (u64, Vec<Vec<u8>>) =
            cmd.query_async(&mut conn).await.map_err(map_err)?;
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.cmd("TYPE")
                .arg(k)
                .cmd("PTTL")
                .arg(k)
                .cmd("MEMORY")
                .arg("USAGE")
                .arg(k)
                .cmd("OBJECT")
                .arg("ENCODING")
                .arg(k);
        }
        let facts: Vec<R> = if keys.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await.map_err(map_err)?
        };
        let mut types = Vec::with_capacity(keys.len());
        let mut lens = redis::pipe();
        for (k, f) in keys.iter().zip(facts.chunks(4)) {
            let t = text_of(&f[0]).unwrap_or_default();
            let len_cmd = match t.as_str() {
                "string" => "STRLEN",
                "hash" => "HLEN",
                "list" => "LLEN",
                "set" => "SCARD",
                "zset" => "ZCARD",
                "stream" => "XLEN",
                _ => "EXISTS",
            };
            lens.cmd(len_cmd).arg(k);
            types.push(t);
        }
        let lengths: Vec<R> = if keys.is_empty() {
            Vec::new()
        } else {
            lens.query_async(&mut conn).await.map_err(map_err)?
        };
        let int = |v: &R| match v {
            R::Int(i) => Some(*i),
            _ => None,
        };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    keys.iter().map(|k| String::from_utf8_lossy(k).into_owned()),
                )),
                Arc::new(StringArray::from_iter_values(types)),
                Arc::new(Int64Array::from(
                    facts.chunks(4).map(|f| int(&f[1])).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    facts.chunks(4).map(|f| int(&f[2])).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from(
                    facts.chunks(4).map(|f| text_of(&f[3])).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    lengths.iter().map(int).collect::<Vec<_>>(),
                )),
            ],
        )?;
        Ok((next, batch))
    }
}

fn text_of(v: &R) -> Option<String> {
    match v {
        R::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        R::SimpleString(s) => Some(s.clone()),
        R::Okay => Some("OK".into()),
        R::VerbatimString { text, .. } => Some(text.clone()),
        R::Int(i) => Some(i.to_string()),
        R::Double(d) => Some(d.to_string()),
        R::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A reply element as bytes, nested replies as JSON text.
fn bytes_of(v: &R) -> Option<Vec<u8>> {
    match v {
        R::Nil => None,
        R::BulkString(b) => Some(b.clone()),
        R::Array(_) | R::Set(_) | R::Map(_) => Some(json_of(v).to_string().into_bytes()),
        other => text_of(other).map(String::into_bytes),
    }
}

fn json_of(v: &R) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        R::Nil => J::Null,
        R::Int(i) => J::from(*i),
        R::Double(d) => J::from(*d),
        R::Boolean(b) => J::Bool(*b),
        R::Array(items) | R::Set(items) => J::Array(items.iter().map(json_of).collect()),
        R::Map(pairs) => J::Object(
            pairs
                .iter()
                .map(|(k, v)| (text_of(k).unwrap_or_default(), json_of(v)))
                .collect(),
        ),
        other => text_of(other).map(J::String).unwrap_or(J::Null),
    }
}

/// A text column (Utf8, or Binary when some value is not UTF-8), JSON-marked when every value is a JSON document.
fn text_column(name: &str, values: Vec<Option<Vec<u8>>>) -> (Field, ArrayRef) {
    let all_utf8 = values
        .iter()
        .flatten()
        .all(|v| std::str::from_utf8(v).is_ok());
    if !all_utf8 {
        let arr = BinaryArray::from(values.iter().map(|v| v.as_deref()).collect::<Vec<_>>());
        return (Field::new(name, DataType::Binary, true), Arc::new(arr));
    }
    let strings: Vec<Option<String>> = values
        .into_iter()
        .map(|v| v.map(|b| String::from_utf8(b).unwrap_or_default()))
        .collect();
    let json = strings.iter().any(Option::is_some)
        && strings.iter().flatten().all(|s| {
            let t = s.trim_start();
            (t.starts_with('{') || t.starts_with('['))
                && serde_json::from_str::<serde_json::Value>(s).is_ok()
        });
    let mut field = Field::new(name, DataType::Utf8, true);
    if json {
        field.set_metadata(HashMap::from([(
            JSON_METADATA.to_string(),
            "true".to_string(),
        )]));
    }
    (field, Arc::new(StringArray::from(strings)))
}

fn flat(reply: R) -> Vec<R> {
    match reply {
        R::Array(items) | R::Set(items) => items,
        R::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        R::Nil => Vec::new(),
        other => vec![other],
    }
}

fn pairs(reply: R) -> Vec<(R, R)> {
    match reply {
        R::Map(p) => p,
        other => {
            let items = flat(other);
            let mut it = items.into_iter();
            let mut out = Vec::new();
            while let (Some(a), Some(b)) = (it.next(), it.next()) {
                out.push((a, b));
            }
            out
        }
    }
}

fn batch(fields: Vec<(Field, ArrayRef)>, meta: HashMap<String, String>) -> Result<RecordBatch> {
    let (f, a): (Vec<Field>, Vec<ArrayRef>) = fields.into_iter().unzip();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(f, meta)),
        a,
    )?)
}

/// Shapes a reply into a table according to the command that produced it.
fn shape(args: &[Vec<u8>], reply: R) -> Result<RecordBatch> {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let has = |w: &str| {
        args.iter()
            .skip(1)
            .any(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    let none = HashMap::new();
    match name.as_str() {
        "HGETALL" => {
            let (k, v): (Vec<_>, Vec<_>) = pairs(reply)
                .into_iter()
                .map(|(k, v)| (bytes_of(&k), bytes_of(&v)))
                .unzip();
            batch(vec![text_column("field", k), text_column("value", v)], none)
        }
        "LRANGE" => {
            let start: i64 = args
                .get(2)
                .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
                .filter(|s: &i64| *s >= 0)
                .unwrap_or(0);
            let items = flat(reply);
            let idx = Int64Array::from_iter_values((0..items.len() as i64).map(|i| start + i));
            batch(
                vec![
                    (Field::new("index", DataType::Int64, false), Arc::new(idx)),
                    text_column("value", items.iter().map(bytes_of).collect()),
                ],
                none,
            )
        }
        "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" => batch(
            vec![text_column(
                "member",
                flat(reply).iter().map(bytes_of).collect(),
            )],
            none,
        ),
        "ZRANGE" | "ZREVRANGE" | "ZRANGEBYSCORE" | "ZREVRANGEBYSCORE" if has("WITHSCORES") => {
            let (m, s): (Vec<_>, Vec<_>) = pairs(reply)
                .into_iter()
                .map(|(m, s)| {
                    (
                        bytes_of(&m),
                        match s {
                            R::Double(d) => Some(d),
                            other => text_of(&other).and_then(|t| t.parse().ok()),
                        },
                    )
                })
                .unzip();
            batch(
                vec![
                    text_column("member", m),
                    (
                        Field::new("score", DataType::Float64, true),
                        Arc::new(Float64Array::from(s)),
                    ),
                ],
                none,
            )
        }
        "XRANGE" | "XREVRANGE" => {
            let (ids, fields): (Vec<_>, Vec<_>) = flat(reply)
                .into_iter()
                .map(|entry| {
                    let mut parts = flat(entry).into_iter();
                    let id = parts.next().and_then(|i| bytes_of(&i));
                    let kv = parts.next().map(|f| {
                        let obj: serde_json::Map<String, serde_json::Value> = pairs(f)
                            .into_iter()
                            .map(|(k, v)| (text_of(&k).unwrap_or_default(), json_of(&v)))
                            .collect();
                        serde_json::Value::Object(obj).to_string().into_bytes()
                    });
                    (id, kv)
                })
                .unzip();
            batch(
                vec![text_column("id", ids), text_column("fields", fields)],
                none,
            )
        }
        "SCAN" => {
            let mut parts = flat(reply).into_iter();
            let cursor = parts
                .next()
                .and_then(|c| text_of(&c))
                .unwrap_or_else(|| "0".into());
            let keys = parts.next().map(flat).unwrap_or_default();
            batch(
                vec![text_column("key", keys.iter().map(bytes_of).collect())],
                HashMap::from([(CURSOR_METADATA.to_string(), cursor)]),
            )
        }
        _ => {
            let items = match reply {
                R::Array(_) | R::Set(_) | R::Map(_) => flat(reply),
                other => vec![other],
            };
            if !items.is_empty() && items.iter().all(|i| matches!(i, R::Int(_))) {
                let ints = Int64Array::from_iter_values(
                    items
                        .iter()
                        .filter_map(|i| if let R::Int(x) = i { Some(*x) } else { None }),
                );
                return batch(
                    vec![(Field::new("value", DataType::Int64, false), Arc::new(ints))],
                    none,
                );
            }
            batch(
                vec![text_column("value", items.iter().map(bytes_of).collect())],
                none,
            )
        }
    }
}

/// `timeout_ms=N`: milliseconds.
/// A command from its words.
fn command(args: &[Vec<u8>]) -> Result<redis::Cmd> {
    let (name, rest) = args
        .split_first()
        .ok_or_else(|| Error::invalid("empty Redis command"))?;
    let mut cmd = redis::cmd(&String::from_utf8_lossy(name));
    for a in rest {
        cmd.arg(a.as_slice());
    }
    Ok(cmd)
}

/// Opens a multiplexed connection within [`CONNECT_TIMEOUT`].
async fn open(
    client: &redis::Client,
    config: &redis::AsyncConnectionConfig,
) -> Result<redis::aio::MultiplexedConnection> {
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        client.get_multiplexed_async_connection_with_config(config),
    )
    .await
    .map_err(|_| Error::Timeout(format!("connecting took more than {CONNECT_TIMEOUT:?}")))?
    .map_err(map_err)
}

fn timeout_ms(v: &str) -> Result<u64> {
    v.parse().map_err(|_| {
        Error::invalid(format!(
            "Redis option `timeout_ms` must be milliseconds, not `{v}`"
        ))
    })
}

fn unknown_option(k: &str) -> Error {
    Error::invalid(format!(
        "unknown Redis option `{k}` (known: timeout_ms, tls_ca, tls_cert, tls_key, protocol)"
    ))
}

#[async_trait]
impl KeyValue for RedisConnection {
    async fn browse(&self, options: BrowseOptions) -> Result<SendableRecordBatchStream> {
        options.validate()?;
        Ok(self.scan_keys(options))
    }
}

#[async_trait]
impl Connection for RedisConnection {
    fn engine(&self) -> Engine {
        Engine::Redis
    }

    fn catalog(&self) -> Option<&dyn qore_core::Catalog> {
        Some(self)
    }

    fn key_value(&self) -> Option<&dyn KeyValue> {
        Some(self)
    }

    fn dialect(&self) -> Option<Arc<dyn Dialect>> {
        // Commands, not SQL: nothing may generate SQL for this engine.
        None
    }

    fn reconnects(&self) -> u64 {
        self.health.reconnects()
    }

    async fn session_info(&self) -> Result<qore_core::SessionInfo> {
        let info = self.raw(&[b"INFO".to_vec(), b"server".to_vec()]).await?;
        let version = text_of(&info).and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("redis_version:"))
                .map(|v| v.trim().to_string())
        });
        let id = text_of(&self.raw(&[b"CLIENT".to_vec(), b"ID".to_vec()]).await?);
        let tls = if self.tls { "TLS" } else { "none" };
        Ok(qore_core::SessionInfo::new(version, Some(tls.into()), id))
    }

    async fn ping(&self) -> Result<()> {
        self.raw(&[b"PING".to_vec()]).await.map(|_| ())
    }

    /// Runs one redis-cli command line; `params` are appended as arguments.
    async fn query(&self, command: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        let mut args = tokenize(command)?;
        if args.is_empty() {
            return Err(Error::invalid("empty Redis command"));
        }
        for p in params {
            args.push(match p {
                Value::Bytes(b) => b.clone(),
                other => other.to_string().into_bytes(),
            });
        }
        let reply = self.raw(&args).await?;
        let b = shape(&args, reply)?;
        let schema = b.schema();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            Box::pin(stream::iter([Ok(b)])),
        )))
    }

    async fn begin(&self) -> Result<qore_core::Transaction<'_>> {
        Err(Error::NotSupported(
            "Redis has no transactions that roll back (EXEC cannot undo a command); send MULTI, the commands and EXEC as commands".into(),
        ))
    }

    async fn execute(&self, command: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        let mut args = tokenize(command)?;
        args.extend(params.iter().map(|p| p.to_string().into_bytes()));
        let reply = self.raw(&args).await?;
        Ok(ExecuteOutcome {
            rows_affected: if let R::Int(n) = reply {
                n.max(0) as u64
            } else {
                0
            },
        })
    }

    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

/// Redis databases are the namespaces: `0` to `databases - 1` (16 unless the
/// server says otherwise). Keys are not tables: they are listed with SCAN
/// through [`RedisConnection::browse`] (`qore ls`).
#[async_trait]
impl qore_core::Catalog for RedisConnection {
    async fn namespaces(&self) -> Result<Vec<qore_core::Namespace>> {
        let count = match self
            .raw(&[b"CONFIG".to_vec(), b"GET".to_vec(), b"databases".to_vec()])
            .await
        {
            Ok(R::Array(items)) => items
                .get(1)
                .and_then(|v| match v {
                    R::BulkString(b) => std::str::from_utf8(b).ok()?.parse::<u32>().ok(),
                    _ => None,
                })
                .unwrap_or(16),
            Ok(R::Map(pairs)) => pairs
                .first()
                .and_then(|(_, v)| match v {
                    R::BulkString(b) => std::str::from_utf8(b).ok()?.parse::<u32>().ok(),
                    _ => None,
                })
                .unwrap_or(16),
            // CONFIG may be denied by ACL: assume the default.
            _ => 16,
        };
        Ok((0..count)
            .map(|n| qore_core::Namespace {
                name: n.to_string(),
                is_default: n == u32::from(self.db),
            })
            .collect())
    }

    async fn tables(&self, _namespace: Option<&str>) -> Result<Vec<qore_core::TableInfo>> {
        Err(Error::NotSupported(
            "Redis has keys, not tables: list them with SCAN through `qore ls` (RedisConnection::browse)".into(),
        ))
    }

    async fn table(&self, table: &qore_core::TableRef) -> Result<qore_core::TableDetails> {
        Err(Error::NotSupported(format!(
            "Redis has keys, not tables: read `{}` with a command (GET, HGETALL, ...)",
            table.name
        )))
    }
}
