//! Turning two sides and the options into a plan: the key, the compared
//! columns and their rules, and the statement each side runs.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::StreamExt;
use qore_core::{Connection, Engine, Error, Result, TableDetails};

use crate::normalise::{ColumnFacts, Rule, RuleOptions, rule_for};
use crate::spec::{ColumnPair, DiffOptions, Side, Source};

/// What will be compared, decided before any row is read.
#[derive(Debug, Clone)]
pub struct DiffPlan {
    /// The key columns (empty for a multiset diff).
    pub key: Vec<ColumnPair>,
    /// The compared columns besides the key.
    pub columns: Vec<ColumnPair>,
    /// One rule per key column then per compared column.
    pub rules: Vec<Rule>,
    /// What was done so that values of different spelling compare equal,
    /// and what was left out.
    pub notes: Vec<String>,
    /// Rows are compared as multisets (no key).
    pub multiset: bool,
    /// The fields each side reads, in plan order (key then columns).
    pub left_fields: Vec<Field>,
    /// The right side's fields.
    pub right_fields: Vec<Field>,
    pub(crate) left: Reader,
    pub(crate) right: Reader,
}

impl DiffPlan {
    /// The statements the two sides run for the whole diff.
    pub fn statements(&self) -> Result<(String, String)> {
        Ok((self.left.statement(&[])?, self.right.statement(&[])?))
    }
}

/// How one side reads its rows in key order.
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    pub(crate) engine: Engine,
    pub(crate) dialect: Option<Arc<dyn qore_core::Dialect>>,
    /// `FROM` target (SQL) or collection (MongoDB).
    from: String,
    /// The MongoDB `find` command the side's query gave, if any.
    mongo_find: Option<serde_json::Map<String, serde_json::Value>>,
    columns: Vec<String>,
    /// Columns sorted by bytes (text).
    text: Vec<bool>,
    /// How many leading columns are the order.
    order_len: usize,
    filter: Option<String>,
}

impl Reader {
    /// The quoted column `i` (SQL engines).
    pub(crate) fn column_sql(&self, i: usize) -> Result<String> {
        match &self.dialect {
            Some(d) => d.quote_identifier(&self.columns[i]),
            None => Ok(self.columns[i].clone()),
        }
    }

    /// The statement reading the rows, in order, with extra SQL conditions.
    pub(crate) fn statement(&self, extra: &[String]) -> Result<String> {
        let Some(d) = &self.dialect else {
            return self.mongo_statement();
        };
        let mut sql = String::from("SELECT ");
        for i in 0..self.columns.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&self.column_sql(i)?);
        }
        sql.push_str(" FROM ");
        sql.push_str(&self.from);
        sql.push_str(&self.where_clause(extra));
        if self.order_len > 0 {
            sql.push_str(" ORDER BY ");
            for i in 0..self.order_len {
                if i > 0 {
                    sql.push_str(", ");
                }
                let c = self.column_sql(i)?;
                let item = if self.text[i] { d.byte_order(&c) } else { c };
                sql.push_str(&d.ascending_nulls_first(&item));
            }
        }
        Ok(sql)
    }

    /// ` WHERE (filter) AND extra...`, or nothing.
    pub(crate) fn where_clause(&self, extra: &[String]) -> String {
        let conds: Vec<String> = self
            .filter
            .iter()
            .map(|f| format!("({f})"))
            .chain(extra.iter().cloned())
            .collect();
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        }
    }

    pub(crate) fn from(&self) -> &str {
        &self.from
    }

    fn mongo_statement(&self) -> Result<String> {
        let mut cmd = self.mongo_find.clone().unwrap_or_default();
        cmd.insert("find".into(), serde_json::Value::String(self.from.clone()));
        if let Some(f) = &self.filter {
            let filter: serde_json::Value = serde_json::from_str(f).map_err(|e| {
                Error::invalid(format!(
                    "the filter of a MongoDB side is a JSON document ({e}): {f}"
                ))
            })?;
            cmd.insert("filter".into(), filter);
        }
        // Whole documents: fields beyond the sampled columns arrive in
        // `_extra` and are compared there.
        let mut sort = serde_json::Map::new();
        for c in &self.columns[..self.order_len] {
            sort.insert(c.clone(), 1.into());
        }
        if !sort.is_empty() {
            cmd.insert("sort".into(), sort.into());
        }
        Ok(serde_json::Value::Object(cmd).to_string())
    }
}

fn strip_statement(q: &str) -> &str {
    q.trim().trim_end_matches(';').trim_end()
}

