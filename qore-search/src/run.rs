//! Running the table plans on several sessions and streaming the hits.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::StreamExt;
use qore_core::{ConnectionRef, DatabaseRef, Error, RecordBatchStreamAdapter, Result, SendableRecordBatchStream};

use crate::plan::{Needle, TablePlan, plan_table};
use crate::{Progress, SearchOptions};

/// A table waiting to be searched.
#[derive(Debug)]
pub(crate) enum Pending {
    /// Planned from the bulk catalog.
    Planned(Box<TablePlan>),
    /// Only listed: its details are read by the worker that takes it.
    Lazy(qore_core::TableInfo),
    /// Small tables searched by one statement (see [`group`]).
    Group(Vec<TablePlan>),
}

impl Pending {
    pub(crate) fn rows(&self) -> u64 {
        match self {
            Pending::Planned(p) => p.rows,
            Pending::Group(g) => g.iter().map(|p| p.rows).max().unwrap_or(0),
            Pending::Lazy(i) => match i.rows {
                Some(qore_core::RowCount::Exact(n) | qore_core::RowCount::Estimate(n)) => n,
                None => u64::MAX,
            },
        }
    }
}

/// The hits' columns: `namespace`, `table`, `column`, `key` (a JSON object
/// of the key columns' text, or of the engine's row identity; NULL for a
/// table with neither) and `value` (the matching value, or up to 120
/// characters around the match).
pub fn hit_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("namespace", DataType::Utf8, true),
        Field::new("table", DataType::Utf8, false),
        Field::new("column", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, false),
    ]))
}

/// Hits being collected, as the columns of [`hit_schema`].
#[derive(Default)]
pub(crate) struct HitBuilder {
    ns: StringBuilder,
    table: StringBuilder,
    column: StringBuilder,
    key: StringBuilder,
    value: StringBuilder,
    pub(crate) n: usize,
}

impl HitBuilder {
    pub(crate) fn push(&mut self, ns: Option<&str>, table: &str, column: &str, key: Option<&str>, value: String) {
        self.ns.append_option(ns);
        self.table.append_value(table);
        self.column.append_value(column);
        self.key.append_option(key);
        self.value.append_value(value);
        self.n += 1;
    }

    pub(crate) fn finish(mut self) -> Result<RecordBatch> {
        Ok(RecordBatch::try_new(
            hit_schema(),
            vec![
                Arc::new(self.ns.finish()),
                Arc::new(self.table.finish()),
                Arc::new(self.column.finish()),
                Arc::new(self.key.finish()),
                Arc::new(self.value.finish()),
            ],
        )?)
    }
}

/// Counts `batch`'s hits and cuts it to what the total cap leaves; `None`
/// when nothing is left of it.
pub(crate) fn cap(batch: RecordBatch, progress: &crate::Progress, limit: usize) -> Option<RecordBatch> {
    if batch.num_rows() == 0 {
        return None;
    }
    let before = progress.hits.fetch_add(batch.num_rows(), Ordering::Relaxed);
    let room = limit.saturating_sub(before);
    if room < batch.num_rows() {
        progress.capped.store(true, Ordering::Relaxed);
        progress.hits.fetch_sub(batch.num_rows() - room, Ordering::Relaxed);
        return (room > 0).then(|| batch.slice(0, room));
    }
    Some(batch)
}

/// Tables of fewer rows than this may share a statement.
const GROUP_ROWS: u64 = 50_000;
/// At most this many tables in one statement: DuckDB's cost per statement
/// is mostly fixed (200 small tables: 308–412 ms one statement each,
/// 157–164 ms in `UNION ALL`s of 8 or 16, 322 ms in pairs, 0.9 s in one),
/// while a group's first hit waits for its last table.
const GROUP_TABLES: usize = 8;

