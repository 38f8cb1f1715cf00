//! The editor: reads the rows a user edits (with what conflict checks
//! need), turns edits into [`Change`]s, and writes them at once (inline
//! edit) or into a [`Sandbox`].

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::TryStreamExt;
use qore_core::arrow::array::RecordBatch;
use qore_core::{Connection, Dialect, Error, Result, TableRef, Value};

use crate::apply::{ApplyReport, apply};
use crate::change::{Change, ChangeKind};
use crate::plan::{self, Models, Plan, check_expr};
use crate::sandbox::Sandbox;
use crate::table::{IdentityKind, TableModel, sql_dialect};

/// A row as it was read for editing: its cells, its identity, and the
/// engine's exact text of each cell.
#[derive(Debug, Clone, PartialEq)]
pub struct RowSnapshot {
    /// The table.
    pub table: TableRef,
    /// How the row is addressed.
    pub identity: IdentityKind,
    /// The identity's values.
    pub key: Vec<Value>,
    /// The row's version, where rows have one.
    pub version: Option<Value>,
    /// Every cell.
    pub cells: Vec<(String, Value)>,
    /// Every cell as the engine wrote it out (conflict checks).
    pub checks: Vec<(String, Value)>,
    /// For a table without any key: how many rows hold exactly these
    /// values (an edit touches one of them).
    pub duplicates: u64,
}

impl RowSnapshot {
    /// The cell of `column`.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.cells.iter().find(|(c, _)| c == column).map(|(_, v)| v)
    }
}

