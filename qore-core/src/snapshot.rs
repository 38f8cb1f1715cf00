//! Result snapshots: the exact state of a result, kept to look at, export or
//! compare later.
//!
//! A snapshot is one Arrow IPC file (zstd-compressed buffers) holding the
//! result's schema — with the structure indicators in its field metadata —
//! and its batches, written as they stream (memory stays at a batch or
//! two whatever the size). Its footer carries what it came from (the query,
//! the profile or URL without password, the engine), when, how many rows,
//! and an xxh3-128 hash of every byte before the footer, checked before a
//! snapshot is read back, so a damaged file is an error rather than
//! quietly different data. Files are written under a temporary name and
//! renamed, so a failed save leaves nothing.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use futures::StreamExt;
//! use qore_core::snapshot::{Origin, SnapshotStore};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let store = SnapshotStore::at(dir.path());
//! let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
//! let stream = Box::pin(qore_core::RecordBatchStreamAdapter::new(schema, futures::stream::iter([Ok(batch)])));
//! let origin = Origin { query: "select n".into(), source: "duckdb:".into(), engine: "DuckDB".into() };
//! let info = store.save("before", stream, &origin, false).await?;
//! assert_eq!(info.rows, 3);
//! let mut back = store.read("before")?;
//! assert_eq!(back.next().await.unwrap()?.num_rows(), 3);
//! assert_eq!(store.list()?[0].name, "before");
//! # Ok::<(), qore_core::Error>(())
//! # }).unwrap();
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use futures::StreamExt;

use crate::{Error, RecordBatchStreamAdapter, Result, SendableRecordBatchStream};

/// The file name extension of a snapshot.
pub const EXTENSION: &str = "arrow";

const KEY_VERSION: &str = "qore.snapshot.version";
const KEY_QUERY: &str = "qore.snapshot.query";
const KEY_SOURCE: &str = "qore.snapshot.source";
const KEY_ENGINE: &str = "qore.snapshot.engine";
const KEY_CREATED: &str = "qore.snapshot.created_at";
const KEY_ROWS: &str = "qore.snapshot.rows";
const KEY_HASH: &str = "qore.snapshot.xxh3_128";
const KEY_HASHED: &str = "qore.snapshot.hashed_bytes";

/// Where a result came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The statement (or `table NAME`).
    pub query: String,
    /// The saved connection's name, or the URL without its password.
    pub source: String,
    /// The engine's name.
    pub engine: String,
}

/// What a snapshot file says about itself.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    /// Its name (the file name without `.arrow`).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Where the result came from.
    pub origin: Origin,
    /// When it was saved (RFC 3339, UTC).
    pub created_at: String,
    /// Rows.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// The content hash (hex xxh3-128 of the bytes before the footer).
    pub hash: String,
    /// The result's schema, with its column metadata.
    pub schema: SchemaRef,
}

/// A directory of snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
}

/// Whether `name` can name a snapshot: letters, digits, `_`, `-`, `.`, not
/// starting with a dot, at most 100 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Writes what it is given to `inner` and hashes it.
struct Hashing<W: Write> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn arrow_err(what: &str, e: arrow::error::ArrowError) -> Error {
    Error::data(format!("{what}: {e}"))
}

impl SnapshotStore {
    /// The user's store: `$XDG_DATA_HOME/qore/snapshots`, else
    /// `~/.local/share/qore/snapshots`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when neither `XDG_DATA_HOME` nor `HOME` is set.
    pub fn default_store() -> Result<SnapshotStore> {
        Ok(SnapshotStore::at(&crate::files::data_dir("snapshots")?.join("snapshots")))
    }

