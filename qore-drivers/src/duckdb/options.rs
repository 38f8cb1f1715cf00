//! Open options of a DuckDB database, read from the URL's query.

use std::path::PathBuf;

use qore_core::{ConnectionSpec, Error, Result};

/// Options of a DuckDB connection.
///
/// URL options: `access_mode=read_only|read_write|automatic` (or `mode=ro|rw`),
/// `threads=N`, `memory_limit=SIZE` (`2GB`, `512MB`), `batch_size=ROWS`,
/// `snapshot=PATH` with `snapshot_table=NAME`: a qore snapshot (Arrow IPC
/// file) loaded as table NAME when the database opens (`snapshot:NAME`
/// targets are an in-memory database with this option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuckDbOptions {
    pub(crate) path: Option<PathBuf>,
    pub(crate) read_only: bool,
    pub(crate) threads: Option<i64>,
    pub(crate) memory_limit: Option<String>,
    pub(crate) batch_size: usize,
    /// A snapshot file and the table it becomes.
    pub(crate) snapshot: Option<(PathBuf, String)>,
}

impl Default for DuckDbOptions {
    fn default() -> Self {
        DuckDbOptions {
            path: None,
            read_only: false,
            threads: None,
            memory_limit: None,
            batch_size: qore_core::DEFAULT_BATCH_SIZE,
            snapshot: None,
        }
    }
}

impl DuckDbOptions {
    /// An in-memory database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the options of a `duckdb:` URL.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an unknown option or a bad value, naming it.
    pub fn from_spec(spec: &ConnectionSpec) -> Result<Self> {
        let mut o = DuckDbOptions {
            path: spec.path.as_ref().map(PathBuf::from),
            ..Self::default()
        };
        let mut snapshot_table = None;
        for (k, v) in &spec.options {
            let lv = v.to_ascii_lowercase();
            match k.to_ascii_lowercase().as_str() {
                "snapshot" => o.snapshot = Some((PathBuf::from(v), String::new())),
                "snapshot_table" => snapshot_table = Some(v.clone()),
                "access_mode" | "mode" => {
                    o.read_only = match lv.as_str() {
                        "read_only" | "ro" => true,
                        "read_write" | "rw" | "rwc" | "automatic" => false,
                        _ => {
                            return Err(Error::invalid(format!(
                                "DuckDB option `{k}` must be read_only, read_write or automatic, not `{v}`"
                            )));
                        }
                    }
                }
                "read_only" | "readonly" => {
                    o.read_only = matches!(lv.as_str(), "1" | "true" | "on" | "yes")
                }
                "threads" => {
                    o.threads = Some(v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::invalid(format!(
                            "DuckDB option `threads` must be a positive number, not `{v}`"
                        ))
                    })?)
                }
                "memory_limit" | "max_memory" => {
                    if !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ')
                        || v.is_empty()
                    {
                        return Err(Error::invalid(format!(
                            "DuckDB option `memory_limit` must look like 2GB, not `{v}`"
                        )));
                    }
                    o.memory_limit = Some(v.clone());
                }
                "batch_size" => {
                    o.batch_size = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::invalid(format!(
                            "option `batch_size` must be a positive number, not `{v}`"
                        ))
                    })?
                }
                other => {
                    return Err(Error::invalid(format!(
                        "unknown DuckDB option `{other}` (known: access_mode, threads, memory_limit, batch_size, snapshot, snapshot_table)"
                    )));
                }
            }
        }
        match (&mut o.snapshot, snapshot_table) {
            (Some((path, table)), name) => {
                *table = name.unwrap_or_else(|| {
                    path.file_stem().and_then(|s| s.to_str()).unwrap_or("snapshot").to_string()
                });
            }
            (None, Some(_)) => {
                return Err(Error::invalid("DuckDB option `snapshot_table` needs `snapshot=PATH`"));
            }
            (None, None) => {}
        }
        Ok(o)
    }

    /// Sets the database file (`None`: in memory).
    pub fn with_path(mut self, path: Option<PathBuf>) -> Self {
        self.path = path;
        self
    }

    /// Opens read-only.
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Sets rows per Arrow batch.
    pub fn with_batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }
}
