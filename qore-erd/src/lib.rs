//! ER diagrams of a live database.
//!
//! The structure of a namespace comes from [`Catalog::structure`] (a
//! constant number of catalog queries on the server engines, whatever the
//! table count), user-defined virtual relations are merged in, a
//! [`Subset`] picks tables, [`layout::layout`] places them (a layered
//! layout written for tables: boxes sized by their content, relations
//! attached to the rows of the columns they join, routed around the boxes),
//! and [`render::render`] writes SVG, PNG, an interactive HTML page,
//! Mermaid, DOT, PlantUML, DBML or JSON.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use qore_erd::{ErdOptions, render::Format};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let conn = qore_drivers::connect(&format!("sqlite:{}", dir.path().join("shop.db").display())).await?;
//! conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", &[]).await?;
//! conn.execute(
//!     "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id))",
//!     &[],
//! )
//! .await?;
//! let options = ErdOptions { format: Format::Mermaid, ..ErdOptions::default() };
//! let mut out = Vec::new();
//! let summary = qore_erd::write_erd(&*conn, &Default::default(), &options, &mut out).await?;
//! assert_eq!((summary.tables, summary.relations), (2, 1));
//! // customer_id may be NULL: zero or one customer, many orders.
//! assert!(String::from_utf8(out).unwrap().contains("|o--o{"));
//! # Ok::<(), qore_core::Error>(())
//! # }).unwrap();
//! ```

pub mod layout;
pub mod model;
pub mod render;
pub mod select;

use std::io::Write;
use std::time::Instant;

use futures::StreamExt;
use qore_core::relations::Relations;
use qore_core::{Catalog, Connection, Error, Result, TableDetails, Value};

pub use layout::{Direction, Layout};
pub use model::Model;
pub use render::Format;
pub use select::{Columns, Subset};

/// What to draw and how.
#[derive(Debug, Clone)]
pub struct ErdOptions {
    /// The namespaces (schemas, databases) to draw, comma-separated
    /// (`sales,billing`), so relations between them are drawn too; the
    /// default one when `None`.
    pub namespace: Option<String>,
    /// Which tables.
    pub subset: Subset,
    /// Which columns the boxes list.
    pub columns: Columns,
    /// Which way the layers run.
    pub direction: Direction,
    /// Output format.
    pub format: Format,
    /// First rows per table for the HTML page's panel (0: none). One query
    /// per table, so it costs a round trip each.
    pub with_rows: usize,
    /// The page title; the source or "ER diagram" when `None`.
    pub title: Option<String>,
    /// Where the schema comes from (a URL without its password or a saved
    /// connection's name): shown on the page and used in its `qore query`
    /// commands.
    pub source: Option<String>,
    /// PNG scale (1 = one pixel per unit; reduced for very large diagrams).
    pub png_scale: f64,
}

impl Default for ErdOptions {
    fn default() -> Self {
        ErdOptions {
            namespace: None,
            subset: Subset::default(),
            columns: Columns::All,
            direction: Direction::LeftRight,
            format: Format::Svg,
            with_rows: 0,
            title: None,
            source: None,
            png_scale: 1.0,
        }
    }
}

/// What a run drew and how long each step took.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ErdSummary {
    /// Tables drawn.
    pub tables: usize,
    /// Relations drawn.
    pub relations: usize,
    /// Reading the catalog (and sample rows), in milliseconds.
    pub catalog_ms: f64,
    /// Laying out, in milliseconds.
    pub layout_ms: f64,
    /// Rendering, in milliseconds.
    pub render_ms: f64,
    /// Bytes written.
    pub bytes: usize,
    /// The PNG scale used, when it was reduced to fit.
    pub png_scale: Option<f64>,
}

