//! SQLite values to Arrow.
//!
//! SQLite types values, not columns, so a column's Arrow type is chosen from
//! its declared type by SQLite's own affinity rules, then checked against the
//! values of the first batch:
//!
//! | declared type (SQLite rule, in order) | affinity | Arrow type |
//! |---|---|---|
//! | contains `BOOL` | numeric | `Boolean` (0 and 1 only) |
//! | contains `INT` | INTEGER | `Int64` |
//! | contains `CHAR`, `CLOB` or `TEXT` | TEXT | `Utf8` |
//! | contains `BLOB` | BLOB | `Binary` |
//! | contains `REAL`, `FLOA` or `DOUB` | REAL | `Float64` |
//! | `DATE`, `TIME`, `DATETIME`, `TIMESTAMP`, `JSON` | NUMERIC | `Utf8` (SQLite stores them as text) |
//! | anything else (`NUMERIC`, `DECIMAL(10,2)`, ...) | NUMERIC | `Float64` |
//! | none (expressions, `typeof`-less columns) | BLOB | from the first batch's values |
//!
//! When the first batch holds values that do not fit (SQLite accepts any value
//! in any column), the column is widened without loss: `Boolean` → `Int64`,
//! integers with reals → `Float64` (if every integer is exact in a double),
//! anything with text → `Utf8`, text with blobs → `Binary`. After the first
//! batch the type is fixed; a later value is converted only when that is exact
//! (an integer into `Float64`, a number into `Utf8` as its decimal text, text
//! into `Binary` as its UTF-8 bytes) and is otherwise an error that names the
//! column and row, never a silent change.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, NullArray,
    StringBuilder,
};
use arrow::datatypes::DataType;
use qore_core::{Error, Result};
use rusqlite::types::ValueRef;

/// The Arrow type of a declared SQLite column type; `None` when undeclared.
pub fn arrow_type_for_decl(decl: Option<&str>) -> Option<DataType> {
    let d = decl?.trim().to_ascii_uppercase();
    if d.is_empty() {
        return None;
    }
    Some(if d.contains("BOOL") {
        DataType::Boolean
    } else if d.contains("INT") {
        DataType::Int64
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        DataType::Utf8
    } else if d.contains("BLOB") {
        DataType::Binary
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        DataType::Float64
    } else if d.starts_with("DATE") || d.starts_with("TIME") || d.starts_with("JSON") {
        DataType::Utf8
    } else {
        DataType::Float64
    })
}

/// Which storage classes the first batch showed in one column.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Seen {
    int: bool,
    inexact_int: bool,
    non_bool_int: bool,
    real: bool,
    text: bool,
    blob: bool,
}

impl Seen {
    pub(crate) fn add(&mut self, v: ValueRef<'_>) {
        match v {
            ValueRef::Null => {}
            ValueRef::Integer(i) => {
                self.int = true;
                self.inexact_int |= i.unsigned_abs() > (1u64 << 53);
                self.non_bool_int |= !(i == 0 || i == 1);
            }
            ValueRef::Real(_) => self.real = true,
            ValueRef::Text(_) => self.text = true,
            ValueRef::Blob(_) => self.blob = true,
        }
    }

    /// The type to use given the declared one (or none) and what was seen.
    pub(crate) fn resolve(&self, declared: Option<DataType>) -> DataType {
        let from_values = if self.blob {
            DataType::Binary
        } else if self.text {
            DataType::Utf8
        } else if self.real && self.int {
            if self.inexact_int {
                DataType::Utf8
            } else {
                DataType::Float64
            }
        } else if self.real {
            DataType::Float64
        } else if self.int {
            DataType::Int64
        } else {
            DataType::Null
        };
        let Some(declared) = declared else {
            // Nothing but NULLs: text is the type any later value can take.
            return if from_values == DataType::Null {
                DataType::Utf8
            } else {
                from_values
            };
        };
        let fits = match (&declared, &from_values) {
            (_, DataType::Null) => true,
            (DataType::Boolean, DataType::Int64) => !self.non_bool_int,
            (DataType::Int64, DataType::Int64) => true,
            (DataType::Float64, DataType::Int64 | DataType::Float64) => !self.inexact_int,
            (DataType::Utf8, DataType::Int64 | DataType::Float64 | DataType::Utf8) => true,
            (DataType::Binary, _) => true,
            _ => false,
        };
        if fits {
            declared
        } else if declared == DataType::Boolean && from_values == DataType::Int64 {
            DataType::Int64
        } else if from_values == DataType::Binary || declared == DataType::Binary {
            DataType::Binary
        } else if declared == DataType::Int64
            && from_values == DataType::Float64
            && !self.inexact_int
        {
            DataType::Float64
        } else {
            DataType::Utf8
        }
    }
}

/// Appends SQLite values to one Arrow column.
pub(crate) enum ColumnBuilder {
    Null(usize),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
    Blob(BinaryBuilder),
}

impl ColumnBuilder {
    pub(crate) fn new(dt: &DataType, capacity: usize) -> Self {
        match dt {
            DataType::Boolean => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            DataType::Int64 => ColumnBuilder::Int(Int64Builder::with_capacity(capacity)),
            DataType::Float64 => ColumnBuilder::Float(Float64Builder::with_capacity(capacity)),
            DataType::Binary => {
                ColumnBuilder::Blob(BinaryBuilder::with_capacity(capacity, capacity * 16))
            }
            DataType::Null => ColumnBuilder::Null(0),
            _ => ColumnBuilder::Text(StringBuilder::with_capacity(capacity, capacity * 16)),
        }
    }

