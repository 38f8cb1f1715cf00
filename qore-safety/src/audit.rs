//! [`AuditLog`]: one JSON line per statement, appended and synced to disk
//! by a writer thread (group commit), rotated by size. The fields follow pgaudit's: when, who
//! (profile, environment, user), where (engine, database), what (the call,
//! the statement with secrets masked, its classification), the decision,
//! and the outcome.
//!
//! Never a password: the database is the URL without its userinfo, bound
//! parameters are not written (only how many there were), and string
//! literals that follow a keyword announcing a secret (`PASSWORD`,
//! `IDENTIFIED BY`, `AUTH`, `requirepass`, `pwd`, ...) are replaced by `***`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use qore_core::intercept::{Interceptor, Outcome, Request};
use qore_core::sql::{Flavor, TokenKind, tokenize_in};
use qore_core::{Engine, Error, Result};
use serde::Serialize;

/// Where records go and who they are about.
///
/// Records are synced to disk by group commit: a statement hands its record
/// to a writer thread and goes on; the thread waits [`SYNC_DELAY`] for the
/// records of the next statements, then appends them all and syncs them
/// with one `fsync`. So each record is on disk within a few milliseconds
/// of its statement's end, and the `fsync` is off the statement's path.
/// [`AuditLog::flush`] syncs at once and waits for every record so far;
/// dropping the log flushes it, and [`flush_all`] flushes every open log
/// (for a process about to exit on a signal).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The saved connection's name, if any.
    profile: Option<String>,
    /// The target without its password.
    database: String,
    /// The user the session connects as.
    user: Option<String>,
}

/// The default size after which the log is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 20;

/// How long the writer waits for more records before it syncs a group:
/// the most a record can stay in memory after its statement ended (unless
/// the process is killed), and what makes one `fsync` cover the records of
/// several statements run one after another (an `fsync` per statement cost
/// about 10% of a small query's time here).
pub const SYNC_DELAY: Duration = Duration::from_millis(5);

/// Records queued past this many bytes make the statements wait for the
/// disk instead of growing the queue without bound.
const MAX_QUEUED: usize = 8 << 20;

/// What the statements and the writer thread share.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: records queued, or closing.
    work: Condvar,
    /// Wakes flushers and throttled statements: records synced.
    synced: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Lines not yet handed to the file.
    queue: Vec<u8>,
    /// Records queued since the log was opened.
    queued: u64,
    /// Of those, records on disk.
    synced: u64,
    /// The last failure to write or sync, until a flush reports it.
    error: Option<String>,
    closing: bool,
    /// Someone waits for the records on disk: sync without the delay.
    urgent: bool,
    /// The writer thread has stopped (nothing will be synced any more).
    stopped: bool,
}

/// Every open log, for [`flush_all`].
static OPEN: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Flushes every open audit log, waiting at most `timeout` for each: what a
/// process calls before it exits without unwinding (a second Ctrl-C).
pub fn flush_all(timeout: Duration) {
    let open: Vec<Arc<Shared>> = match OPEN.lock() {
        Ok(v) => v.iter().filter_map(Weak::upgrade).collect(),
        Err(_) => return,
    };
    for s in open {
        let _ = s.wait_synced(Some(timeout));
    }
}

impl Shared {
    /// Waits until every record queued so far is on disk (or the writer
    /// stopped, or `timeout` passed); the write error, if one happened.
    fn wait_synced(&self, timeout: Option<Duration>) -> std::result::Result<(), String> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        let target = st.queued;
        if st.synced < target {
            st.urgent = true;
            self.work.notify_one();
        }
        while st.synced < target && !st.stopped {
            st = match deadline {
                None => self.synced.wait(st).map_err(|_| poisoned())?,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err("timed out waiting for the audit log's disk".into());
                    }
                    self.synced
                        .wait_timeout(st, left)
                        .map_err(|_| poisoned())?
                        .0
                }
            };
        }
        match st.error.take() {
            Some(e) => Err(e),
            None if st.synced < target => Err("the audit log's writer stopped".into()),
            None => Ok(()),
        }
    }
}

fn poisoned() -> String {
    "the audit log's lock is poisoned".into()
}

/// The file, its rotation, and the loop of the writer thread.
struct FileWriter {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Option<File>,
}