/// `pending` (in search order) with runs of small planned tables joined
/// into groups searched by one statement, where the engine's cost is per
/// statement rather than per row (DuckDB 2, whose parser and planner cost
/// more than scanning a small table); unchanged elsewhere.
pub(crate) fn group(pending: Vec<Pending>, dialect: &dyn qore_core::Dialect) -> Vec<Pending> {
    if dialect.name() != "duckdb" {
        return pending;
    }
    let mut out = Vec::with_capacity(pending.len());
    let mut run: Vec<TablePlan> = Vec::new();
    let flush = |run: &mut Vec<TablePlan>, out: &mut Vec<Pending>| match run.len() {
        0 => {}
        1 => out.push(Pending::Planned(Box::new(run.remove(0)))),
        _ => out.push(Pending::Group(std::mem::take(run))),
    };
    for p in pending {
        match p {
            Pending::Planned(plan) if plan.rows < GROUP_ROWS => {
                run.push(*plan);
                if run.len() == GROUP_TABLES {
                    flush(&mut run, &mut out);
                }
            }
            other => {
                flush(&mut run, &mut out);
                out.push(other);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// What a table search reads besides its plan.
struct Shared {
    options: SearchOptions,
    needle: Needle,
    progress: Arc<Progress>,
}

/// Streams the hits of `plans`, searched on up to `options.sessions`
/// sessions (the first one given, the others opened as needed).
pub(crate) fn run(
    db: DatabaseRef,
    first: ConnectionRef,
    plans: Vec<Pending>,
    needle: Needle,
    options: SearchOptions,
    progress: Arc<Progress>,
) -> SendableRecordBatchStream {
    let sh = Arc::new(Shared { options: options.clone(), needle, progress: progress.clone() });
    let table = |p: &Pending| match p {
        Pending::Planned(p) => (p.table.clone(), 1),
        Pending::Lazy(i) => (i.table.clone(), 1),
        Pending::Group(g) => (g.first().map(|p| p.table.clone()).unwrap_or_else(|| qore_core::TableRef::new("")), g.len()),
    };
    pool(db, first, plans, table, &options, progress, move |conn, pending| {
        let sh = sh.clone();
        async move {
            let plan = match pending {
                Pending::Group(plans) => return search_group(&conn, plans, &sh).await.map(Some),
                Pending::Planned(p) => *p,
                Pending::Lazy(info) => match lazy_plan(&conn, &info.table, &sh).await? {
                    Some(p) => p,
                    // Nothing in it can hold the needle.
                    None => return Ok(None),
                },
            };
            search_table(&conn, &plan, &sh).await.map(Some)
        }
    })
}

/// The tables (or collections) left to search and what searches one.
struct Pool<T, F> {
    db: DatabaseRef,
    queue: Mutex<VecDeque<T>>,
    limit: usize,
    timeout: std::time::Duration,
    progress: Arc<Progress>,
    /// The item's (first) table, and how many tables it stands for.
    table: fn(&T) -> (qore_core::TableRef, usize),
    search: F,
}

/// Searches `items` on up to `options.sessions` sessions of `db` (`first`,
/// the others opened as needed), each item by `search` within the
/// per-table timeout; hits stream as they come, cut at the total cap. A
/// failed, timed-out or unreachable item is skipped and named in
/// `progress`; a session whose connection failed or whose query timed out
/// (the dropped stream cancels it on the server, and the session may still
/// be settling) is not reused.
pub(crate) fn pool<T, F, Fut>(
    db: DatabaseRef,
    first: ConnectionRef,
    items: Vec<T>,
    table: fn(&T) -> (qore_core::TableRef, usize),
    options: &SearchOptions,
    progress: Arc<Progress>,
    search: F,
) -> SendableRecordBatchStream
where
    T: Send + 'static,
    F: Fn(ConnectionRef, T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<RecordBatch>>> + Send + 'static,
{
    let workers = options.sessions.min(items.len()).max(1);
    let pool = Arc::new(Pool {
        db,
        queue: Mutex::new(items.into()),
        limit: options.limit,
        timeout: options.table_timeout,
        progress,
        table,
        search,
    });
    let mut first = Some(first);
    let streams: Vec<_> = (0..workers).map(|_| worker(pool.clone(), first.take()).boxed()).collect();
    // Every worker polled in turn on the caller's task: parallel queries,
    // no spawned task to outlive a dropped stream.
    let merged = futures::stream::select_all(streams);
    Box::pin(RecordBatchStreamAdapter::new(hit_schema(), merged))
}

fn worker<T, F, Fut>(
    pool: Arc<Pool<T, F>>,
    session: Option<ConnectionRef>,
) -> impl futures::Stream<Item = Result<RecordBatch>> + Send
where
    T: Send + 'static,
    F: Fn(ConnectionRef, T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<RecordBatch>>> + Send + 'static,
{
    futures::stream::unfold((pool, session), |(p, mut session)| async move {
        loop {
            if p.progress.hits() >= p.limit {
                p.progress.capped.store(true, Ordering::Relaxed);
                return None;
            }
            let item = p.queue.lock().ok()?.pop_front()?;
            let (table, tables) = (p.table)(&item);
            let conn = match session.take() {
                Some(c) => c,
                None => match p.db.session().await {
                    Ok(c) => c,
                    Err(e) => {
                        p.progress.skip(&table, format!("no session: {e}"));
                        p.progress.tables_done.fetch_add(tables, Ordering::Relaxed);
                        continue;
                    }
                },
            };
            // A group of tables has each table's time.
            let timeout = p.timeout.saturating_mul(tables.max(1) as u32);
            let outcome = tokio::time::timeout(timeout, (p.search)(conn.clone(), item)).await;
            p.progress.tables_done.fetch_add(tables, Ordering::Relaxed);
            match outcome {
                Ok(Ok(found)) => {
                    session = Some(conn);
                    if let Some(batch) = found.and_then(|b| cap(b, &p.progress, p.limit)) {
                        return Some((Ok(batch), (p, session)));
                    }
                }
                Ok(Err(e)) => {
                    p.progress.skip(&table, e.to_string());
                    if !matches!(
                        e.kind(),
                        qore_core::ErrorKind::Connection | qore_core::ErrorKind::ConnectionLost
                    ) {
                        session = Some(conn);
                    }
                }
                Err(_) if tables > 1 => p.progress.skip(&table, format!("timed out after {timeout:?} with {} more tables searched by the same statement", tables - 1)),
                Err(_) => p.progress.skip(&table, format!("timed out after {timeout:?}")),
            }
        }
    })
}

/// Reads one table's details on `conn` and plans its query.
async fn lazy_plan(conn: &ConnectionRef, table: &qore_core::TableRef, sh: &Shared) -> Result<Option<TablePlan>> {
    let catalog = conn.catalog().ok_or_else(|| Error::NotSupported("no catalog".into()))?;
    let dialect = conn.dialect().ok_or_else(|| Error::NotSupported("no SQL".into()))?;
    let details = catalog.table_estimated(table).await?;
    plan_table(&details, &sh.needle, &sh.options, &*dialect)
}

/// The hits of one planned table: its statement, and where a returned
/// row has no column the attributions accept, its precise statement (the
/// engine decides which columns matched).
async fn search_table(conn: &ConnectionRef, plan: &TablePlan, sh: &Shared) -> Result<RecordBatch> {
    if let Some(hits) = table_hits(conn, plan, &plan.sql, true, sh).await? {
        return Ok(hits);
    }
    let sql = plan.precise.as_deref().unwrap_or(&plan.sql);
    table_hits(conn, plan, sql, false, sh)
        .await?
        .ok_or_else(|| Error::Internal("the precise statement returned a row with no matching column".into()))
}

/// Runs `sql` (the plan's statement, or its precise form when `attribute`
/// is false) and turns its rows into hits; `None` when a row has no
/// column the plan's attributions accept.
async fn table_hits(conn: &ConnectionRef, plan: &TablePlan, sql: &str, attribute: bool, sh: &Shared) -> Result<Option<RecordBatch>> {
    let mut stream = conn.query(sql, &[]).await?;
    let mut hits = HitBuilder::default();
    while let Some(batch) = stream.next().await {
        if !add_hits(plan, &batch?, attribute, sh, &mut hits)? {
            return Ok(None);
        }
    }
    hits.finish().map(Some)
}

/// The hits of several small tables from one statement, a `UNION ALL` of
/// their plans' branches tagged with the table's place; a table whose
/// rows no attribution accepts is searched again alone. When the
/// statement fails, every table is searched alone, so an error names its
/// table.
async fn search_group(conn: &ConnectionRef, plans: Vec<TablePlan>, sh: &Shared) -> Result<RecordBatch> {
    let width = plans.iter().map(|p| p.branch.0.len()).max().unwrap_or(0);
    let sql = plans
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pad = std::iter::repeat_n("NULL".to_string(), width - p.branch.0.len());
            let cols: Vec<String> = std::iter::once(format!("{i}")).chain(p.branch.0.iter().cloned()).chain(pad).collect();
            format!("(SELECT {} {})", cols.join(", "), p.branch.1)
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = async {
        let mut stream = conn.query(&sql, &[]).await?;
        let mut batches = Vec::new();
        while let Some(b) = stream.next().await {
            batches.push(b?);
        }
        Ok::<_, Error>(batches)
    }
    .await;
    let mut out = Vec::with_capacity(plans.len());
    let Ok(batches) = rows else {
        for p in &plans {
            match search_table(conn, p, sh).await {
                Ok(b) => out.push(b),
                Err(e) => sh.progress.skip(&p.table, e.to_string()),
            }
        }
        return Ok(arrow::compute::concat_batches(&hit_schema(), &out)?);
    };
    let tags: Vec<ArrayRef> = batches
        .iter()
        .map(|b| arrow::compute::cast(b.column(0), &DataType::Int64).map_err(|e| Error::data(format!("search result: {e}"))))
        .collect::<Result<_>>()?;
    for (i, plan) in plans.iter().enumerate() {
        let mut hits = HitBuilder::default();
        let mut accepted = true;
        for (b, tag) in batches.iter().zip(&tags) {
            let tag = tag.as_any().downcast_ref::<arrow::array::Int64Array>().ok_or_else(|| Error::Internal("group tag".into()))?;
            let mine = arrow::compute::kernels::cmp::eq(tag, &arrow::array::Int64Array::new_scalar(i as i64))?;
            let b = arrow::compute::filter_record_batch(b, &mine)?;
            if b.num_rows() == 0 {
                continue;
            }
            let b = b.project(&(1..=plan.branch.0.len()).collect::<Vec<_>>())?;
            if !add_hits(plan, &b, true, sh, &mut hits)? {
                accepted = false;
                break;
            }
        }
        out.push(if accepted { hits.finish()? } else { search_table(conn, plan, sh).await? });
    }
    Ok(arrow::compute::concat_batches(&hit_schema(), &out)?)
}

/// Adds the hits of `batch` (rows of the plan's statement, or of its
/// precise form when `attribute` is false) to `hits`; false when a row
/// has no column the plan's attributions accept.
fn add_hits(plan: &TablePlan, batch: &RecordBatch, attribute: bool, sh: &Shared, hits: &mut HitBuilder) -> Result<bool> {
    let keys = plan.key_names.len();
    let text: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| arrow::compute::cast(c, &DataType::Utf8).map_err(|e| Error::data(format!("search result: {e}"))))
        .collect::<Result<_>>()?;
    let text: Vec<&StringArray> = text
        .iter()
        .map(|a| a.as_any().downcast_ref::<StringArray>().ok_or_else(|| Error::Internal("cast to text".into())))
        .collect::<Result<_>>()?;
    for row in 0..batch.num_rows() {
        let matched: Vec<usize> = plan
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                let a = text[keys + i];
                !a.is_null(row) && (!attribute || c.attribution.as_ref().is_none_or(|m| m.test(a.value(row))))
            })
            .map(|(i, _)| i)
            .collect();
        if matched.is_empty() {
            // The statement only returns matching rows: one that no
            // attribution accepts goes to the precise statement.
            if attribute && plan.precise.is_some() {
                return Ok(false);
            }
            continue;
        }
        let key_text = (keys > 0).then(|| {
            let obj: serde_json::Map<String, serde_json::Value> = plan
                .key_names
                .iter()
                .zip(&text[..keys])
                .map(|(k, a)| {
                    let v = if a.is_null(row) { serde_json::Value::Null } else { a.value(row).into() };
                    (k.clone(), v)
                })
                .collect();
            serde_json::Value::Object(obj).to_string()
        });
        for i in matched {
            if hits.n >= sh.options.per_table {
                break;
            }
            hits.push(
                plan.table.namespace.as_deref(),
                &plan.table.name,
                &plan.columns[i].name,
                key_text.as_deref(),
                snippet(text[keys + i].value(row), &sh.needle.text, sh.options.case_sensitive),
            );
        }
    }
    Ok(true)
}

/// The value, or at most 120 characters of it around the first match
/// (found again in Rust; where it cannot be, the start), with `…` where
/// cut.
pub(crate) fn snippet(value: &str, needle: &str, case_sensitive: bool) -> String {
    const WIDTH: usize = 120;
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= WIDTH {
        return value.to_string();
    }
    let found = if case_sensitive {
        value.find(needle).map(|b| value[..b].chars().count())
    } else {
        let lower: Vec<char> = chars.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
        let n: Vec<char> = needle.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect();
        (!n.is_empty() && n.len() <= lower.len())
            .then(|| lower.windows(n.len()).position(|w| w == n.as_slice()))
            .flatten()
    };
    let at = found.unwrap_or(0);
    let start = at.saturating_sub(WIDTH / 3).min(chars.len() - WIDTH);
    let end = start + WIDTH;
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A row the Rust attribution rejects (as it would for a character
    /// whose case Rust's and DuckDB's Unicode tables disagree on) is
    /// attributed by the engine through the precise statement.
    #[tokio::test]
    async fn rows_no_attribution_accepts_go_to_the_precise_statement() {
        let dir = tempfile::tempdir().unwrap();
        let db = qore_drivers::open(&format!("duckdb:{}", dir.path().join("a.duckdb").display())).await.unwrap();
        let conn = db.session().await.unwrap();
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a VARCHAR, b VARCHAR)", &[]).await.unwrap();
        conn.execute("INSERT INTO t VALUES (1, 'Zanzibar', 'x'), (2, 'y', 'to zanzibar'), (3, 'n', NULL)", &[]).await.unwrap();
        let options = crate::SearchOptions::default();
        let needle = crate::plan::Needle::new("zanzibar");
        let details = conn.catalog().unwrap().structure_estimated(None).await.unwrap();
        let d = details.iter().find(|d| d.info.table.name == "t").unwrap();
        let mut plan = crate::plan::plan_table(d, &needle, &options, &*conn.dialect().unwrap()).unwrap().unwrap();
        assert!(plan.precise.is_some() && !plan.sql.contains("CASE"), "{}", plan.sql);
        let sh = Shared { options, needle, progress: Arc::new(Progress::default()) };
        let hits = |b: &RecordBatch| {
            let col = b.column(2).as_any().downcast_ref::<StringArray>().unwrap().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>();
            let key = b.column(3).as_any().downcast_ref::<StringArray>().unwrap().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>();
            col.into_iter().zip(key).collect::<Vec<_>>()
        };
        let want = vec![("a".to_string(), r#"{"id":"1"}"#.to_string()), ("b".to_string(), r#"{"id":"2"}"#.to_string())];
        let attributed = search_table(&conn, &plan, &sh).await.unwrap();
        assert_eq!(hits(&attributed), want);
        for c in &mut plan.columns {
            c.attribution = Some(crate::attribute::Attribution::rejecting());
        }
        assert!(table_hits(&conn, &plan, &plan.sql, true, &sh).await.unwrap().is_none());
        let precise = search_table(&conn, &plan, &sh).await.unwrap();
        assert_eq!(hits(&precise), want);
    }

    /// Small DuckDB tables share one statement and give the hits each
    /// gives alone; when the statement fails (a table dropped after
    /// planning), each table is searched alone and the failing one is
    /// named.
    #[tokio::test]
    async fn grouped_tables_give_their_own_hits_and_name_a_failing_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = qore_drivers::open(&format!("duckdb:{}", dir.path().join("g.duckdb").display())).await.unwrap();
        let conn = db.session().await.unwrap();
        conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, s VARCHAR)", &[]).await.unwrap();
        conn.execute("CREATE TABLE b (s VARCHAR, n INTEGER, j JSON)", &[]).await.unwrap();
        conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, s VARCHAR)", &[]).await.unwrap();
        conn.execute("INSERT INTO a VALUES (1, 'Zanzibar'), (2, 'no')", &[]).await.unwrap();
        conn.execute("INSERT INTO b VALUES ('x', 1, '{\"k\": \"zanzibar\"}'), ('zanzibar too', 2, NULL)", &[]).await.unwrap();
        conn.execute("INSERT INTO c VALUES (7, 'ZANZIBAR')", &[]).await.unwrap();
        let options = crate::SearchOptions::default();
        let needle = crate::plan::Needle::new("zanzibar");
        let details = conn.catalog().unwrap().structure_estimated(None).await.unwrap();
        let dialect = conn.dialect().unwrap();
        let plans: Vec<TablePlan> = ["a", "b", "c"]
            .iter()
            .map(|t| {
                let d = details.iter().find(|d| d.info.table.name == *t).unwrap();
                crate::plan::plan_table(d, &needle, &options, &*dialect).unwrap().unwrap()
            })
            .collect();
        let grouped = group(plans.iter().cloned().map(|p| Pending::Planned(Box::new(p))).collect(), &*dialect);
        assert!(matches!(grouped.as_slice(), [Pending::Group(g)] if g.len() == 3));
        let sh = Shared { options, needle, progress: Arc::new(Progress::default()) };
        let rows = |b: &RecordBatch| {
            (0..b.num_rows())
                .map(|r| {
                    (1..4)
                        .map(|c| b.column(c).as_any().downcast_ref::<StringArray>().unwrap())
                        .map(|a| if a.is_null(r) { String::new() } else { a.value(r).to_string() })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect::<Vec<_>>()
        };
        let mut alone = Vec::new();
        for p in &plans {
            alone.extend(rows(&search_table(&conn, p, &sh).await.unwrap()));
        }
        let together = rows(&search_group(&conn, plans.clone(), &sh).await.unwrap());
        assert_eq!(together, alone);
        assert_eq!(together.len(), 4, "{together:?}");
        conn.execute("DROP TABLE b", &[]).await.unwrap();
        let left = rows(&search_group(&conn, plans, &sh).await.unwrap());
        assert_eq!(left, vec!["a|s|{\"id\":\"1\"}".to_string(), "c|s|{\"id\":\"7\"}".to_string()]);
        let skipped = sh.progress.skipped();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].table.name, "b");
    }

    #[test]
    fn snippets_centre_the_match() {
        assert_eq!(snippet("short", "x", false), "short");
        let long = format!("{}NEEDLE{}", "a".repeat(300), "b".repeat(300));
        let s = snippet(&long, "needle", false);
        assert!(s.starts_with('…') && s.ends_with('…') && s.contains("NEEDLE"), "{s}");
        assert_eq!(s.chars().count(), 122);
        let s = snippet(&long, "needle", true);
        assert!(s.starts_with("aaa") && !s.starts_with('…'), "case-sensitive: not found, the start: {s}");
    }

    proptest! {
        #[test]
        fn snippets_are_pieces_of_the_value(v in ".{0,400}", n in ".{1,5}") {
            let s = snippet(&v, &n, false);
            let core = s.trim_start_matches('…').trim_end_matches('…');
            prop_assert!(v.contains(core));
            prop_assert!(s.chars().count() <= 122);
        }
    }
}