    /// Appends one value, converting only when exact.
    pub(crate) fn append(&mut self, v: ValueRef<'_>, column: &str, row: u64) -> Result<()> {
        let mismatch = |what: &str, to: &str| {
            Error::data(format!(
                "column `{column}` row {row}: a {what} value cannot be read as {to} without loss; \
                 CAST the column in the query (for example CAST(\"{column}\" AS TEXT))"
            ))
        };
        match self {
            ColumnBuilder::Null(n) => match v {
                ValueRef::Null => *n += 1,
                _ => return Err(mismatch(kind(v), "NULL")),
            },
            ColumnBuilder::Bool(b) => match v {
                ValueRef::Null => b.append_null(),
                ValueRef::Integer(0) => b.append_value(false),
                ValueRef::Integer(1) => b.append_value(true),
                other => return Err(mismatch(kind(other), "a boolean")),
            },
            ColumnBuilder::Int(b) => match v {
                ValueRef::Null => b.append_null(),
                ValueRef::Integer(i) => b.append_value(i),
                other => return Err(mismatch(kind(other), "an integer")),
            },
            ColumnBuilder::Float(b) => match v {
                ValueRef::Null => b.append_null(),
                ValueRef::Real(f) => b.append_value(f),
                ValueRef::Integer(i) if i.unsigned_abs() <= (1u64 << 53) => {
                    b.append_value(i as f64)
                }
                other => return Err(mismatch(kind(other), "a double")),
            },
            ColumnBuilder::Text(b) => match v {
                ValueRef::Null => b.append_null(),
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(s) => b.append_value(s),
                    Err(_) => return Err(mismatch("non-UTF-8 TEXT", "text")),
                },
                ValueRef::Integer(i) => b.append_value(i.to_string()),
                ValueRef::Real(f) => b.append_value(format!("{f:?}")),
                ValueRef::Blob(x) => match std::str::from_utf8(x) {
                    Ok(s) => b.append_value(s),
                    Err(_) => return Err(mismatch("BLOB", "text")),
                },
            },
            ColumnBuilder::Blob(b) => match v {
                ValueRef::Null => b.append_null(),
                ValueRef::Blob(x) | ValueRef::Text(x) => b.append_value(x),
                ValueRef::Integer(i) => b.append_value(i.to_string()),
                ValueRef::Real(f) => b.append_value(format!("{f:?}")),
            },
        }
        Ok(())
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Null(n) => {
                let a = Arc::new(NullArray::new(*n));
                *n = 0;
                a
            }
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Blob(b) => Arc::new(b.finish()),
        }
    }

    /// Bytes held so far, to cut batches of very wide rows early.
    pub(crate) fn size(&self) -> usize {
        match self {
            ColumnBuilder::Null(_) => 0,
            ColumnBuilder::Bool(b) => b.len() / 8,
            ColumnBuilder::Int(b) => b.len() * 8,
            ColumnBuilder::Float(b) => b.len() * 8,
            ColumnBuilder::Text(b) => b.values_slice().len() + b.len() * 4,
            ColumnBuilder::Blob(b) => b.values_slice().len() + b.len() * 4,
        }
    }
}

fn kind(v: ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "INTEGER",
        ValueRef::Real(_) => "REAL",
        ValueRef::Text(_) => "TEXT",
        ValueRef::Blob(_) => "BLOB",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_rules() {
        let t = |d: &str| arrow_type_for_decl(Some(d));
        assert_eq!(t("INTEGER"), Some(DataType::Int64));
        assert_eq!(t("unsigned big int"), Some(DataType::Int64));
        assert_eq!(t("VARCHAR(20)"), Some(DataType::Utf8));
        assert_eq!(t("CLOB"), Some(DataType::Utf8));
        assert_eq!(t("BLOB"), Some(DataType::Binary));
        assert_eq!(t("DOUBLE PRECISION"), Some(DataType::Float64));
        assert_eq!(t("DECIMAL(10,2)"), Some(DataType::Float64));
        assert_eq!(t("BOOLEAN"), Some(DataType::Boolean));
        assert_eq!(t("DATETIME"), Some(DataType::Utf8));
        // SQLite's rule order: "INT" wins over "CHAR" in "CHARINT".
        assert_eq!(t("CHARINT"), Some(DataType::Int64));
        assert_eq!(t(""), None);
        assert_eq!(arrow_type_for_decl(None), None);
    }

    #[test]
    fn widening() {
        let mut s = Seen::default();
        s.add(ValueRef::Integer(5));
        s.add(ValueRef::Text(b"x"));
        assert_eq!(s.resolve(Some(DataType::Int64)), DataType::Utf8);
        let mut s = Seen::default();
        s.add(ValueRef::Integer(2));
        assert_eq!(s.resolve(Some(DataType::Boolean)), DataType::Int64);
        let mut s = Seen::default();
        s.add(ValueRef::Real(1.5));
        assert_eq!(s.resolve(Some(DataType::Int64)), DataType::Float64);
        assert_eq!(Seen::default().resolve(None), DataType::Utf8);
    }
}