impl FileWriter {
    fn run(mut self, shared: Arc<Shared>) {
        loop {
            let (batch, upto) = {
                let Ok(mut st) = shared.state.lock() else {
                    return;
                };
                while st.queue.is_empty() && !st.closing {
                    st = match shared.work.wait(st) {
                        Ok(st) => st,
                        Err(_) => return,
                    };
                }
                // The commit delay: let the records of the next few
                // statements join this sync, unless someone waits for it.
                let deadline = Instant::now() + SYNC_DELAY;
                while !st.closing && !st.urgent && st.queue.len() < MAX_QUEUED / 2 {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    st = match shared.work.wait_timeout(st, left) {
                        Ok((st, _)) => st,
                        Err(_) => return,
                    };
                }
                st.urgent = false;
                if st.queue.is_empty() {
                    st.stopped = true;
                    shared.synced.notify_all();
                    return;
                }
                (std::mem::take(&mut st.queue), st.queued)
            };
            let result = self.append(&batch);
            let Ok(mut st) = shared.state.lock() else {
                return;
            };
            if let Err(e) = result {
                // The hooks cannot fail a statement that has run: the error
                // goes to tracing (the CLI shows it) and to the next flush.
                tracing::error!(path = %self.path.display(), error = %e, "cannot write the audit log");
                st.error = Some(format!(
                    "cannot write the audit log {}: {e}",
                    self.path.display()
                ));
            }
            st.synced = upto;
            shared.synced.notify_all();
        }
    }

    /// Appends `batch` and syncs it; rotates first when the file is full.
    fn append(&mut self, batch: &[u8]) -> std::io::Result<()> {
        let size = match self.file.as_ref() {
            Some(f) => f.metadata()?.len(),
            None => 0,
        };
        if self.file.is_none() || size + batch.len() as u64 > self.max_bytes {
            self.file = None;
            if size > 0 {
                self.rotate()?;
            }
            self.file = Some(open_append(&self.path).map_err(std::io::Error::other)?);
        }
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the audit log is not open"))?;
        f.write_all(batch)?;
        f.sync_data()
    }

    fn rotate(&self) -> std::io::Result<()> {
        let numbered = |n: usize| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        };
        let oldest = numbered(self.keep);
        if oldest.exists() {
            std::fs::remove_file(&oldest)?;
        }
        for n in (1..self.keep).rev() {
            let from = numbered(n);
            if from.exists() {
                std::fs::rename(&from, numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))
    }
}

impl AuditLog {
    /// An audit log at `path` (created with mode 0600 on Unix), rotated to
    /// `path.1` .. `path.<keep>` past `max_bytes`. `database` must not hold a
    /// password: pass the connection spec's `Display`.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the file cannot be opened or the writer thread
    /// cannot start.
    pub fn open(
        path: &Path,
        max_bytes: u64,
        keep: usize,
        profile: Option<String>,
        database: String,
        user: Option<String>,
    ) -> Result<Self> {
        let file = open_append(path)?;
        let shared = Arc::new(Shared::default());
        let writer = FileWriter {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1024),
            keep: keep.max(1),
            file: Some(file),
        };
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("qore-audit".into())
            .spawn(move || writer.run(for_thread))
            .map_err(|e| Error::io("cannot start the audit log's writer", e))?;
        if let Ok(mut open) = OPEN.lock() {
            open.retain(|w| w.strong_count() > 0);
            open.push(Arc::downgrade(&shared));
        }
        Ok(AuditLog {
            path: path.to_path_buf(),
            shared,
            thread: Some(thread),
            profile,
            database: qore_core::redact_urls(&database),
            user,
        })
    }

    /// Waits until every record so far is on disk.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] naming the file when a record could not be written or
    /// synced since the last flush.
    pub fn flush(&self) -> Result<()> {
        self.shared.wait_synced(None).map_err(|e| {
            Error::io(
                format!("audit log {}", self.path.display()),
                std::io::Error::other(e),
            )
        })
    }

    fn queue(&self, line: &str) {
        let Ok(mut st) = self.shared.state.lock() else {
            return;
        };
        // A disk far behind: wait for it rather than queue without bound.
        while st.queue.len() > MAX_QUEUED && !st.stopped {
            st = match self.shared.synced.wait(st) {
                Ok(st) => st,
                Err(_) => return,
            };
        }
        let first = st.queue.is_empty();
        st.queue.extend_from_slice(line.as_bytes());
        st.queued += 1;
        // The writer waits for the first record of a group; the others join
        // it during the commit delay without waking it.
        if first {
            self.shared.work.notify_one();
        }
    }

    /// The file records are appended to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&self, request: &Request, outcome: &Outcome) -> String {
        let c = crate::classify_shared(request.engine, &request.text);
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let record = Record {
            time: rfc3339(since.as_secs(), since.subsec_millis()),
            profile: self.profile.as_deref(),
            environment: request.environment.map(|e| e.to_string()),
            engine: request.engine.name(),
            database: &self.database,
            user: self.user.as_deref(),
            call: request.call.name(),
            in_transaction: request.in_transaction,
            statement: mask_secrets(request.engine, &request.text),
            parameters: request.params.len(),
            kind: c.kind,
            verdict: c.verdict,
            findings: c.findings.iter().map(|f| f.rule.name).collect(),
            decision: outcome.verdict.name(),
            outcome: match (&outcome.error, outcome.complete) {
                (Some(_), _) => "error",
                (None, false) => "stopped",
                (None, true) => "ok",
            },
            error_kind: outcome.error.map(|k| k.name()),
            rows: outcome.rows,
            rows_affected: outcome.rows_affected,
            duration_ms: (outcome.elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        };
        let mut line = serde_json::to_string(&record).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// One line of the log (the field order is the file's).
#[derive(Serialize)]
struct Record<'a> {
    time: String,
    profile: Option<&'a str>,
    environment: Option<String>,
    engine: &'a str,
    database: &'a str,
    user: Option<&'a str>,
    call: &'a str,
    in_transaction: bool,
    statement: String,
    parameters: usize,
    kind: crate::Kind,
    verdict: crate::Verdict,
    findings: Vec<&'a str>,
    decision: &'a str,
    outcome: &'a str,
    error_kind: Option<&'a str>,
    rows: u64,
    rows_affected: Option<u64>,
    duration_ms: f64,
}

