//! Edits of MongoDB documents, addressed by `_id`.
//!
//! A document is read as canonical Extended JSON (every type kept: `$oid`,
//! `$numberLong`, `$date`, ...), and each top-level field of a change holds
//! that JSON as text. The plan is a list of command documents — `update`
//! with `$set` and a filter on `_id` plus the original value of every field
//! it sets (a concurrent change makes it match nothing: a conflict),
//! `delete` of the whole original document, `insert` with an `_id` chosen
//! up front (so that its undo can find it) — and the script is those
//! commands, one per line, exactly as apply runs them.
//!
//! Without multi-document transactions, apply checks every change first
//! (nothing is written when one conflicts), then writes them in order; if
//! a write fails halfway, the changes already written are recorded as
//! applied and the rest stay pending, so that apply resumes where it
//! stopped.

use futures::TryStreamExt;
use qore_core::arrow::array::RecordBatch;
use qore_core::{Connection, Error, Result, TableRef, Value};
use serde_json::{Map, Value as Json, json};

use crate::apply::{ApplyReport, Conflict};
use crate::change::{Change, ChangeKind};
use crate::sandbox::{Captured, Sandbox};
use crate::table::IdentityKind;

/// A value typed by a user for a document: JSON (relaxed Extended JSON:
/// `42`, `true`, `{"$date": "2024-01-01T00:00:00Z"}`) as it is; 24 hex
/// digits as an ObjectId; anything else as a string.
pub fn typed_json(text: &str) -> Json {
    if text.len() == 24 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return json!({ "$oid": text.to_ascii_lowercase() });
    }
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_string()))
}

fn text(v: &Json) -> Value {
    Value::Text(v.to_string())
}

fn json_of(v: &Value) -> Result<Json> {
    match v {
        Value::Text(t) => serde_json::from_str(t)
            .map_err(|e| Error::data(format!("a stored document value is not JSON: {e}"))),
        Value::Null => Ok(Json::Null),
        other => Err(Error::data(format!("a document value must be JSON text, not {other:?}"))),
    }
}

fn documents(conn: &dyn Connection) -> Result<&dyn qore_core::Documents> {
    conn.documents().ok_or_else(|| {
        Error::NotSupported(format!("{} has no documents", conn.engine().name()))
    })
}