    /// A store in `dir` (created on the first save).
    pub fn at(dir: &Path) -> SnapshotStore {
        SnapshotStore { dir: dir.to_path_buf() }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `name`: in the store, or `name` itself when it is a path
    /// (holds a `/` or ends with `.arrow`).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a name that is neither a valid name nor a path.
    pub fn path_of(&self, name: &str) -> Result<PathBuf> {
        if name.contains('/') || name.ends_with(&format!(".{EXTENSION}")) {
            return Ok(PathBuf::from(name));
        }
        if !valid_name(name) {
            return Err(Error::invalid(format!(
                "`{name}` is not a snapshot name: use letters, digits, _, - and . (or give a path to a .arrow file)"
            )));
        }
        Ok(self.dir.join(format!("{name}.{EXTENSION}")))
    }

    /// Saves a result: streams `stream` into a new snapshot `name`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when the snapshot exists and `force` is not
    /// set; the stream's error, or an I/O error naming the file — in every
    /// case nothing is left behind and an existing snapshot is untouched.
    ///
    /// # Cancellation
    ///
    /// Dropping the future stops reading the stream and removes the
    /// temporary file.
    pub async fn save(
        &self,
        name: &str,
        mut stream: SendableRecordBatchStream,
        origin: &Origin,
        force: bool,
    ) -> Result<SnapshotInfo> {
        let path = self.path_of(name)?;
        if path.exists() && !force {
            return Err(Error::invalid(format!(
                "snapshot `{name}` exists ({}): choose another name, or --force to replace it",
                path.display()
            )));
        }
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        // Removed on drop unless persisted: a failed or cancelled save
        // leaves nothing behind.
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", path.file_name().and_then(|n| n.to_str()).unwrap_or("snapshot")))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(format!("cannot write in {}", dir.display()), e))?;
        let file = tmp.reopen().map_err(|e| Error::io(format!("cannot write {}", tmp.path().display()), e))?;
        let sink = Hashing { inner: BufWriter::with_capacity(1 << 20, file), hasher: xxhash_rust::xxh3::Xxh3::new(), bytes: 0 };
        let options = IpcWriteOptions::default()
            .try_with_compression(Some(arrow::ipc::CompressionType::ZSTD))
            .map_err(|e| arrow_err("snapshot options", e))?;
        let schema = stream.schema();
        let mut writer = FileWriter::try_new_with_options(sink, &schema, options)
            .map_err(|e| arrow_err("cannot start the snapshot", e))?;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            writer.write(&batch).map_err(|e| arrow_err("cannot write the snapshot", e))?;
        }
        let created_at = crate::calendar::rfc3339_utc(now_secs());
        let (hash, hashed) = {
            let h = writer.get_ref();
            (format!("{:032x}", h.hasher.digest128()), h.bytes)
        };
        for (k, v) in [
            (KEY_VERSION, "1".to_string()),
            (KEY_QUERY, origin.query.clone()),
            (KEY_SOURCE, crate::redact_urls(&origin.source)),
            (KEY_ENGINE, origin.engine.clone()),
            (KEY_CREATED, created_at),
            (KEY_ROWS, rows.to_string()),
            (KEY_HASH, hash),
            (KEY_HASHED, hashed.to_string()),
        ] {
            writer.write_metadata(k, v);
        }
        writer.finish().map_err(|e| arrow_err("cannot finish the snapshot", e))?;
        let mut sink = writer.into_inner().map_err(|e| arrow_err("cannot finish the snapshot", e))?;
        sink.flush().map_err(|e| Error::io(format!("cannot write {}", tmp.path().display()), e))?;
        sink.inner
            .into_inner()
            .map_err(|e| Error::io(format!("cannot write {}", tmp.path().display()), e.into_error()))?
            .sync_all()
            .map_err(|e| Error::io(format!("cannot write {}", tmp.path().display()), e))?;
        tmp.persist(&path)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e.error))?;
        self.info_at(name, &path)
    }

    /// Saves what `source` reads on `conn` (a statement, or a table with its
    /// structure indicators) as snapshot `name`; `from` names the connection
    /// (a saved name or the URL; a password in it is never written).
    ///
    /// # Error handling
    ///
    /// As [`read::open`](crate::read::open) and [`save`](SnapshotStore::save).
    pub async fn save_source(
        &self,
        name: &str,
        conn: &dyn crate::Connection,
        source: &crate::read::Source,
        from: &str,
        force: bool,
    ) -> Result<SnapshotInfo> {
        // Refused before the statement runs, not after.
        if self.path_of(name)?.exists() && !force {
            return Err(Error::invalid(format!(
                "snapshot `{name}` exists: choose another name, or --force to replace it"
            )));
        }
        let opened = crate::read::open(conn, source, true).await?;
        let origin = Origin {
            query: opened.statement.clone(),
            source: from.to_string(),
            engine: conn.engine().to_string(),
        };
        self.save(name, opened.stream, &origin, force).await
    }

    /// Every snapshot in the store, by name. Files that are not readable
    /// snapshots are left out.
    ///
    /// # Error handling
    ///
    /// An I/O error when the directory exists but cannot be read.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("cannot read {}", self.dir.display()), e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(&format!(".{EXTENSION}")))
            else {
                continue;
            };
            if !valid_name(name) {
                continue;
            }
            if let Ok(info) = self.info_at(name, &path) {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// What snapshot `name` says about itself (its footer; the data is not read).
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when there is none; [`Error::Data`] for a file
    /// that is not a whole snapshot.
    pub fn info(&self, name: &str) -> Result<SnapshotInfo> {
        let path = self.path_of(name)?;
        self.info_at(name, &path)
    }

    fn info_at(&self, name: &str, path: &Path) -> Result<SnapshotInfo> {
        info_of(name, path, &open_reader(name, path)?)
    }

    /// Checks the content hash of snapshot `name`.
    ///
    /// # Error handling
    ///
    /// [`Error::Data`] naming the file when its bytes are not those saved.
    pub fn verify(&self, name: &str) -> Result<SnapshotInfo> {
        let path = self.path_of(name)?;
        let reader = open_reader(name, &path)?;
        let info = info_of(name, &path, &reader)?;
        check_hash(&path, reader.custom_metadata())?;
        Ok(info)
    }

    /// Reads snapshot `name` back as a result stream, after checking its
    /// content hash. The file is read on a thread of its own, a batch ahead.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`], or [`Error::Data`] for a damaged file, before any
    /// row; a read error later is the stream's last item.
    pub fn read(&self, name: &str) -> Result<SendableRecordBatchStream> {
        Ok(self.open(name)?.1)
    }

    /// [`read`](SnapshotStore::read), with what the snapshot says about itself.
    ///
    /// # Error handling
    ///
    /// As [`read`](SnapshotStore::read).
    pub fn open(&self, name: &str) -> Result<(SnapshotInfo, SendableRecordBatchStream)> {
        let path = self.path_of(name)?;
        let reader = open_reader(name, &path)?;
        let info = info_of(name, &path, &reader)?;
        check_hash(&path, reader.custom_metadata())?;
        let schema = reader.schema();
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let what = path.display().to_string();
        std::thread::Builder::new()
            .name("qore-snapshot-read".into())
            .spawn(move || {
                for batch in reader {
                    let item = batch.map_err(|e| arrow_err(&format!("cannot read {what}"), e));
                    let stop = item.is_err();
                    if tx.blocking_send(item).is_err() || stop {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("cannot start the snapshot reader", e))?;
        let mut rx = rx;
        let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok((info, Box::pin(RecordBatchStreamAdapter::new(schema, stream))))
    }

    /// Removes snapshot `name`.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when there is none.
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.path_of(name)?;
        std::fs::remove_file(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(format!("snapshot `{name}` ({})", path.display())),
            _ => Error::io(format!("cannot remove {}", path.display()), e),
        })
    }
}

/// What a snapshot's footer says.
fn info_of(name: &str, path: &Path, reader: &FileReader<BufReader<File>>) -> Result<SnapshotInfo> {
    let md = reader.custom_metadata();
    let get = |k: &str| md.get(k).cloned().unwrap_or_default();
    if get(KEY_VERSION).is_empty() {
        return Err(Error::data(format!(
            "{} is an Arrow file but not a qore snapshot (no snapshot metadata)",
            path.display()
        )));
    }
    Ok(SnapshotInfo {
        name: name.to_string(),
        path: path.to_path_buf(),
        origin: Origin { query: get(KEY_QUERY), source: get(KEY_SOURCE), engine: get(KEY_ENGINE) },
        created_at: get(KEY_CREATED),
        rows: get(KEY_ROWS).parse().unwrap_or(0),
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        hash: get(KEY_HASH),
        schema: reader.schema(),
    })
}

/// Hashes the bytes before the footer and compares with what was saved.
fn check_hash(path: &Path, md: &HashMap<String, String>) -> Result<()> {
    let (Some(want), Some(n)) = (md.get(KEY_HASH), md.get(KEY_HASHED).and_then(|n| n.parse::<u64>().ok())) else {
        return Err(Error::data(format!("{} has no content hash: not a qore snapshot", path.display())));
    };
    let mut file = File::open(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut left = n;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = file
            .read(&mut buf[..take])
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if got == 0 {
            return Err(Error::data(format!("snapshot {} is truncated", path.display())));
        }
        hasher.update(&buf[..got]);
        left -= got as u64;
    }
    if format!("{:032x}", hasher.digest128()) != *want {
        return Err(Error::data(format!(
            "snapshot {} is damaged: its content hash does not match what was saved",
            path.display()
        )));
    }
    Ok(())
}

fn open_reader(name: &str, path: &Path) -> Result<FileReader<BufReader<File>>> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(format!("snapshot `{name}` ({})", path.display())),
        _ => Error::io(format!("cannot read {}", path.display()), e),
    })?;
    FileReader::try_new(BufReader::new(file), None).map_err(|e| {
        Error::data(format!(
            "{} is not a whole snapshot (truncated or not an Arrow file): {e}",
            path.display()
        ))
    })
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use proptest::prelude::*;

    use super::*;

    fn stream_of(batches: Vec<RecordBatch>, schema: SchemaRef) -> SendableRecordBatchStream {
        Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::iter(batches.into_iter().map(Ok))))
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Whatever the values and batch sizes, the batches come back equal.
        #[test]
        fn batches_round_trip(rows in proptest::collection::vec(proptest::collection::vec((proptest::option::of(any::<i64>()), proptest::option::of("\\PC{0,12}")), 0..40), 1..4)) {
            let schema = Arc::new(Schema::new(vec![
                Field::new("n", DataType::Int64, true),
                Field::new("s", DataType::Utf8, true).with_metadata(HashMap::from([("qore.source_type".to_string(), "text".to_string())])),
            ]));
            let batches: Vec<RecordBatch> = rows
                .iter()
                .map(|b| {
                    RecordBatch::try_new(schema.clone(), vec![
                        Arc::new(Int64Array::from(b.iter().map(|r| r.0).collect::<Vec<_>>())),
                        Arc::new(StringArray::from(b.iter().map(|r| r.1.clone()).collect::<Vec<_>>())),
                    ]).unwrap()
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let store = SnapshotStore::at(dir.path());
            let back: Vec<RecordBatch> = rt().block_on(async {
                let info = store.save("p", stream_of(batches.clone(), schema.clone()), &Origin::default(), false).await.unwrap();
                assert_eq!(info.rows, rows.iter().map(Vec::len).sum::<usize>() as u64);
                assert_eq!(info.schema, schema, "the schema and its metadata come back");
                store.read("p").unwrap().map(|b| b.unwrap()).collect().await
            });
            let want = arrow::compute::concat_batches(&schema, &batches).unwrap();
            let got = arrow::compute::concat_batches(&schema, &back).unwrap();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn names_paths_and_junk() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::at(dir.path());
        assert!(store.path_of("../x").unwrap().ends_with("../x"), "a path is a path");
        assert!(store.path_of(".hidden").is_err());
        assert!(store.path_of("a b").is_err());
        std::fs::write(dir.path().join("junk.arrow"), b"not arrow").unwrap();
        assert!(store.list().unwrap().is_empty(), "junk is not listed");
        let e = store.read("junk").err().unwrap().to_string();
        assert!(e.contains("not a whole snapshot"), "{e}");
        let e = store.remove("missing").unwrap_err();
        assert!(matches!(e, Error::NotFound(_)), "{e}");
    }
}
