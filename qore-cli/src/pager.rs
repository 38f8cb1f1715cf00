//! Results taller than the terminal go through a pager: `$PAGER` (run by
//! the shell, so it may hold options), else `less -SFRX` (chop long lines,
//! quit at once when it fits, keep colours, leave the screen as it was).
//! `PAGER=` (empty) or `PAGER=cat` turns it off.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::Result;

/// The terminal's height: `LINES` when set, else what the terminal says.
fn height() -> Option<usize> {
    if let Some(l) = std::env::var("LINES").ok().and_then(|l| l.parse::<usize>().ok()) {
        return Some(l);
    }
    crossterm::terminal::size()
        .ok()
        .map(|(_, rows)| usize::from(rows))
        .filter(|&r| r > 0)
}

/// Writes `text` to `out`, or through the pager when it has more lines
/// than the terminal (less a line for the prompt).
pub(crate) fn show(text: &[u8], out: &mut dyn Write) -> Result<()> {
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    let tall = height().is_some_and(|h| lines + 1 >= h);
    let pager = std::env::var("PAGER").unwrap_or_else(|_| "less -SFRX".to_string());
    if !tall || pager.trim().is_empty() || pager.trim() == "cat" {
        out.write_all(text)?;
        return Ok(());
    }
    out.flush()?;
    let child = Command::new("sh")
        .arg("-c")
        .arg(&pager)
        .stdin(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        // No pager to run: the rows still go out.
        out.write_all(text)?;
        return Ok(());
    };
    if let Some(mut stdin) = child.stdin.take() {
        // The reader quitting early (`q` in less) is not an error.
        let _ = stdin.write_all(text);
    }
    let _ = child.wait();
    Ok(())
}
