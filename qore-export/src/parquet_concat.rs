//! Joins Parquet files of one schema into one file by copying their row
//! groups' column chunks as they are (no decoding, no re-encoding): a
//! resumable export writes each page as its own small file and joins them
//! at the end, so a resumed run gives the same bytes as an uninterrupted one.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use qore_core::{Error, Result};

use crate::parquet_sink::parquet_err;

/// Writes the row groups of `inputs`, in order, as one Parquet file to
/// `out`, with the first input's schema and key-value metadata (the Arrow
/// schema among them); returns the rows written.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for no input; [`Error::Data`] naming the input
/// that is not Parquet or whose schema differs from the first's;
/// [`Error::Io`] for a file that cannot be read or written.
pub fn concat_parquet<W: Write + Send>(inputs: &[PathBuf], out: W) -> Result<u64> {
    let Some(first) = inputs.first() else {
        return Err(Error::invalid("nothing to join: no Parquet input"));
    };
    let open = |p: &PathBuf| -> Result<_> {
        let file = File::open(p).map_err(|e| Error::io(format!("cannot read {}", p.display()), e))?;
        let meta = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&file)
            .map_err(|e| parquet_err(e).context(p.display().to_string()))?;
        Ok((file, meta))
    };
    let (_, head) = open(first)?;
    let schema = head.file_metadata().schema_descr().root_schema_ptr();
    let props = WriterProperties::builder().set_created_by("qore".into()).build();
    let mut writer = SerializedFileWriter::new(out, schema, Arc::new(props)).map_err(parquet_err)?;
    for kv in head.file_metadata().key_value_metadata().into_iter().flatten() {
        writer.append_key_value_metadata(kv.clone());
    }
    let mut rows = 0u64;
    for path in inputs {
        let (file, meta) = open(path)?;
        if meta.file_metadata().schema() != head.file_metadata().schema() {
            return Err(Error::data(format!(
                "{} has another schema than {}: the parts cannot be joined",
                path.display(),
                first.display()
            )));
        }
        let index = meta.page_index();
        for (g, group) in meta.row_groups().iter().enumerate() {
            let mut out = writer.next_row_group().map_err(parquet_err)?;
            for (c, column) in group.columns().iter().enumerate() {
                let chunk = ColumnCloseResult {
                    bytes_written: column.compressed_size() as _,
                    rows_written: group.num_rows() as _,
                    metadata: column.clone(),
                    bloom_filter: None,
                    column_index: index.and_then(|i| i.column_index(g, c)).cloned(),
                    offset_index: index.and_then(|i| i.offset_index(g, c)).cloned(),
                };
                out.append_column(&file, chunk).map_err(parquet_err)?;
            }
            out.close().map_err(parquet_err)?;
            rows += group.num_rows() as u64;
        }
    }
    writer.close().map_err(parquet_err)?;
    Ok(rows)
}
