//! `MongoConnection`: commands in, documents out as Arrow batches.

use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use futures::StreamExt;
use mongodb::bson::{Bson, Document, doc};
use qore_core::{
    Catalog, Connection, ConnectionSpec, Dialect, Documents, Engine, Error, ErrorKind,
    ExecuteOutcome, Result, SendableRecordBatchStream, Value,
};
use tokio::sync::{mpsc, oneshot};

use super::arrow::{Shape, batch, infer, schema_of};
use super::parse::{Request, parse};
use crate::server::{BATCH_BYTES, BATCH_ROWS, ChannelStream, SpawnedTask};

/// Documents per cursor batch asked of the server.
const CURSOR_BATCH: u32 = 2000;

/// Documents sampled to infer a result's schema, unless `?sample=N` says otherwise.
pub const DEFAULT_SAMPLE: usize = 1000;

/// A connection to a MongoDB deployment, on one database.
#[derive(Clone)]
pub struct MongoConnection {
    client: mongodb::Client,
    db: mongodb::Database,
    sample: usize,
    /// `?read_only=true`: only commands that read are sent.
    read_only: bool,
}

impl std::fmt::Debug for MongoConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoConnection")
            .field("db", &self.db.name())
            .field("sample", &self.sample)
            .finish_non_exhaustive()
    }
}

/// The driver's message without its debug wrapping (`Kind: ...,
/// labels: {}`, a dump of the topology): the first server error in words.
fn plain_message(full: &str) -> String {
    let unwrap = |s: &str| -> String {
        let s = s.trim().strip_prefix("Kind: ").unwrap_or(s.trim());
        let s = s.split(", labels: {").next().unwrap_or(s);
        s.trim_end_matches(['}', ' ', ']', ',']).to_string()
    };
    match full.split_once(". Topology:") {
        Some((head, topology)) => match topology.split_once("Error: ") {
            Some((_, err)) => format!("{}: {}", unwrap(head), unwrap(err)),
            None => unwrap(head),
        },
        None => unwrap(full),
    }
}

/// Maps a driver error to QoreDB's, keeping the server's code name.
pub(crate) fn map_err(e: mongodb::error::Error) -> Error {
    use mongodb::error::ErrorKind as K;
    let msg = plain_message(&e.to_string());
    match *e.kind {
        K::Authentication { .. } => Error::Auth(msg),
        K::ServerSelection { .. } => Error::connect("the MongoDB server is not reachable", msg),
        K::Io(_) | K::ConnectionPoolCleared { .. } | K::DnsResolve { .. } => {
            Error::connect("the MongoDB server went away", msg)
        }
        K::InvalidArgument { .. } => Error::invalid(msg),
        K::Command(ref c) => {
            if c.code == 18 || c.code == 13 && c.message.contains("authenticat") {
                return Error::Auth(c.message.clone());
            }
            if c.code == 50 {
                return Error::Timeout(c.message.clone());
            }
            Error::query_kind(
                kind_of(c.code),
                c.message.clone(),
                Some(format!("{} {}", c.code, c.code_name)),
            )
        }
        K::Write(ref w) => {
            let code = match w {
                mongodb::error::WriteFailure::WriteError(we) => Some(we.code),
                mongodb::error::WriteFailure::WriteConcernError(wc) => Some(wc.code),
                _ => None,
            };
            Error::query_kind(
                code.map_or(ErrorKind::Other, kind_of),
                msg.clone(),
                code.map(|c| c.to_string()),
            )
        }
        K::InsertMany(ref m) => {
            let code = m
                .write_errors
                .as_ref()
                .and_then(|e| e.first())
                .map(|e| e.code);
            Error::query_kind(
                code.map_or(ErrorKind::Other, kind_of),
                msg.clone(),
                code.map(|c| c.to_string()),
            )
        }
        _ => Error::query(msg, None),
    }
}

