//! Reading a table in key order, a page at a time: the primary key, else
//! SQLite's and DuckDB's `rowid`. Pages continue after the last key seen,
//! written as SQL literals, so a checkpoint is a handful of strings and a
//! resumed read starts exactly where the last one stopped.

use std::sync::Arc;

use qore_core::arrow::array::RecordBatch;
use qore_core::arrow::datatypes::SchemaRef;
use qore_core::{ConnectionRef, Dialect, Error, Result, TableRef, Value};

/// How to read a table in key order.
#[derive(Debug)]
pub(crate) struct KeysetPlan {
    pub(crate) table_sql: String,
    /// Key expressions, quoted.
    pub(crate) keys: Vec<String>,
    /// The key columns' names in the result.
    pub(crate) key_names: Vec<String>,
    /// The key is the hidden row identity, read as an extra first column.
    pub(crate) hidden: bool,
    pub(crate) dialect: Arc<dyn Dialect>,
    pub(crate) total: Option<u64>,
}

pub(crate) async fn keyset_plan(conn: &ConnectionRef, table: &TableRef) -> Result<Option<KeysetPlan>> {
    let Some(dialect) = conn.dialect() else { return Ok(None) };
    if conn.engine() == qore_core::Engine::MongoDb || conn.engine() == qore_core::Engine::Redis {
        return Ok(None);
    }
    let Some(catalog) = conn.catalog() else { return Ok(None) };
    let details = catalog.table_estimated(table).await?;
    let total = details.info.rows.map(|r| match r {
        qore_core::RowCount::Exact(n) | qore_core::RowCount::Estimate(n) => n,
    });
    let table_sql = dialect.quote_table(table)?;
    let pk = details.primary_key();
    if !pk.is_empty() {
        let keys = pk
            .iter()
            .map(|c| dialect.quote_identifier(c))
            .collect::<Result<Vec<_>>>()?;
        let key_names = pk.iter().map(|c| c.to_string()).collect();
        return Ok(Some(KeysetPlan { table_sql, keys, key_names, hidden: false, dialect, total }));
    }
    match dialect.row_identity() {
        Some("rowid") => Ok(Some(KeysetPlan {
            table_sql,
            keys: vec!["rowid".into()],
            key_names: vec!["qore_job_rowid_".into()],
            hidden: true,
            dialect,
            total,
        })),
        _ => Ok(None),
    }
}

impl KeysetPlan {
    pub(crate) fn page(&self, after: &[String], limit: u64) -> String {
        let select = if self.hidden {
            format!("SELECT rowid AS qore_job_rowid_, * FROM {}", self.table_sql)
        } else {
            format!("SELECT * FROM {}", self.table_sql)
        };
        let order = self.keys.join(", ");
        let filter = if after.is_empty() {
            String::new()
        } else if self.keys.len() == 1 {
            format!(" WHERE {} > {}", self.keys[0], after[0])
        } else {
            format!(" WHERE ({order}) > ({})", after.join(", "))
        };
        format!("{select}{filter} ORDER BY {order} LIMIT {limit}")
    }

    /// The key of `batch`'s last row (its columns `key_idx`) as literals.
    pub(crate) fn last_key(&self, batch: &RecordBatch, key_idx: &[usize]) -> Result<Vec<String>> {
        let last = batch.num_rows().saturating_sub(1);
        key_idx
            .iter()
            .map(|&i| {
                let v = Value::from_array(batch.column(i).as_ref(), last)?;
                if v.is_null() {
                    return Err(Error::data("a key value is NULL: the table cannot be paged by its key"));
                }
                self.dialect.literal(&v)
            })
            .collect()
    }

    /// Where the key columns are in a page's result.
    pub(crate) fn key_indices(&self, page: &qore_core::arrow::datatypes::Schema) -> Result<Vec<usize>> {
        self.key_names
            .iter()
            .map(|k| {
                page.index_of(k)
                    .map_err(|_| Error::data(format!("the key column `{k}` is not in the page's result")))
            })
            .collect()
    }

    /// The key of `batch`'s last row as literals, and the batch as written
    /// (without the hidden identity column).
    pub(crate) fn split(&self, batch: RecordBatch, key_idx: &[usize]) -> Result<(Vec<String>, RecordBatch)> {
        let key = self.last_key(&batch, key_idx)?;
        let batch = if self.hidden {
            let cols: Vec<usize> = (1..batch.num_columns()).collect();
            batch.project(&cols).map_err(|e| Error::data(format!("page: {e}")))?
        } else {
            batch
        };
        Ok((key, batch))
    }

    /// The schema of the batches [`split`](Self::split) returns for pages of
    /// schema `page`.
    pub(crate) fn visible_schema(&self, page: &SchemaRef) -> Result<SchemaRef> {
        if !self.hidden {
            return Ok(page.clone());
        }
        let cols: Vec<usize> = (1..page.fields().len()).collect();
        Ok(Arc::new(page.project(&cols).map_err(|e| Error::data(format!("page: {e}")))?))
    }

    /// `(k1, k2) > (v1, v2)` (or `k > v`): after the key `after`.
    pub(crate) fn after(&self, after: &[String]) -> String {
        if self.keys.len() == 1 {
            format!("{} > {}", self.keys[0], after[0])
        } else {
            format!("({}) > ({})", self.keys.join(", "), after.join(", "))
        }
    }

    /// `(k1, k2) <= (v1, v2)` (or `k <= v`): up to and including `upto`.
    pub(crate) fn upto(&self, upto: &[String]) -> String {
        if self.keys.len() == 1 {
            format!("{} <= {}", self.keys[0], upto[0])
        } else {
            format!("({}) <= ({})", self.keys.join(", "), upto.join(", "))
        }
    }
}
