//! What the sandbox knows of a table: its columns with their types, the
//! row identity its edits address rows by, and its foreign keys.

use qore_core::arrow::array::{Array, StringArray};
use qore_core::arrow::compute::{CastOptions, cast_with_options};
use qore_core::arrow::datatypes::{DataType, Schema};
use qore_core::arrow::util::display::FormatOptions;
use qore_core::{
    ConstraintKind, Connection, Dialect, Error, ForeignKey, IndexPart, Result, TableDetails,
    TableKind, TableRef, Value,
};
use serde::{Deserialize, Serialize};

/// How rows of a table are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// The primary key (one or more columns).
    PrimaryKey,
    /// A unique key whose columns are all NOT NULL.
    UniqueKey,
    /// The engine's hidden row identity (PostgreSQL `ctid` checked with
    /// `xmin`, SQLite and DuckDB `rowid`).
    RowId,
    /// Every column compared NULL-safely, one row touched at a time: the
    /// table has no key and the engine no row identity (MySQL).
    AllColumns,
    /// A document's `_id` (MongoDB).
    DocumentId,
}

/// The identity edits of a table address its rows by; a GUI shows it
/// ("editing by all columns").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowIdentity {
    /// Which kind.
    pub kind: IdentityKind,
    /// The key columns (primary or unique key, or every column for
    /// [`IdentityKind::AllColumns`]); empty for a row id.
    pub columns: Vec<String>,
    /// Whether rows carry a version that every write changes (`xmin`).
    pub versioned: bool,
}

impl std::fmt::Display for RowIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            IdentityKind::PrimaryKey => write!(f, "primary key ({})", self.columns.join(", ")),
            IdentityKind::UniqueKey => write!(f, "unique key ({})", self.columns.join(", ")),
            IdentityKind::RowId if self.versioned => f.write_str("row id and row version"),
            IdentityKind::RowId => f.write_str("row id"),
            IdentityKind::AllColumns => f.write_str("all columns (the table has no key)"),
            IdentityKind::DocumentId => f.write_str("_id"),
        }
    }
}

/// One column as edits need it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnModel {
    /// Its name.
    pub name: String,
    /// The Arrow type its values read as.
    pub data_type: DataType,
    /// The type as the engine spells it.
    pub source_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// A default (or identity, auto-increment) the engine fills in when an
    /// INSERT leaves the column out.
    pub has_default: bool,
    /// A generated (computed) column: never written.
    pub generated: bool,
    /// An identity column that accepts an explicit value only with
    /// `OVERRIDING SYSTEM VALUE` (PostgreSQL `GENERATED ALWAYS`).
    pub always_identity: bool,
}

/// A table as edits need it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableModel {
    /// The table, qualified as the catalog names it.
    pub table: TableRef,
    /// Its columns in order.
    pub columns: Vec<ColumnModel>,
    /// How its rows are addressed.
    pub identity: RowIdentity,
    /// Its foreign keys the database enforces (virtual relations do not
    /// order statements).
    pub foreign_keys: Vec<ForeignKey>,
}

impl TableModel {
    /// Reads the table's structure from the catalog and the Arrow types of
    /// its columns from an empty read.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] for an unknown table, [`Error::InvalidInput`] for
    /// a view (edit its base table) or a table whose rows cannot be
    /// addressed, [`Error::NotSupported`] for an engine without a catalog.
    pub async fn load(conn: &dyn Connection, table: &TableRef) -> Result<TableModel> {
        let dialect = sql_dialect(conn)?;
        let details = catalog_of(conn)?.table(table).await?;
        let sql = format!(
            "SELECT * FROM {} WHERE 1 = 0",
            dialect.quote_table(&details.info.table)?
        );
        let stream = conn.query(&sql, &[]).await?;
        let schema = stream.schema();
        drop(stream);
        TableModel::from_parts(&details, &schema, dialect.as_ref())
    }

    /// Builds the model from the catalog's `details` and the `schema` a
    /// read of the table returns.
    ///
    /// # Error handling
    ///
    /// As [`TableModel::load`].
    pub fn from_parts(
        details: &TableDetails,
        schema: &Schema,
        dialect: &dyn Dialect,
    ) -> Result<TableModel> {
        let table = details.info.table.clone();
        if !matches!(
            details.info.kind,
            TableKind::Table | TableKind::PartitionedTable
        ) {
            return Err(Error::invalid(format!(
                "{table} is a {}: edit the table it reads from",
                details.info.kind.label()
            )));
        }
        let columns: Vec<ColumnModel> = details
            .columns
            .iter()
            .map(|c| {
                let data_type = schema
                    .field_with_name(&c.name)
                    .map(|f| f.data_type().clone())
                    .unwrap_or_else(|_| c.arrow_type.clone());
                let default = c.default.as_deref().unwrap_or("");
                ColumnModel {
                    name: c.name.clone(),
                    data_type,
                    source_type: c.source_type.clone(),
                    nullable: c.nullable,
                    has_default: c.default.is_some() || auto_increments(details, &c.name),
                    generated: c.generated.is_some(),
                    always_identity: default.eq_ignore_ascii_case("GENERATED ALWAYS AS IDENTITY"),
                }
            })
            .collect();
        let identity = choose_identity(details, &columns, dialect)?;
        Ok(TableModel {
            table,
            foreign_keys: details
                .foreign_keys()
                .filter(|f| !f.is_virtual)
                .cloned()
                .collect(),
            columns,
            identity,
        })
    }

