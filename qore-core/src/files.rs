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
