//! Writing an export to a path: temporary file and rename for regular
//! files, in place for devices and FIFOs.

use std::path::Path;

use qore_core::{Error, Result, SendableRecordBatchStream};

use crate::{ExportOptions, Progress, Summary, export_to_writer};

/// Exports `stream` to `path`.
///
/// - A regular file (new or existing) is written to a temporary file in the
///   same directory and renamed over `path` only once complete. A replaced
///   file keeps its permission bits and, where the process may set them,
///   its owner and group; a new file gets `0666` minus the umask, like any
///   other program's output.
/// - A symbolic link is followed: the link stays and its target is replaced
///   as above.
/// - A character device (`/dev/null`, a terminal) or a FIFO is written
///   directly: it cannot be replaced, and a reader may be waiting on it.
///   Opening a FIFO waits for its reader.
/// - Other special files (block devices, sockets, directories) are refused.
///
/// # Error handling
///
/// [`Error::Io`] naming the path when the directory is not writable;
/// [`Error::InvalidInput`] for a path that is a directory, a block device,
/// a socket or a dangling symbolic link; any error of the stream or the
/// sink. In every error case, and when the future is dropped, the temporary
/// file is removed and `path` untouched.
pub async fn export_to_path<F>(
    stream: SendableRecordBatchStream,
    path: &Path,
    options: &ExportOptions,
    progress: F,
) -> Result<Summary>
where
    F: FnMut(&Progress),
{
    let out = OutputPath::create(path)?;
    let summary = export_to_writer(stream, Box::new(out.writer()?), options, progress).await?;
    out.commit()?;
    Ok(summary)
}

/// A path being written the way [`export_to_path`] writes one: a regular
/// file through a temporary file in its directory, renamed over it by
/// [`commit`](OutputPath::commit) (keeping a replaced file's mode, owner
/// and group); a character device or FIFO directly. Dropped without a
/// commit, the temporary file is removed and the path left as it was.
/// Every command that writes a file (`qore erd -o`, `qore diff -o`) goes
/// through it, so none can replace `/dev/null` or a symbolic link.
#[derive(Debug)]
pub struct OutputPath {
    direct: Option<std::fs::File>,
    temp: Option<(tempfile::NamedTempFile, std::path::PathBuf)>,
}

impl OutputPath {
    /// Prepares writing `path`.
    ///
    /// # Error handling
    ///
    /// As [`export_to_path`]: [`Error::Io`] naming the path when the
    /// directory is not writable, [`Error::InvalidInput`] for a directory, a
    /// block device, a socket or a dangling symbolic link.
    pub fn create(path: &Path) -> Result<OutputPath> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
        let existing = match std::fs::metadata(path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::fs::symlink_metadata(path).is_ok() {
                    return Err(Error::invalid(format!(
                        "`{}` is a symbolic link to a file that does not exist",
                        path.display()
                    )));
                }
                None
            }
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        if let Some(m) = &existing {
            let t = m.file_type();
            if t.is_char_device() || t.is_fifo() {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
                return Ok(OutputPath {
                    direct: Some(file),
                    temp: None,
                });
            }
            if !t.is_file() {
                return Err(Error::invalid(format!(
                    "`{}` is {}; only regular files, character devices and FIFOs are written",
                    path.display(),
                    qore_core::files::kind(m)
                )));
            }
        }
        // Through a symbolic link, the file it points to is the one replaced.
        let target = if existing.is_some() {
            std::fs::canonicalize(path)
                .map_err(|e| Error::io(format!("cannot resolve {}", path.display()), e))?
        } else {
            path.to_path_buf()
        };
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("export");
        let mode = existing
            .as_ref()
            .map_or(0o666, |m| m.permissions().mode() & 0o7777);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            // Created with this mode minus the umask; an existing file's mode is
            // set exactly below.
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile_in(&dir)
            .map_err(|e| Error::io(format!("cannot create a file in {}", dir.display()), e))?;
        if let Some(m) = &existing {
            let f = tmp.as_file();
            // The owner only changes for root; the group also for a member.
            // Failing to keep them is not worth failing the write: the data
            // is the user's and the mode is kept.
            if f.metadata()
                .is_ok_and(|t| t.uid() != m.uid() || t.gid() != m.gid())
            {
                let _ = std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid()));
                let _ = std::os::unix::fs::fchown(f, None, Some(m.gid()));
            }
            f.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| {
                    Error::io(
                        format!("cannot set the mode of {}", tmp.path().display()),
                        e,
                    )
                })?;
        }
        Ok(OutputPath {
            direct: None,
            temp: Some((tmp, target)),
        })
    }

    /// A handle to write the output through.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the file cannot be opened again.
    pub fn writer(&self) -> Result<std::fs::File> {
        match (&self.direct, &self.temp) {
            (Some(f), _) => f
                .try_clone()
                .map_err(|e| Error::io("cannot open the output again", e)),
            (None, Some((tmp, _))) => tmp
                .reopen()
                .map_err(|e| Error::io(format!("cannot open {}", tmp.path().display()), e)),
            (None, None) => Err(Error::Internal("an output path without a file".into())),
        }
    }

    /// Syncs the temporary file and renames it over the path (nothing to
    /// do for a device or FIFO).
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when syncing or renaming fails; the path is then left
    /// as it was.
    pub fn commit(self) -> Result<()> {
        let Some((tmp, target)) = self.temp else {
            return Ok(());
        };
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(format!("cannot sync {}", tmp.path().display()), e))?;
        tmp.persist(&target).map_err(|e| {
            Error::io(
                format!("cannot move the output to {}", target.display()),
                e.error,
            )
        })?;
        Ok(())
    }
}
