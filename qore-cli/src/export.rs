//! `qore export`: a query or a table into a file, with a progress bar.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use qore_core::read::Source;
use qore_core::{ConnectionRef, TableRef};
use qore_export::{Compression, ExportOptions, Format, Progress};

use crate::opts::ExportArgs;

/// `n` bytes for people: B, KiB, MiB, GiB.
pub(crate) fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", n / 1024.0 / 1024.0 / 1024.0)
    } else if n >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / 1024.0 / 1024.0)
    } else if n >= 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{n} B")
    }
}

pub(crate) async fn run(
    conn: ConnectionRef,
    origin: String,
    a: ExportArgs,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let to_stdout = a.output == "-";
    let format = match (&a.format, to_stdout) {
        (Some(f), _) => Format::parse(f)?,
        (None, true) => Format::Csv,
        (None, false) => Format::from_path(Path::new(&a.output)).with_context(|| {
            format!(
                "cannot tell the format from `{}`; pass --format (csv, parquet, arrow, html, ...)",
                a.output
            )
        })?,
    };
    let table = a.table.as_deref().map(TableRef::parse).transpose()?;
    let source = match (&a.sql, &table) {
        (Some(s), _) => Source::Statement(s.clone()),
        (None, Some(_)) if conn.engine() == qore_core::Engine::Redis => bail!(
            "Redis has keys, not tables: export a command instead, e.g. \
             `qore export --db ... 'HGETALL KEY' -o FILE`"
        ),
        (None, Some(t)) => Source::Table(t.clone()),
        (None, None) => bail!("give the SQL to export, or --table NAME"),
    };
    let mut options = ExportOptions::new(format);
    options.compression = Compression::parse(&a.compression)?;
    if format == Format::Sql {
        let target = match (&a.sql_table, &table) {
            (Some(t), _) => TableRef::parse(t)?,
            (None, Some(t)) => t.clone(),
            (None, None) => bail!(
                "a SQL export of a query needs --sql-table NAME (the table the INSERTs target)"
            ),
        };
        options.sql.table = Some(target);
        options.sql.dialect = Some(conn.dialect().with_context(|| {
            format!(
                "{} speaks no SQL: export it as csv, json, parquet, ...",
                conn.engine()
            )
        })?);
        options.sql.create_table = a.create_table;
        options.sql.rows_per_insert = a.rows_per_insert;
    }
    // The table's structure (indicators) and its row estimate.
    let opened = qore_core::read::open(&*conn, &source, true).await?;
    options.html.title = a
        .title
        .clone()
        .or_else(|| source.table().map(|t| t.to_string()));
    if !a.no_source {
        options.html.query = Some(opened.statement.clone());
        options.html.source = Some(origin);
    }
    options.html.exported_at = Some(now_rfc3339());
    let (stream, expected) = (opened.stream, opened.expected_rows);

    let show = !a.quiet && std::io::stderr().is_terminal();
    let bar = if show {
        let bar = match expected {
            Some(n) if n > 0 => indicatif::ProgressBar::new(n),
            _ => indicatif::ProgressBar::new_spinner(),
        };
        let style = if expected.is_some_and(|n| n > 0) {
            "{spinner} {human_pos}/{human_len} rows {bytes_msg} [{elapsed_precise}] {per_sec} ETA {eta}"
        } else {
            "{spinner} {human_pos} rows {bytes_msg} [{elapsed_precise}] {per_sec}"
        };
        let style = indicatif::ProgressStyle::with_template(&style.replace("{bytes_msg}", "{msg}"))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let progress = |p: &Progress| {
        if let Some(b) = &bar {
            b.set_position(p.rows);
            b.set_message(human_bytes(p.bytes));
        }
    };
    let job = async {
        if to_stdout {
            qore_export::export_to_writer(stream, Box::new(std::io::stdout()), &options, progress)
                .await
        } else {
            qore_export::export_to_path(stream, Path::new(&a.output), &options, progress).await
        }
    };
    // Ctrl-C and other signals are handled by `crate::run`, which drops
    // this future: the bar goes with it (ClearOnDrop) and the temp file too.
    let _clear = ClearOnDrop(bar.clone());
    let result = job.await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let summary =
        result.with_context(|| format!("export to {} failed; nothing was written", a.output))?;
    if !a.quiet {
        let secs = summary.duration.as_secs_f64().max(1e-9);
        writeln!(
            err,
            "qore: exported {} rows ({}) to {} as {} in {:.2} s ({:.0} rows/s)",
            summary.rows,
            human_bytes(summary.bytes),
            if to_stdout { "stdout" } else { &a.output },
            format.name(),
            secs,
            summary.rows as f64 / secs
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Clears the progress bar when the export ends or is dropped.
struct ClearOnDrop(Option<indicatif::ProgressBar>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Now as RFC 3339 UTC.
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    qore_core::calendar::rfc3339_utc(secs)
}