/// The documents of `collection` that match `filter`, at most `limit`, as
/// canonical Extended JSON.
///
/// # Error handling
///
/// Engine errors as they come.
pub async fn find(
    conn: &dyn Connection,
    collection: &str,
    filter: &Json,
    limit: u64,
) -> Result<Vec<Map<String, Json>>> {
    let batches: Vec<RecordBatch> = documents(conn)?
        .find(collection, filter, Some(limit))
        .await?
        .try_collect()
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            if let Json::Object(m) = qore_drivers::mongodb::row_to_extjson(b, r)? {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The one document of `collection` whose fields equal `key` (values as
/// typed: see [`typed_json`]).
///
/// # Error handling
///
/// [`Error::NotFound`] when none matches, [`Error::InvalidInput`] when
/// several do or the key is empty.
pub async fn fetch_one(
    conn: &dyn Connection,
    collection: &str,
    key: &[(String, String)],
) -> Result<Map<String, Json>> {
    if key.is_empty() {
        return Err(Error::invalid("say which document: give a key field and its value"));
    }
    let filter: Map<String, Json> = key.iter().map(|(k, v)| (k.clone(), typed_json(v))).collect();
    let filter = Json::Object(filter);
    let mut docs = find(conn, collection, &filter, 2).await?;
    match docs.len() {
        0 => Err(Error::NotFound(format!("no document of {collection} matches {filter}"))),
        1 => Ok(docs.remove(0)),
        _ => Err(Error::invalid(format!(
            "several documents of {collection} match {filter}: give more key fields (or _id)"
        ))),
    }
}

fn fields(doc: &Map<String, Json>) -> Vec<(String, Value)> {
    doc.iter().map(|(k, v)| (k.clone(), text(v))).collect()
}

fn id_of(doc: &Map<String, Json>) -> Result<Value> {
    doc.get("_id")
        .map(text)
        .ok_or_else(|| Error::data("the document has no _id"))
}

/// An update of `doc` that sets top-level `set` fields.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for no field, `_id`, or a field set twice.
pub fn update(collection: &str, doc: &Map<String, Json>, set: Vec<(String, Json)>) -> Result<Change> {
    if set.is_empty() {
        return Err(Error::invalid("an update needs at least one field to set"));
    }
    if set.iter().any(|(k, _)| k == "_id") {
        return Err(Error::invalid("_id cannot be changed: insert a new document instead"));
    }
    let after: Vec<(String, Value)> = set.iter().map(|(k, v)| (k.clone(), text(v))).collect();
    Change::check_cells(&after)?;
    Ok(change(collection, ChangeKind::Update, id_of(doc)?, fields(doc), after))
}

/// A delete of `doc`.
///
/// # Error handling
///
/// [`Error::InvalidData`](qore_core::Error) for a document without `_id`.
pub fn delete(collection: &str, doc: &Map<String, Json>) -> Result<Change> {
    Ok(change(collection, ChangeKind::Delete, id_of(doc)?, fields(doc), Vec::new()))
}

/// An insert of a document with `set` fields; an `_id` (a new ObjectId)
/// is added when none is given, so that the undo can find the document.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a field given twice.
pub fn insert(collection: &str, set: Vec<(String, Json)>) -> Result<Change> {
    let mut after: Vec<(String, Value)> = Vec::with_capacity(set.len() + 1);
    if !set.iter().any(|(k, _)| k == "_id") {
        let oid = mongodb_oid();
        after.push(("_id".into(), text(&json!({ "$oid": oid }))));
    }
    after.extend(set.iter().map(|(k, v)| (k.clone(), text(v))));
    Change::check_cells(&after)?;
    Ok(change(collection, ChangeKind::Insert, Value::Null, Vec::new(), after))
}

/// A new ObjectId as 24 hex digits: seconds, then random bytes, then a
/// counter, as drivers make them.
fn mongodb_oid() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (secs, nanos) = (now.as_secs() as u32, now.subsec_nanos());
    let random = u64::from(nanos) ^ (u64::from(std::process::id()) << 20);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    format!("{secs:08x}{:010x}{count:06x}", random & 0xff_ffff_ffff)
}

fn change(
    collection: &str,
    kind: ChangeKind,
    id: Value,
    before: Vec<(String, Value)>,
    after: Vec<(String, Value)>,
) -> Change {
    Change {
        id: 0,
        table: TableRef::new(collection),
        kind,
        identity: IdentityKind::DocumentId,
        key: if id.is_null() { Vec::new() } else { vec![id] },
        version: None,
        before,
        checks: Vec::new(),
        after,
    }
}

/// One command of a document plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The change it carries out.
    pub change: u64,
    /// What it does.
    pub kind: ChangeKind,
    /// The command document, as apply sends it.
    pub text: String,
    /// The filter that must match one document before it runs (updates
    /// and deletes): the conflict check.
    pub check: Option<Json>,
}

fn cells_json(cells: &[(String, Value)]) -> Result<Map<String, Json>> {
    cells
        .iter()
        .map(|(k, v)| Ok((k.clone(), json_of(v)?)))
        .collect()
}

fn command(c: &Change) -> Result<Command> {
    let coll = c.table.name.clone();
    let id = c.key.first().map(json_of).transpose()?;
    let (cmd, check) = match c.kind {
        ChangeKind::Insert => (
            json!({ "insert": coll, "documents": [Json::Object(cells_json(&c.after)?)] }),
            None,
        ),
        ChangeKind::Update => {
            let id = id.ok_or_else(|| Error::invalid(format!("change #{} has no _id", c.id)))?;
            let mut q = Map::new();
            q.insert("_id".into(), id);
            for (k, _) in &c.after {
                let orig = match c.before_value(k) {
                    Some(v) => json_of(v)?,
                    None => json!({ "$exists": false }),
                };
                q.insert(k.clone(), orig);
            }
            let q = Json::Object(q);
            (
                json!({ "update": coll, "updates": [{ "q": q, "u": { "$set": Json::Object(cells_json(&c.after)?) } }] }),
                Some(q),
            )
        }
        ChangeKind::Delete => {
            let q = if c.before.is_empty() {
                json!({ "_id": id.ok_or_else(|| Error::invalid(format!("change #{} has no _id", c.id)))? })
            } else {
                Json::Object(cells_json(&c.before)?)
            };
            (
                json!({ "delete": coll, "deletes": [{ "q": q, "limit": 1 }] }),
                Some(q),
            )
        }
    };
    Ok(Command {
        change: c.id,
        kind: c.kind,
        text: cmd.to_string(),
        check,
    })
}

/// The commands that carry out `changes`, in order.
///
/// # Error handling
///
/// [`Error::InvalidData`](qore_core::Error) for a stored value that is
/// not JSON.
pub fn plan(changes: &[Change]) -> Result<Vec<Command>> {
    changes.iter().map(command).collect()
}

/// The commands that undo `changes`: fields set back (the filter is the
/// `_id` and the values the change wrote), inserted documents deleted by
/// `_id`, deleted ones inserted again.
///
/// # Error handling
///
/// As [`plan`].
pub fn undo_plan(changes: &[Change]) -> Result<Vec<Command>> {
    let inverted: Vec<Change> = changes
        .iter()
        .rev()
        .map(|c| match c.kind {
            ChangeKind::Insert => Change {
                kind: ChangeKind::Delete,
                key: c.after_value("_id").cloned().into_iter().collect(),
                before: Vec::new(),
                after: Vec::new(),
                ..c.clone()
            },
            ChangeKind::Delete => Change {
                kind: ChangeKind::Insert,
                key: Vec::new(),
                after: c.before.clone(),
                before: Vec::new(),
                ..c.clone()
            },
            ChangeKind::Update => Change {
                before: c.row_after(),
                after: c
                    .after
                    .iter()
                    .map(|(k, _)| (k.clone(), c.before_value(k).cloned().unwrap_or(Value::Null)))
                    .collect(),
                ..c.clone()
            },
        })
        .collect();
    plan(&inverted)
}

/// Runs a write command and returns how many documents it matched (`n`:
/// an update that sets a field to the value it has still matched).
async fn matched(conn: &dyn Connection, command: &str) -> Result<u64> {
    let batches: Vec<RecordBatch> = conn.query(command, &[]).await?.try_collect().await?;
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(0);
    };
    let reply = qore_drivers::mongodb::row_to_extjson(b, 0)?;
    let n = match reply.get("n") {
        Some(Json::Object(o)) => o
            .values()
            .next()
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok()),
        Some(Json::Number(n)) => n.as_u64(),
        _ => None,
    };
    n.ok_or_else(|| Error::data(format!("MongoDB's reply has no count: {reply}")))
}