/// The portable kind of a MongoDB server error code.
fn kind_of(code: i32) -> ErrorKind {
    match code {
        11000 | 11001 | 12582 => ErrorKind::UniqueViolation,
        121 => ErrorKind::CheckViolation,
        112 | 251 => ErrorKind::SerializationFailure,
        24 | 46 => ErrorKind::LockTimeout,
        50 | 262 => ErrorKind::Timeout,
        11601 => ErrorKind::Cancelled,
        13 => ErrorKind::PermissionDenied,
        9 | 40352 | 17287 => ErrorKind::Syntax,
        26 | 27 | 59 | 40324 => ErrorKind::UndefinedObject,
        48 | 68 | 85 | 86 => ErrorKind::DuplicateObject,
        2 | 14 | 15 | 16755 => ErrorKind::InvalidData,
        91 | 189 | 11600 | 11602 | 10107 | 13435 | 13436 | 7 | 6 | 89 | 9001 => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::Other,
    }
}

/// A write command (`insert`, `update`, `delete`) answers `ok: 1` even
/// when documents failed: their errors are in `writeErrors` and
/// `writeConcernError`, which must not pass for success.
fn check_write_errors(reply: &Document) -> Result<()> {
    let first = match reply.get("writeErrors") {
        Some(Bson::Array(errors)) => errors.iter().find_map(|e| e.as_document()),
        _ => None,
    }
    .or_else(|| reply.get_document("writeConcernError").ok());
    let Some(first) = first else {
        return Ok(());
    };
    let code = match first.get("code") {
        Some(Bson::Int32(c)) => Some(*c),
        Some(Bson::Int64(c)) => i32::try_from(*c).ok(),
        _ => None,
    };
    let message = first.get_str("errmsg").unwrap_or("a write failed");
    let written = match reply.get("n") {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        _ => 0,
    };
    let message = match written {
        0 => message.to_string(),
        1 => format!(
            "{message} (1 document of the command was written before it, and stays written)"
        ),
        n => format!(
            "{message} ({n} documents of the command were written before it, and stay written)"
        ),
    };
    Err(Error::query_kind(
        code.map_or(ErrorKind::Other, kind_of),
        message,
        code.map(|c| c.to_string()),
    ))
}

impl MongoConnection {
    /// Checks the options qore reads itself (`sample`) without connecting.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the option and what it takes.
    pub fn check_options(spec: &ConnectionSpec) -> Result<()> {
        sample_option(spec)?;
        read_only_option(spec).map(|_| ())
    }

