//! Whole operations as a frontend asks for them, with values as the user
//! typed them: edit one row (at once or into a sandbox), write a sandbox's
//! script, peek along a relation, add a virtual relation. The CLI calls one
//! of these per command; a GUI calls the same.

use qore_core::relations::{Relation, Relations, VirtualRelation};
use qore_core::{Connection, Error, Result, TableRef, Value};

use crate::apply::ApplyReport;
use crate::change::Change;
use crate::documents;
use crate::edit::Editor;
use crate::peek::{self, Direction, Peek};
use crate::sandbox::Sandbox;
use crate::table::RowIdentity;

/// What an edit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditAction {
    /// Set cells of the row the key names.
    Update,
    /// Add a row with the given cells.
    Insert,
    /// Remove the row the key names.
    Delete,
}

/// One edit, with values as typed (`None`: NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRequest {
    /// The table.
    pub table: TableRef,
    /// What to do.
    pub action: EditAction,
    /// Cells that name the row (update, delete).
    pub key: Vec<(String, String)>,
    /// Cells to set (update) or give (insert).
    pub set: Vec<(String, Option<String>)>,
}

/// What an edit did.
#[derive(Debug, Clone)]
pub struct EditOutcome {
    /// How the row was addressed (a GUI shows "editing by all columns").
    pub identity: RowIdentity,
    /// The change.
    pub change: Change,
    /// The statement it runs (or will run), values as literals.
    pub statement: String,
    /// For a table without any key: how many identical rows there were
    /// (the edit touches one).
    pub duplicates: u64,
    /// The change's number in the sandbox, when it went into one.
    pub recorded: Option<u64>,
    /// What writing it at once did, when it did not go into a sandbox.
    pub report: Option<ApplyReport>,
}

/// Carries out one edit: into `sandbox` when given (nothing is written to
/// the database), else at once in its own transaction with the same
/// conflict check.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an unknown column, a value that is not of
/// its column's type, a generated column set, a key that matches several
/// rows, or an action without what it needs; [`Error::NotFound`] for an
/// unknown table or a key that matches no row. On any error nothing is
/// written and the sandbox file is unchanged.
pub async fn edit(
    conn: &dyn Connection,
    request: &EditRequest,
    sandbox: Option<&mut Sandbox>,
) -> Result<EditOutcome> {
    if is_documents(conn) {
        return edit_document(conn, request, sandbox).await;
    }
    let mut editor = Editor::new(conn)?;
    let model = editor.model(&request.table).await?.clone();
    let set: Vec<(String, Value)> = request
        .set
        .iter()
        .map(|(c, v)| match v {
            Some(text) => Ok((c.clone(), model.parse_value(c, text)?)),
            None => model.column(c).map(|_| (c.clone(), Value::Null)),
        })
        .collect::<Result<_>>()?;
    let mut duplicates = 1;
    let change = match request.action {
        EditAction::Insert => {
            if !request.key.is_empty() {
                return Err(Error::invalid(
                    "an insert takes the new row's cells (--set), not a key",
                ));
            }
            editor.insert(&model.table, set)?
        }
        EditAction::Update | EditAction::Delete => {
            let key = editor.parse_cells(&model.table, &request.key).await?;
            let row = editor.fetch_one(&model.table, &key).await?;
            duplicates = row.duplicates;
            if request.action == EditAction::Delete {
                if !set.is_empty() {
                    return Err(Error::invalid("a delete sets no column (drop --set)"));
                }
                editor.delete(&row)
            } else {
                editor.update(&row, set)?
            }
        }
    };
    // The statement, built now so that a change that cannot be written is
    // refused before it is recorded.
    let mut single = change.clone();
    single.id = 1;
    let plan = editor.plan(std::slice::from_ref(&single)).await?;
    let statement = plan
        .statements
        .iter()
        .map(|s| s.script_text(editor.dialect()))
        .collect::<Result<Vec<_>>>()?
        .join(";\n");
    let (recorded, report) = match sandbox {
        Some(s) => (Some(s.record(change.clone())?), None),
        // At once: the plan just shown, in its own transaction.
        None => (
            None,
            Some(crate::apply::apply(conn, &plan, std::slice::from_ref(&single), editor.models()).await?),
        ),
    };
    Ok(EditOutcome {
        identity: model.identity,
        change,
        statement,
        duplicates,
        recorded,
        report,
    })
}

/// Whether `conn` edits documents (MongoDB) rather than SQL rows.
fn is_documents(conn: &dyn Connection) -> bool {
    conn.dialect().is_none() && conn.documents().is_some()
}