/// The side's `FROM` target and, for MongoDB, its find command.
fn from_of(
    side: &Side,
) -> Result<(String, Option<serde_json::Map<String, serde_json::Value>>)> {
    let conn = &side.conn;
    match (&side.source, conn.dialect()) {
        (Source::Table(t), Some(d)) => Ok((d.quote_table(t)?, None)),
        (Source::Query(q), Some(_)) => Ok((format!("({}) AS qore_diff_side", strip_statement(q)), None)),
        (Source::Table(t), None) if conn.engine() == Engine::MongoDb => Ok((t.name.clone(), None)),
        (Source::Query(q), None) if conn.engine() == Engine::MongoDb => {
            let parsed: serde_json::Value = serde_json::from_str(strip_statement(q)).map_err(|_| {
                Error::invalid(
                    "a MongoDB side of a diff is a collection (--table) or a find command \
                     as JSON ({\"find\": \"coll\", \"filter\": {...}})",
                )
            })?;
            let mut m = match parsed {
                serde_json::Value::Object(m) => m,
                _ => return Err(Error::invalid("a MongoDB query side must be a JSON find command")),
            };
            let coll = m
                .remove("find")
                .and_then(|v| v.as_str().map(str::to_string))
                .ok_or_else(|| Error::invalid("a MongoDB query side must be a find command ({\"find\": ...})"))?;
            for k in ["sort", "projection", "limit", "skip"] {
                if m.contains_key(k) {
                    return Err(Error::invalid(format!(
                        "the MongoDB find command of a diff side cannot set `{k}`: the diff sorts and projects itself"
                    )));
                }
            }
            Ok((coll, Some(m)))
        }
        _ => Err(Error::NotSupported(format!(
            "{} has no tables or queries to diff",
            conn.engine().name()
        ))),
    }
}

/// The side's columns as it returns them, with the catalog's details of a
/// table source.
async fn probe(
    which: &str,
    side: &Side,
    from: &str,
    find: &Option<serde_json::Map<String, serde_json::Value>>,
) -> Result<(SchemaRef, Option<TableDetails>)> {
    let context = || format!("the {which} side ({})", side.label);
    let conn: &dyn Connection = side.conn.as_ref();
    let details = match (&side.source, conn.catalog()) {
        (Source::Table(t), Some(c)) => Some(c.table(t).await.map_err(|e| e.context(context()))?),
        _ => None,
    };
    let sql = if conn.dialect().is_some() {
        format!("SELECT * FROM {from} WHERE 1 = 0")
    } else {
        let mut cmd = find.clone().unwrap_or_default();
        cmd.insert("find".into(), from.into());
        cmd.insert("limit".into(), 1000.into());
        serde_json::Value::Object(cmd).to_string()
    };
    let mut stream = conn
        .query(&sql, &[])
        .await
        .map_err(|e| e.context(format!("reading the columns of {}", context())))?;
    let mut schema = stream.schema();
    // MongoDB's columns come from the documents: read the sample.
    if conn.dialect().is_none() {
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        while let Some(b) = stream.next().await {
            for f in b?.schema().fields() {
                if !fields.iter().any(|x| x.name() == f.name()) {
                    fields.push(f.as_ref().clone());
                }
            }
        }
        schema = Arc::new(Schema::new(fields));
    }
    drop(stream);
    Ok((schema, details))
}