    /// Connects to the deployment of a `mongodb://` or `mongodb+srv://` URL.
    ///
    /// The URL's path names the database (default `test`); its options are
    /// the driver's own (`authSource`, `tls`, `replicaSet`, ...) plus
    /// `sample=N`, the documents sampled to infer a result's schema
    /// (default 1000). A server that does not answer within 10 s
    /// (`serverSelectionTimeoutMS`) is an error.
    ///
    /// # Error handling
    ///
    /// [`Error::Auth`] for wrong credentials, [`Error::Connect`] when no
    /// server answers, [`Error::InvalidInput`] for a malformed URL.
    pub async fn connect(spec: &ConnectionSpec) -> Result<Self> {
        let sample = sample_option(spec)?;
        let read_only = read_only_option(spec)?;
        let mut passed = spec.clone();
        passed.options.retain(|(k, _)| {
            !k.eq_ignore_ascii_case("sample") && !k.eq_ignore_ascii_case("read_only")
        });
        if !passed
            .options
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("serverSelectionTimeoutMS"))
        {
            passed
                .options
                .push(("serverSelectionTimeoutMS".into(), "10000".into()));
        }
        let db_name = passed
            .database
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "test".into());
        // The driver takes the database in the URL as the default auth source.
        let url = passed.expose_url();
        let options = mongodb::options::ClientOptions::parse(&url)
            .await
            .map_err(map_err)?;
        let client = mongodb::Client::with_options(options).map_err(map_err)?;
        let db = client.database(&db_name);
        // Connect (and authenticate) now, not at the first query.
        db.run_command(doc! { "ping": 1 }).await.map_err(map_err)?;
        Ok(MongoConnection {
            client,
            db,
            sample,
            read_only,
        })
    }

    /// The database commands run against.
    pub fn database(&self) -> &mongodb::Database {
        &self.db
    }

    /// Documents sampled to infer a schema.
    pub fn sample_size(&self) -> usize {
        self.sample
    }

    /// The driver client, for what this crate does not wrap.
    pub fn client(&self) -> &mongodb::Client {
        &self.client
    }

    /// The database `req` runs against, with the shorthand's collection
    /// names qualified by this connection's database where it needs them.
    fn database_for(&self, req: &mut Request) -> Result<mongodb::Database> {
        if self.read_only {
            refuse_writes(&req.command)?;
        }
        if req.qualify {
            let db = self.db.name();
            for key in ["renameCollection", "to"] {
                if let Ok(name) = req.command.get_str(key) {
                    let full = format!("{db}.{name}");
                    req.command.insert(key, full);
                }
            }
        }
        Ok(if req.admin {
            self.client.database("admin")
        } else {
            self.db.clone()
        })
    }

    /// Runs a request and streams its documents as Arrow batches.
    async fn run(&self, mut req: Request) -> Result<SendableRecordBatchStream> {
        let db = self.database_for(&mut req)?;
        if !req.cursor {
            let reply = db.run_command(req.command).await.map_err(map_err)?;
            check_write_errors(&reply)?;
            let docs: Vec<Document> = if req.value {
                // findAndModify: the document it found, if any.
                match reply.get("value") {
                    Some(Bson::Document(d)) => vec![d.clone()],
                    _ => Vec::new(),
                }
            } else if req.distinct {
                match reply.get("values") {
                    Some(Bson::Array(values)) => {
                        values.iter().map(|v| doc! { "value": v.clone() }).collect()
                    }
                    _ => Vec::new(),
                }
            } else {
                let mut reply = reply;
                reply.remove("$clusterTime");
                reply.remove("operationTime");
                vec![reply]
            };
            let shape = infer(&docs);
            let schema = schema_of(&shape);
            let b = batch(&shape, &schema, &docs)?;
            return Ok(Box::pin(qore_core::RecordBatchStreamAdapter::new(
                schema,
                futures::stream::iter([Ok(b)]),
            )));
        }
        // Bounded batches from the server: without a batch size a server may
        // answer a getMore with up to 16 MiB of documents (SecantusDB with
        // far more), which the driver holds while we convert it.
        let mut command = req.command;
        let name = command.keys().next().cloned().unwrap_or_default();
        if name == "find" && !command.contains_key("batchSize") {
            command.insert("batchSize", CURSOR_BATCH as i32);
        }
        if name == "aggregate"
            && let Ok(c) = command.get_document_mut("cursor")
            && !c.contains_key("batchSize")
        {
            c.insert("batchSize", CURSOR_BATCH as i32);
        }
        let batch_size = match command.get("batchSize") {
            Some(Bson::Int32(n)) if *n > 0 => *n as u32,
            Some(Bson::Int64(n)) if *n > 0 => u32::try_from(*n).unwrap_or(CURSOR_BATCH),
            _ => CURSOR_BATCH,
        };
        let cursor = db
            .run_cursor_command(command)
            .batch_size(batch_size)
            .await
            .map_err(map_err)?;
        let (schema_tx, schema_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(1);
        let task = SpawnedTask::spawn(pump(cursor, self.sample, req.one, schema_tx, tx));
        let schema = schema_rx
            .await
            .map_err(|_| Error::Internal("the MongoDB reader stopped".into()))??;
        Ok(Box::pin(ChannelStream::new(schema, rx, task)))
    }
}

/// Reads the sample, announces the schema, then sends batches. Dropping the
/// receiver ends the task; dropping the cursor kills it on the server.
async fn pump(
    mut cursor: mongodb::Cursor<Document>,
    sample: usize,
    one: bool,
    schema_tx: oneshot::Sender<Result<SchemaRef>>,
    tx: mpsc::Sender<Result<RecordBatch>>,
) {
    let limit = if one { 1 } else { usize::MAX };
    let mut buffered: Vec<Document> = Vec::new();
    let mut done = false;
    while buffered.len() < sample.min(limit) {
        match cursor.next().await {
            Some(Ok(d)) => buffered.push(d),
            Some(Err(e)) => {
                let _ = schema_tx.send(Err(map_err(e)));
                return;
            }
            None => {
                done = true;
                break;
            }
        }
    }
    let shape: Vec<(String, Shape)> = infer(&buffered);
    let schema = schema_of(&shape);
    if schema_tx.send(Ok(schema.clone())).is_err() {
        return;
    }
    let mut sent = 0usize;
    let mut bytes = 0usize;
    let mut pending: Vec<Document> = Vec::new();
    let flush = |docs: &mut Vec<Document>| -> Result<RecordBatch> {
        let b = batch(&shape, &schema, docs);
        docs.clear();
        b
    };
    for d in buffered {
        pending.push(d);
        if pending.len() >= BATCH_ROWS {
            sent += pending.len();
            if tx.send(flush(&mut pending)).await.is_err() {
                return;
            }
        }
    }
    if !done && sent + pending.len() < limit {
        let closed = tx.closed();
        tokio::pin!(closed);
        loop {
            let next = tokio::select! {
                biased;
                _ = &mut closed => return,
                n = cursor.next() => n,
            };
            match next {
                Some(Ok(d)) => {
                    bytes += d.len() * 16;
                    pending.push(d);
                    if pending.len() >= BATCH_ROWS || bytes >= BATCH_BYTES {
                        sent += pending.len();
                        bytes = 0;
                        if tx.send(flush(&mut pending)).await.is_err() {
                            return;
                        }
                    }
                    if sent + pending.len() >= limit {
                        break;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(map_err(e))).await;
                    return;
                }
                None => break,
            }
        }
    }
    if !pending.is_empty() || sent == 0 {
        let _ = tx.send(flush(&mut pending)).await;
    }
}

