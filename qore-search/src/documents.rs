//! Searching a document store (MongoDB): the string fields of each
//! collection's sampled schema, one `$regex` filter per field (the needle
//! escaped, `i` for case-insensitive: the server's Unicode case folding),
//! so that every hit names the field that matched. Collections run on
//! several sessions like tables do.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use futures::StreamExt;
use qore_core::{
    ConnectionRef, DatabaseRef, Error, Result, TableInfo, TableRef, TextMatch,
};

use crate::run::{HitBuilder, snippet};
use crate::{Progress, Search, SearchOptions};

/// The `$regex` pattern of `needle` searched by `mode`: the needle's
/// characters literal (every metacharacter escaped) except in regex mode.
pub fn regex_pattern(needle: &str, mode: TextMatch) -> String {
    let literal = || {
        let mut s = String::with_capacity(needle.len() * 2);
        for c in needle.chars() {
            // Rust's and PCRE's metacharacters: escaped, each is literal.
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                s.push('\\');
            }
            s.push(c);
        }
        s
    };
    match mode {
        TextMatch::Contains => literal(),
        TextMatch::Exact => format!("^{}$", literal()),
        TextMatch::Prefix => format!("^{}", literal()),
        TextMatch::Regex => needle.to_string(),
    }
}

/// What a collection search reads.
struct Shared {
    options: SearchOptions,
    needle: String,
    pattern: String,
}

/// The document search; `first` is a session of `db` with the documents
/// facet and a catalog.
pub(crate) async fn search(
    db: DatabaseRef,
    first: ConnectionRef,
    needle: &str,
    options: &SearchOptions,
    wanted: &dyn Fn(&TableInfo) -> bool,
) -> Result<Search> {
    let catalog = first
        .catalog()
        .ok_or_else(|| Error::NotSupported(format!("{} has no catalog to search", first.engine())))?;
    let documents = first
        .documents()
        .ok_or_else(|| Error::NotSupported(format!("{} has no documents to search", first.engine())))?;
    let namespaces: Vec<Option<&str>> = if options.namespaces.is_empty() {
        vec![None]
    } else {
        options.namespaces.iter().map(|n| Some(n.as_str())).collect()
    };
    let mut collections = Vec::new();
    for ns in namespaces {
        collections.extend(catalog.tables(ns).await?.into_iter().filter(|i| wanted(i)));
    }
    let pattern = regex_pattern(needle, options.mode);
    // A pattern the server rejects fails here, once, not per collection.
    if let Some(c) = collections.first() {
        let probe = serde_json::json!({ "_id": { "$regex": pattern, "$options": "i" } });
        let checked = async {
            let mut s = documents.find(&c.table.name, &probe, Some(1)).await?;
            while let Some(b) = s.next().await {
                b?;
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = checked {
            return Err(Error::invalid(format!("the server rejects this needle as a {:?} search: {e}", options.mode)));
        }
    }
    let progress = Arc::new(Progress::default());
    progress.tables_total.store(collections.len(), Ordering::Relaxed);
    let sh = Arc::new(Shared { options: options.clone(), needle: needle.to_string(), pattern });
    let stream = crate::run::pool(db, first, collections, |i: &TableInfo| (i.table.clone(), 1), options, progress.clone(), move |conn, info| {
        let sh = sh.clone();
        async move { collection_hits(&conn, &info.table, &sh).await.map(Some) }
    });
    Ok(Search { stream, progress })
}

/// The string fields of `table` (sampled), each searched with its own
/// filter, at most the per-table cap of hits in all.
async fn collection_hits(conn: &ConnectionRef, table: &TableRef, sh: &Shared) -> Result<RecordBatch> {
    let catalog = conn.catalog().ok_or_else(|| Error::NotSupported("no catalog".into()))?;
    let documents = conn.documents().ok_or_else(|| Error::NotSupported("no documents".into()))?;
    let details = catalog.table(table).await?;
    // Dotted or `$` names cannot be a plain filter key.
    let fields: Vec<String> = details
        .columns
        .iter()
        .filter(|c| c.source_type.split('|').any(|t| t == "string"))
        .filter(|c| !c.name.contains('.') && !c.name.starts_with('$'))
        .map(|c| c.name.clone())
        .collect();
    let mut hits = HitBuilder::default();
    let flags = if sh.options.case_sensitive { "" } else { "i" };
    for field in fields {
        if hits.n >= sh.options.per_table {
            break;
        }
        let filter = serde_json::json!({ field.as_str(): { "$regex": sh.pattern, "$options": flags } });
        let room = (sh.options.per_table - hits.n) as u64;
        let mut stream = documents.find(&table.name, &filter, Some(room)).await?;
        let schema = stream.schema();
        let (Ok(id_at), Ok(field_at)) = (schema.index_of("_id"), schema.index_of(&field)) else {
            continue;
        };
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let text = |i: usize| -> Result<StringArray> {
                let a = arrow::compute::cast(batch.column(i), &DataType::Utf8)
                    .map_err(|e| Error::data(format!("search result: {e}")))?;
                a.as_any()
                    .downcast_ref::<StringArray>()
                    .cloned()
                    .ok_or_else(|| Error::Internal("cast to text".into()))
            };
            let (ids, values) = (text(id_at)?, text(field_at)?);
            for row in 0..batch.num_rows() {
                if values.is_null(row) || hits.n >= sh.options.per_table {
                    continue;
                }
                let id = if ids.is_null(row) { serde_json::Value::Null } else { ids.value(row).into() };
                let key = serde_json::json!({ "_id": id }).to_string();
                let value = snippet(values.value(row), &sh.needle, sh.options.case_sensitive);
                hits.push(table.namespace.as_deref(), &table.name, &field, Some(&key), value);
            }
        }
    }
    hits.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn patterns_by_mode() {
        assert_eq!(regex_pattern("a.b", TextMatch::Contains), "a\\.b");
        assert_eq!(regex_pattern("a.b", TextMatch::Exact), "^a\\.b$");
        assert_eq!(regex_pattern("(x", TextMatch::Prefix), "^\\(x");
        assert_eq!(regex_pattern("a.b", TextMatch::Regex), "a.b");
    }

    proptest! {
        /// An escaped needle matches itself literally, and in exact mode
        /// nothing else (checked with Rust's regex engine, whose escapes
        /// agree with PCRE's for these characters).
        #[test]
        fn escaped_needles_are_literal(needle in "\\PC{1,12}", other in "\\PC{0,12}") {
            let contains = regex::Regex::new(&regex_pattern(&needle, TextMatch::Contains)).unwrap();
            let hay = format!("{other}{needle}{other}");
            prop_assert!(contains.is_match(&hay));
            let exact = regex::Regex::new(&regex_pattern(&needle, TextMatch::Exact)).unwrap();
            prop_assert!(exact.is_match(&needle));
            prop_assert_eq!(exact.is_match(&other), other == needle);
        }
    }
}
