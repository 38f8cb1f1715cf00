//! Editing for QoreDB: the cell edits of a grid become exact SQL.
//!
//! - An [`Editor`] reads the rows a user edits ([`Editor::fetch_one`]) with
//!   their [`RowIdentity`] — primary key, else a unique NOT NULL key, else
//!   the engine's row id (`ctid` checked with `xmin`, `rowid`), else every
//!   column with one row touched at a time — and the engine's exact text of
//!   each cell, and turns edits into [`Change`]s.
//! - A [`Sandbox`] keeps changes in a file (one per profile and name),
//!   merging edits of the same row, until they are applied or discarded.
//! - A [`Plan`] is the exact list of statements an apply runs: parents
//!   inserted before children, children deleted before parents, checks of
//!   the values each edit was based on. [`Plan::script`] shows it with
//!   literals; [`apply`] runs it with bound values in one transaction and
//!   reports conflicts three-way instead of overwriting them. [`undo`]
//!   plans the way back.
//! - [`overlay::read_table`] reads a table through a sandbox: pending
//!   changes applied and marked, batch by batch.
//! - [`peek`] follows a foreign key, real or virtual, in one statement.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> qore_core::Result<()> {
//! use qore_core::{Connection, TableRef, Value};
//! use qore_sandbox::Editor;
//!
//! let conn = qore_drivers::connect("sqlite::memory:").await?;
//! conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", &[]).await?;
//! conn.execute("INSERT INTO t VALUES (1, 'ann')", &[]).await?;
//!
//! let mut editor = Editor::new(conn.as_ref())?;
//! let t = TableRef::new("t");
//! let key = editor.parse_cells(&t, &[("id".into(), "1".into())]).await?;
//! let row = editor.fetch_one(&t, &key).await?;
//! let change = editor.update(&row, vec![("name".into(), Value::Text("bob".into()))])?;
//! let plan = editor.plan(std::slice::from_ref(&change)).await?;
//! assert_eq!(
//!     plan.script(editor.dialect())?,
//!     "BEGIN;\nUPDATE \"main\".\"t\" SET \"name\" = 'bob' WHERE \"id\" = 1 AND CAST(\"name\" AS TEXT) IS 'ann';\nCOMMIT;\n"
//! );
//! let report = editor.commit_now(change).await?;
//! assert!(report.committed());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod apply;
mod change;
pub mod documents;
mod edit;
pub mod ops;
pub mod overlay;
pub mod peek;
pub mod plan;
mod sandbox;
mod stored;
mod table;

pub use apply::{ApplyMark, ApplyReport, Conflict, apply, apply_marked};
pub use change::{Change, ChangeKind};
pub use edit::{Editor, RowSnapshot};
pub use ops::{EditAction, EditOutcome, EditRequest};
pub use peek::{Direction, Peek, RelatedQuery, peek};
pub use plan::{Models, Plan, Statement, forward, undo};
pub use sandbox::{AppliedRecord, Captured, Sandbox, SandboxSummary};
pub use table::{ColumnModel, IdentityKind, RowIdentity, TableModel};
