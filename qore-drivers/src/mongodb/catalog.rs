//! The MongoDB catalog: databases, collections (views, time series),
//! indexes, `$jsonSchema` validators, and a sampled field schema.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use mongodb::bson::{Bson, Document, doc};
use qore_core::{
    Catalog, ColumnInfo, Constraint, ConstraintKind, Error, IndexInfo, IndexPart, Namespace,
    Result, RowCount, TableDetails, TableInfo, TableKind, TableRef,
};

use super::arrow::{infer, schema_of};
use super::connection::{MongoConnection, map_err, within};

const LIMIT: Duration = Duration::from_secs(30);

fn bson_type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::Int32(_) => "int",
        Bson::Int64(_) => "long",
        Bson::Timestamp(_) => "timestamp",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
        _ => "other",
    }
}

impl MongoConnection {
    fn db_of(&self, ns: Option<&str>) -> mongodb::Database {
        match ns {
            Some(n) => self.client().database(n),
            None => self.database().clone(),
        }
    }

    async fn collections(&self, db: &mongodb::Database, filter: Document) -> Result<Vec<Document>> {
        let mut cur = db
            .run_cursor_command(doc! { "listCollections": 1, "filter": filter })
            .await
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(d) = cur.next().await {
            out.push(d.map_err(map_err)?);
        }
        Ok(out)
    }

    async fn count(&self, db: &mongodb::Database, name: &str) -> Option<u64> {
        let r = db.run_command(doc! { "count": name }).await.ok()?;
        match r.get("n")? {
            Bson::Int32(n) => u64::try_from(*n).ok(),
            Bson::Int64(n) => u64::try_from(*n).ok(),
            Bson::Double(n) => Some(*n as u64),
            _ => None,
        }
    }
}

fn kind_of(info: &Document) -> (TableKind, Option<String>) {
    match info.get_str("type").unwrap_or("collection") {
        "view" => (TableKind::View, None),
        "timeseries" => (TableKind::Collection, Some("time series".into())),
        _ => (TableKind::Collection, None),
    }
}

