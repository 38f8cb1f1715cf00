//! Changes: what one edit of one row does, with the values it was made
//! against.

use qore_core::{Error, Result, TableRef, Value};
use serde::{Deserialize, Serialize};

use crate::stored;
use crate::table::IdentityKind;

/// What a change does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Sets some cells of an existing row.
    Update,
    /// Adds a row.
    Insert,
    /// Removes a row.
    Delete,
}

impl ChangeKind {
    /// `update`, `insert`, `delete`.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Update => "update",
            ChangeKind::Insert => "insert",
            ChangeKind::Delete => "delete",
        }
    }
}

/// One change of one row.
///
/// An update or delete keeps the row as it was read (`before`), the
/// engine's exact rendering of each cell (`checks`) that the statement
/// compares against to detect a concurrent change, and the row's identity
/// (`key`, `version`). An insert has only `after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Its number in its sandbox (stable: discarding one keeps the others').
    pub id: u64,
    /// The table.
    pub table: TableRef,
    /// What it does.
    pub kind: ChangeKind,
    /// How the row is addressed.
    pub identity: IdentityKind,
    /// The identity's values: key columns in key order, or the row id.
    #[serde(with = "stored::values")]
    pub key: Vec<Value>,
    /// The row's version when it was read (`xmin`), where rows have one.
    #[serde(default, with = "stored::opt_value")]
    pub version: Option<Value>,
    /// The whole row as it was read (updates and deletes).
    #[serde(default, with = "stored::cells")]
    pub before: Vec<(String, Value)>,
    /// Each cell of the row as the engine wrote it out when it was read
    /// (text, or the bytes of binary columns): what the statement compares
    /// to find out whether someone else changed the row since.
    #[serde(default, with = "stored::cells")]
    pub checks: Vec<(String, Value)>,
    /// The new values: the cells an update sets, the cells an insert gives
    /// (columns left out take their defaults).
    #[serde(default, with = "stored::cells")]
    pub after: Vec<(String, Value)>,
}

impl Change {
    /// The value `column` had when the row was read.
    pub fn before_value(&self, column: &str) -> Option<&Value> {
        self.before.iter().find(|(c, _)| c == column).map(|(_, v)| v)
    }

    /// The value this change gives `column`, if it sets it.
    pub fn after_value(&self, column: &str) -> Option<&Value> {
        self.after.iter().find(|(c, _)| c == column).map(|(_, v)| v)
    }

    /// The columns this change sets, comma-separated (the overlay's mark).
    pub fn edited_columns(&self) -> String {
        self.after
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The row as it is once the change applies: `before` with `after`
    /// laid over it (the given cells of an insert).
    pub fn row_after(&self) -> Vec<(String, Value)> {
        let mut row = self.before.clone();
        for (c, v) in &self.after {
            match row.iter_mut().find(|(rc, _)| rc == c) {
                Some(cell) => cell.1 = v.clone(),
                None => row.push((c.clone(), v.clone())),
            }
        }
        row
    }

    /// Whether `other` addresses the same existing row.
    pub(crate) fn same_row(&self, table: &TableRef, key: &[Value]) -> bool {
        self.kind != ChangeKind::Insert && &self.table == table && self.key == key
    }

    /// Sets cells of this change (an update's new values, an insert's
    /// given values), replacing earlier values of the same columns.
    pub(crate) fn set(&mut self, cells: Vec<(String, Value)>) {
        for (c, v) in cells {
            match self.after.iter_mut().find(|(ac, _)| *ac == c) {
                Some(cell) => cell.1 = v,
                None => self.after.push((c, v)),
            }
        }
    }

    /// Checks that the cells name each column once.
    pub(crate) fn check_cells(cells: &[(String, Value)]) -> Result<()> {
        for (i, (c, _)) in cells.iter().enumerate() {
            if cells[..i].iter().any(|(o, _)| o == c) {
                return Err(Error::invalid(format!("column `{c}` is set twice")));
            }
        }
        Ok(())
    }
}