/// Reads the structure of `namespace` (several, comma-separated; the
/// default one when `None`) and merges the virtual relations that start in
/// it.
///
/// # Error handling
///
/// [`Error::NotSupported`] for an engine without a catalog (Redis); the
/// catalog's errors.
pub async fn load(
    conn: &dyn Connection,
    namespace: Option<&str>,
    relations: &Relations,
) -> Result<Vec<TableDetails>> {
    let catalog = catalog_of(conn)?;
    let mut details = Vec::new();
    match namespace {
        None => details = catalog.structure(None).await?,
        Some(list) => {
            for ns in select::comma_list(list) {
                // Nothing found, or an engine error (SQLite: no such table
                // `x.sqlite_schema`), is often a misspelt namespace: say so.
                let missing = || async {
                    catalog
                        .namespaces()
                        .await
                        .is_ok_and(|all| !all.iter().any(|n| n.name == ns))
                };
                match catalog.structure(Some(ns)).await {
                    Ok(found) if found.is_empty() && missing().await => {
                        return Err(Error::NotFound(format!("namespace `{ns}`")));
                    }
                    Ok(found) => details.extend(found),
                    Err(_) if missing().await => {
                        return Err(Error::NotFound(format!("namespace `{ns}`")));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    for d in &mut details {
        relations.merge_into(d);
    }
    Ok(details)
}

/// The catalog facet, or why there is none (Redis).
fn catalog_of(conn: &dyn Connection) -> Result<&dyn Catalog> {
    conn.catalog().ok_or_else(|| {
        Error::NotSupported(format!(
            "{} has no tables to draw an ER diagram of",
            conn.engine().name()
        ))
    })
}

/// Above this many tables matching `--tables`, the bulk catalog read is
/// cheaper than one `table()` each.
const FEW_TABLES: usize = 16;

/// Like [`load`], for the tables matching `patterns` (see [`Subset::tables`]):
/// when few match, only those are read, so a diagram of three MongoDB
/// collections does not sample every other one, and a server answers a
/// handful of per-table queries instead of the whole namespace.
///
/// # Error handling
///
/// As [`load`].
pub async fn load_matching(
    conn: &dyn Connection,
    namespace: Option<&str>,
    patterns: &str,
    relations: &Relations,
) -> Result<Vec<TableDetails>> {
    let catalog = catalog_of(conn)?;
    let pats = select::comma_list(patterns);
    let spaces: Vec<Option<&str>> = match namespace {
        None => vec![None],
        Some(list) => select::comma_list(list).into_iter().map(Some).collect(),
    };
    let mut matching = Vec::new();
    for ns in spaces {
        for info in catalog.tables(ns).await? {
            if select::matches_any(&pats, &info.table) {
                matching.push(info.table);
            }
        }
    }
    if matching.len() > FEW_TABLES {
        return load(conn, namespace, relations).await;
    }
    let mut details = Vec::new();
    for t in &matching {
        match catalog.table(t).await {
            Ok(mut d) => {
                relations.merge_into(&mut d);
                details.push(d);
            }
            // Dropped since it was listed.
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(details)
}

/// Reads up to `n` first rows of every table of `model` as text, and the
/// command that opens each table.
async fn enrich(conn: &dyn Connection, model: &mut Model, n: usize, source: Option<&str>) -> Result<()> {
    for t in &mut model.tables {
        let Ok(sql) = conn.table_query(&t.table) else {
            continue;
        };
        if let Some(src) = source {
            t.open_query = Some(format!(
                "qore query --db {} {}",
                shell_quote(src),
                shell_quote(&sql)
            ));
        }
        if n == 0 {
            continue;
        }
        let limited = match conn.dialect() {
            Some(d) => format!("{sql} {}", d.limit_clause(Some(n as u64), None)),
            None => sql,
        };
        let mut stream = conn.query(&limited, &[]).await?;
        let mut sample = model::Sample {
            columns: stream.schema().fields().iter().map(|f| f.name().clone()).collect(),
            rows: Vec::new(),
        };
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            for row in 0..batch.num_rows() {
                if sample.rows.len() >= n {
                    break;
                }
                let mut cells = Vec::with_capacity(batch.num_columns());
                for col in batch.columns() {
                    let v = Value::from_array(col.as_ref(), row)?;
                    cells.push((!v.is_null()).then(|| v.to_string()));
                }
                sample.rows.push(cells);
            }
            if sample.rows.len() >= n {
                break;
            }
        }
        t.sample = Some(sample);
    }
    Ok(())
}

/// A word for a POSIX shell: single-quoted unless plainly safe.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A model with its layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    /// Tables and relations.
    pub model: Model,
    /// Their geometry.
    pub layout: Layout,
}

/// Builds the diagram of `details`: the model, the subset, the layout.
///
/// # Error handling
///
/// [`Subset::apply`]'s errors (an `--around` table that does not exist, a
/// pattern that matches nothing).
pub fn diagram(details: &[TableDetails], options: &ErdOptions) -> Result<Diagram> {
    let model = options.subset.apply(Model::from_details(details))?;
    let layout = layout::layout(&model, options.columns, options.direction);
    Ok(Diagram { model, layout })
}

/// The whole job of `qore erd`: reads the catalog of `conn`, lays out the
/// diagram, and writes it to `out` in `options.format`.
///
/// # Error handling
///
/// As [`load`], [`diagram`] and [`render::render`]; [`Error::Io`] when
/// writing fails.
pub async fn write_erd(
    conn: &dyn Connection,
    relations: &Relations,
    options: &ErdOptions,
    out: &mut dyn Write,
) -> Result<ErdSummary> {
    let started = Instant::now();
    let details = match (&options.subset.tables, &options.subset.around) {
        (Some(p), None) => load_matching(conn, options.namespace.as_deref(), p, relations).await?,
        _ => load(conn, options.namespace.as_deref(), relations).await?,
    };
    let mut model = options.subset.apply(Model::from_details(&details))?;
    if options.format == Format::Html {
        enrich(conn, &mut model, options.with_rows, options.source.as_deref()).await?;
    }
    let catalog_ms = ms(started);
    let t = Instant::now();
    let layout = layout::layout(&model, options.columns, options.direction);
    let layout_ms = ms(t);
    let t = Instant::now();
    let page = render::html::PageOptions {
        title: options
            .title
            .clone()
            .or_else(|| options.source.clone())
            .unwrap_or_else(|| "ER diagram".into()),
        source: options.source.clone(),
    };
    let (bytes, png_scale) = if options.format == Format::Png {
        let (b, s) = render::png(&render::svg::render(&model, &layout), options.png_scale)?;
        (b, (s < options.png_scale).then_some(s))
    } else {
        (render::render(&model, &layout, options.format, &page, options.png_scale)?, None)
    };
    let render_ms = ms(t);
    out.write_all(&bytes)
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("cannot write the ER diagram", e))?;
    Ok(ErdSummary {
        tables: model.tables.len(),
        relations: model.relations.len(),
        catalog_ms,
        layout_ms,
        render_ms,
        bytes: bytes.len(),
        png_scale,
    })
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}
