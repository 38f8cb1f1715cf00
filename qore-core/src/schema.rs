//! The schema model every catalog fills: namespaces, tables, columns, indexes, constraints.

use arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};

/// A qualified table name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableRef {
    /// Schema, database or attached-database name; `None` for the default one.
    pub namespace: Option<String>,
    /// Table, view or collection name.
    pub name: String,
}

impl TableRef {
    /// A table in the default namespace.
    pub fn new(name: impl Into<String>) -> Self {
        TableRef {
            namespace: None,
            name: name.into(),
        }
    }

    /// A table in a named namespace.
    pub fn qualified(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        TableRef {
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// Parses `name` or `namespace.name`, with double quotes around parts
    /// that contain dots or quotes (`"a.b"."c""d"`).
    pub fn parse(input: &str) -> crate::Result<TableRef> {
        let mut parts = Vec::new();
        let mut chars = input.trim().chars().peekable();
        loop {
            let mut part = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            part.push('"');
                        }
                        Some('"') => break,
                        Some(c) => part.push(c),
                        None => {
                            return Err(crate::Error::invalid(format!(
                                "table name `{input}` has an unclosed double quote"
                            )));
                        }
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    part.push(c);
                    chars.next();
                }
            }
            if part.is_empty() {
                return Err(crate::Error::invalid(format!(
                    "table name `{input}` has an empty part"
                )));
            }
            parts.push(part);
            match chars.next() {
                None => break,
                Some('.') => continue,
                Some(c) => {
                    return Err(crate::Error::invalid(format!(
                        "table name `{input}`: unexpected `{c}` after a quoted part"
                    )));
                }
            }
        }
        match parts.len() {
            1 => Ok(TableRef::new(parts.remove(0))),
            2 => {
                let name = parts.remove(1);
                Ok(TableRef::qualified(parts.remove(0), name))
            }
            _ => Err(crate::Error::invalid(format!(
                "table name `{input}` has more than two dotted parts"
            ))),
        }
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A namespace: a PostgreSQL schema, a MySQL database, an attached SQLite file,
/// a DuckDB schema, a MongoDB database, a Redis database number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// Its name.
    pub name: String,
    /// Whether unqualified names resolve here.
    pub is_default: bool,
}

/// What kind of relation a table entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TableKind {
    /// A base table.
    Table,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// A document collection.
    Collection,
    /// A table split into partitions (PostgreSQL `PARTITION BY`).
    PartitionedTable,
    /// A foreign table (PostgreSQL FDW).
    ForeignTable,
}

impl TableKind {
    /// A short lower-case label.
    pub fn label(self) -> &'static str {
        match self {
            TableKind::Table => "table",
            TableKind::View => "view",
            TableKind::MaterializedView => "materialized view",
            TableKind::Collection => "collection",
            TableKind::PartitionedTable => "partitioned table",
            TableKind::ForeignTable => "foreign table",
        }
    }
}

/// How many rows a table holds, and how sure that number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowCount {
    /// Counted exactly.
    Exact(u64),
    /// The engine's estimate (statistics).
    Estimate(u64),
}

/// One entry of a namespace listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    /// Qualified name.
    pub table: TableRef,
    /// Table, view, ...
    pub kind: TableKind,
    /// Row count or estimate, where the engine gives one cheaply.
    pub rows: Option<RowCount>,
    /// The table comment, if any.
    pub comment: Option<String>,
    /// For a partition: the partitioned table it belongs to.
    #[serde(default)]
    pub partition_of: Option<TableRef>,
}

/// A column of a table or view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// 1-based position.
    pub ordinal: usize,
    /// The type as the engine spells it (`VARCHAR(20)`, `INTEGER`, `int4`).
    pub source_type: String,
    /// The Arrow type its values are read as.
    #[serde(skip, default = "null_type")]
    pub arrow_type: DataType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default expression, as SQL text.
    pub default: Option<String>,
    /// Generation expression of a generated column.
    pub generated: Option<String>,
    /// Position in the primary key (1-based), if part of it.
    pub primary_key: Option<usize>,
    /// The column comment, if any.
    pub comment: Option<String>,
}

fn null_type() -> DataType {
    DataType::Null
}

/// One key part of an index: a column or an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexPart {
    /// A plain column.
    Column(String),
    /// An expression, as SQL text.
    Expression(String),
}