async fn edit_document(
    conn: &dyn Connection,
    request: &EditRequest,
    sandbox: Option<&mut Sandbox>,
) -> Result<EditOutcome> {
    let coll = request.table.name.as_str();
    let set: Vec<(String, serde_json::Value)> = request
        .set
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_deref()
                    .map_or(serde_json::Value::Null, documents::typed_json),
            )
        })
        .collect();
    let change = match request.action {
        EditAction::Insert => documents::insert(coll, set)?,
        EditAction::Update | EditAction::Delete => {
            let doc = documents::fetch_one(conn, coll, &request.key).await?;
            if request.action == EditAction::Delete {
                if !set.is_empty() {
                    return Err(Error::invalid("a delete sets no field (drop --set)"));
                }
                documents::delete(coll, &doc)?
            } else {
                documents::update(coll, &doc, set)?
            }
        }
    };
    let mut single = change.clone();
    single.id = 1;
    let commands = documents::plan(std::slice::from_ref(&single))?;
    let statement = commands
        .iter()
        .map(|c| c.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let (recorded, report) = match sandbox {
        Some(s) => (Some(s.record(change.clone())?), None),
        None => (
            None,
            Some(documents::apply(conn, std::slice::from_ref(&single), &commands, None).await?),
        ),
    };
    Ok(EditOutcome {
        identity: RowIdentity {
            kind: crate::table::IdentityKind::DocumentId,
            columns: vec!["_id".into()],
            versioned: false,
        },
        change,
        statement,
        duplicates: 1,
        recorded,
        report,
    })
}

/// How many statements (or commands) an apply of `sandbox` runs: what a
/// confirmation shows.
///
/// # Error handling
///
/// As [`script`].
pub async fn plan_len(conn: &dyn Connection, sandbox: &Sandbox, undo: bool) -> Result<usize> {
    if is_documents(conn) {
        let changes = if undo { sandbox.undo_source().0 } else { sandbox.changes().to_vec() };
        return Ok(changes.len());
    }
    let mut editor = Editor::new(conn)?;
    Ok(if undo {
        editor.undo_plan(sandbox).await?.statements.len()
    } else {
        editor.plan(sandbox.changes()).await?.statements.len()
    })
}

/// The question to ask before applying `sandbox` (or its undo) on this
/// session: `None` on dev; on staging and prod, what will run where
/// (`applying sandbox `s` to URL (prod): 2 statement(s)`), which a
/// frontend confirms with the user before calling [`apply`].
///
/// # Error handling
///
/// As [`plan_len`].
pub async fn confirmation(
    conn: &dyn Connection,
    sandbox: &Sandbox,
    undo: bool,
    target: &str,
) -> Result<Option<String>> {
    let env = conn.environment().unwrap_or(qore_core::Environment::Dev);
    if env == qore_core::Environment::Dev {
        return Ok(None);
    }
    let n = plan_len(conn, sandbox, undo).await?;
    Ok(Some(format!(
        "applying sandbox `{}`{} to {target} ({env}): {n} statement(s)",
        sandbox.name(),
        if undo { " (undo)" } else { "" }
    )))
}

/// Applies `sandbox`'s pending changes (or, with `undo`, the undo of its
/// last apply): SQL engines in one transaction, MongoDB checked first and
/// then written in order, resumable.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for nothing to apply; as [`Editor::apply_sandbox`]
/// and [`documents::apply`].
pub async fn apply(conn: &dyn Connection, sandbox: &mut Sandbox, undo: bool) -> Result<ApplyReport> {
    apply_marked(conn, sandbox, undo, None).await
}

/// [`apply`], with `mark`'s statements in the transaction of an SQL engine
/// (see [`ApplyMark`](crate::ApplyMark)). MongoDB has no transaction to put
/// them in: there `mark` is not used, and a second start carries on from
/// the sandbox's own record of the changes written.
///
/// # Error handling
///
/// As [`apply`] and [`apply_marked`](crate::apply_marked).
pub async fn apply_marked(
    conn: &dyn Connection,
    sandbox: &mut Sandbox,
    undo: bool,
    mark: Option<&crate::ApplyMark>,
) -> Result<ApplyReport> {
    if undo && sandbox.applied().is_none() {
        return Err(Error::invalid(format!(
            "sandbox `{}` was never applied: there is nothing to undo",
            sandbox.name()
        )));
    }
    if !undo && sandbox.changes().is_empty() {
        return Err(empty(sandbox));
    }
    if is_documents(conn) {
        if undo {
            let changes = sandbox.undo_source().0;
            let commands = documents::undo_plan(&changes)?;
            return documents::apply(conn, &changes, &commands, None).await;
        }
        let changes = sandbox.changes().to_vec();
        let commands = documents::plan(&changes)?;
        return documents::apply(conn, &changes, &commands, Some(sandbox)).await;
    }
    let mut editor = Editor::new(conn)?;
    if undo {
        editor.apply_undo_marked(sandbox, mark).await
    } else {
        editor.apply_sandbox_marked(sandbox, mark).await
    }
}

