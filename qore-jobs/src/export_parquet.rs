//! Resumable Parquet exports. A Parquet file cannot be appended to (its
//! footer describes every row group), so each page is written as a small
//! Parquet file of its own, synced, hashed and recorded in the checkpoint.
//! A resumed start checks the recorded parts (length and SHA-256) and
//! carries on after the last key; at the end the parts' row groups are
//! copied as they are into one file (no re-encoding). Each part is encoded
//! from the page as one batch, so an uninterrupted run and any resumed run
//! write the same bytes.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use qore_core::arrow::array::RecordBatch;
use qore_core::arrow::datatypes::SchemaRef;
use qore_core::{ConnectionRef, Error, Result};
use qore_export::{Compression, ExportOptions, Format};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::export::{ExportJob, hex, part_path, part_prefix};
use crate::keyset::KeysetPlan;
use crate::worker::JobContext;

/// One written file: a page, or the joined whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Part {
    path: PathBuf,
    rows: u64,
    bytes: u64,
    sha256: String,
}

/// Where a Parquet export is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// Always true: tells this checkpoint from a text export's.
    parquet: bool,
    /// The last key written, as SQL literals; empty before the first page.
    key: Vec<String>,
    rows: u64,
    /// The pages written so far, in order.
    parts: Vec<Part>,
    /// The joined file, once every page is written.
    whole: Option<Part>,
}

fn hash_file(path: &Path) -> Result<Option<(u64, String)>> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok(Some((len, hex(&h.finalize()))))
}

/// Whether `p` is on disk as recorded.
fn intact(p: &Part) -> Result<bool> {
    Ok(hash_file(&p.path)?.is_some_and(|(len, sha)| len == p.bytes && sha == p.sha256))
}

/// Writes `batch` (or an empty file of `schema`) as one Parquet file.
fn write_part(path: &Path, schema: SchemaRef, batch: Option<&RecordBatch>, options: &ExportOptions, rows: u64) -> Result<Part> {
    let file = File::create(path).map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    let synced = file.try_clone().map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    let mut sink = qore_export::sink(schema, Box::new(file), options)?;
    if let Some(b) = batch {
        sink.write(b)?;
    }
    sink.finish()?;
    synced.sync_data().map_err(|e| Error::io(format!("cannot sync {}", path.display()), e))?;
    let (bytes, sha256) = hash_file(path)?
        .ok_or_else(|| Error::Internal(format!("{} vanished after writing", path.display())))?;
    Ok(Part { path: path.to_path_buf(), rows, bytes, sha256 })
}

fn remove_parts(cp: &Checkpoint) {
    for p in &cp.parts {
        let _ = std::fs::remove_file(&p.path);
    }
}

async fn save(ctx: &mut JobContext, cp: &Checkpoint, total: Option<u64>) -> Result<()> {
    let value = serde_json::to_value(cp).map_err(|e| Error::Internal(e.to_string()))?;
    ctx.checkpoint(&value, cp.rows, total.map(|t| t.max(cp.rows))).await
}

