//! The sandbox file: a durable change set, one per profile and name.
//!
//! Every recorded change is written at once (atomically: a crash leaves the
//! old file or the new one), so pending edits survive the process, and a
//! change that is refused leaves the file as it was.

use std::path::{Path, PathBuf};

use qore_core::{Error, Result, TableRef, Value};
use serde::{Deserialize, Serialize};

use crate::change::{Change, ChangeKind};
use crate::stored;

const FORMAT: u32 = 1;

/// The generated values an applied change captured (keys and row ids the
/// database chose), which its undo addresses the row by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Captured {
    /// The change.
    pub change: u64,
    /// `(column or row-id expression, value)` as the database returned them.
    #[serde(with = "stored::cells")]
    pub values: Vec<(String, Value)>,
}

/// The last apply of a sandbox: its changes and what they captured, kept so
/// that the undo script can be written afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedRecord {
    /// When it committed (RFC 3339, UTC).
    pub at: String,
    /// The changes it applied.
    pub changes: Vec<Change>,
    /// The values the database generated for them.
    pub captured: Vec<Captured>,
    /// Whether the apply stopped halfway (an engine without transactions):
    /// the next apply of the remaining changes adds to this record.
    #[serde(default)]
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SandboxFile {
    format: u32,
    name: String,
    /// The target, password hidden: for messages only.
    target: String,
    next_id: u64,
    changes: Vec<Change>,
    #[serde(default)]
    applied: Option<AppliedRecord>,
}

/// One line of [`Sandbox::list`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxSummary {
    /// Its name.
    pub name: String,
    /// Its target.
    pub target: String,
    /// Pending changes.
    pub pending: usize,
    /// When its last apply committed, if ever.
    pub applied_at: Option<String>,
}

/// A named change set of one profile, kept in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Sandbox {
    path: PathBuf,
    file: SandboxFile,
}

impl Sandbox {
    /// The directory of `scope`'s sandboxes (a profile name, or a target
    /// written as a file name): `$XDG_DATA_HOME/qore/sandboxes/<scope>`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when no data directory is known.
    pub fn dir(scope: &str) -> Result<PathBuf> {
        Ok(qore_core::files::data_dir("sandboxes")?
            .join("sandboxes")
            .join(qore_core::files::safe_file_name(scope)))
    }

    /// The file of sandbox `name` of `scope`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a name that is not a plain file name
    /// (letters, digits, `-`, `_`, `.`), or no data directory.
    pub fn path_of(scope: &str, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(Sandbox::dir(scope)?.join(format!("{name}.json")))
    }

