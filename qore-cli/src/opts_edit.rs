//! Options of the editing commands: `edit`, `sandbox`, `peek`, `relation`.

use crate::opts::{DbArg, Format};

/// `COLUMN=VALUE`.
fn cell(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((c, v)) if !c.is_empty() => Ok((c.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not COLUMN=VALUE")),
    }
}

/// Options of `qore edit`.
#[derive(Debug, Clone, clap::Args)]
pub struct EditArgs {
    /// Where to connect.
    #[command(flatten)]
    pub db: DbArg,
    /// The table (`name` or `schema.name`).
    pub table: String,
    /// A cell that names the row, `COLUMN=VALUE` (repeat for a composite
    /// key); any columns, as long as they match exactly one row.
    #[arg(long = "key", short = 'k', value_parser = cell)]
    pub key: Vec<(String, String)>,
    /// A cell to set (update) or give (insert), `COLUMN=VALUE`, checked
    /// against the column's type.
    #[arg(long = "set", short = 's', value_parser = cell)]
    pub set: Vec<(String, String)>,
    /// A column to set to NULL.
    #[arg(long = "null")]
    pub null: Vec<String>,
    /// Insert a row with the --set cells (other columns take their defaults).
    #[arg(long, conflicts_with = "delete")]
    pub insert: bool,
    /// Delete the row the key names.
    #[arg(long)]
    pub delete: bool,
    /// Record the edit in this sandbox instead of writing it now.
    #[arg(long)]
    pub sandbox: Option<String>,
}

/// `qore sandbox` actions.
#[derive(Debug, clap::Subcommand)]
pub enum SandboxAction {
    /// List the sandboxes of a connection.
    Ls {
        /// Where to connect (whose sandboxes).
        #[command(flatten)]
        db: DbArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show a sandbox's pending changes.
    Show {
        /// Where to connect (whose sandbox).
        #[command(flatten)]
        db: DbArg,
        /// The sandbox (default: `default`).
        name: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print the migration script: exactly the statements apply runs.
    Script {
        /// Where to connect.
        #[command(flatten)]
        db: DbArg,
        /// The sandbox (default: `default`).
        name: Option<String>,
        /// The script that undoes the last apply (or the pending changes).
        #[arg(long)]
        undo: bool,
    },
    /// Apply the pending changes in one transaction; a conflict writes
    /// nothing and is reported.
    Apply {
        /// Where to connect.
        #[command(flatten)]
        db: DbArg,
        /// The sandbox (default: `default`).
        name: Option<String>,
        /// Apply the undo of the last apply instead.
        #[arg(long)]
        undo: bool,
    },
    /// Discard pending changes: one (--change) or all (and the sandbox).
    Discard {
        /// Where to connect (whose sandbox).
        #[command(flatten)]
        db: DbArg,
        /// The sandbox (default: `default`).
        name: Option<String>,
        /// Only this change (its number in `sandbox show`).
        #[arg(long)]
        change: Option<u64>,
    },
}

/// Options of `qore peek`.
#[derive(Debug, Clone, clap::Args)]
pub struct PeekArgs {
    /// Where to connect.
    #[command(flatten)]
    pub db: DbArg,
    /// The table of the row.
    pub table: String,
    /// A cell that names the row, `COLUMN=VALUE` (repeat for a composite key).
    #[arg(long = "key", short = 'k', value_parser = cell, required = true)]
    pub key: Vec<(String, String)>,
    /// The foreign-key column to follow (real or virtual). With
    /// --referencing: the name of the relation to follow back (default: all).
    pub column: Option<String>,
    /// Show the rows that refer to this row instead.
    #[arg(long)]
    pub referencing: bool,
    /// Rows to show per relation.
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `qore relation` actions.
#[derive(Debug, clap::Subcommand)]
pub enum RelationAction {
    /// Add a virtual relation (a foreign key the database does not
    /// enforce), checked against the catalog.
    Add {
        /// Where to connect (whose relations).
        #[command(flatten)]
        db: DbArg,
        /// Its name.
        name: String,
        /// The referencing side, `TABLE(COLUMN[, COLUMN...])`.
        #[arg(long)]
        from: String,
        /// The referenced side, `TABLE(COLUMN[, COLUMN...])`.
        #[arg(long)]
        to: String,
        /// one-to-one, many-to-one, one-to-many or many-to-many.
        #[arg(long)]
        cardinality: Option<String>,
        /// Replace a relation of that name.
        #[arg(long)]
        force: bool,
    },
    /// List the virtual relations.
    Ls {
        /// Where to connect (whose relations).
        #[command(flatten)]
        db: DbArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove a virtual relation.
    Rm {
        /// Where to connect (whose relations).
        #[command(flatten)]
        db: DbArg,
        /// Its name.
        name: String,
    },
}