/// `?sample=N`: a positive number of documents; the default when absent.
/// MongoDB's commands that only read: what a read-only session sends, and
/// what the safety net calls a read.
pub const READ_COMMANDS: [&str; 22] = [
    "find",
    "aggregate",
    "count",
    "distinct",
    "listCollections",
    "listIndexes",
    "listDatabases",
    "listSearchIndexes",
    "collStats",
    "dbStats",
    "explain",
    "ping",
    "hello",
    "isMaster",
    "ismaster",
    "buildInfo",
    "serverStatus",
    "connectionStatus",
    "hostInfo",
    "getMore",
    "killCursors",
    "dataSize",
];

/// A read-only session's check: MongoDB has no read-only connection, so
/// the command is judged before it is sent (an `aggregate` that writes
/// with `$out` or `$merge` is refused too).
fn refuse_writes(command: &Document) -> Result<()> {
    let name = command.keys().next().map(String::as_str).unwrap_or("");
    let writes_out = name == "aggregate"
        && command.get_array("pipeline").is_ok_and(|p| {
            p.iter().any(|s| {
                s.as_document()
                    .is_some_and(|d| d.contains_key("$out") || d.contains_key("$merge"))
            })
        });
    if READ_COMMANDS.contains(&name) && !writes_out {
        return Ok(());
    }
    Err(Error::Denied(format!(
        "`{name}`{} may write, and this session is read-only",
        if writes_out { " with $out/$merge" } else { "" }
    )))
}

fn read_only_option(spec: &ConnectionSpec) -> Result<bool> {
    let mut on = false;
    for (k, v) in &spec.options {
        if k.eq_ignore_ascii_case("read_only") {
            on = crate::parse_flag(k, v)?;
        }
    }
    Ok(on)
}

fn sample_option(spec: &ConnectionSpec) -> Result<usize> {
    let mut sample = DEFAULT_SAMPLE;
    for (k, v) in &spec.options {
        if k.eq_ignore_ascii_case("sample") {
            sample = v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                Error::invalid(format!(
                    "MongoDB option `sample` takes a number of documents from 1 up, not `{v}`"
                ))
            })?;
        }
    }
    Ok(sample)
}

#[cfg(test)]
#[test]
fn driver_dumps_become_plain_messages() {
    let dump = "Kind: Server selection timeout: No available servers. Topology: { Type: Unknown, Servers: [ { Address: 127.0.0.1:1, Type: Unknown, Error: Kind: I/O error: Connection refused (os error 111), labels: {} } ] }, labels: {}";
    assert_eq!(
        plain_message(dump),
        "Server selection timeout: No available servers: I/O error: Connection refused (os error 111)"
    );
    assert_eq!(
        plain_message("Kind: Command failed, labels: {}"),
        "Command failed"
    );
}

/// A JSON value in MongoDB's Extended JSON (relaxed or canonical) as BSON.
fn from_json(v: &serde_json::Value, what: &str) -> Result<Bson> {
    Bson::try_from(v.clone())
        .map_err(|e| Error::invalid(format!("{what} is not valid Extended JSON: {e}")))
}

impl MongoConnection {
    fn cursor(command: Document) -> Request {
        let mut req = Request::of(command);
        req.cursor = true;
        req
    }
}

