//! Global search: a needle in every table and column of a database.
//!
//! One bulk catalog read, then one query per table with the predicate over
//! every column that can hold the needle (text by the engine's own
//! Unicode-aware match, JSON as text, numbers / UUIDs / dates only when the
//! needle reads as one), run on several sessions at once, smallest tables
//! first. Hits stream as Arrow batches (namespace, table, column, key,
//! value) as tables finish; [`Progress`] counts tables and hits for a
//! progress bar, and names every table that was skipped and why (a timeout,
//! a permission), so a search never ends silently short. Dropping the
//! stream cancels every running query on the server.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use futures::StreamExt;
//! use qore_search::{SearchOptions, search};
//!
//! let db = qore_drivers::open("sqlite::memory:").await.unwrap();
//! let s = db.session().await.unwrap();
//! s.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)", &[]).await.unwrap();
//! s.execute("INSERT INTO people VALUES (1, 'Zoë'), (2, 'Bob')", &[]).await.unwrap();
//! drop(s);
//! let found = search(db, "ZOË", &SearchOptions::default()).await.unwrap();
//! let batches: Vec<_> = found.stream.collect().await;
//! let hits = batches.into_iter().map(|b| b.unwrap().num_rows()).sum::<usize>();
//! assert_eq!(hits, 1);
//! assert_eq!(found.progress.tables_done(), 1);
//! # });
//! ```
#![deny(missing_docs)]

mod anchor;
mod attribute;
mod documents;
mod keyvalue;
mod plan;
mod run;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qore_core::{DatabaseRef, Error, Result, SendableRecordBatchStream, TableKind, TableRef, TextMatch};

pub use documents::regex_pattern;
pub use keyvalue::key_glob;
pub use run::hit_schema;

/// What to search and how.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// How text is compared: contains (default), exact, prefix or a regular
    /// expression (the engine's own dialect of them).
    pub mode: TextMatch,
    /// Compare case-sensitively (default: no, by Unicode case).
    pub case_sensitive: bool,
    /// Namespaces (schemas, databases) to search; empty: the default one.
    pub namespaces: Vec<String>,
    /// Only tables whose name (or `namespace.name`) matches one of these
    /// glob patterns (`*`, `?`); empty: every table.
    pub tables: Vec<String>,
    /// Leave out tables matching these glob patterns.
    pub exclude_tables: Vec<String>,
    /// Also search views (their queries run; off by default).
    pub views: bool,
    /// Only columns that lead an index or the primary key.
    pub indexed_only: bool,
    /// Also search binary columns as text.
    pub binary: bool,
    /// Rows read per table at most (default 10).
    pub per_table: usize,
    /// Hits in total at most (default 1,000).
    pub limit: usize,
    /// How long one table's query may run before it is cancelled and the
    /// table reported as skipped (default 30 s).
    pub table_timeout: Duration,
    /// Sessions searching tables at once (default 4).
    pub sessions: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: TextMatch::Contains,
            case_sensitive: false,
            namespaces: Vec::new(),
            tables: Vec::new(),
            exclude_tables: Vec::new(),
            views: false,
            indexed_only: false,
            binary: false,
            per_table: 10,
            limit: 1000,
            table_timeout: Duration::from_secs(30),
            sessions: 4,
        }
    }
}

/// A table that was not (fully) searched, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The table.
    pub table: TableRef,
    /// Why: a timeout, the server's error.
    pub reason: String,
}

/// How far a search got; shared with the stream, read at any time.
#[derive(Debug, Default)]
pub struct Progress {
    tables_total: AtomicUsize,
    tables_done: AtomicUsize,
    hits: AtomicUsize,
    capped: AtomicBool,
    skipped: Mutex<Vec<Skipped>>,
}

impl Progress {
    /// Tables to search (with at least one searchable column).
    pub fn tables_total(&self) -> usize {
        self.tables_total.load(Ordering::Relaxed)
    }
    /// Tables searched so far (skipped ones included).
    pub fn tables_done(&self) -> usize {
        self.tables_done.load(Ordering::Relaxed)
    }
    /// Hits streamed so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
    /// Whether the total cap stopped the search early.
    pub fn capped(&self) -> bool {
        self.capped.load(Ordering::Relaxed)
    }
    /// The tables skipped so far, and why.
    pub fn skipped(&self) -> Vec<Skipped> {
        self.skipped.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn skip(&self, table: &TableRef, reason: String) {
        if let Ok(mut s) = self.skipped.lock() {
            s.push(Skipped {
                table: table.clone(),
                reason,
            });
        }
    }
}

/// A search under way.
pub struct Search {
    /// The hits ([`hit_schema`]), table by table as they finish.
    pub stream: SendableRecordBatchStream,
    /// Counts and skipped tables.
    pub progress: Arc<Progress>,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search").field("progress", &self.progress).finish()
    }
}