/// Runs (or resumes) a Parquet export of a table paged by `plan`.
pub(crate) async fn resumable(ctx: &mut JobContext, spec: &ExportJob, conn: &ConnectionRef, plan: KeysetPlan) -> Result<()> {
    let (id, token) = (ctx.job().id, ctx.lease().token);
    let mut options = ExportOptions::new(Format::Parquet);
    options.compression = Compression::parse(&spec.compression)?;
    let saved: Option<Checkpoint> = ctx
        .job()
        .checkpoint
        .clone()
        .and_then(|c| serde_json::from_value(c).ok())
        .filter(|c: &Checkpoint| c.parquet);
    let mut cp = match saved {
        Some(cp) => {
            if let Some(whole) = &cp.whole {
                if intact(whole)? {
                    ctx.log(format!("resuming after {} rows: all written, only the rename was left", cp.rows)).await?;
                    return finish(ctx, spec, &cp, whole).await;
                }
                if std::fs::metadata(&spec.output).is_ok_and(|m| m.len() == whole.bytes) {
                    ctx.log(format!("resuming after {} rows: the file was already complete", cp.rows)).await?;
                    remove_parts(&cp);
                    return Ok(());
                }
            }
            let mut all = true;
            for p in &cp.parts {
                all &= intact(p)?;
            }
            if all {
                ctx.log(format!("resuming after {} rows ({} Parquet parts checked)", cp.rows, cp.parts.len())).await?;
                Checkpoint { whole: None, ..cp }
            } else {
                ctx.log("a Parquet part is missing or changed: starting over").await?;
                remove_parts(&cp);
                Checkpoint { parquet: true, ..Checkpoint::default() }
            }
        }
        None => Checkpoint { parquet: true, ..Checkpoint::default() },
    };
    let prefix = part_prefix(&spec.output, id);
    loop {
        let sql = plan.page(&cp.key, spec.chunk_rows);
        let mut stream = conn.query(&sql, &[]).await?;
        let page_schema = stream.schema();
        let key_idx = plan.key_indices(&page_schema)?;
        let mut batches = Vec::new();
        let mut key = cp.key.clone();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let (k, b) = plan.split(batch, &key_idx)?;
            key = k;
            batches.push(b);
        }
        let schema: SchemaRef = match batches.first() {
            Some(b) => b.schema(),
            None if plan.hidden => {
                let cols: Vec<usize> = (1..page_schema.fields().len()).collect();
                Arc::new(page_schema.project(&cols).map_err(|e| Error::data(format!("page: {e}")))?)
            }
            None => page_schema.clone(),
        };
        let page_rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        let last = page_rows < spec.chunk_rows;
        if page_rows > 0 || cp.parts.is_empty() {
            // One batch per page: the encoder's page and dictionary choices
            // then depend on the rows only, not on how the driver split them.
            let page = if batches.is_empty() {
                None
            } else {
                Some(
                    qore_core::arrow::compute::concat_batches(&schema, &batches)
                        .map_err(|e| Error::data(format!("page: {e}")))?,
                )
            };
            let path = spec.output.with_file_name(format!("{prefix}{token}-p{:06}.part", cp.parts.len()));
            let part = write_part(&path, schema, page.as_ref(), &options, page_rows)?;
            cp.parts.push(part);
            cp.rows += page_rows;
            cp.key = key;
            save(ctx, &cp, plan.total).await?;
        }
        if last {
            break;
        }
    }
    // Join the pages into this start's own file, record it, then rename.
    let joined = part_path(&spec.output, id, token);
    let file = File::create(&joined).map_err(|e| Error::io(format!("cannot create {}", joined.display()), e))?;
    let synced = file.try_clone().map_err(|e| Error::io(format!("cannot open {}", joined.display()), e))?;
    let paths: Vec<PathBuf> = cp.parts.iter().map(|p| p.path.clone()).collect();
    let rows = qore_export::concat_parquet(&paths, std::io::BufWriter::with_capacity(1 << 20, file))?;
    if rows != cp.rows {
        return Err(Error::Internal(format!("the joined Parquet file holds {rows} rows, the pages {}", cp.rows)));
    }
    synced.sync_data().map_err(|e| Error::io(format!("cannot sync {}", joined.display()), e))?;
    let (bytes, sha256) = hash_file(&joined)?
        .ok_or_else(|| Error::Internal(format!("{} vanished after writing", joined.display())))?;
    let whole = Part { path: joined, rows, bytes, sha256 };
    cp.whole = Some(whole.clone());
    save(ctx, &cp, plan.total).await?;
    finish(ctx, spec, &cp, &whole).await
}

async fn finish(ctx: &mut JobContext, spec: &ExportJob, cp: &Checkpoint, whole: &Part) -> Result<()> {
    std::fs::rename(&whole.path, &spec.output).map_err(|e| {
        Error::io(format!("cannot rename {} to {}", whole.path.display(), spec.output.display()), e)
    })?;
    remove_parts(cp);
    ctx.log(format!(
        "wrote {} rows ({} bytes, {} pages joined) to {}",
        whole.rows,
        whole.bytes,
        cp.parts.len(),
        spec.output.display()
    ))
    .await
}