/// The script: one command document per line, as apply sends them.
pub fn script(commands: &[Command]) -> String {
    let mut out = String::new();
    for c in commands {
        out.push_str(&c.text);
        out.push('\n');
    }
    out
}

/// Applies `changes` (of `sandbox`, when given: progress is recorded there).
///
/// # Error handling
///
/// A write that fails after others succeeded records those as applied in
/// the sandbox and returns the error naming how many were written.
pub async fn apply(
    conn: &dyn Connection,
    changes: &[Change],
    commands: &[Command],
    sandbox: Option<&mut Sandbox>,
) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    // 1. Every check first: a conflict writes nothing.
    for cmd in commands {
        let Some(q) = &cmd.check else { continue };
        let c = changes
            .iter()
            .find(|c| c.id == cmd.change)
            .ok_or_else(|| Error::Internal("a command without its change".into()))?;
        if find(conn, &c.table.name, q, 1).await?.is_empty() {
            let id = c.key.first().map(json_of).transpose()?;
            let current = match id {
                Some(id) => find(conn, &c.table.name, &json!({ "_id": id }), 1)
                    .await?
                    .into_iter()
                    .next()
                    .map(|d| fields(&d)),
                None => None,
            };
            report.conflicts.push(Conflict {
                change: c.id,
                table: c.table.clone(),
                kind: c.kind,
                original: c.before.clone(),
                yours: c.after.clone(),
                current,
            });
        }
    }
    if !report.conflicts.is_empty() {
        return Ok(report);
    }
    // 2. The writes, in order.
    let mut written: Vec<u64> = Vec::new();
    for cmd in commands {
        let r = matched(conn, &cmd.text).await;
        let failure = match r {
            Ok(n) if n >= 1 => None,
            Ok(_) => Some(Error::data(format!(
                "change #{}: the document changed between the check and the write",
                cmd.change
            ))),
            Err(e) => Some(e.context(format!("change #{}", cmd.change))),
        };
        if let Some(e) = failure {
            let n = written.len();
            if let Some(s) = sandbox {
                s.mark_applied_some(&written, Vec::new())?;
            }
            return Err(e.context(format!(
                "{n} of {} change(s) were written and are recorded as applied; the rest stay pending",
                commands.len()
            )));
        }
        report.statements += 1;
        report.rows += 1;
        written.push(cmd.change);
    }
    if let Some(s) = sandbox {
        s.mark_applied_some(&written, Vec::<Captured>::new())?;
    }
    Ok(report)
}

