//! `qore snapshot`: save results, list, show, remove and export them
//! (`qore_core::snapshot` does the work).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use futures::StreamExt;
use qore_core::TableRef;
use qore_core::read::Source;
use qore_core::snapshot::{SnapshotInfo, SnapshotStore};

use crate::connections::{self, SafetyFlags};
use crate::format::Writer;
use crate::opts::{Format, SnapshotAction};

use crate::export::human_bytes;

pub(crate) async fn run(action: SnapshotAction, flags: SafetyFlags, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let store = SnapshotStore::default_store()?;
    match action {
        SnapshotAction::Save { name, db, sql, table, force } => {
            let source = match (sql, table) {
                (Some(s), _) => Source::Statement(s),
                (None, Some(t)) => Source::Table(TableRef::parse(&t)?),
                (None, None) => bail!("give the SQL whose result to save, or --table NAME"),
            };
            let (conn, target) = connections::open(db.db.as_deref(), flags).await?;
            let from = target.profile.as_ref().map(|(n, _)| n.clone()).unwrap_or_else(|| target.spec.to_string());
            let r = store.save_source(&name, &*conn, &source, &from, force).await;
            let info = crate::commands::goodbye(&conn, r.map_err(anyhow::Error::from)).await?;
            writeln!(
                err,
                "qore: saved snapshot `{}`: {} rows, {} ({})",
                info.name,
                info.rows,
                human_bytes(info.bytes),
                info.path.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        SnapshotAction::Ls { format } => {
            let list = store.list()?;
            let batch = listing(&list)?;
            let mut w = Writer::with_types(format, out, batch.schema(), 0, false);
            w.write(&batch)?;
            w.finish()?;
            if format == Format::Table && list.is_empty() {
                writeln!(err, "qore: no snapshots in {} (qore snapshot save NAME ... makes one)", store.dir().display())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SnapshotAction::Show { name, rows } => {
            let (info, mut stream) = store.open(&name)?;
            writeln!(out, "snapshot {}  ({})", info.name, info.path.display())?;
            writeln!(out, "saved    {}", info.created_at)?;
            writeln!(out, "from     {} ({})", info.origin.source, info.origin.engine)?;
            writeln!(out, "query    {}", info.origin.query)?;
            writeln!(out, "rows     {}", info.rows)?;
            writeln!(out, "size     {}", human_bytes(info.bytes))?;
            writeln!(out, "hash     xxh3-128 {} (checked)", info.hash)?;
            let mut w = Writer::new(Format::Table, out, stream.schema(), rows);
            while let Some(b) = stream.next().await {
                w.write(&b?)?;
                // The rest of the file is not read.
                if rows > 0 && w.seen() >= rows {
                    break;
                }
            }
            w.finish()?;
            Ok(ExitCode::SUCCESS)
        }
        SnapshotAction::Rm { name } => {
            store.remove(&name)?;
            writeln!(err, "qore: removed snapshot `{name}`")?;
            Ok(ExitCode::SUCCESS)
        }
        SnapshotAction::Export { name, output, format } => {
            let to_stdout = output == "-";
            let format = match (&format, to_stdout) {
                (Some(f), _) => qore_export::Format::parse(f)?,
                (None, true) => qore_export::Format::Csv,
                (None, false) => qore_export::Format::from_path(Path::new(&output)).with_context(|| {
                    format!("cannot tell the format from `{output}`; pass --format (csv, parquet, arrow, html, ...)")
                })?,
            };
            if format == qore_export::Format::Sql {
                bail!("a snapshot has no table to INSERT into: export it as csv, json, parquet, arrow, html, ...");
            }
            let (info, stream) = store.open(&name)?;
            let mut options = qore_export::ExportOptions::new(format);
            options.html.title = Some(format!("snapshot {}", info.name));
            options.html.query = Some(info.origin.query.clone());
            options.html.source = Some(info.origin.source.clone());
            options.html.exported_at = Some(info.created_at.clone());
            let summary = if to_stdout {
                qore_export::export_to_writer(stream, Box::new(std::io::stdout()), &options, |_| {}).await
            } else {
                qore_export::export_to_path(stream, Path::new(&output), &options, |_| {}).await
            }
            .with_context(|| format!("export of snapshot `{name}` to {output} failed; nothing was written"))?;
            writeln!(
                err,
                "qore: exported {} rows ({}) of snapshot `{name}` to {} as {}",
                summary.rows,
                human_bytes(summary.bytes),
                if to_stdout { "stdout" } else { &output },
                format.name()
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The snapshot list as one batch.
fn listing(list: &[SnapshotInfo]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("size", DataType::Utf8, false),
        Field::new("saved", DataType::Utf8, false),
        Field::new("engine", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("query", DataType::Utf8, false),
    ]));
    let col = |f: &dyn Fn(&SnapshotInfo) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(list.iter().map(f)))
    };
    Ok(RecordBatch::try_new(
        schema,
        vec![
            col(&|i| i.name.clone()),
            Arc::new(Int64Array::from_iter_values(list.iter().map(|i| i.rows as i64))),
            col(&|i| human_bytes(i.bytes)),
            col(&|i| i.created_at.clone()),
            col(&|i| i.origin.engine.clone()),
            col(&|i| i.origin.source.clone()),
            col(&|i| i.origin.query.clone()),
        ],
    )?)
}