/// `a=1, b=x`: a key for messages.
fn shown(key: &[(String, Value)]) -> String {
    key.iter()
        .map(|(c, v)| format!("{c}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Edits rows of the tables of one session.
#[derive(Debug)]
pub struct Editor<'c> {
    conn: &'c dyn Connection,
    dialect: Arc<dyn Dialect>,
    models: Models,
}

impl<'c> Editor<'c> {
    /// An editor on `conn`.
    ///
    /// # Error handling
    ///
    /// [`Error::NotSupported`] for an engine without SQL tables.
    pub fn new(conn: &'c dyn Connection) -> Result<Self> {
        Ok(Editor {
            dialect: sql_dialect(conn)?,
            conn,
            models: BTreeMap::new(),
        })
    }

    /// The session's dialect.
    pub fn dialect(&self) -> &dyn Dialect {
        self.dialect.as_ref()
    }

    /// The model of `table`, read from the catalog once per editor.
    ///
    /// # Error handling
    ///
    /// As [`TableModel::load`].
    pub async fn model(&mut self, table: &TableRef) -> Result<&TableModel> {
        let key = match self.known(table) {
            Some(k) => k,
            None => {
                let m = TableModel::load(self.conn, table).await?;
                let k = m.table.clone();
                self.models.insert(k.clone(), m);
                k
            }
        };
        self.models
            .get(&key)
            .ok_or_else(|| Error::Internal("a loaded model went missing".into()))
    }

    /// The models loaded so far.
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Key cells typed in by a user (`id=5`) as values of their columns.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an unknown column or a value that is not
    /// of the column's type.
    pub async fn parse_cells(
        &mut self,
        table: &TableRef,
        cells: &[(String, String)],
    ) -> Result<Vec<(String, Value)>> {
        let m = self.model(table).await?;
        cells
            .iter()
            .map(|(c, t)| Ok((c.clone(), m.parse_value(c, t)?)))
            .collect()
    }

    /// The rows of `table` whose cells equal `key` (any columns), at most
    /// `limit`, read with their identity and checks.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an empty key or an unknown column;
    /// engine errors as they come.
    pub async fn fetch(
        &mut self,
        table: &TableRef,
        key: &[(String, Value)],
        limit: u64,
    ) -> Result<Vec<RowSnapshot>> {
        self.fetch_any(table, std::slice::from_ref(&key.to_vec()), limit)
            .await
    }

    /// The rows of a selection (a grid's checkbox column): each key must
    /// name exactly one row. One statement per 500 keys.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] naming a key that matches no row,
    /// [`Error::InvalidInput`] for one that matches several.
    pub async fn fetch_selection(
        &mut self,
        table: &TableRef,
        keys: &[Vec<(String, Value)>],
    ) -> Result<Vec<RowSnapshot>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let rows = self.fetch_any(table, chunk, chunk.len() as u64 + 1).await?;
            for key in chunk {
                let mut hits = rows.iter().filter(|r| {
                    key.iter().all(|(c, v)| r.get(c) == Some(v))
                });
                match (hits.next(), hits.next()) {
                    (Some(r), None) => out.push(r.clone()),
                    (None, _) => {
                        return Err(Error::NotFound(format!(
                            "no row of {table} has {}",
                            shown(key)
                        )));
                    }
                    (Some(_), Some(_)) => {
                        return Err(Error::invalid(format!(
                            "several rows of {table} have {}: select rows by their key",
                            shown(key)
                        )));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The rows that match any of `keys` (each: cells that must all be
    /// equal), at most `limit`.
    async fn fetch_any(
        &mut self,
        table: &TableRef,
        keys: &[Vec<(String, Value)>],
        limit: u64,
    ) -> Result<Vec<RowSnapshot>> {
        if keys.is_empty() || keys.iter().any(|k| k.is_empty()) {
            return Err(Error::invalid(
                "say which row: give at least one key column and its value",
            ));
        }
        let d = self.dialect.clone();
        let m = self.model(table).await?.clone();
        let mut select = Vec::new();
        for c in &m.columns {
            select.push(d.quote_identifier(&c.name)?);
        }
        let rowid = m.identity.kind == IdentityKind::RowId;
        if rowid {
            select.push(d.row_identity_expr().unwrap_or_default());
            if let Some(v) = d.row_version_expr() {
                select.push(v.to_string());
            }
        }
        for c in &m.columns {
            select.push(check_expr(d.as_ref(), &d.quote_identifier(&c.name)?, &c.data_type));
        }
        let mut groups = Vec::with_capacity(keys.len());
        let mut params = Vec::new();
        for key in keys {
            let mut conds = Vec::with_capacity(key.len());
            for (col, v) in key {
                let (_, cm) = m.column(col)?;
                let q = d.quote_identifier(col)?;
                if v.is_null() {
                    conds.push(format!("{q} IS NULL"));
                } else {
                    params.push(v.clone());
                    let p = d.typed_value(&d.placeholder(params.len()), &cm.source_type);
                    conds.push(format!("{q} = {p}"));
                }
            }
            groups.push(conds.join(" AND "));
        }
        let filter = if groups.len() == 1 {
            groups.remove(0)
        } else {
            format!("({})", groups.join(") OR ("))
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE {filter} {}",
            select.join(", "),
            d.quote_table(&m.table)?,
            d.limit_clause(Some(limit), None)
        );
        let batches: Vec<RecordBatch> = self
            .conn
            .query(sql.trim_end(), &params)
            .await?
            .try_collect()
            .await?;
        let n = m.columns.len();
        let extra = if rowid {
            1 + usize::from(d.row_version_expr().is_some())
        } else {
            0
        };
        let mut rows = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                let cell = |i: usize| Value::from_array(b.column(i).as_ref(), r);
                let mut cells = Vec::with_capacity(n);
                let mut checks = Vec::with_capacity(n);
                for (i, c) in m.columns.iter().enumerate() {
                    cells.push((c.name.clone(), cell(i)?));
                    checks.push((c.name.clone(), cell(n + extra + i)?));
                }
                let (key, version) = if rowid {
                    (vec![cell(n)?], if extra == 2 { Some(cell(n + 1)?) } else { None })
                } else {
                    let key = m
                        .identity
                        .columns
                        .iter()
                        .map(|k| {
                            cells
                                .iter()
                                .find(|(c, _)| c == k)
                                .map(|(_, v)| v.clone())
                                .unwrap_or(Value::Null)
                        })
                        .collect();
                    (key, None)
                };
                rows.push(RowSnapshot {
                    table: m.table.clone(),
                    identity: m.identity.kind,
                    key,
                    version,
                    cells,
                    checks,
                    duplicates: 1,
                });
            }
        }
        Ok(rows)
    }

    /// The one row of `table` whose cells equal `key`.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when no row matches; [`Error::InvalidInput`] when
    /// several do (give more key columns) — except identical rows of a
    /// table without any key, which an edit cannot tell apart anyway: one
    /// is returned, with their count in `duplicates`.
    pub async fn fetch_one(
        &mut self,
        table: &TableRef,
        key: &[(String, Value)],
    ) -> Result<RowSnapshot> {
        // Two rows tell a key that is not one; a table without a key reads
        // more, to count identical rows.
        let keyless = matches!(
            self.model(table).await?.identity.kind,
            IdentityKind::AllColumns | IdentityKind::RowId
        );
        let limit = if keyless { 1000 } else { 2 };
        let mut rows = self.fetch(table, key, limit).await?;
        let shown = || shown(key);
        match rows.len() {
            0 => Err(Error::NotFound(format!(
                "no row of {table} has {}",
                shown()
            ))),
            1 => Ok(rows.remove(0)),
            n if matches!(rows[0].identity, IdentityKind::AllColumns | IdentityKind::RowId)
                && rows.iter().all(|r| r.cells == rows[0].cells) =>
            {
                let mut r = rows.remove(0);
                r.duplicates = n as u64;
                Ok(r)
            }
            n => Err(Error::invalid(format!(
                "{}{n} rows of {table} have {}: give more key columns to pick one",
                if n as u64 >= limit { "at least " } else { "" },
                shown()
            ))),
        }
    }

    /// An update of `row` that sets `cells`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for no cell, an unknown or generated column.
    pub fn update(&self, row: &RowSnapshot, cells: Vec<(String, Value)>) -> Result<Change> {
        let m = self.loaded(&row.table)?;
        if cells.is_empty() {
            return Err(Error::invalid("an update needs at least one column to set"));
        }
        m.check_writable(&cells)?;
        Ok(self.change_of(row, ChangeKind::Update, cells))
    }

    /// A delete of `row`.
    pub fn delete(&self, row: &RowSnapshot) -> Change {
        self.change_of(row, ChangeKind::Delete, Vec::new())
    }

    /// An insert into `table` of `cells` (other columns take their
    /// defaults).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an unknown or generated column, or a
    /// table not loaded with [`Editor::model`].
    pub fn insert(&self, table: &TableRef, cells: Vec<(String, Value)>) -> Result<Change> {
        let m = self.loaded(table)?;
        m.check_writable(&cells)?;
        Ok(Change {
            id: 0,
            table: m.table.clone(),
            kind: ChangeKind::Insert,
            identity: m.identity.kind,
            key: Vec::new(),
            version: None,
            before: Vec::new(),
            checks: Vec::new(),
            after: cells,
        })
    }

    fn change_of(&self, row: &RowSnapshot, kind: ChangeKind, after: Vec<(String, Value)>) -> Change {
        Change {
            id: 0,
            table: row.table.clone(),
            kind,
            identity: row.identity,
            key: row.key.clone(),
            version: row.version.clone(),
            before: row.cells.clone(),
            checks: row.checks.clone(),
            after,
        }
    }

    /// The name a model of `table` was loaded under (models are kept by
    /// the catalog's qualified name; `table` may leave the namespace out).
    fn known(&self, table: &TableRef) -> Option<TableRef> {
        self.models
            .keys()
            .find(|t| qore_core::relations::same_table(t, table))
            .cloned()
    }

    fn loaded(&self, table: &TableRef) -> Result<&TableModel> {
        self.known(table)
            .and_then(|k| self.models.get(&k))
            .ok_or_else(|| Error::invalid(format!("{table} was not loaded by this editor")))
    }

    /// Loads the models of every table `changes` touch.
    ///
    /// # Error handling
    ///
    /// As [`Editor::model`].
    pub async fn load_for(&mut self, changes: &[Change]) -> Result<()> {
        for c in changes {
            self.model(&c.table).await?;
        }
        Ok(())
    }

    /// The plan of `changes`.
    ///
    /// # Error handling
    ///
    /// As [`plan::forward`].
    pub async fn plan(&mut self, changes: &[Change]) -> Result<Plan> {
        self.load_for(changes).await?;
        plan::forward(changes, &self.models, self.dialect.as_ref())
    }

    /// The undo plan of the last apply of `sandbox`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when the sandbox was never applied; as
    /// [`plan::undo`].
    pub async fn undo_plan(&mut self, sandbox: &Sandbox) -> Result<Plan> {
        let (changes, captured) = sandbox.undo_source();
        self.load_for(&changes).await?;
        plan::undo(&changes, &captured, &self.models, self.dialect.as_ref())
    }

    /// Writes one change at once, in its own transaction, with the same
    /// statement and the same conflict check as a sandbox apply: the
    /// "click a cell, type, Enter" path.
    ///
    /// # Error handling
    ///
    /// As [`Editor::plan`] and [`apply`]; a conflict is in the report.
    pub async fn commit_now(&mut self, change: Change) -> Result<ApplyReport> {
        let mut change = change;
        change.id = 1;
        let changes = [change];
        let plan = self.plan(&changes).await?;
        apply(self.conn, &plan, &changes, &self.models).await
    }

    /// Applies every pending change of `sandbox` in one transaction. On
    /// success the sandbox records the apply (for its undo script); on a
    /// conflict nothing is written and the sandbox keeps its changes.
    ///
    /// # Error handling
    ///
    /// As [`Editor::plan`] and [`apply`].
    pub async fn apply_sandbox(&mut self, sandbox: &mut Sandbox) -> Result<ApplyReport> {
        self.apply_sandbox_marked(sandbox, None).await
    }

    /// [`apply_sandbox`](Self::apply_sandbox) with `mark`'s statements in
    /// its transaction (see [`ApplyMark`](crate::ApplyMark)).
    ///
    /// # Error handling
    ///
    /// As [`apply_marked`](crate::apply_marked).
    pub async fn apply_sandbox_marked(
        &mut self,
        sandbox: &mut Sandbox,
        mark: Option<&crate::ApplyMark>,
    ) -> Result<ApplyReport> {
        let changes = sandbox.changes().to_vec();
        if changes.is_empty() {
            return Err(Error::invalid(format!(
                "sandbox `{}` has no pending change",
                sandbox.name()
            )));
        }
        let plan = self.plan(&changes).await?;
        let report = crate::apply_marked(self.conn, &plan, &changes, &self.models, mark).await?;
        if report.committed() {
            sandbox.mark_applied(report.captured.clone())?;
        }
        Ok(report)
    }

    /// Applies the undo of `sandbox`'s last apply, in one transaction.
    ///
    /// # Error handling
    ///
    /// As [`Editor::undo_plan`] and [`apply`].
    pub async fn apply_undo(&mut self, sandbox: &Sandbox) -> Result<ApplyReport> {
        self.apply_undo_marked(sandbox, None).await
    }

    /// [`apply_undo`](Self::apply_undo) with `mark`'s statements in its
    /// transaction.
    ///
    /// # Error handling
    ///
    /// As [`apply_marked`](crate::apply_marked).
    pub async fn apply_undo_marked(&mut self, sandbox: &Sandbox, mark: Option<&crate::ApplyMark>) -> Result<ApplyReport> {
        let Some(a) = sandbox.applied() else {
            return Err(Error::invalid(format!(
                "sandbox `{}` was never applied: there is nothing to undo",
                sandbox.name()
            )));
        };
        let plan = self.undo_plan(sandbox).await?;
        crate::apply_marked(self.conn, &plan, &a.changes, &self.models, mark).await
    }
}