/// The migration script of `sandbox`'s pending changes (or, with `undo`,
/// the script that undoes its last apply — or its pending changes once
/// applied), exactly as apply runs it.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an empty sandbox, and as
/// [`Editor::plan`] and [`Editor::undo_plan`].
pub async fn script(conn: &dyn Connection, sandbox: &Sandbox, undo: bool) -> Result<String> {
    if is_documents(conn) {
        if sandbox.changes().is_empty() && (!undo || sandbox.applied().is_none()) {
            return Err(empty(sandbox));
        }
        let commands = if undo {
            documents::undo_plan(&sandbox.undo_source().0)?
        } else {
            documents::plan(sandbox.changes())?
        };
        return Ok(documents::script(&commands));
    }
    let mut editor = Editor::new(conn)?;
    let plan = if undo {
        if sandbox.changes().is_empty() && sandbox.applied().is_none() {
            return Err(empty(sandbox));
        }
        editor.undo_plan(sandbox).await?
    } else {
        if sandbox.changes().is_empty() {
            return Err(empty(sandbox));
        }
        editor.plan(sandbox.changes()).await?
    };
    plan.script(editor.dialect())
}

fn empty(sandbox: &Sandbox) -> Error {
    Error::invalid(format!(
        "sandbox `{}` has no pending change",
        sandbox.name()
    ))
}

/// Follows relations from the row `key` (as typed) of `table`: with
/// [`Direction::Referenced`], the relation that uses `column` (required);
/// with [`Direction::Referencing`], every relation into the table (or the
/// one named `column`). At most `limit` rows each.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a missing column or a bad key value;
/// [`Error::NotFound`] when no relation matches.
pub async fn peek_rows(
    conn: &dyn Connection,
    virtuals: &Relations,
    table: &TableRef,
    key: &[(String, String)],
    column: Option<&str>,
    direction: Direction,
    limit: u64,
) -> Result<Vec<Peek>> {
    // Documents take their key as typed (Extended JSON or text); SQL
    // tables as values of the key columns' types.
    let key: Vec<(String, Value)> = if is_documents(conn) {
        key.iter()
            .map(|(k, v)| (k.clone(), Value::Text(v.clone())))
            .collect()
    } else {
        Editor::new(conn)?.parse_cells(table, key).await?
    };
    let relations: Vec<Relation> = match direction {
        Direction::Referenced => {
            let column = column.ok_or_else(|| {
                Error::invalid("say which foreign-key column to follow")
            })?;
            vec![peek::relation_of(conn, virtuals, table, column).await?]
        }
        Direction::Referencing => {
            let all = peek::referencing_relations(conn, virtuals, table).await?;
            let chosen: Vec<Relation> = all
                .iter()
                .filter(|r| column.is_none_or(|c| r.name.as_deref() == Some(c)))
                .cloned()
                .collect();
            if chosen.is_empty() {
                return Err(Error::NotFound(match column {
                    Some(c) => format!(
                        "no relation named `{c}` refers to {table} (relations: {})",
                        all.iter()
                            .filter_map(|r| r.name.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => format!("no table refers to {table}"),
                }));
            }
            chosen
        }
    };
    let mut out = Vec::new();
    for r in relations {
        out.push(peek::peek(conn, r, direction, &key, limit).await?);
    }
    Ok(out)
}

/// Parses `table(col, col)` (the table possibly qualified and quoted).
///
/// # Error handling
///
/// [`Error::InvalidInput`] naming the expected form.
pub fn parse_endpoint(text: &str) -> Result<(TableRef, Vec<String>)> {
    let bad = || {
        Error::invalid(format!(
            "`{text}` is not TABLE(COLUMN[, COLUMN...]), for example orders(customer_id)"
        ))
    };
    let t = text.trim();
    let open = t.rfind('(').ok_or_else(bad)?;
    let inner = t[open + 1..].strip_suffix(')').ok_or_else(bad)?;
    let table = TableRef::parse(&t[..open]).map_err(|_| bad())?;
    let cols: Vec<String> = inner.split(',').map(|c| c.trim().to_string()).collect();
    if cols.iter().any(|c| c.is_empty()) {
        return Err(bad());
    }
    Ok((table, cols))
}

/// Checks `relation` against the catalog of `conn` and adds it to the
/// relations file at `path`.
///
/// # Error handling
///
/// [`Error::NotFound`] for an unknown table; [`Error::InvalidInput`] for an
/// unknown column, incompatible types, or a name already used unless
/// `replace`. The file is unchanged on any error.
pub async fn add_relation(
    conn: &dyn Connection,
    path: &std::path::Path,
    relation: VirtualRelation,
    replace: bool,
) -> Result<()> {
    relation.check_shape()?;
    let catalog = crate::table::catalog_of(conn)?;
    let from = catalog.table(&relation.from).await?;
    let to = catalog.table(&relation.to).await?;
    relation.validate(&from, &to)?;
    let mut all = Relations::load(path)?;
    all.add(relation, replace)?;
    all.save(path)
}