impl Drop for AuditLog {
    /// Flushes and stops the writer thread.
    fn drop(&mut self) {
        if let Ok(mut st) = self.shared.state.lock() {
            st.closing = true;
            self.shared.work.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Interceptor for AuditLog {
    fn after(&self, request: &Request, outcome: &Outcome) {
        let line = self.record(request, outcome);
        self.queue(&line);
    }
}

fn open_append(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .map_err(|e| Error::io(format!("cannot open the audit log {}", path.display()), e))
}

/// `2026-11-30T04:12:09.123Z` from seconds and milliseconds since 1970.
fn rfc3339(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = qore_core::calendar::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Words after which a literal is a secret.
const SECRET_WORDS: [&str; 9] = [
    "PASSWORD",
    "IDENTIFIED",
    "BY",
    "SECRET",
    "AUTH",
    "REQUIREPASS",
    "MASTERAUTH",
    "PWD",
    "ENCRYPTED",
];

/// The statement with the literals that follow a secret-announcing word
/// replaced by `***`. For Redis, every argument after AUTH, and after
/// `CONFIG SET requirepass|masterauth`, is a secret.
pub fn mask_secrets(engine: Engine, text: &str) -> String {
    // A string must end where the engine ends it, or the rest of a secret
    // with an escaped quote in it would be written: MySQL's and MongoDB's
    // (JavaScript's, JSON's) strings take backslash escapes.
    let flavor = match engine {
        Engine::MongoDb => Flavor::MySql,
        e => Flavor::of(e),
    };
    let tokens = tokenize_in(text, flavor);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let redis_auth = engine == Engine::Redis
        && tokens
            .first()
            .is_some_and(|t| t.is_keyword("AUTH") || t.is_keyword("HELLO") || t.is_keyword("ACL"));
    for (i, t) in tokens.iter().enumerate() {
        let secret_context = tokens[i.saturating_sub(3)..i].iter().any(|p| {
            let w = p.text.trim_matches(|c| c == '"' || c == '\'');
            SECRET_WORDS.iter().any(|s| w.eq_ignore_ascii_case(s))
        });
        // MongoDB's JSON strings are double-quoted (the SQL lexer calls them
        // quoted identifiers); Redis arguments are bare words.
        let literal = matches!(t.kind, TokenKind::Str)
            || (engine == Engine::MongoDb && t.kind == TokenKind::QuotedIdent)
            || (engine == Engine::Redis
                && i > 0
                && matches!(t.kind, TokenKind::Word | TokenKind::Number));
        let mask = literal && (secret_context || (redis_auth && i > 0));
        if mask {
            out.push_str(&text[last..t.start]);
            out.push_str("***");
            last = t.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// `$XDG_DATA_HOME/qore/audit.jsonl`, else `~/.local/share/qore/audit.jsonl`.
///
/// # Error handling
///
/// [`Error::InvalidInput`] when neither `XDG_DATA_HOME` nor `HOME` is set.
pub fn default_path() -> Result<PathBuf> {
    Ok(qore_core::files::data_dir("the audit log")?.join("audit.jsonl"))
}

/// `since` must be a prefix of an RFC 3339 UTC time (`2026`, `2026-11-30`,
/// `2026-11-30T14:05`, ...): records compare as text, so anything else
/// would silently select nothing or everything.
fn check_since(since: &str) -> Result<()> {
    const TEMPLATE: &[u8] = b"0000-00-00T00:00:00";
    let b = since.trim_end_matches('Z').as_bytes();
    let (head, frac) = match b.iter().position(|&c| c == b'.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b""[..]),
    };
    let fits = head.len() >= 4
        && head.len() <= TEMPLATE.len()
        && head.iter().zip(TEMPLATE).all(|(&c, &t)| {
            if t == b'0' {
                c.is_ascii_digit()
            } else {
                c == t
            }
        })
        && (frac.is_empty()
            || (head.len() == TEMPLATE.len() && frac.iter().all(u8::is_ascii_digit)));
    if fits {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "--since `{since}` is not a time: give a UTC time or its start, such as 2026-11-30 or 2026-11-30T14:05"
        )))
    }
}

/// The columns of [`read`], in order.
pub const COLUMNS: [&str; 16] = [
    "time",
    "profile",
    "environment",
    "engine",
    "database",
    "user",
    "call",
    "statement",
    "kind",
    "verdict",
    "findings",
    "decision",
    "outcome",
    "error_kind",
    "rows",
    "duration_ms",
];

/// The records of the log at `path` (and its rotated files, oldest first)
/// whose time is at or after `since` (an RFC 3339 prefix such as
/// `2026-11-30` or `2026-11-30T04:00`), the last `tail` of them, as one
/// Arrow batch of [`COLUMNS`] (text, `rows` and `duration_ms` numbers).
///
/// # Error handling
///
/// [`Error::Io`] when a file cannot be read; [`Error::Data`] naming the file
/// and line of a record that is not JSON.
pub fn read(
    path: &Path,
    tail: Option<usize>,
    since: Option<&str>,
) -> Result<qore_core::arrow::array::RecordBatch> {
    use qore_core::arrow::array::{ArrayRef, Float64Array, StringArray, UInt64Array};
    use qore_core::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    if let Some(s) = since {
        check_since(s)?;
    }
    let mut files: Vec<PathBuf> = (1..1000)
        .map(|n| {
            let mut p = path.as_os_str().to_owned();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        })
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    if path.exists() {
        files.push(path.to_path_buf());
    }
    let mut records: Vec<serde_json::Value> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Error::io(format!("cannot read {}", f.display()), e))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| Error::Data {
                message: format!("{} line {}: not an audit record: {e}", f.display(), i + 1),
                source: None,
            })?;
            let time = v.get("time").and_then(|t| t.as_str()).unwrap_or_default();
            if since.is_some_and(|s| time < s) {
                continue;
            }
            records.push(v);
        }
    }
    if let Some(n) = tail
        && records.len() > n
    {
        records.drain(..records.len() - n);
    }
    let text = |key: &str| -> ArrayRef {
        Arc::new(StringArray::from_iter(records.iter().map(|r| {
            match r.get(key) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Array(a)) => Some(
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Some(other) => Some(other.to_string()),
            }
        })))
    };
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in COLUMNS {
        match name {
            "rows" => {
                fields.push(Field::new(name, DataType::UInt64, true));
                columns.push(Arc::new(UInt64Array::from_iter(
                    records.iter().map(|r| r.get(name).and_then(|v| v.as_u64())),
                )));
            }
            "duration_ms" => {
                fields.push(Field::new(name, DataType::Float64, true));
                columns.push(Arc::new(Float64Array::from_iter(
                    records.iter().map(|r| r.get(name).and_then(|v| v.as_f64())),
                )));
            }
            _ => {
                fields.push(Field::new(name, DataType::Utf8, true));
                columns.push(text(name));
            }
        }
    }
    Ok(qore_core::arrow::array::RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_the_rest_kept() {
        let m = |e, s| mask_secrets(e, s);
        assert_eq!(
            m(
                Engine::Postgres,
                "CREATE USER ann WITH PASSWORD 's3cret' LOGIN"
            ),
            "CREATE USER ann WITH PASSWORD *** LOGIN"
        );
        assert_eq!(
            m(Engine::MySql, "CREATE USER 'ann'@'%' IDENTIFIED BY 'pw''x'"),
            "CREATE USER 'ann'@'%' IDENTIFIED BY ***"
        );
        assert_eq!(
            m(
                Engine::MySql,
                "CREATE USER e IDENTIFIED VIA ed25519 USING PASSWORD('pw')"
            ),
            "CREATE USER e IDENTIFIED VIA ed25519 USING PASSWORD(***)"
        );
        assert_eq!(
            m(Engine::Postgres, "SELECT 'PASSWORD' AS word, 'x' AS y"),
            "SELECT 'PASSWORD' AS word, 'x' AS y",
            "a literal that only says PASSWORD is kept"
        );
        assert_eq!(
            m(Engine::MySql, r"ALTER USER u IDENTIFIED BY 'pa\'ss' -- x"),
            "ALTER USER u IDENTIFIED BY *** -- x",
            "an escaped quote does not end the secret"
        );
        assert_eq!(
            m(
                Engine::MongoDb,
                r#"{"createUser": "u", "pwd": "hun\"ter2"}"#
            ),
            r#"{"createUser": "u", "pwd": ***}"#
        );
        assert_eq!(m(Engine::Redis, "AUTH alice hunter2"), "AUTH *** ***");
        assert_eq!(
            m(Engine::Redis, "CONFIG SET requirepass hunter2"),
            "CONFIG SET requirepass ***"
        );
        assert_eq!(m(Engine::Redis, "GET user:1"), "GET user:1");
        assert_eq!(
            m(
                Engine::MongoDb,
                r#"{"createUser": "ann", "pwd": "hunter2", "roles": []}"#
            ),
            r#"{"createUser": "ann", "pwd": ***, "roles": []}"#
        );
    }

    #[test]
    fn since_takes_rfc3339_prefixes_only() {
        for ok in [
            "2026",
            "2026-11",
            "2026-11-30",
            "2026-11-30T14",
            "2026-11-30T14:05:09.5Z",
        ] {
            assert!(check_since(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "26-11-30",
            "yesterday",
            "2026/11/30",
            "2026-11-30 14:00",
        ] {
            let e = check_since(bad).unwrap_err();
            assert!(e.to_string().contains("is not a time"), "{bad}: {e}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_011_929, 123), "2026-11-30T04:12:09.123Z");
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("qore-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn log(path: &Path, max: u64, keep: usize) -> AuditLog {
        AuditLog::open(path, max, keep, None, "db".into(), None).unwrap()
    }

    #[test]
    fn group_commit_keeps_every_record_of_concurrent_writers_in_order_per_writer() {
        let dir = temp_dir("group");
        let path = dir.join("audit.jsonl");
        let l = Arc::new(log(&path, DEFAULT_MAX_BYTES, 5));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        l.queue(&format!("{{\"w\":{w},\"i\":{i}}}\n"));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        l.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut next = [0; 4];
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let w = v["w"].as_u64().unwrap() as usize;
            assert_eq!(v["i"].as_u64().unwrap(), next[w], "writer {w} out of order");
            next[w] += 1;
        }
        assert_eq!(next, [500; 4], "every record is on disk after flush");
        // Fewer syncs than records: the writer grouped them (each sync
        // covers what arrived while the previous one ran).
        drop(l);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rotation_keeps_the_newest_files_and_drops_the_oldest() {
        let dir = temp_dir("rotate");
        let path = dir.join("audit.jsonl");
        let l = log(&path, 1024, 2);
        let line = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(90));
        for _ in 0..60 {
            l.queue(&line);
            // One record per sync, as statements one after another get.
            l.flush().unwrap();
        }
        drop(l);
        let numbered = |n: usize| dir.join(format!("audit.jsonl.{n}"));
        for p in [path.clone(), numbered(1), numbered(2)] {
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len > 0 && len <= 1024, "{} is {len} bytes", p.display());
        }
        assert!(!numbered(3).exists(), "only `keep` rotated files stay");
        // The three files hold the newest records, whole lines only.
        let total: usize = [numbered(2), numbered(1), path.clone()]
            .iter()
            .map(|p| {
                let t = std::fs::read_to_string(p).unwrap();
                assert!(t.ends_with('\n'));
                t.lines().count()
            })
            .sum();
        assert!(
            total >= 2 * (1024 / line.len()) && total < 60,
            "{total} records kept"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_log_that_cannot_be_written_says_so_on_flush() {
        let dir = temp_dir("fail");
        let path = dir.join("audit.jsonl");
        let l = log(&path, 1024, 1);
        let line = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(600));
        l.queue(&line);
        l.flush().unwrap();
        // The next record needs a rotation, which renames in the directory:
        // take it away.
        std::fs::remove_dir_all(&dir).unwrap();
        l.queue(&line);
        let e = l.flush().unwrap_err().to_string();
        assert!(e.contains("audit.jsonl"), "{e}");
    }
}
