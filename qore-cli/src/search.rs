//! `qore search`: a needle in every table and column (`qore_search` does
//! the work); hits printed as they come, progress on a terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use qore_core::TextMatch;
use qore_search::SearchOptions;

use crate::connections;
use crate::opts::{DbArg, Format};

/// `qore search` arguments.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// What to look for.
    pub needle: String,
    /// contains (default), exact, prefix or regex (the engine's regular expressions).
    #[arg(long, default_value = "contains")]
    pub mode: String,
    /// Match case exactly (default: by Unicode case).
    #[arg(long)]
    pub case_sensitive: bool,
    /// Only tables matching these glob patterns (comma-separated; `name` or `namespace.name`).
    #[arg(long)]
    pub tables: Option<String>,
    /// Leave out tables matching these glob patterns (comma-separated).
    #[arg(long)]
    pub exclude: Option<String>,
    /// Namespaces (schemas, databases) to search, comma-separated (default: the current one).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Also search views.
    #[arg(long)]
    pub views: bool,
    /// Only columns that lead an index or the primary key.
    #[arg(long)]
    pub indexed_only: bool,
    /// Hits in total at most.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Rows read per table at most.
    #[arg(long, default_value_t = 10)]
    pub per_table: usize,
    /// Seconds one table may take before it is skipped (and reported).
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Tables searched at once, each on its own session.
    #[arg(long, default_value_t = 4)]
    pub sessions: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

pub(crate) async fn run(a: SearchArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let mode = match a.mode.to_ascii_lowercase().as_str() {
        "contains" => TextMatch::Contains,
        "exact" => TextMatch::Exact,
        "prefix" => TextMatch::Prefix,
        "regex" | "regexp" => TextMatch::Regex,
        other => bail!("--mode takes contains, exact, prefix or regex, not `{other}`"),
    };
    let options = SearchOptions {
        mode,
        case_sensitive: a.case_sensitive,
        namespaces: list(&a.namespace),
        tables: list(&a.tables),
        exclude_tables: list(&a.exclude),
        views: a.views,
        indexed_only: a.indexed_only,
        per_table: a.per_table,
        limit: a.limit,
        table_timeout: Duration::from_secs(a.timeout.max(1)),
        sessions: a.sessions,
        ..SearchOptions::default()
    };
    let target = connections::resolve(a.db.db.as_deref())?;
    let db = target.open().await.with_context(|| format!("cannot open {}", target.spec))?;
    let found = qore_search::search(db, &a.needle, &options).await?;
    let progress = found.progress.clone();
    let bar = (std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(progress.tables_total() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} tables, {msg} [{elapsed_precise}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let shown = bar.clone();
    let p = progress.clone();
    let stream = found.stream.inspect(move |_| {
        if let Some(b) = &shown {
            b.set_position(p.tables_done() as u64);
            b.set_message(format!("{} hits", p.hits()));
        }
    });
    let stream: qore_core::SendableRecordBatchStream =
        Box::pin(qore_core::RecordBatchStreamAdapter::new(qore_search::hit_schema(), stream));
    let r = crate::commands::write_rows(stream, a.format, 0, qore_shell::Expanded::Off, false, false, out, err).await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    r?;
    for s in progress.skipped() {
        writeln!(err, "qore: warning: {} was not searched: {}", s.table, s.reason)?;
    }
    writeln!(
        err,
        "qore: {} hits in {} of {} tables{}",
        progress.hits(),
        progress.tables_done(),
        progress.tables_total(),
        if progress.capped() { format!(" (stopped at --limit {})", a.limit) } else { String::new() }
    )?;
    Ok(if progress.hits() > 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