/// Index of `name` in `schema`: exact, else the only case-insensitive match.
fn find_field(schema: &Schema, name: &str) -> Option<usize> {
    if let Some(i) = schema.fields().iter().position(|f| f.name() == name) {
        return Some(i);
    }
    let mut it = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name().eq_ignore_ascii_case(name));
    match (it.next(), it.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

fn declared(details: &Option<TableDetails>, name: &str) -> Option<String> {
    details
        .as_ref()
        .and_then(|d| d.column(name))
        .map(|c| c.source_type.clone())
}

/// Decides the key, the columns and their rules.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a key or column one side does not have
/// (naming the side and the columns it has), types that cannot be
/// compared, a side the engine cannot read as rows.
pub async fn plan(left: &Side, right: &Side, o: &DiffOptions) -> Result<DiffPlan> {
    let (lfrom, lfind) = from_of(left)?;
    let (rfrom, rfind) = from_of(right)?;
    let (lp, rp) = futures::join!(probe("left", left, &lfrom, &lfind), probe("right", right, &rfrom, &rfind));
    let ((ls, ld), (rs, rd)) = (lp?, rp?);
    let mut notes = Vec::new();

    let resolve = |pair: &ColumnPair, what: &str| -> Result<(usize, usize, ColumnPair)> {
        let li = find_field(&ls, &pair.left).ok_or_else(|| missing("left", what, &pair.left, &ls))?;
        let ri = find_field(&rs, &pair.right).ok_or_else(|| missing("right", what, &pair.right, &rs))?;
        Ok((li, ri, ColumnPair { left: ls.field(li).name().clone(), right: rs.field(ri).name().clone() }))
    };

    // The key: given, else a primary key, else MongoDB's _id, else none.
    let mut key_pairs = o.key.clone();
    if key_pairs.is_empty() && !o.multiset {
        let pk = |d: &Option<TableDetails>| -> Vec<String> {
            d.as_ref().map(|d| d.primary_key().into_iter().map(str::to_string).collect()).unwrap_or_default()
        };
        let (lk, rk) = (pk(&ld), pk(&rd));
        if !lk.is_empty() {
            key_pairs = lk.iter().map(|k| ColumnPair::parse(k)).collect();
            notes.push(format!("key: the primary key of the left side ({})", lk.join(", ")));
        } else if !rk.is_empty() {
            key_pairs = rk.iter().map(|k| ColumnPair::parse(k)).collect();
            notes.push(format!("key: the primary key of the right side ({})", rk.join(", ")));
        } else if left.conn.engine() == Engine::MongoDb && right.conn.engine() == Engine::MongoDb {
            key_pairs = vec![ColumnPair::parse("_id")];
            notes.push("key: _id".into());
        }
    }
    let multiset = o.multiset || key_pairs.is_empty();
    let mut key = Vec::new();
    let mut used_l = Vec::new();
    let mut used_r = Vec::new();
    for p in &key_pairs {
        let (li, ri, p) = resolve(p, "key column")?;
        used_l.push(li);
        used_r.push(ri);
        key.push(p);
    }
    let mut columns = Vec::new();
    if o.columns.is_empty() {
        let mut only_left = Vec::new();
        for (li, f) in ls.fields().iter().enumerate() {
            if used_l.contains(&li) {
                continue;
            }
            match find_field(&rs, f.name()).filter(|ri| !used_r.contains(ri)) {
                Some(ri) => {
                    used_l.push(li);
                    used_r.push(ri);
                    columns.push(ColumnPair { left: f.name().clone(), right: rs.field(ri).name().clone() });
                }
                None => only_left.push(f.name().clone()),
            }
        }
        let only_right: Vec<String> = rs
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| !used_r.contains(i))
            .map(|(_, f)| f.name().clone())
            .collect();
        if !only_left.is_empty() {
            notes.push(format!("only on the left, not compared: {}", only_left.join(", ")));
        }
        if !only_right.is_empty() {
            notes.push(format!("only on the right, not compared: {}", only_right.join(", ")));
        }
    } else {
        for p in &o.columns {
            let (li, ri, p) = resolve(p, "column")?;
            if used_l.contains(&li) {
                continue;
            }
            used_l.push(li);
            used_r.push(ri);
            columns.push(p);
        }
    }
    if multiset {
        if key_pairs.is_empty() && !o.multiset {
            notes.push("no key (none given, no primary key): rows compared as multisets".into());
        }
        // Every column is the order; nothing is a "changed" cell.
        key.append(&mut columns);
    }
    if key.is_empty() {
        return Err(Error::invalid("nothing to compare: no column is on both sides"));
    }

    let mut rules = Vec::new();
    let mut lf = Vec::new();
    let mut rf = Vec::new();
    for (n, p) in key.iter().chain(&columns).enumerate() {
        let l = ls.field(find_field(&ls, &p.left).ok_or_else(|| missing("left", "column", &p.left, &ls))?).clone();
        let r = rs.field(find_field(&rs, &p.right).ok_or_else(|| missing("right", "column", &p.right, &rs))?).clone();
        let opts = RuleOptions {
            tolerance: o.float_tolerance,
            trim: o.trim,
            fold: o.case_fold,
            time_digits: o.time_precision,
            key: n < key.len(),
        };
        let (rule, note) = rule_for(
            &p.left,
            &ColumnFacts::new(l.clone(), declared(&ld, &p.left).as_deref()),
            &ColumnFacts::new(r.clone(), declared(&rd, &p.right).as_deref()),
            opts,
        )?;
        notes.extend(note);
        rules.push(rule);
        lf.push(l);
        rf.push(r);
    }
    if o.trim {
        notes.push("text compared without surrounding white space".into());
    }
    if o.case_fold {
        notes.push("text compared case-insensitively".into());
    }
    if let Some(t) = o.float_tolerance {
        notes.push(if t.relative > 0.0 {
            format!("floats equal within {}%", t.relative * 100.0)
        } else {
            format!("floats equal within {}", t.absolute)
        });
    }
    let reader = |side: &Side, from: String, find, fields: &[Field], filter: &Option<String>| Reader {
        engine: side.conn.engine(),
        dialect: side.conn.dialect(),
        from,
        mongo_find: find,
        columns: fields.iter().map(|f| f.name().clone()).collect(),
        text: fields.iter().map(|f| matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)).collect(),
        order_len: key.len(),
        filter: filter.clone(),
    };
    let right_filter = o.right_filter.clone().or_else(|| o.filter.clone());
    Ok(DiffPlan {
        left: reader(left, lfrom, lfind, &lf, &o.filter),
        right: reader(right, rfrom, rfind, &rf, &right_filter),
        key,
        columns,
        rules,
        notes,
        multiset,
        left_fields: lf,
        right_fields: rf,
    })
}

fn missing(side: &str, what: &str, name: &str, schema: &Schema) -> Error {
    let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    Error::invalid(format!(
        "{what} `{name}` is not on the {side} side (it has: {})",
        have.join(", ")
    ))
}
