//! `qore erd`: the ER diagram of a namespace, written to a file or stdout.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};
use qore_erd::{Columns, Direction, ErdOptions, Format, Subset};

use crate::connections::{self, SafetyFlags};
use crate::opts::DbArg;

/// `qore erd` arguments.
#[derive(Debug, clap::Args)]
pub struct ErdArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The namespace (schema, database) to draw; several comma-separated
    /// (`sales,billing`); the default one when absent.
    pub namespace: Option<String>,
    /// Only tables matching these glob patterns (`*`, `?`; comma-separated).
    #[arg(long)]
    pub tables: Option<String>,
    /// Only this table and its neighbours (see --depth).
    #[arg(long)]
    pub around: Option<String>,
    /// How many relations away from --around.
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// Which columns the boxes list: all, keys or none.
    #[arg(long, default_value = "all")]
    pub columns: String,
    /// Output format: svg, png, html, mermaid, dot, plantuml, dbml or json
    /// (default: from the -o extension, else svg).
    #[arg(long)]
    pub format: Option<String>,
    /// Where to write it; `-` or absent for stdout.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// Which way the layers run: lr (referenced tables left) or rl.
    #[arg(long, default_value = "lr")]
    pub direction: String,
    /// First rows per table in the HTML page's table panel (one query per table).
    #[arg(long, default_value_t = 0)]
    pub with_rows: usize,
    /// PNG scale (reduced when the image would pass 16,384 px or 64 Mpx).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Page title (HTML).
    #[arg(long)]
    pub title: Option<String>,
}

pub(crate) async fn run(a: ErdArgs, flags: SafetyFlags, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let to_file = a.output.as_deref().filter(|o| *o != "-");
    let format = match (&a.format, to_file) {
        (Some(f), _) => Format::parse(f)?,
        (None, Some(path)) => Format::from_path(std::path::Path::new(path)).unwrap_or(Format::Svg),
        (None, None) => Format::Svg,
    };
    if !format.is_text() && to_file.is_none() && std::io::stdout().is_terminal() {
        bail!("a PNG does not go to a terminal: give -o FILE.png or redirect stdout");
    }
    if !(a.scale > 0.0 && a.scale.is_finite()) {
        bail!("--scale must be a positive number, not {}", a.scale);
    }
    let (conn, target) = connections::open(a.db.db.as_deref(), flags).await?;
    let name = a.db.db.clone().unwrap_or_default();
    let source = if name.is_empty() || name.contains("://") || name.contains(':') || name.contains('/') {
        target.spec.to_string()
    } else {
        name
    };
    let relations = qore_core::relations::Relations::load(&qore_core::relations::Relations::default_path(&target.scope())?)?;
    let options = ErdOptions {
        namespace: a.namespace.clone(),
        subset: Subset { tables: a.tables.clone(), around: a.around.clone(), depth: a.depth },
        columns: Columns::parse(&a.columns)?,
        direction: Direction::parse(&a.direction)?,
        format,
        with_rows: a.with_rows,
        title: a.title.clone(),
        source: Some(source),
        png_scale: a.scale,
    };
    let r = match to_file {
        Some(path) => match qore_export::OutputPath::create(std::path::Path::new(path)) {
            Ok(file) => {
                let written = match file.writer() {
                    Ok(w) => qore_erd::write_erd(&*conn, &relations, &options, &mut std::io::BufWriter::new(w)).await,
                    Err(e) => Err(e),
                };
                written.and_then(|s| file.commit().map(|_| s))
            }
            Err(e) => Err(e),
        },
        None => qore_erd::write_erd(&*conn, &relations, &options, out).await,
    };
    let _ = conn.close().await;
    let s = r?;
    let whereto = to_file.map(|p| format!(" → {p}")).unwrap_or_default();
    writeln!(
        err,
        "erd: {}, {}{whereto} ({} bytes; catalog {:.0} ms, layout {:.0} ms, render {:.0} ms{})",
        plural(s.tables, "table"),
        plural(s.relations, "relation"),
        s.bytes,
        s.catalog_ms,
        s.layout_ms,
        s.render_ms,
        s.png_scale.map(|x| format!("; PNG scaled to {x:.3} to fit")).unwrap_or_default()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `1 table`, `2 tables`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}