    /// The column named `name`, and its position.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the table and its columns.
    pub fn column(&self, name: &str) -> Result<(usize, &ColumnModel)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{} has no column `{name}` (columns: {})",
                    self.table,
                    self.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// Checks that `cells` name columns of the table, each once, none of
    /// them generated (their values are computed, never written).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the column.
    pub fn check_writable(&self, cells: &[(String, Value)]) -> Result<()> {
        for (i, (c, _)) in cells.iter().enumerate() {
            let (_, cm) = self.column(c)?;
            if cm.generated {
                return Err(Error::invalid(format!(
                    "{}.{c} is a generated column: its value is computed, not written",
                    self.table
                )));
            }
            if cells[..i].iter().any(|(o, _)| o == c) {
                return Err(Error::invalid(format!("column `{c}` is set twice")));
            }
        }
        Ok(())
    }

    /// A value typed in by a user (`--set price=9.90`) as a value of
    /// `column`'s type, checked the way the column will take it.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the column, its type and the text when
    /// the text is not a value of that type.
    pub fn parse_value(&self, column: &str, text: &str) -> Result<Value> {
        let (_, c) = self.column(column)?;
        parse_as(text, &c.data_type).map_err(|e| {
            let why = match e {
                Error::InvalidInput(m) => m,
                other => other.to_string(),
            };
            Error::invalid(format!(
                "`{text}` is not a value of {}.{column} ({}): {why}",
                self.table, c.source_type
            ))
        })
    }
}

/// The connection's catalog.
///
/// # Error handling
///
/// [`Error::NotSupported`] for an engine without one.
pub(crate) fn catalog_of(conn: &dyn Connection) -> Result<&dyn qore_core::Catalog> {
    conn.catalog()
        .ok_or_else(|| Error::NotSupported(format!("{} has no catalog", conn.engine().name())))
}

/// The connection's dialect.
///
/// # Error handling
///
/// [`Error::NotSupported`] for an engine whose language is not SQL.
pub(crate) fn sql_dialect(conn: &dyn Connection) -> Result<std::sync::Arc<dyn Dialect>> {
    conn.dialect().ok_or_else(|| {
        Error::NotSupported(format!(
            "{} has no SQL tables to edit this way",
            conn.engine().name()
        ))
    })
}

/// Whether the catalog marks `column` auto-incremented (a default it
/// cannot spell as SQL: SQLite's INTEGER PRIMARY KEY, which aliases the
/// rowid).
fn auto_increments(details: &TableDetails, column: &str) -> bool {
    let pk = details.primary_key();
    pk.len() == 1
        && pk[0] == column
        && details
            .column(column)
            .is_some_and(|c| c.source_type.eq_ignore_ascii_case("INTEGER"))
        && details.info.kind == TableKind::Table
        && details.indexes.iter().all(|i| !i.primary)
}

fn choose_identity(
    details: &TableDetails,
    columns: &[ColumnModel],
    dialect: &dyn Dialect,
) -> Result<RowIdentity> {
    let pk: Vec<String> = details.primary_key().iter().map(|s| s.to_string()).collect();
    if !pk.is_empty() {
        return Ok(RowIdentity {
            kind: IdentityKind::PrimaryKey,
            columns: pk,
            versioned: false,
        });
    }
    let not_null = |cols: &[String]| {
        cols.iter()
            .all(|c| columns.iter().any(|m| &m.name == c && !m.nullable))
    };
    let mut candidates: Vec<Vec<String>> = details
        .constraints
        .iter()
        .filter_map(|c| match &c.kind {
            ConstraintKind::Unique { columns } => Some(columns.clone()),
            _ => None,
        })
        .chain(
            details
                .indexes
                .iter()
                .filter(|i| i.unique && i.predicate.is_none())
                .filter_map(|i| {
                    i.parts
                        .iter()
                        .map(|p| match p {
                            IndexPart::Column(c) => Some(c.clone()),
                            IndexPart::Expression(_) => None,
                        })
                        .collect::<Option<Vec<_>>>()
                }),
        )
        .filter(|cols| !cols.is_empty() && not_null(cols))
        .collect();
    candidates.sort_by_key(|c| c.len());
    if let Some(cols) = candidates.into_iter().next() {
        return Ok(RowIdentity {
            kind: IdentityKind::UniqueKey,
            columns: cols,
            versioned: false,
        });
    }
    if dialect.row_identity().is_some() {
        return Ok(RowIdentity {
            kind: IdentityKind::RowId,
            columns: Vec::new(),
            versioned: dialect.row_version_expr().is_some(),
        });
    }
    if dialect.dml_limit() {
        return Ok(RowIdentity {
            kind: IdentityKind::AllColumns,
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            versioned: false,
        });
    }
    Err(Error::invalid(format!(
        "{}: no key, and {} has neither a row id nor UPDATE ... LIMIT, so one row cannot be told from another",
        details.info.table,
        dialect.name()
    )))
}