#[async_trait]
impl Documents for MongoConnection {
    async fn find(
        &self,
        collection: &str,
        filter: &serde_json::Value,
        limit: Option<u64>,
    ) -> Result<SendableRecordBatchStream> {
        let Bson::Document(filter) = from_json(filter, "the filter")? else {
            return Err(Error::invalid("the filter must be a JSON object"));
        };
        let mut command = doc! { "find": collection, "filter": filter };
        if let Some(n) = limit {
            let n = i64::try_from(n)
                .map_err(|_| Error::invalid(format!("a limit of {n} is too large")))?;
            command.insert("limit", n);
        }
        self.run(Self::cursor(command)).await
    }

    async fn aggregate(
        &self,
        collection: &str,
        pipeline: &serde_json::Value,
    ) -> Result<SendableRecordBatchStream> {
        let Bson::Array(stages) = from_json(pipeline, "the pipeline")? else {
            return Err(Error::invalid(
                "the pipeline must be a JSON array of stages",
            ));
        };
        self.run(Self::cursor(
            doc! { "aggregate": collection, "pipeline": stages, "cursor": {} },
        ))
        .await
    }
}

#[async_trait]
impl Connection for MongoConnection {
    fn engine(&self) -> Engine {
        Engine::MongoDb
    }

    fn documents(&self) -> Option<&dyn Documents> {
        Some(self)
    }

    fn table_query(&self, table: &qore_core::TableRef) -> Result<String> {
        Ok(serde_json::json!({ "find": table.name }).to_string())
    }

    fn dialect(&self) -> Option<std::sync::Arc<dyn Dialect>> {
        // Commands, not SQL: nothing may generate SQL for this engine.
        None
    }

    async fn ping(&self) -> Result<()> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    /// Runs a command document (`{"find": "users", ...}`, Extended JSON) or
    /// the mongosh shorthand (`db.users.find({...}).limit(5)`).
    async fn query(&self, text: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        if !params.is_empty() {
            return Err(Error::NotSupported(
                "MongoDB commands take no bound parameters; put the values in the command".into(),
            ));
        }
        self.run(parse(text)?).await
    }

    async fn begin(&self) -> Result<qore_core::Transaction<'_>> {
        Err(Error::NotSupported(
            "MongoDB multi-document transactions are not supported by QoreDB yet (they need a replica set); each command is atomic for the documents it writes".into(),
        ))
    }

    async fn execute(&self, text: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        if !params.is_empty() {
            return Err(Error::NotSupported(
                "MongoDB commands take no bound parameters".into(),
            ));
        }
        let mut req = parse(text)?;
        if req.cursor {
            let mut s = self.run(req).await?;
            let mut n = 0u64;
            while let Some(b) = s.next().await {
                n += b?.num_rows() as u64;
            }
            return Ok(ExecuteOutcome { rows_affected: n });
        }
        let db = self.database_for(&mut req)?;
        let reply = db.run_command(req.command).await.map_err(map_err)?;
        check_write_errors(&reply)?;
        let n = reply
            .get("nModified")
            .or_else(|| reply.get("n"))
            .and_then(|v| match v {
                Bson::Int32(i) => u64::try_from(*i).ok(),
                Bson::Int64(i) => u64::try_from(*i).ok(),
                _ => None,
            });
        Ok(ExecuteOutcome {
            rows_affected: n.unwrap_or(0),
        })
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(self)
    }

    async fn session_info(&self) -> Result<qore_core::SessionInfo> {
        let info = self
            .db
            .run_command(mongodb::bson::doc! { "buildInfo": 1 })
            .await
            .map_err(map_err)?;
        let version = info.get_str("version").ok().map(str::to_string);
        Ok(qore_core::SessionInfo::new(version, None, None))
    }

    /// Ends the client: waits for cursors and sessions of this connection
    /// to be cleaned up on the server, then stops the driver's background
    /// workers (which otherwise race a runtime that is shutting down).
    /// The connection cannot be used afterwards.
    async fn close(&self) -> Result<()> {
        self.client.clone().shutdown().await;
        Ok(())
    }
}

/// Waits at most `d` for a future (catalog helpers on slow servers).
pub(crate) async fn within<T>(
    d: Duration,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(d, f)
        .await
        .map_err(|_| Error::Timeout(format!("no answer from MongoDB within {} s", d.as_secs())))?
}