impl std::fmt::Display for IndexPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexPart::Column(c) => f.write_str(c),
            IndexPart::Expression(e) => write!(f, "({e})"),
        }
    }
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexInfo {
    /// Index name.
    pub name: String,
    /// Key parts in order.
    pub parts: Vec<IndexPart>,
    /// Whether it enforces uniqueness.
    pub unique: bool,
    /// Whether it is the primary key's index.
    pub primary: bool,
    /// Access method (`btree`, `hash`, `art`, ...), where the engine names one.
    pub method: Option<String>,
    /// Predicate of a partial index, as SQL text.
    pub predicate: Option<String>,
    /// Full definition as SQL, where the engine keeps it.
    pub definition: Option<String>,
    /// Size on disk in bytes, where the engine reports it.
    #[serde(default)]
    pub size_bytes: Option<u64>,
}

/// A referential action of a foreign key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// NO ACTION.
    NoAction,
    /// RESTRICT.
    Restrict,
    /// CASCADE.
    Cascade,
    /// SET NULL.
    SetNull,
    /// SET DEFAULT.
    SetDefault,
}

impl FkAction {
    /// Parses the SQL spelling (`CASCADE`, `SET NULL`, `NO ACTION`, ...).
    pub fn parse(s: &str) -> Option<FkAction> {
        Some(
            match s.trim().to_ascii_uppercase().replace('_', " ").as_str() {
                "NO ACTION" | "" => FkAction::NoAction,
                "RESTRICT" => FkAction::Restrict,
                "CASCADE" => FkAction::Cascade,
                "SET NULL" => FkAction::SetNull,
                "SET DEFAULT" => FkAction::SetDefault,
                _ => return None,
            },
        )
    }

    /// The SQL spelling.
    pub fn as_sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Referencing columns, in order.
    pub columns: Vec<String>,
    /// Referenced table.
    pub target: TableRef,
    /// Referenced columns, matching `columns` one to one.
    pub target_columns: Vec<String>,
    /// ON DELETE action.
    pub on_delete: FkAction,
    /// ON UPDATE action.
    pub on_update: FkAction,
    /// Whether checking may be deferred to commit.
    pub deferrable: bool,
    /// A user-defined relation the database does not enforce (see
    /// [`Relations`](crate::relations::Relations)), not a constraint.
    #[serde(default)]
    pub is_virtual: bool,
}

/// What a constraint enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// Primary key over the columns.
    PrimaryKey {
        /// Key columns in order.
        columns: Vec<String>,
    },
    /// Uniqueness over the columns.
    Unique {
        /// Columns in order.
        columns: Vec<String>,
    },
    /// A CHECK expression.
    Check {
        /// The expression as SQL text.
        expression: String,
        /// The column it is attached to, when the engine says so.
        column: Option<String>,
    },
    /// A foreign key.
    ForeignKey(ForeignKey),
}

/// A named (or unnamed) constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    /// Constraint name, when it has one.
    pub name: Option<String>,
    /// What it enforces.
    pub kind: ConstraintKind,
}

/// Everything known about one table: what `describe` shows and what
/// [`annotate_schema`](crate::annotate_schema) reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDetails {
    /// The table's listing entry.
    pub info: TableInfo,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes, including those backing keys.
    pub indexes: Vec<IndexInfo>,
    /// Constraints: primary key, unique, check, foreign keys.
    pub constraints: Vec<Constraint>,
    /// View definition, for views.
    pub view_definition: Option<String>,
    /// Triggers on this table, by name.
    pub triggers: Vec<String>,
}

impl TableDetails {
    /// The primary key columns, in key order.
    pub fn primary_key(&self) -> Vec<&str> {
        let mut cols: Vec<_> = self
            .columns
            .iter()
            .filter_map(|c| c.primary_key.map(|p| (p, c.name.as_str())))
            .collect();
        cols.sort();
        cols.into_iter().map(|(_, n)| n).collect()
    }

    /// The foreign keys.
    pub fn foreign_keys(&self) -> impl Iterator<Item = &ForeignKey> {
        self.constraints.iter().filter_map(|c| match &c.kind {
            ConstraintKind::ForeignKey(fk) => Some(fk),
            _ => None,
        })
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }
}