/// `text` as a value of type `dt`: Arrow's strict cast from text (numbers,
/// decimals, booleans, dates, times, timestamps), `\x`-prefixed hex or the
/// UTF-8 bytes for binary columns, the text itself for text and for types
/// the engine parses (JSON, UUID, enums, ...).
pub(crate) fn parse_as(text: &str, dt: &DataType) -> Result<Value> {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            Ok(Value::Text(text.to_string()))
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let hex = text
                .strip_prefix("\\x")
                .or_else(|| text.strip_prefix("0x"));
            match hex {
                Some(h) => crate::stored::unhex(h)
                    .map(Value::Bytes)
                    .ok_or_else(|| Error::invalid("not an even number of hex digits")),
                None => Ok(Value::Bytes(text.as_bytes().to_vec())),
            }
        }
        DataType::Timestamp(unit, Some(_)) if !has_offset(text) => {
            // A zoned column: a time without an offset means UTC.
            let ts = parse_as(text, &DataType::Timestamp(*unit, None))?;
            match (ts, dt) {
                (Value::Timestamp { value, unit, .. }, DataType::Timestamp(_, tz)) => {
                    Ok(Value::Timestamp {
                        value,
                        unit,
                        tz: tz.clone(),
                    })
                }
                (other, _) => Ok(other),
            }
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::Struct(_)
        | DataType::Map(..)
        | DataType::FixedSizeBinary(_)
        | DataType::Interval(_)
        | DataType::Duration(_) => Ok(Value::Text(text.to_string())),
        _ => {
            let input = StringArray::from(vec![text.trim()]);
            let options = CastOptions {
                safe: false,
                format_options: FormatOptions::default(),
            };
            let cast = cast_with_options(&input, dt, &options)
                .map_err(|e| Error::invalid(e.to_string()))?;
            if cast.is_null(0) {
                return Err(Error::invalid("not a value of this type"));
            }
            Value::from_array(cast.as_ref(), 0)
        }
    }
}

fn has_offset(text: &str) -> bool {
    let t = text.trim();
    t.ends_with('Z') || t.ends_with('z') || {
        let tail = t.rsplit(['+', '-']).next().unwrap_or("");
        let sign_at = t.len().saturating_sub(tail.len() + 1);
        // An offset sign comes after the time (past `T` or a space).
        t[..sign_at].contains([':']) && tail.chars().all(|c| c.is_ascii_digit() || c == ':')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qore_core::arrow::datatypes::TimeUnit;

    #[test]
    fn typed_text_becomes_typed_values() {
        assert_eq!(parse_as("42", &DataType::Int32).unwrap(), Value::Int(42));
        assert!(parse_as("4x2", &DataType::Int32).is_err());
        assert!(parse_as("99999999999", &DataType::Int32).is_err());
        assert_eq!(parse_as("true", &DataType::Boolean).unwrap(), Value::Bool(true));
        assert_eq!(parse_as("1970-01-02", &DataType::Date32).unwrap(), Value::Date(1));
        assert!(parse_as("2024-02-30", &DataType::Date32).is_err());
        assert_eq!(
            parse_as("\\x00ff", &DataType::Binary).unwrap(),
            Value::Bytes(vec![0, 255])
        );
        assert_eq!(
            parse_as("1.50", &DataType::Decimal128(5, 2)).unwrap(),
            Value::Decimal {
                value: 150,
                precision: 5,
                scale: 2
            }
        );
        assert!(parse_as("1234.5", &DataType::Decimal128(5, 2)).is_err());
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(
            parse_as("1970-01-01 00:00:01", &utc).unwrap(),
            parse_as("1970-01-01T00:00:01+00:00", &utc).unwrap()
        );
    }
}
