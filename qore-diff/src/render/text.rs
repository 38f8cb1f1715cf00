//! The terminal view: one line per difference, changed cells as
//! `git diff --word-diff` marks them (`[-old-]{+new+}`), in colour on a
//! terminal; and the summary.

use std::io::Write;

use futures::StreamExt;
use qore_core::{Error, Result, SendableRecordBatchStream};

use super::{Layout, rows};
use crate::output::DiffSummary;

/// How the terminal view looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours (red removed, green added).
    pub color: bool,
    /// Changed rows show their unchanged cells too.
    pub all_columns: bool,
    /// Stop after this many differences (the summary still counts all).
    pub limit: Option<u64>,
}

/// Control characters and escapes shown, never sent to the terminal.
fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn io(e: std::io::Error) -> Error {
    Error::io("writing the diff", e)
}

/// Writes every difference of `stream` to `out`; returns how many were
/// written.
///
/// # Error handling
///
/// The stream's error (after the lines written so far), or
/// [`Error::Io`]-kind errors of `out`.
pub async fn write_differences(
    mut stream: SendableRecordBatchStream,
    out: &mut dyn Write,
    o: TextOptions,
) -> Result<u64> {
    let layout = Layout::of(&stream.schema())?;
    let (red, green, dim, bold, reset) = if o.color {
        ("\x1b[31m", "\x1b[32m", "\x1b[2m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let mut written = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        for row in rows(&layout, &batch)? {
            if o.limit.is_some_and(|l| written >= l) {
                // Keep reading so that the summary counts everything.
                break;
            }
            let key = row.key.iter().map(|k| visible(k)).collect::<Vec<_>>().join(", ");
            let mut line = match row.kind {
                "added" => format!("{green}+ ({key}){reset}"),
                "removed" => format!("{red}- ({key}){reset}"),
                _ => format!("{bold}~ ({key}){reset}"),
            };
            if layout.multiset && row.copies > 1 {
                line.push_str(&format!(" ×{}", row.copies));
            }
            for ((name, _), (l, r, changed)) in layout.columns.iter().zip(&row.cells) {
                match row.kind {
                    "changed" if *changed => line.push_str(&format!(
                        "  {name}: {red}[-{}-]{reset}{green}{{+{}+}}{reset}",
                        visible(l.as_deref().unwrap_or("")),
                        visible(r.as_deref().unwrap_or(""))
                    )),
                    "changed" if o.all_columns => line.push_str(&format!(
                        "  {dim}{name}: {}{reset}",
                        visible(l.as_deref().unwrap_or(""))
                    )),
                    "changed" => {}
                    _ => line.push_str(&format!(
                        "  {name}: {}",
                        visible(l.as_deref().or(r.as_deref()).unwrap_or(""))
                    )),
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes()).map_err(io)?;
            written += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(written)
}

/// The summary as lines of text: counts, per-column changes, cost, notes.
pub fn summary_text(s: &DiffSummary, left: &str, right: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} — left {left} ({} rows), right {right} ({} rows)\n",
        if s.is_equal() { "equal" } else { "different" },
        s.left_rows,
        s.right_rows
    ));
    out.push_str(&format!(
        "{} equal, {} changed, {} added (right only), {} removed (left only)\n",
        s.equal, s.changed, s.added, s.removed
    ));
    let cols: Vec<String> = s
        .per_column
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    if !cols.is_empty() {
        out.push_str(&format!("changed cells by column: {}\n", cols.join(", ")));
    }
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    out.push_str(&format!(
        "{} in {:.3} s; read {:.1} MiB left, {:.1} MiB right",
        s.algorithm,
        s.elapsed.as_secs_f64(),
        mib(s.left_bytes),
        mib(s.right_bytes)
    ));
    if s.segments_checked > 0 {
        out.push_str(&format!(
            "; {} segments checksummed, {} rows downloaded",
            s.segments_checked, s.rows_downloaded
        ));
    }
    out.push('\n');
    for n in &s.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(visible("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
    }
}