fn glob_any(patterns: &[String], t: &TableRef) -> bool {
    let full = t.to_string();
    patterns
        .iter()
        .any(|p| qore_core::glob::glob_match(p, &t.name) || qore_core::glob::glob_match(p, &full))
}

/// Starts searching `db` for `needle`: reads the catalog (one bulk read per
/// namespace), plans one query per table, and returns the stream of hits.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an empty needle, a zero cap, or a regular
/// expression the engine rejects (tried once before any table);
/// [`Error::NotSupported`] for an engine without SQL (MongoDB, Redis) or a
/// mode the engine cannot do; the catalog's errors.
pub async fn search(db: DatabaseRef, needle: &str, options: &SearchOptions) -> Result<Search> {
    if needle.is_empty() {
        return Err(Error::invalid("the search needle is empty"));
    }
    if options.per_table == 0 || options.limit == 0 || options.sessions == 0 {
        return Err(Error::invalid("--limit, the per-table cap and the session count must be at least 1"));
    }
    let first = db.session().await?;
    let wanted = |info: &qore_core::TableInfo| {
        let kind_ok = match info.kind {
            TableKind::Table | TableKind::PartitionedTable | TableKind::MaterializedView | TableKind::Collection => true,
            TableKind::View | TableKind::ForeignTable => options.views,
            _ => false,
        };
        let t = &info.table;
        kind_ok && (options.tables.is_empty() || glob_any(&options.tables, t)) && !glob_any(&options.exclude_tables, t)
    };
    if first.dialect().is_none() && first.documents().is_some() {
        return documents::search(db, first, needle, options, &wanted).await;
    }
    if first.dialect().is_none() && first.key_value().is_some() {
        return keyvalue::search(first, needle, options).await;
    }
    let dialect = first.dialect().ok_or_else(|| {
        Error::NotSupported(format!("global search runs SQL or document filters; {} has neither (yet)", first.engine()))
    })?;
    let catalog = first
        .catalog()
        .ok_or_else(|| Error::NotSupported(format!("{} has no catalog to search", first.engine())))?;
    // The needle as the engine compares it, tried once: a regex the engine
    // rejects fails here, not once per table.
    let lit = dialect.quote_string(needle)?;
    let probe = dialect
        .text_match(&lit, &lit, options.mode, options.case_sensitive)
        .ok_or_else(|| Error::NotSupported(format!("{} cannot search by {:?}", first.engine(), options.mode)))?;
    let probe_sql = format!("SELECT CASE WHEN {probe} THEN 1 ELSE 0 END AS probe");
    let checked = async {
        use futures::StreamExt;
        let mut s = first.query(&probe_sql, &[]).await?;
        while let Some(b) = s.next().await {
            b?;
        }
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = checked {
        return Err(Error::invalid(format!("the engine rejects this needle as a {:?} search: {e}", options.mode)));
    }

    let namespaces: Vec<Option<&str>> = if options.namespaces.is_empty() {
        vec![None]
    } else {
        options.namespaces.iter().map(|n| Some(n.as_str())).collect()
    };
    let parsed = plan::Needle::new(needle);
    let mut pending = Vec::new();
    for ns in namespaces {
        if !catalog.bulk_structure() {
            // Catalogs that answer table by table: the list now, each
            // table's columns on the worker that searches it, so the first
            // hits do not wait for the whole catalog.
            for info in catalog.tables_estimated(ns).await? {
                if wanted(&info) {
                    pending.push(run::Pending::Lazy(info));
                }
            }
        } else {
            // The whole structure in a few queries; when that fails (a table
            // dropped while the catalog was read: "could not open relation"),
            // table by table, where a vanished table is only skipped.
            match catalog.structure_estimated(ns).await {
                Ok(all) => {
                    for d in all {
                        if wanted(&d.info)
                            && let Some(p) = plan::plan_table(&d, &parsed, options, &*dialect)?
                        {
                            pending.push(run::Pending::Planned(Box::new(p)));
                        }
                    }
                }
                Err(_) => {
                    for info in catalog.tables_estimated(ns).await? {
                        if wanted(&info) {
                            pending.push(run::Pending::Lazy(info));
                        }
                    }
                }
            }
        }
    }
    // Small tables first: the first hits come sooner.
    pending.sort_by_key(run::Pending::rows);
    let progress = Arc::new(Progress::default());
    progress.tables_total.store(pending.len(), Ordering::Relaxed);
    let pending = run::group(pending, &*dialect);
    let stream = run::run(db, first, pending, parsed, options.clone(), progress.clone());
    Ok(Search { stream, progress })
}
