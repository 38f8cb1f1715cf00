//! `qore diff`: two sides compared, the differences rendered, exit 0 when
//! equal and 1 when different.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use qore_diff::render::text::TextOptions;
use qore_diff::render::{Format, WriteOptions};
use qore_diff::{Algorithm, ColumnPair, DiffOptions, Side, Source, SourceChoice, Tolerance};

use crate::connections::{self, SafetyFlags};
use crate::opts_diff::DiffArgs;


pub(crate) async fn run(
    a: DiffArgs,
    flags: SafetyFlags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let format = Format::parse(&a.format)?;
    let (left_source, right_source) = SourceChoice {
        table: a.table.clone(),
        query: a.query.clone(),
        right_table: a.right_table.clone(),
        right_query: a.right_query.clone(),
        left_snapshot: qore_drivers::profiles::snapshot_table(&a.left),
        right_snapshot: qore_drivers::profiles::snapshot_table(&a.right),
    }
    .sources()?;
    let options = DiffOptions {
        key: a.key.iter().map(|k| ColumnPair::parse(k)).collect(),
        columns: a.columns.iter().map(|k| ColumnPair::parse(k)).collect(),
        filter: a.filter.clone(),
        right_filter: a.right_filter.clone(),
        algorithm: Algorithm::parse(&a.algorithm)?,
        float_tolerance: a.float_tolerance.as_deref().map(Tolerance::parse).transpose()?,
        trim: a.trim,
        case_fold: a.ignore_case,
        multiset: a.multiset,
        time_precision: a.time_precision,
        segment_rows: a.segment_rows,
    };
    let (lconn, lt) = connections::open(Some(&a.left), flags).await?;
    let (rconn, rt) = connections::open(Some(&a.right), flags).await?;
    let label = |name: &str, spec: String| {
        if (name.contains("://") || name.contains(':')) && !name.starts_with("snapshot:") { spec } else { name.to_string() }
    };
    let (llabel, rlabel) = (label(&a.left, lt.spec.to_string()), label(&a.right, rt.spec.to_string()));
    let write = WriteOptions {
        text: TextOptions {
            color: a.output.is_none() && crate::color::on(),
            all_columns: a.all_columns,
            limit: a.limit,
        },
        left: llabel.clone(),
        right: rlabel.clone(),
        patch_target: match &right_source {
            Source::Table(t) => Some((rconn.clone(), t.clone())),
            Source::Query(_) => None,
        },
    };
    let left = Side { conn: lconn.clone(), source: left_source, label: llabel.clone() };
    let right = Side { conn: rconn.clone(), source: right_source, label: rlabel.clone() };
    let (sink, file): (Box<dyn Write + Send>, Option<qore_export::OutputPath>) = match &a.output {
        Some(path) if path != "-" => {
            let f = qore_export::OutputPath::create(std::path::Path::new(path))?;
            (Box::new(std::io::BufWriter::new(f.writer()?)), Some(f))
        }
        _ => (Box::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())), None),
    };
    let summary = qore_diff::diff_to(left, right, options, format, sink, &write).await;
    let _ = lconn.close().await;
    let _ = rconn.close().await;
    let summary = summary?;
    if let Some(f) = file {
        f.commit()?;
    }
    let text = qore_diff::render::text::summary_text(&summary, &llabel, &rlabel);
    if format == Format::Summary {
        out.write_all(text.as_bytes())?;
    } else {
        err.write_all(text.as_bytes())?;
    }
    Ok(if summary.is_equal() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
