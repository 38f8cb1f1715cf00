//! Local file facts shared by everything that writes files (exports, the
//! demo): what kind of file a path is, in words for messages.
//!
//! # Example
//!
//! ```
//! let m = std::fs::metadata("/").unwrap();
//! assert_eq!(qore_core::files::kind(&m), "a directory");
//! ```

use std::os::unix::fs::FileTypeExt;

/// `a regular file`, `a directory`, `a character device`, `a block
/// device`, `a FIFO`, `a socket`, or `a special file`.
pub fn kind(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

/// QoreDB's directory under `XDG_<var>_HOME`, else under `$HOME/<fallback>`:
/// `qore` joined to the first one that is set and not empty.
fn xdg_dir(var: &str, fallback: &str, what: &str) -> crate::Result<std::path::PathBuf> {
    use std::path::PathBuf;
    let base = match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(fallback),
            None => {
                return Err(crate::Error::invalid(format!(
                    "neither {var} nor HOME is set: no place for {what}"
                )));
            }
        },
    };
    Ok(base.join("qore"))
}

/// Where QoreDB keeps what it writes for the user (audit log, sandboxes,
/// snapshots, jobs): `$XDG_DATA_HOME/qore`, else `~/.local/share/qore`.
///
/// # Error handling
///
/// [`Error::InvalidInput`](crate::Error::InvalidInput) when neither
/// `XDG_DATA_HOME` nor `HOME` is set; `what` names what needed the place.
pub fn data_dir(what: &str) -> crate::Result<std::path::PathBuf> {
    xdg_dir("XDG_DATA_HOME", ".local/share", what)
}

/// Where QoreDB keeps the user's settings (profiles, virtual relations):
/// `$XDG_CONFIG_HOME/qore`, else `~/.config/qore`.
///
/// # Error handling
///
/// [`Error::InvalidInput`](crate::Error::InvalidInput) when neither
/// `XDG_CONFIG_HOME` nor `HOME` is set.
pub fn config_dir(what: &str) -> crate::Result<std::path::PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config", what)
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or
/// the new one, never a torn one: a temporary file beside it, synced, then
/// renamed over it (and the directory synced so that the rename survives).
/// The file is readable by its owner only: it may hold data or settings.
///
/// # Error handling
///
/// [`Error::Io`](crate::Error::Io) naming the path.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> crate::Result<()> {
    use std::io::Write;
    let io = |e| crate::Error::io(format!("cannot write {}", path.display()), e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// `name` as one file name: characters other than ASCII letters, digits,
/// `-`, `_` and `.` written as `_`, no leading dot (a profile name stays
/// as it is; a URL becomes a readable file name).
///
/// ```
/// assert_eq!(qore_core::files::safe_file_name("shop-db"), "shop-db");
/// assert_eq!(qore_core::files::safe_file_name("../a b"), "_a_b");
/// ```
pub fn safe_file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.trim_start_matches('.').to_string()
}
