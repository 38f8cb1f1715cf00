//! MongoDB commands, from the command document the shorthand or the
//! Extended JSON becomes (qore-drivers' parser: what would really be sent).

use serde_json::Value;

use crate::classify::{Classification, Finding, Kind, StatementReport};

/// Classifies one MongoDB command (document or shorthand).
pub(crate) fn classify(text: &str) -> Classification {
    let report = match qore_drivers::mongodb::command_document(text) {
        Ok(doc) => command(text, &doc),
        Err(e) => StatementReport {
            text: text.to_string(),
            kind: Kind::Unknown,
            objects: Vec::new(),
            findings: vec![Finding::new(
                "mongo-unparsed",
                format!("not parsed ({e}): treated as destructive"),
            )],
            parsed: false,
        },
    };
    Classification::of(vec![report])
}

const DDL: [&str; 9] = [
    "create",
    "createIndexes",
    "drop",
    "dropIndexes",
    "dropDatabase",
    "renameCollection",
    "collMod",
    "createView",
    "convertToCapped",
];

fn command(text: &str, doc: &Value) -> StatementReport {
    let Some(obj) = doc.as_object() else {
        return StatementReport {
            text: text.to_string(),
            kind: Kind::Unknown,
            objects: Vec::new(),
            findings: vec![Finding::new("mongo-unparsed", "not a command document")],
            parsed: false,
        };
    };
    let name = obj.keys().next().cloned().unwrap_or_default();
    let target = obj
        .get(&name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut findings = Vec::new();
    let mut kind = if qore_drivers::mongodb::READ_COMMANDS.contains(&name.as_str()) {
        Kind::Read
    } else if DDL.contains(&name.as_str()) {
        Kind::Ddl
    } else if matches!(
        name.as_str(),
        "insert" | "update" | "delete" | "findAndModify"
    ) {
        Kind::Write
    } else {
        Kind::Admin
    };
    match name.as_str() {
        "delete" => {
            for d in obj
                .get("deletes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let many = d.get("limit").and_then(Value::as_i64).unwrap_or(0) == 0;
                if many && always_true(d.get("q").unwrap_or(&Value::Null)) {
                    findings.push(Finding::new(
                        "mongo-delete-all",
                        format!("deletes every document of {target}: the filter matches all"),
                    ));
                }
            }
        }
        "update" => {
            for u in obj
                .get("updates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let multi = u.get("multi").and_then(Value::as_bool).unwrap_or(false);
                if multi && always_true(u.get("q").unwrap_or(&Value::Null)) {
                    findings.push(Finding::new(
                        "mongo-update-all",
                        format!("updates every document of {target}: the filter matches all"),
                    ));
                }
            }
        }
        "drop" | "dropIndexes" => {
            findings.push(Finding::new("mongo-drop", format!("{name} {target}")))
        }
        "dropDatabase" => findings.push(Finding::new("mongo-drop-database", "dropDatabase")),
        "renameCollection" if obj.get("dropTarget").and_then(Value::as_bool) == Some(true) => {
            let to = obj.get("to").and_then(Value::as_str).unwrap_or_default();
            findings.push(Finding::new(
                "mongo-rename-drop-target",
                format!("renameCollection {target} to {to} drops {to}"),
            ));
        }
        "aggregate" => {
            let out = obj
                .get("pipeline")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|stage| stage.get("$out").or_else(|| stage.get("$merge")));
            if let Some(out) = out {
                kind = Kind::Write;
                let replaces = obj
                    .get("pipeline")
                    .and_then(Value::as_array)
                    .is_some_and(|p| p.iter().any(|s| s.get("$out").is_some()));
                if replaces {
                    findings.push(Finding::new(
                        "mongo-aggregate-out",
                        format!("aggregate on {target} replaces {out}"),
                    ));
                }
            }
        }
        _ => {}
    }
    StatementReport {
        text: text.to_string(),
        kind,
        objects: if target.is_empty() {
            Vec::new()
        } else {
            vec![target]
        },
        findings,
        parsed: true,
    }
}

/// Whether a query filter matches every document: `{}`, `{$expr: true}`,
/// `{_id: {$exists: true}}`, `{$where: "true"}`, an `$or` with such a
/// branch, an `$and` of such filters.
fn always_true(filter: &Value) -> bool {
    let Some(obj) = filter.as_object() else {
        // A missing filter matches everything.
        return filter.is_null();
    };
    obj.iter().all(|(k, v)| match k.as_str() {
        "$expr" => v == &Value::Bool(true) || v.get("$literal") == Some(&Value::Bool(true)),
        "$where" => v
            .as_str()
            .is_some_and(|s| matches!(s.trim(), "true" | "return true" | "return true;")),
        "$or" => v.as_array().is_some_and(|a| a.iter().any(always_true)),
        "$and" => v.as_array().is_some_and(|a| a.iter().all(always_true)),
        "_id" => v.get("$exists") == Some(&Value::Bool(true)),
        "$comment" => true,
        _ => false,
    })
}
