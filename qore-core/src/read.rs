//! Opening a result the way every frontend does: a statement or a whole
//! table, with the table's structure from the catalog in the result's
//! field metadata.

use std::sync::Arc;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::metadata::annotate_schema;
use crate::schema::{RowCount, TableDetails, TableRef};
use crate::sql::{Flavor, single_table_source, split_statements_in};
use crate::stream::{SendableRecordBatchStream, WithSchema};

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One statement in the engine's language.
    Statement(String),
    /// Every row of a table or collection.
    Table(TableRef),
}

impl Source {
    /// The statement, or `None` for a table.
    pub fn statement(&self) -> Option<&str> {
        match self {
            Source::Statement(s) => Some(s),
            Source::Table(_) => None,
        }
    }

    /// The table the rows come from: the named one, or the only table of
    /// a plain `SELECT ... FROM t`.
    pub fn table(&self) -> Option<TableRef> {
        match self {
            Source::Statement(s) => single_table_source(s),
            Source::Table(t) => Some(t.clone()),
        }
    }
}

/// A result being read, with what the catalog said about its table.
pub struct Opened {
    /// The rows; the schema carries the table's column facts when known.
    pub stream: SendableRecordBatchStream,
    /// The source table's structure, when the result reads one table and
    /// the engine has a catalog.
    pub details: Option<TableDetails>,
    /// How many rows to expect: the table's count or estimate, for a whole table.
    pub expected_rows: Option<u64>,
    /// The statement that runs: the one given, or the engine's query of
    /// the whole table.
    pub statement: String,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("schema", &self.stream.schema())
            .field("details", &self.details.as_ref().map(|d| &d.info.table))
            .field("expected_rows", &self.expected_rows)
            .field("statement", &self.statement)
            .finish()
    }
}

/// Runs `source` on `conn`. With `describe`, the source table is looked up
/// in the catalog first (a session runs one statement at a time, so not
/// while the result streams) and its column facts (keys, indexes, foreign
/// keys) go into the result's field metadata. A table that the catalog
/// cannot describe is read without them.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a statement that is empty or holds several
/// statements; the engine's errors as they come.
pub async fn open(conn: &dyn Connection, source: &Source, describe: bool) -> Result<Opened> {
    if let Source::Statement(sql) = source {
        match split_statements_in(sql, Flavor::of(conn.engine())).len() {
            1 => {}
            0 => return Err(Error::invalid("no statement given")),
            n => {
                return Err(Error::invalid(format!(
                    "one statement is read at a time ({n} given)"
                )));
            }
        }
    }
    let details = match (describe, source.table(), conn.catalog()) {
        (true, Some(table), Some(catalog)) => catalog.table(&table).await.ok(),
        _ => None,
    };
    let expected_rows = match (source, &details) {
        (Source::Table(_), Some(d)) => d.info.rows.map(|r| match r {
            RowCount::Exact(n) | RowCount::Estimate(n) => n,
        }),
        _ => None,
    };
    let statement = match source {
        Source::Statement(sql) => sql.clone(),
        Source::Table(t) => conn.table_query(t)?,
    };
    let mut stream = conn.query(&statement, &[]).await?;
    if let Some(d) = &details {
        let schema = Arc::new(annotate_schema(&stream.schema(), d));
        stream = Box::pin(WithSchema::new(schema, stream)?);
    }
    Ok(Opened {
        stream,
        details,
        expected_rows,
        statement,
    })
}