#[async_trait]
impl Catalog for MongoConnection {
    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        let names = within(LIMIT, async {
            self.client().list_database_names().await.map_err(map_err)
        })
        .await?;
        let current = self.database().name().to_string();
        let mut out: Vec<Namespace> = names
            .into_iter()
            .map(|n| Namespace {
                is_default: n == current,
                name: n,
            })
            .collect();
        if !out.iter().any(|n| n.is_default) {
            out.push(Namespace {
                name: current,
                is_default: true,
            });
        }
        Ok(out)
    }

    async fn tables(&self, namespace: Option<&str>) -> Result<Vec<TableInfo>> {
        let db = self.db_of(namespace);
        let infos = within(LIMIT, self.collections(&db, doc! {})).await?;
        let mut out = Vec::with_capacity(infos.len());
        for info in infos {
            let name = info.get_str("name").unwrap_or_default().to_string();
            let (kind, comment) = kind_of(&info);
            let rows = if kind == TableKind::View {
                None
            } else {
                self.count(&db, &name).await.map(RowCount::Estimate)
            };
            out.push(TableInfo {
                table: TableRef::qualified(db.name(), name),
                kind,
                rows,
                comment,
                partition_of: None,
            });
        }
        out.sort_by(|a, b| a.table.name.cmp(&b.table.name));
        Ok(out)
    }

    async fn table(&self, table: &TableRef) -> Result<TableDetails> {
        let db = self.db_of(table.namespace.as_deref());
        let infos = within(LIMIT, self.collections(&db, doc! { "name": &table.name })).await?;
        let info = infos
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound(format!("collection `{table}`")))?;
        let (kind, mut comment) = kind_of(&info);
        let options = info.get_document("options").cloned().unwrap_or_default();
        if let Ok(ts) = options.get_document("timeseries") {
            comment = Some(format!(
                "time series: {}",
                Bson::Document(ts.clone()).into_relaxed_extjson()
            ));
        }
        let mut constraints = Vec::new();
        if let Ok(v) = options.get_document("validator") {
            constraints.push(Constraint {
                name: Some(if v.contains_key("$jsonSchema") {
                    "$jsonSchema".into()
                } else {
                    "validator".into()
                }),
                kind: ConstraintKind::Check {
                    expression: Bson::Document(v.clone()).into_relaxed_extjson().to_string(),
                    column: None,
                },
            });
        }
        let view_definition = (kind == TableKind::View).then(|| {
            format!(
                "{{\"viewOn\": {}, \"pipeline\": {}}}",
                serde_json::Value::String(options.get_str("viewOn").unwrap_or_default().into()),
                options
                    .get("pipeline")
                    .cloned()
                    .unwrap_or(Bson::Array(vec![]))
                    .into_relaxed_extjson()
            )
        });
        // Indexes (views have none).
        let mut indexes = Vec::new();
        if kind != TableKind::View {
            let mut cur = db
                .run_cursor_command(doc! { "listIndexes": &table.name })
                .await
                .map_err(map_err)?;
            while let Some(ix) = cur.next().await {
                let ix = ix.map_err(map_err)?;
                let key = ix.get_document("key").cloned().unwrap_or_default();
                let mut method = "btree".to_string();
                let parts = key
                    .iter()
                    .map(|(k, v)| match v {
                        Bson::String(s) => {
                            method = s.clone();
                            IndexPart::Expression(format!("{k}: {s}"))
                        }
                        Bson::Int32(-1) | Bson::Int64(-1) | Bson::Double(-1.0) => {
                            IndexPart::Expression(format!("{k} desc"))
                        }
                        _ => IndexPart::Column(k.clone()),
                    })
                    .collect();
                let name = ix.get_str("name").unwrap_or_default().to_string();
                indexes.push(IndexInfo {
                    primary: name == "_id_",
                    unique: name == "_id_" || ix.get_bool("unique").unwrap_or(false),
                    predicate: ix
                        .get_document("partialFilterExpression")
                        .ok()
                        .map(|p| Bson::Document(p.clone()).into_relaxed_extjson().to_string()),
                    definition: Some(
                        Bson::Document(ix.clone())
                            .into_relaxed_extjson()
                            .to_string(),
                    ),
                    method: Some(if ix.contains_key("expireAfterSeconds") {
                        format!("{method} ttl")
                    } else if ix.get_bool("sparse").unwrap_or(false) {
                        format!("{method} sparse")
                    } else {
                        method
                    }),
                    name,
                    parts,
                    size_bytes: None,
                });
            }
        }
        // The sampled field schema, with how often each type appears.
        let n = self.sample_size();
        let mut cur = db
            .run_cursor_command(doc! { "aggregate": &table.name, "pipeline": [ { "$sample": { "size": i64::try_from(n).unwrap_or(1000) } } ], "cursor": {} })
            .await
            .map_err(map_err)?;
        let mut docs = Vec::new();
        while let Some(d) = cur.next().await {
            docs.push(d.map_err(map_err)?);
        }
        let shape = infer(&docs);
        let schema = schema_of(&shape);
        let mut columns = Vec::new();
        for (i, (name, _)) in shape.iter().enumerate() {
            let mut freq: BTreeMap<&str, usize> = BTreeMap::new();
            let mut missing = 0usize;
            for d in &docs {
                match d.get(name) {
                    Some(v) => *freq.entry(bson_type_name(v)).or_default() += 1,
                    None => missing += 1,
                }
            }
            if missing > 0 {
                *freq.entry("missing").or_default() += missing;
            }
            let mut parts: Vec<(usize, &str)> = freq.iter().map(|(k, v)| (*v, *k)).collect();
            parts.sort_by(|a, b| b.cmp(a));
            let total = docs.len().max(1);
            let summary: Vec<String> = parts
                .iter()
                .map(|(c, t)| format!("{t} {:.0}%", *c as f64 * 100.0 / total as f64))
                .collect();
            let main_types: Vec<&str> = parts
                .iter()
                .filter(|(_, t)| *t != "missing" && *t != "null")
                .map(|(_, t)| *t)
                .collect();
            columns.push(ColumnInfo {
                name: name.clone(),
                ordinal: i + 1,
                source_type: if main_types.is_empty() {
                    "null".into()
                } else {
                    main_types.join("|")
                },
                arrow_type: schema.field(i).data_type().clone(),
                nullable: freq.contains_key("missing") || freq.contains_key("null"),
                default: None,
                generated: None,
                primary_key: (name == "_id").then_some(1),
                comment: Some(format!(
                    "{} of {} sampled documents: {}",
                    total - missing,
                    docs.len(),
                    summary.join(", ")
                )),
            });
        }
        let rows = if kind == TableKind::View {
            None
        } else {
            self.count(&db, &table.name).await.map(RowCount::Estimate)
        };
        Ok(TableDetails {
            info: TableInfo {
                table: TableRef::qualified(db.name(), table.name.clone()),
                kind,
                rows,
                comment,
                partition_of: None,
            },
            columns,
            indexes,
            constraints,
            view_definition,
            triggers: Vec::new(),
        })
    }
}
