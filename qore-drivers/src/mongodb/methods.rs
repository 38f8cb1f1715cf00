//! The mongosh collection methods (`db.users.deleteMany({...})`) as the
//! database commands they send, argument for argument.

use mongodb::bson::{Bson, Document, doc};
use qore_core::Result;

use super::parse::{Request, err_at};

/// The arguments of one call, with the errors that name the method.
struct Args<'a> {
    input: &'a str,
    pos: usize,
    method: &'a str,
    args: &'a [Bson],
}

impl Args<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> qore_core::Error {
        err_at(self.input, self.pos, format!("{}: {msg}", self.method))
    }

    fn get(&self, i: usize) -> Option<&Bson> {
        self.args.get(i)
    }

    /// A document argument; absent is empty.
    fn doc(&self, i: usize, what: &str) -> Result<Document> {
        match self.get(i) {
            None => Ok(Document::new()),
            Some(Bson::Document(d)) => Ok(d.clone()),
            Some(_) => Err(self.err(format!("{what} must be a document"))),
        }
    }

    /// A document the call cannot go without. Writes take their filter
    /// explicitly, as in mongosh: an empty `deleteMany()` must not mean
    /// "every document".
    fn required_doc(&self, i: usize, what: &str) -> Result<Document> {
        if self.args.len() <= i {
            return Err(self.err(format!(
                "{what} is missing (write {{}} to mean every document)"
            )));
        }
        self.doc(i, what)
    }

    /// An update: a document of operators, or a pipeline.
    fn update(&self, i: usize) -> Result<Bson> {
        match self.get(i) {
            Some(u @ (Bson::Document(_) | Bson::Array(_))) => Ok(u.clone()),
            Some(_) => Err(self.err("the update must be a document or a pipeline")),
            None => Err(self.err("the update is missing")),
        }
    }

    fn string(&self, i: usize, what: &str) -> Result<String> {
        match self.get(i) {
            Some(Bson::String(s)) => Ok(s.clone()),
            _ => Err(self.err(format!("{what} must be a string"))),
        }
    }
}

fn flag(d: &Document, key: &str) -> Option<bool> {
    match d.get(key)? {
        Bson::Boolean(b) => Some(*b),
        Bson::Int32(n) => Some(*n != 0),
        Bson::Int64(n) => Some(*n != 0),
        _ => None,
    }
}