/// Streams `collection` with `sandbox`'s pending changes applied (set
/// fields replaced, deleted documents hidden, inserted ones at the end),
/// in the schema of the collection's read plus the two mark columns of
/// [`crate::overlay`]. Batches without a touched document pass as they
/// are.
///
/// # Error handling
///
/// [`Error::NotSupported`] for an engine without documents; engine errors
/// as they come.
pub async fn read_through(
    conn: &dyn Connection,
    sandbox: &Sandbox,
    collection: &str,
) -> Result<qore_core::SendableRecordBatchStream> {
    use std::collections::HashMap;
    use std::sync::Arc;

    use futures::StreamExt;
    use qore_core::arrow::array::{ArrayRef, StringArray};

    let stream = documents(conn)?
        .find(collection, &json!({}), None)
        .await?;
    let input = stream.schema();
    let schema = crate::overlay::marked_schema(
        input.fields().iter().map(|f| f.as_ref().clone()),
        input.metadata().clone(),
    );
    let table = TableRef::new(collection);
    let mut by_id: HashMap<String, Change> = HashMap::new();
    let mut inserts = Vec::new();
    for c in sandbox.changes_of(&table) {
        match (c.kind, c.key.first()) {
            (ChangeKind::Insert, _) => inserts.push(c.clone()),
            (_, Some(Value::Text(id))) => {
                by_id.insert(id.clone(), c.clone());
            }
            _ => {}
        }
    }
    let edited = |c: &Change| Some(c.edited_columns());
    let marked = {
        let schema = schema.clone();
        move |b: RecordBatch, kinds: Vec<Option<&str>>, cols: Vec<Option<String>>| {
            let mut columns: Vec<ArrayRef> = b.columns().to_vec();
            columns.push(Arc::new(StringArray::from(kinds)));
            columns.push(Arc::new(StringArray::from(cols)));
            Ok::<_, Error>(RecordBatch::try_new(schema.clone(), columns)?)
        }
    };
    let tail_marked = marked.clone();
    let (in_schema, tail_schema) = (input.clone(), input.clone());
    let body = stream.map(move |batch| {
        let b = batch?;
        let mut docs = Vec::with_capacity(b.num_rows());
        let (mut kinds, mut cols) = (Vec::new(), Vec::new());
        let mut touched = false;
        for r in 0..b.num_rows() {
            let mut doc = qore_drivers::mongodb::row_to_extjson(&b, r)?;
            let id = doc.get("_id").map(|v| v.to_string()).unwrap_or_default();
            match by_id.get(&id) {
                Some(c) if c.kind == ChangeKind::Delete => touched = true,
                Some(c) => {
                    touched = true;
                    if let Json::Object(m) = &mut doc {
                        for (k, v) in &c.after {
                            m.insert(k.clone(), json_of(v)?);
                        }
                    }
                    docs.push(doc);
                    kinds.push(Some("update"));
                    cols.push(edited(c));
                }
                None => {
                    docs.push(doc);
                    kinds.push(None);
                    cols.push(None);
                }
            }
        }
        let b = if touched {
            qore_drivers::mongodb::documents_batch(&in_schema, &docs)?
        } else {
            b
        };
        marked(b, kinds, cols)
    });
    let tail = futures::stream::once(futures::future::lazy(move |_| {
        let docs = inserts
            .iter()
            .map(|c| cells_json(&c.after).map(Json::Object))
            .collect::<Result<Vec<_>>>()?;
        let b = qore_drivers::mongodb::documents_batch(&tail_schema, &docs)?;
        let n = b.num_rows();
        tail_marked(
            b,
            vec![Some("insert"); n],
            inserts.iter().map(edited).collect(),
        )
    }))
    .filter(|r| futures::future::ready(!matches!(r, Ok(b) if b.num_rows() == 0)));
    Ok(Box::pin(qore_core::RecordBatchStreamAdapter::new(
        schema,
        body.chain(tail),
    )))
}