    /// Opens the sandbox stored at `path`, or a new empty one (written on
    /// its first change).
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the file cannot be read; [`Error::InvalidData`]
    /// naming the file when it is not a sandbox of this version.
    pub fn open(path: &Path, name: &str, target: &str) -> Result<Sandbox> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let file: SandboxFile = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::data(format!("{} is not a sandbox file: {e}", path.display()))
                })?;
                if file.format != FORMAT {
                    return Err(Error::data(format!(
                        "{} is a sandbox of format {}, this qore reads format {FORMAT}",
                        path.display(),
                        file.format
                    )));
                }
                Ok(Sandbox {
                    path: path.to_path_buf(),
                    file,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Sandbox {
                path: path.to_path_buf(),
                file: SandboxFile {
                    format: FORMAT,
                    name: name.to_string(),
                    target: target.to_string(),
                    next_id: 1,
                    changes: Vec::new(),
                    applied: None,
                },
            }),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// Every sandbox of `scope`, by name.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the directory cannot be read; a file that is not
    /// a sandbox is an error naming it.
    pub fn list(scope: &str) -> Result<Vec<SandboxSummary>> {
        let dir = Sandbox::dir(scope)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let s = Sandbox::open(&path, name, "")?;
            out.push(s.summary());
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Its summary line.
    pub fn summary(&self) -> SandboxSummary {
        SandboxSummary {
            name: self.file.name.clone(),
            target: self.file.target.clone(),
            pending: self.file.changes.len(),
            applied_at: self.file.applied.as_ref().map(|a| a.at.clone()),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pending changes, in the order they were first made.
    pub fn changes(&self) -> &[Change] {
        &self.file.changes
    }

    /// What an undo works on, with what was captured for it: the changes
    /// of the last apply once nothing is pending, else the pending changes
    /// (whose undo is written before they are applied).
    pub fn undo_source(&self) -> (Vec<Change>, Vec<Captured>) {
        match &self.file.applied {
            Some(a) if self.file.changes.is_empty() => (a.changes.clone(), a.captured.clone()),
            _ => (self.file.changes.clone(), Vec::new()),
        }
    }

    /// The last apply, if any.
    pub fn applied(&self) -> Option<&AppliedRecord> {
        self.file.applied.as_ref()
    }

    /// Records a change and writes the file. A change of a row that
    /// already has one merges into it: two updates become one (and vanish
    /// when every cell is back to its original value), an update then a
    /// delete becomes the delete of the original row.
    ///
    /// Returns the number of the change that now holds the edit.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an edit of a row this sandbox deletes,
    /// or a column set twice; the file is unchanged. [`Error::Io`] when the
    /// file cannot be written (the change is not recorded).
    pub fn record(&mut self, mut change: Change) -> Result<u64> {
        Change::check_cells(&change.after)?;
        let mut next = self.file.clone();
        let existing = next
            .changes
            .iter()
            .position(|c| change.kind != ChangeKind::Insert && c.same_row(&change.table, &change.key));
        let id = match existing {
            None => {
                change.id = next.next_id;
                next.next_id += 1;
                let id = change.id;
                next.changes.push(change);
                id
            }
            Some(i) => {
                let old = &mut next.changes[i];
                match (old.kind, change.kind) {
                    (ChangeKind::Delete, _) => {
                        return Err(Error::invalid(format!(
                            "this row of {} is deleted in the sandbox (change #{}): discard that change first",
                            old.table, old.id
                        )));
                    }
                    (ChangeKind::Update, ChangeKind::Update) => {
                        old.set(change.after);
                        let id = old.id;
                        let unchanged = old
                            .after
                            .iter()
                            .all(|(c, v)| old.before_value(c) == Some(v));
                        if unchanged {
                            next.changes.remove(i);
                        }
                        id
                    }
                    (ChangeKind::Update, ChangeKind::Delete) => {
                        old.kind = ChangeKind::Delete;
                        old.after.clear();
                        old.id
                    }
                    _ => {
                        return Err(Error::Internal(
                            "an insert matched an existing row".into(),
                        ));
                    }
                }
            }
        };
        self.commit(next)?;
        Ok(id)
    }

    /// Sets cells of a pending insert (a GUI editing a new row).
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when `id` is not a pending insert.
    pub fn edit_insert(&mut self, id: u64, cells: Vec<(String, Value)>) -> Result<()> {
        Change::check_cells(&cells)?;
        let mut next = self.file.clone();
        let change = next
            .changes
            .iter_mut()
            .find(|c| c.id == id && c.kind == ChangeKind::Insert)
            .ok_or_else(|| Error::NotFound(format!("no pending insert #{id}")))?;
        change.set(cells);
        self.commit(next)
    }

    /// Drops one pending change (the row goes back to what the database
    /// holds).
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when there is no change `id`.
    pub fn discard(&mut self, id: u64) -> Result<Change> {
        let mut next = self.file.clone();
        let i = next
            .changes
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| {
                Error::NotFound(format!("sandbox `{}` has no change #{id}", self.file.name))
            })?;
        let change = next.changes.remove(i);
        self.commit(next)?;
        Ok(change)
    }

    /// Drops every pending change and the record of the last apply, and
    /// removes the file.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the file cannot be removed.
    pub fn discard_all(&mut self) -> Result<usize> {
        let n = self.file.changes.len();
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::io(
                    format!("cannot remove {}", self.path.display()),
                    e,
                ));
            }
        }
        self.file.changes.clear();
        self.file.applied = None;
        Ok(n)
    }

    /// Moves the pending changes to the record of the last apply, with what
    /// they captured, and writes the file.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the file cannot be written.
    pub fn mark_applied(&mut self, captured: Vec<Captured>) -> Result<()> {
        let ids: Vec<u64> = self.file.changes.iter().map(|c| c.id).collect();
        self.mark_applied_some(&ids, captured)
    }

    /// Moves the changes `ids` to the record of the last apply (added to
    /// it when that apply stopped halfway), and writes the file; the apply
    /// is complete when no change is left pending.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the file cannot be written.
    pub fn mark_applied_some(&mut self, ids: &[u64], captured: Vec<Captured>) -> Result<()> {
        let mut next = self.file.clone();
        let (done, left): (Vec<Change>, Vec<Change>) = std::mem::take(&mut next.changes)
            .into_iter()
            .partition(|c| ids.contains(&c.id));
        next.changes = left;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let partial = !next.changes.is_empty();
        let record = match next.applied.take() {
            Some(mut r) if r.partial => {
                r.changes.extend(done);
                r.captured.extend(captured);
                r.partial = partial;
                r.at = qore_core::calendar::rfc3339_utc(now);
                r
            }
            _ => AppliedRecord {
                at: qore_core::calendar::rfc3339_utc(now),
                changes: done,
                captured,
                partial,
            },
        };
        next.applied = Some(record);
        self.commit(next)
    }

    fn commit(&mut self, next: SandboxFile) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&next)
            .map_err(|e| Error::Internal(format!("a sandbox does not serialize: {e}")))?;
        qore_core::files::write_atomic(&self.path, &bytes)?;
        self.file = next;
        Ok(())
    }

    /// The pending changes of `table` (named with or without its
    /// namespace).
    pub fn changes_of<'a>(&'a self, table: &'a TableRef) -> impl Iterator<Item = &'a Change> {
        self.file
            .changes
            .iter()
            .filter(move |c| qore_core::relations::same_table(&c.table, table))
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::invalid(format!(
            "`{name}` is not a sandbox name: use letters, digits, `-`, `_` and `.`"
        )));
    }
    Ok(())
}
