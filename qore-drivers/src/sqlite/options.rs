//! Open options of a SQLite database, read from the URL's query.

use std::path::PathBuf;
use std::time::Duration;

use qore_core::{ConnectionSpec, Error, Result};

/// How the file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read-only; the file must exist (`mode=ro`).
    ReadOnly,
    /// Read-write; the file must exist (`mode=rw`).
    ReadWrite,
    /// Read-write, created when missing (`mode=rwc`, the default).
    ReadWriteCreate,
}

/// Options of a SQLite connection.
///
/// URL options: `mode=ro|rw|rwc`, `journal_mode=delete|truncate|persist|memory|wal|off`,
/// `busy_timeout=MILLISECONDS` (default 5000), `foreign_keys=on|off` (default on:
/// a tool that edits data should not silently break references),
/// `synchronous=off|normal|full|extra`, `extension=PATH` (repeatable) and
/// `allow_extensions=true`, without which no extension is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    pub(crate) path: Option<PathBuf>,
    pub(crate) mode: OpenMode,
    pub(crate) journal_mode: Option<String>,
    pub(crate) busy_timeout: Duration,
    pub(crate) foreign_keys: bool,
    pub(crate) synchronous: Option<String>,
    pub(crate) extensions: Vec<PathBuf>,
    pub(crate) allow_extensions: bool,
    pub(crate) batch_size: usize,
    /// In memory: the name of a `memdb` database that the sessions of one
    /// [`Database`](qore_core::Database) share (`None`: a private one).
    pub(crate) shared_memory: Option<String>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            path: None,
            mode: OpenMode::ReadWriteCreate,
            journal_mode: None,
            busy_timeout: Duration::from_millis(5000),
            foreign_keys: true,
            synchronous: None,
            extensions: Vec::new(),
            allow_extensions: false,
            batch_size: qore_core::DEFAULT_BATCH_SIZE,
            shared_memory: None,
        }
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err(Error::invalid(format!(
            "SQLite option `{key}` must be on or off, not `{v}`"
        ))),
    }
}

impl SqliteOptions {
    /// An in-memory database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the options of a `sqlite:` URL.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an unknown option or a bad value, naming it.
    pub fn from_spec(spec: &ConnectionSpec) -> Result<Self> {
        let mut o = SqliteOptions {
            path: spec.path.as_ref().map(PathBuf::from),
            ..Self::default()
        };
        for (k, v) in &spec.options {
            match k.to_ascii_lowercase().as_str() {
                "mode" => {
                    o.mode = match v.to_ascii_lowercase().as_str() {
                        "ro" => OpenMode::ReadOnly,
                        "rw" => OpenMode::ReadWrite,
                        "rwc" => OpenMode::ReadWriteCreate,
                        "memory" => {
                            o.path = None;
                            OpenMode::ReadWriteCreate
                        }
                        _ => {
                            return Err(Error::invalid(format!(
                                "SQLite option `mode` must be ro, rw, rwc or memory, not `{v}`"
                            )));
                        }
                    }
                }
                "read_only" | "readonly" => {
                    if parse_bool(k, v)? {
                        o.mode = OpenMode::ReadOnly;
                    }
                }
                "journal_mode" => {
                    let m = v.to_ascii_lowercase();
                    if !["delete", "truncate", "persist", "memory", "wal", "off"]
                        .contains(&m.as_str())
                    {
                        return Err(Error::invalid(format!(
                            "SQLite option `journal_mode` must be delete, truncate, persist, memory, wal or off, not `{v}`"
                        )));
                    }
                    o.journal_mode = Some(m);
                }
                "busy_timeout" => {
                    let ms: u64 = v.parse().map_err(|_| {
                        Error::invalid(format!(
                            "SQLite option `busy_timeout` must be milliseconds, not `{v}`"
                        ))
                    })?;
                    o.busy_timeout = Duration::from_millis(ms);
                }
                "foreign_keys" => o.foreign_keys = parse_bool(k, v)?,
                "synchronous" => {
                    let m = v.to_ascii_lowercase();
                    if !["off", "normal", "full", "extra"].contains(&m.as_str()) {
                        return Err(Error::invalid(format!(
                            "SQLite option `synchronous` must be off, normal, full or extra, not `{v}`"
                        )));
                    }
                    o.synchronous = Some(m);
                }
                "extension" => o.extensions.push(PathBuf::from(v)),
                "allow_extensions" => o.allow_extensions = parse_bool(k, v)?,
                "batch_size" => {
                    o.batch_size = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::invalid(format!(
                            "option `batch_size` must be a positive number, not `{v}`"
                        ))
                    })?
                }
                other => {
                    return Err(Error::invalid(format!(
                        "unknown SQLite option `{other}` (known: mode, journal_mode, busy_timeout, \
                         foreign_keys, synchronous, extension, allow_extensions, batch_size)"
                    )));
                }
            }
        }
        if !o.extensions.is_empty() && !o.allow_extensions {
            return Err(Error::Denied(format!(
                "loading SQLite extensions is off; add allow_extensions=true to the URL to load {}",
                o.extensions
                    .iter()
                    .map(|p| format!("`{}`", p.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(o)
    }

    /// Sets the database file (`None`: in memory).
    pub fn with_path(mut self, path: Option<PathBuf>) -> Self {
        self.path = path;
        self
    }

    /// Sets the open mode.
    pub fn with_mode(mut self, mode: OpenMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the journal mode (`wal`, `delete`, ...).
    pub fn with_journal_mode(mut self, mode: impl Into<String>) -> Self {
        self.journal_mode = Some(mode.into());
        self
    }

    /// Sets rows per Arrow batch.
    pub fn with_batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }
}