/// `db.<collection>.<method>(args)` as a request.
///
/// # Error handling
///
/// [`qore_core::Error::InvalidInput`] for a method qore does not know or
/// arguments of the wrong shape, at `pos` of `input`.
pub(super) fn collection_method(
    input: &str,
    pos: usize,
    c: &str,
    method: &str,
    args: &[Bson],
) -> Result<Request> {
    let a = Args {
        input,
        pos,
        method,
        args,
    };
    let mut req = match method {
        "find" | "findOne" => {
            let mut cmd = doc! { "find": c, "filter": a.doc(0, "the filter")? };
            let proj = a.doc(1, "the projection")?;
            if !proj.is_empty() {
                cmd.insert("projection", proj);
            }
            if method == "findOne" {
                cmd.insert("limit", 1);
                cmd.insert("singleBatch", true);
            }
            let mut req = Request::of(cmd);
            req.one = method == "findOne";
            req
        }
        "aggregate" => {
            let pipeline = match a.get(0) {
                Some(Bson::Array(p)) => p.clone(),
                None => Vec::new(),
                Some(_) => return Err(a.err("the pipeline must be an array")),
            };
            Request::of(doc! { "aggregate": c, "pipeline": pipeline, "cursor": {} })
        }
        "countDocuments" | "count" => {
            Request::of(doc! { "count": c, "query": a.doc(0, "the filter")? })
        }
        "estimatedDocumentCount" => Request::of(doc! { "count": c }),
        "distinct" => {
            let key = a.string(0, "the first argument (the field name)")?;
            Request::of(doc! { "distinct": c, "key": key, "query": a.doc(1, "the filter")? })
        }
        "insertOne" => {
            Request::of(doc! { "insert": c, "documents": [a.required_doc(0, "the document")?] })
        }
        "insertMany" => {
            let Some(Bson::Array(docs)) = a.get(0) else {
                return Err(a.err("the argument is an array of documents"));
            };
            Request::of(doc! { "insert": c, "documents": docs.clone() })
        }
        // The legacy `insert` takes one document or an array of them.
        "insert" => {
            let docs = match a.get(0) {
                Some(Bson::Array(docs)) => docs.clone(),
                Some(d @ Bson::Document(_)) => vec![d.clone()],
                _ => return Err(a.err("the argument is a document or an array of them")),
            };
            Request::of(doc! { "insert": c, "documents": docs })
        }
        "updateOne" | "updateMany" | "replaceOne" | "update" => {
            let options = a.doc(2, "the options")?;
            // The legacy `update` changes one document unless `multi`.
            let multi = method == "updateMany"
                || (method == "update" && flag(&options, "multi") == Some(true));
            let mut update = doc! {
                "q": a.required_doc(0, "the filter")?,
                "u": a.update(1)?,
                "multi": multi,
            };
            if let Some(u) = options.get("upsert") {
                update.insert("upsert", u.clone());
            }
            Request::of(doc! { "update": c, "updates": [update] })
        }
        "deleteOne" | "deleteMany" => {
            let limit = if method == "deleteOne" { 1 } else { 0 };
            let q = a.required_doc(0, "the filter")?;
            Request::of(doc! { "delete": c, "deletes": [{ "q": q, "limit": limit }] })
        }
        // The legacy `remove(filter, justOne)` (`justOne` also as
        // `{justOne: true}`) removes every match by default.
        "remove" => {
            let q = a.required_doc(0, "the filter")?;
            let just_one = match a.get(1) {
                None => false,
                Some(Bson::Boolean(b)) => *b,
                Some(Bson::Document(o)) => flag(o, "justOne").unwrap_or(false),
                Some(_) => return Err(a.err("the second argument is justOne (true or false)")),
            };
            let limit = i32::from(just_one);
            Request::of(doc! { "delete": c, "deletes": [{ "q": q, "limit": limit }] })
        }
        "findOneAndDelete" | "findOneAndUpdate" | "findOneAndReplace" => {
            let remove = method == "findOneAndDelete";
            let options = a.doc(if remove { 1 } else { 2 }, "the options")?;
            let mut cmd = doc! { "findAndModify": c, "query": a.required_doc(0, "the filter")? };
            if remove {
                cmd.insert("remove", true);
            } else {
                cmd.insert("update", a.update(1)?);
                let after = flag(&options, "returnNewDocument") == Some(true)
                    || options
                        .get_str("returnDocument")
                        .is_ok_and(|r| r == "after");
                cmd.insert("new", after);
                if let Some(u) = options.get("upsert") {
                    cmd.insert("upsert", u.clone());
                }
            }
            for (from, to) in [("sort", "sort"), ("projection", "fields")] {
                if let Some(v) = options.get(from) {
                    cmd.insert(to, v.clone());
                }
            }
            let mut req = Request::of(cmd);
            req.value = true;
            req
        }
        "drop" => Request::of(doc! { "drop": c }),
        "renameCollection" => {
            let to = a.string(0, "the new name")?;
            let drop_target = match a.get(1) {
                None => false,
                Some(Bson::Boolean(b)) => *b,
                Some(_) => return Err(a.err("the second argument is dropTarget (true or false)")),
            };
            let mut req =
                Request::of(doc! { "renameCollection": c, "to": to, "dropTarget": drop_target });
            req.qualify = true;
            req
        }
        "dropIndex" | "dropIndexes" => {
            let index = match a.get(0) {
                None if method == "dropIndexes" => Bson::String("*".into()),
                Some(i @ (Bson::String(_) | Bson::Document(_))) => i.clone(),
                Some(i @ Bson::Array(_)) if method == "dropIndexes" => i.clone(),
                _ => return Err(a.err("name the index (its name or its key document)")),
            };
            Request::of(doc! { "dropIndexes": c, "index": index })
        }
        "getIndexes" => Request::of(doc! { "listIndexes": c, "cursor": {} }),
        "createIndex" => {
            let keys = a.doc(0, "the keys")?;
            let mut index = a.doc(1, "the options")?;
            if !index.contains_key("name") {
                let name: Vec<String> = keys.iter().map(|(k, v)| format!("{k}_{v}")).collect();
                index.insert("name", name.join("_"));
            }
            index.insert("key", keys);
            Request::of(doc! { "createIndexes": c, "indexes": [index] })
        }
        other => {
            return Err(err_at(
                input,
                pos,
                format!("`{other}` is not a collection method qore understands"),
            ));
        }
    };
    // (`find` with a projection argument stays a cursor command.)
    req.cursor |= matches!(method, "find" | "findOne" | "aggregate" | "getIndexes");
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use mongodb::bson::doc;

    #[test]
    fn legacy_and_find_and_modify_methods_become_commands() {
        let r = parse("db.u.update({a: 1}, {$set: {b: 2}}, {multi: true, upsert: false})").unwrap();
        assert_eq!(
            r.command,
            doc! { "update": "u", "updates": [{ "q": { "a": 1 }, "u": { "$set": { "b": 2 } }, "multi": true, "upsert": false }] }
        );
        let r = parse("db.u.update({a: 1}, {$set: {b: 2}})").unwrap();
        assert_eq!(
            r.command.get_array("updates").unwrap()[0]
                .as_document()
                .unwrap()
                .get_bool("multi"),
            Ok(false)
        );
        let r = parse("db.u.remove({a: 1}, true)").unwrap();
        assert_eq!(
            r.command,
            doc! { "delete": "u", "deletes": [{ "q": { "a": 1 }, "limit": 1 }] }
        );
        assert_eq!(
            parse("db.u.remove({})").unwrap().command,
            doc! { "delete": "u", "deletes": [{ "q": {}, "limit": 0 }] }
        );
        assert!(parse("db.u.remove()").is_err(), "a filter is required");
        let r = parse("db.u.findOneAndUpdate({a: 1}, {$inc: {n: 1}}, {returnDocument: 'after', sort: {a: -1}})").unwrap();
        assert_eq!(
            r.command,
            doc! { "findAndModify": "u", "query": { "a": 1 }, "update": { "$inc": { "n": 1 } }, "new": true, "sort": { "a": -1 } }
        );
        assert!(r.value && !r.cursor);
        let r = parse("db.u.findOneAndDelete({a: 1})").unwrap();
        assert_eq!(
            r.command,
            doc! { "findAndModify": "u", "query": { "a": 1 }, "remove": true }
        );
        let r = parse("db.u.renameCollection('v', true)").unwrap();
        assert_eq!(
            r.command,
            doc! { "renameCollection": "u", "to": "v", "dropTarget": true }
        );
        assert!(r.admin && r.qualify);
        let r = parse(r#"{"renameCollection": "s.a", "to": "s.b"}"#).unwrap();
        assert!(
            r.admin && !r.qualify,
            "the command document names its namespaces"
        );
        assert_eq!(
            parse("db.u.dropIndexes()").unwrap().command,
            doc! { "dropIndexes": "u", "index": "*" }
        );
        assert_eq!(
            parse("db.u.dropIndex({email: 1})").unwrap().command,
            doc! { "dropIndexes": "u", "index": { "email": 1 } }
        );
        assert!(parse("db.u.dropIndex()").is_err());
        assert_eq!(
            parse("db.dropDatabase()").unwrap().command,
            doc! { "dropDatabase": 1 }
        );
        assert!(parse("db.adminCommand({listDatabases: 1})").unwrap().admin);
    }
}
