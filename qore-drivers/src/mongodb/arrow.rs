//! Documents ↔ Arrow: a schema inferred from a sample, columns built from
//! documents, and documents rebuilt from columns (for Extended JSON output).
//!
//! Lossless by construction: an Arrow NULL means "field absent"; anything a
//! column cannot hold (an explicit `null`, a value of another type than the
//! sample showed, a field first seen after the sample) goes, with its path,
//! into the catch-all `_extra` column as canonical Extended JSON, and
//! [`row_to_document`] puts it back where it was.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::*;
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use mongodb::bson::{self, Bson, Document};
use qore_core::{Error, Result};

/// Field metadata key: the BSON type a column holds (`int`, `long`,
/// `double`, `string`, `objectId`, `date`, `decimal`, `timestamp`, `bool`,
/// `binData`, `object`, `array`, `json`, `null`, `extra`).
pub const BSON_TYPE: &str = "qore.bson";
/// The catch-all column.
pub const EXTRA_COLUMN: &str = "_extra";

/// A BSON type that has its own Arrow column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Double,
    String,
    Binary,
    ObjectId,
    Bool,
    Date,
    Int32,
    Int64,
    Decimal,
    Timestamp,
}

impl Kind {
    fn of(v: &Bson) -> Option<Kind> {
        Some(match v {
            Bson::Double(_) => Kind::Double,
            Bson::String(_) => Kind::String,
            Bson::Binary(b) if b.subtype == bson::spec::BinarySubtype::Generic => Kind::Binary,
            Bson::ObjectId(_) => Kind::ObjectId,
            Bson::Boolean(_) => Kind::Bool,
            Bson::DateTime(_) => Kind::Date,
            Bson::Int32(_) => Kind::Int32,
            Bson::Int64(_) => Kind::Int64,
            Bson::Decimal128(_) => Kind::Decimal,
            Bson::Timestamp(_) => Kind::Timestamp,
            _ => return None,
        })
    }

    fn arrow(self) -> DataType {
        match self {
            Kind::Double => DataType::Float64,
            Kind::String | Kind::ObjectId | Kind::Decimal => DataType::Utf8,
            Kind::Binary => DataType::Binary,
            Kind::Bool => DataType::Boolean,
            Kind::Date => DataType::Timestamp(TimeUnit::Millisecond, Some(Arc::from("UTC"))),
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Timestamp => DataType::UInt64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Double => "double",
            Kind::String => "string",
            Kind::Binary => "binData",
            Kind::ObjectId => "objectId",
            Kind::Bool => "bool",
            Kind::Date => "date",
            Kind::Int32 => "int",
            Kind::Int64 => "long",
            Kind::Decimal => "decimal",
            Kind::Timestamp => "timestamp",
        }
    }
}

/// What the sample showed at one path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// Only nulls (or nothing) seen.
    Null,
    Scalar(Kind),
    Doc(Vec<(String, Shape)>),
    Array(Box<Shape>),
    /// Inconsistent or without a column type: canonical Extended JSON text.
    Json,
}

impl Shape {
    fn of(v: &Bson) -> Shape {
        let mut s = Shape::Null;
        s.merge(v);
        s
    }

    /// Widens the shape to cover `v`.
    pub(crate) fn merge(&mut self, v: &Bson) {
        if matches!(v, Bson::Null) || *self == Shape::Json {
            return;
        }
        match (&mut *self, v) {
            (Shape::Null, Bson::Document(d)) => {
                let mut fields = Vec::with_capacity(d.len());
                for (k, x) in d {
                    fields.push((k.clone(), Shape::of(x)));
                }
                *self = Shape::Doc(fields);
            }
            (Shape::Null, Bson::Array(a)) => {
                let mut e = Shape::Null;
                for x in a {
                    e.merge(x);
                }
                *self = Shape::Array(Box::new(e));
            }
            (Shape::Null, x) => *self = Kind::of(x).map(Shape::Scalar).unwrap_or(Shape::Json),
            (Shape::Scalar(k), x) if Kind::of(x) == Some(*k) => {}
            (Shape::Doc(fields), Bson::Document(d)) => {
                for (k, x) in d {
                    match fields.iter_mut().find(|(n, _)| n == k) {
                        Some((_, s)) => s.merge(x),
                        None => fields.push((k.clone(), Shape::of(x))),
                    }
                }
            }
            (Shape::Array(e), Bson::Array(a)) => {
                for x in a {
                    e.merge(x);
                }
            }
            _ => *self = Shape::Json,
        }
    }

    fn arrow(&self) -> DataType {
        match self {
            Shape::Null | Shape::Json => DataType::Utf8,
            Shape::Scalar(k) => k.arrow(),
            Shape::Doc(fields) => DataType::Struct(Fields::from(
                fields.iter().map(|(n, s)| s.field(n)).collect::<Vec<_>>(),
            )),
            Shape::Array(e) => DataType::List(Arc::new(e.field("item"))),
        }
    }

    fn bson_name(&self) -> &'static str {
        match self {
            Shape::Null => "null",
            Shape::Json => "json",
            Shape::Scalar(k) => k.name(),
            Shape::Doc(_) => "object",
            Shape::Array(_) => "array",
        }
    }

    fn field(&self, name: &str) -> Field {
        let mut md = HashMap::from([
            (BSON_TYPE.to_string(), self.bson_name().to_string()),
            (
                qore_core::metadata::SOURCE_TYPE.to_string(),
                self.bson_name().to_string(),
            ),
        ]);
        if matches!(self, Shape::Json) {
            md.insert(qore_core::metadata::JSON.to_string(), "true".into());
        }
        Field::new(name, self.arrow(), true).with_metadata(md)
    }

    /// Whether `v` can sit inside a list of this shape with nothing lost.
    fn fits_in_list(&self, v: &Bson) -> bool {
        match (self, v) {
            (_, Bson::Null) => true,
            (Shape::Json, _) => true,
            (Shape::Scalar(k), x) => Kind::of(x) == Some(*k),
            (Shape::Doc(fields), Bson::Document(d)) => d.iter().all(|(k, x)| {
                !matches!(x, Bson::Null)
                    && fields
                        .iter()
                        .any(|(n, s)| n == k && s.fits_in_list_field(x))
            }),
            (Shape::Array(e), Bson::Array(a)) => a.iter().all(|x| e.fits_in_list(x)),
            _ => false,
        }
    }

    fn fits_in_list_field(&self, v: &Bson) -> bool {
        !matches!(self, Shape::Null) && self.fits_in_list(v)
    }
}

/// The shape of documents: the top level is always a document.
pub(crate) fn infer<'a>(docs: impl IntoIterator<Item = &'a Document>) -> Vec<(String, Shape)> {
    let mut top = Shape::Doc(Vec::new());
    for d in docs {
        // Cheap: no clone of the document.
        if let Shape::Doc(fields) = &mut top {
            for (k, x) in d {
                match fields.iter_mut().find(|(n, _)| n == k) {
                    Some((_, s)) => s.merge(x),
                    None => fields.push((k.clone(), Shape::of(x))),
                }
            }
        }
    }
    match top {
        Shape::Doc(f) => f,
        _ => Vec::new(),
    }
}

/// The Arrow schema of documents of this shape, with the `_extra` column last.
pub(crate) fn schema_of(fields: &[(String, Shape)]) -> SchemaRef {
    let mut out: Vec<Field> = fields
        .iter()
        .filter(|(n, _)| n != EXTRA_COLUMN)
        .map(|(n, s)| s.field(n))
        .collect();
    let md = HashMap::from([
        (BSON_TYPE.to_string(), "extra".to_string()),
        (qore_core::metadata::JSON.to_string(), "true".to_string()),
    ]);
    out.push(Field::new(EXTRA_COLUMN, DataType::Utf8, true).with_metadata(md));
    Arc::new(Schema::new(out))
}

type Extras = Vec<Vec<(Vec<String>, Bson)>>;

fn canonical(v: &Bson) -> String {
    v.clone().into_canonical_extjson().to_string()
}

/// Builds one column. `vals[i]` is the value at this path in row `i`
/// (`None`: absent). `path` is `Some` outside lists, where what does not fit
/// goes to `extras`; inside lists the caller has checked that all fits.
fn build(
    shape: &Shape,
    vals: &[Option<&Bson>],
    path: Option<&mut Vec<String>>,
    extras: &mut Extras,
) -> Result<ArrayRef> {
    let n = vals.len();
    let mut path = path;
    let spill = |i: usize, v: &Bson, path: &mut Option<&mut Vec<String>>, extras: &mut Extras| {
        if let Some(p) = path.as_deref() {
            extras[i].push((p.clone(), v.clone()));
        }
    };
    Ok(match shape {
        Shape::Null | Shape::Json => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            for (i, v) in vals.iter().enumerate() {
                match v {
                    None => b.append_null(),
                    Some(Bson::Null) => {
                        if path.is_some() {
                            spill(i, &Bson::Null, &mut path, extras);
                            b.append_null();
                        } else {
                            b.append_null();
                        }
                    }
                    Some(x) if *shape == Shape::Json => b.append_value(canonical(x)),
                    Some(x) => {
                        spill(i, x, &mut path, extras);
                        b.append_null();
                    }
                }
            }
            Arc::new(b.finish())
        }
        Shape::Scalar(k) => {
            macro_rules! prim {
                ($builder:ty, $pat:pat => $val:expr) => {{
                    let mut b = <$builder>::with_capacity(n);
                    for (i, v) in vals.iter().enumerate() {
                        match v {
                            Some($pat) => b.append_value($val),
                            None => b.append_null(),
                            Some(x) => {
                                spill(i, x, &mut path, extras);
                                b.append_null();
                            }
                        }
                    }
                    Arc::new(b.finish()) as ArrayRef
                }};
            }
            match k {
                Kind::Double => prim!(Float64Builder, Bson::Double(x) => *x),
                Kind::Int32 => prim!(Int32Builder, Bson::Int32(x) => *x),
                Kind::Int64 => prim!(Int64Builder, Bson::Int64(x) => *x),
                Kind::Bool => prim!(BooleanBuilder, Bson::Boolean(x) => *x),
                Kind::Timestamp => {
                    prim!(UInt64Builder, Bson::Timestamp(t) => (u64::from(t.time) << 32) | u64::from(t.increment))
                }
                Kind::Date => {
                    let mut b = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
                    for (i, v) in vals.iter().enumerate() {
                        match v {
                            Some(Bson::DateTime(d)) => b.append_value(d.timestamp_millis()),
                            None => b.append_null(),
                            Some(x) => {
                                spill(i, x, &mut path, extras);
                                b.append_null();
                            }
                        }
                    }
                    Arc::new(b.finish())
                }
                Kind::Binary => {
                    let mut b = BinaryBuilder::with_capacity(n, n * 16);
                    for (i, v) in vals.iter().enumerate() {
                        match v {
                            Some(Bson::Binary(x))
                                if x.subtype == bson::spec::BinarySubtype::Generic =>
                            {
                                b.append_value(&x.bytes)
                            }
                            None => b.append_null(),
                            Some(x) => {
                                spill(i, x, &mut path, extras);
                                b.append_null();
                            }
                        }
                    }
                    Arc::new(b.finish())
                }
                Kind::String | Kind::ObjectId | Kind::Decimal => {
                    let mut b = StringBuilder::with_capacity(n, n * 16);
                    for (i, v) in vals.iter().enumerate() {
                        match (k, v) {
                            (Kind::String, Some(Bson::String(s))) => b.append_value(s),
                            (Kind::ObjectId, Some(Bson::ObjectId(o))) => b.append_value(o.to_hex()),
                            (Kind::Decimal, Some(Bson::Decimal128(d))) => {
                                b.append_value(d.to_string())
                            }
                            (_, None) => b.append_null(),
                            (_, Some(x)) => {
                                spill(i, x, &mut path, extras);
                                b.append_null();
                            }
                        }
                    }
                    Arc::new(b.finish())
                }
            }
        }
        Shape::Doc(fields) => {
            let mut valid = Vec::with_capacity(n);
            let mut docs: Vec<Option<&Document>> = Vec::with_capacity(n);
            for (i, v) in vals.iter().enumerate() {
                match v {
                    Some(Bson::Document(d)) => {
                        // Fields the shape does not know go to _extra (outside lists).
                        if let Some(p) = path.as_deref() {
                            for (k, x) in d {
                                if !fields.iter().any(|(f, _)| f == k) {
                                    let mut fp = p.clone();
                                    fp.push(k.clone());
                                    extras[i].push((fp, x.clone()));
                                }
                            }
                        }
                        valid.push(true);
                        docs.push(Some(d));
                    }
                    None => {
                        valid.push(false);
                        docs.push(None);
                    }
                    Some(x) => {
                        spill(i, x, &mut path, extras);
                        valid.push(false);
                        docs.push(None);
                    }
                }
            }
            let mut children = Vec::with_capacity(fields.len());
            for (name, s) in fields {
                let child_vals: Vec<Option<&Bson>> =
                    docs.iter().map(|d| d.and_then(|d| d.get(name))).collect();
                let arr = match path.as_deref_mut() {
                    Some(p) => {
                        p.push(name.clone());
                        let r = build(s, &child_vals, Some(p), extras);
                        p.pop();
                        r?
                    }
                    None => build(s, &child_vals, None, extras)?,
                };
                children.push(arr);
            }
            let DataType::Struct(fs) = shape.arrow() else {
                return Err(Error::Internal("struct shape".into()));
            };
            if fs.is_empty() {
                Arc::new(StructArray::new_empty_fields(
                    n,
                    Some(NullBuffer::from(valid)),
                ))
            } else {
                Arc::new(StructArray::try_new(
                    fs,
                    children,
                    Some(NullBuffer::from(valid)),
                )?)
            }
        }
        Shape::Array(e) => {
            let mut offsets = Vec::with_capacity(n + 1);
            offsets.push(0i32);
            let mut valid = Vec::with_capacity(n);
            let mut items: Vec<Option<&Bson>> = Vec::new();
            for (i, v) in vals.iter().enumerate() {
                match v {
                    Some(Bson::Array(a)) if a.iter().all(|x| e.fits_in_list(x)) => {
                        for x in a {
                            items.push(if matches!(x, Bson::Null) {
                                None
                            } else {
                                Some(x)
                            });
                        }
                        valid.push(true);
                    }
                    None => valid.push(false),
                    Some(x) => {
                        spill(i, x, &mut path, extras);
                        valid.push(false);
                    }
                }
                offsets.push(i32::try_from(items.len()).map_err(|_| {
                    Error::data("a list column holds more than 2^31 elements in one batch")
                })?);
            }
            let child = build(e, &items, None, extras)?;
            let DataType::List(f) = shape.arrow() else {
                return Err(Error::Internal("list shape".into()));
            };
            Arc::new(ListArray::try_new(
                f,
                OffsetBuffer::new(offsets.into()),
                child,
                Some(NullBuffer::from(valid)),
            )?)
        }
    })
}

/// The shape a field of a document schema was made from (its `qore.bson`
/// metadata and nested fields); `None` for a field not made by [`schema_of`].
fn shape_of_field(f: &Field) -> Option<Shape> {
    let kind = |name: &str| {
        [
            Kind::Double,
            Kind::String,
            Kind::Binary,
            Kind::ObjectId,
            Kind::Bool,
            Kind::Date,
            Kind::Int32,
            Kind::Int64,
            Kind::Decimal,
            Kind::Timestamp,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    };
    Some(match f.metadata().get(BSON_TYPE)?.as_str() {
        "null" => Shape::Null,
        "json" => Shape::Json,
        "object" => match f.data_type() {
            DataType::Struct(fields) => Shape::Doc(
                fields
                    .iter()
                    .map(|c| Some((c.name().clone(), shape_of_field(c)?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            _ => return None,
        },
        "array" => match f.data_type() {
            DataType::List(item) => Shape::Array(Box::new(shape_of_field(item)?)),
            _ => return None,
        },
        other => Shape::Scalar(kind(other)?),
    })
}

/// Builds a batch of `docs` (canonical or relaxed Extended JSON objects) in
/// `schema`, a document schema this module made (a `find`'s result): what
/// does not fit its columns goes to `_extra`, as when reading.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for a document that is not Extended JSON or a
/// schema that is not a document schema.
pub fn documents_batch(schema: &SchemaRef, docs: &[serde_json::Value]) -> Result<RecordBatch> {
    let shape: Vec<(String, Shape)> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != EXTRA_COLUMN)
        .map(|f| Some((f.name().clone(), shape_of_field(f)?)))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::invalid("not a schema of MongoDB documents"))?;
    let docs = docs
        .iter()
        .map(|j| match Bson::try_from(j.clone()) {
            Ok(Bson::Document(d)) => Ok(d),
            Ok(_) => Err(Error::invalid("a document must be a JSON object")),
            Err(e) => Err(Error::invalid(format!("not Extended JSON: {e}"))),
        })
        .collect::<Result<Vec<_>>>()?;
    batch(&shape, schema, &docs)
}

/// Builds a record batch of `docs` in `schema`'s shape.
pub(crate) fn batch(
    shape: &[(String, Shape)],
    schema: &SchemaRef,
    docs: &[Document],
) -> Result<RecordBatch> {
    let n = docs.len();
    let mut extras: Extras = vec![Vec::new(); n];
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(shape.len() + 1);
    for (name, s) in shape.iter().filter(|(n, _)| n != EXTRA_COLUMN) {
        let vals: Vec<Option<&Bson>> = docs.iter().map(|d| d.get(name)).collect();
        let mut path = vec![name.clone()];
        cols.push(build(s, &vals, Some(&mut path), &mut extras)?);
    }
    // Top-level fields the sample did not show (and a user field that is
    // itself called _extra).
    for (i, d) in docs.iter().enumerate() {
        for (k, x) in d {
            if k == EXTRA_COLUMN || !shape.iter().any(|(n, _)| n == k) {
                extras[i].push((vec![k.clone()], x.clone()));
            }
        }
    }
    let mut b = StringBuilder::with_capacity(n, 0);
    for e in &extras {
        if e.is_empty() {
            b.append_null();
        } else {
            let list: Vec<serde_json::Value> = e
                .iter()
                .map(|(p, v)| serde_json::json!([p, v.clone().into_canonical_extjson()]))
                .collect();
            b.append_value(serde_json::Value::Array(list).to_string());
        }
    }
    cols.push(Arc::new(b.finish()));
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

/// The BSON value of one cell (`None`: absent).
fn cell(col: &dyn Array, field: &Field, row: usize) -> Result<Option<Bson>> {
    if col.is_null(row) {
        return Ok(None);
    }
    let kind = field
        .metadata()
        .get(BSON_TYPE)
        .map(String::as_str)
        .unwrap_or("");
    let bad = |what: &str| Error::data(format!("column `{}` holds a bad {what}", field.name()));
    Ok(Some(match col.data_type() {
        DataType::Float64 => Bson::Double(
            col.as_primitive::<arrow::datatypes::Float64Type>()
                .value(row),
        ),
        DataType::Int32 => {
            Bson::Int32(col.as_primitive::<arrow::datatypes::Int32Type>().value(row))
        }
        DataType::Int64 => {
            Bson::Int64(col.as_primitive::<arrow::datatypes::Int64Type>().value(row))
        }
        DataType::Boolean => Bson::Boolean(col.as_boolean().value(row)),
        DataType::UInt64 => {
            let v = col
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .value(row);
            Bson::Timestamp(bson::Timestamp {
                time: (v >> 32) as u32,
                increment: v as u32,
            })
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            Bson::DateTime(bson::DateTime::from_millis(
                col.as_primitive::<arrow::datatypes::TimestampMillisecondType>()
                    .value(row),
            ))
        }
        DataType::Binary => Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: col.as_binary::<i32>().value(row).to_vec(),
        }),
        DataType::Utf8 => {
            let s = col.as_string::<i32>().value(row);
            match kind {
                "objectId" => {
                    Bson::ObjectId(bson::oid::ObjectId::parse_str(s).map_err(|_| bad("ObjectId"))?)
                }
                "decimal" => Bson::Decimal128(s.parse().map_err(|_| bad("decimal"))?),
                "json" | "null" => {
                    let v: serde_json::Value =
                        serde_json::from_str(s).map_err(|_| bad("Extended JSON value"))?;
                    Bson::try_from(v).map_err(|_| bad("Extended JSON value"))?
                }
                _ => Bson::String(s.to_string()),
            }
        }
        DataType::Struct(fields) => {
            let st = col.as_struct();
            let mut d = Document::new();
            for (i, f) in fields.iter().enumerate() {
                if let Some(v) = cell(st.column(i).as_ref(), f, row)? {
                    d.insert(f.name().clone(), v);
                }
            }
            Bson::Document(d)
        }
        DataType::List(f) => {
            let l = col.as_list::<i32>();
            let items = l.value(row);
            let mut out = Vec::with_capacity(items.len());
            for i in 0..items.len() {
                out.push(cell(items.as_ref(), f, i)?.unwrap_or(Bson::Null));
            }
            Bson::Array(out)
        }
        other => {
            return Err(Error::data(format!(
                "column `{}` of Arrow type {other} has no BSON form",
                field.name()
            )));
        }
    }))
}

/// Rebuilds row `row` of a batch made by this module as the original document.
pub fn row_to_document(batch: &RecordBatch, row: usize) -> Result<Document> {
    let schema = batch.schema();
    let mut d = Document::new();
    let mut extra: Option<&str> = None;
    for (i, f) in schema.fields().iter().enumerate() {
        if f.name() == EXTRA_COLUMN
            && f.metadata().get(BSON_TYPE).map(String::as_str) == Some("extra")
        {
            let c = batch.column(i).as_string::<i32>();
            if !c.is_null(row) {
                extra = Some(c.value(row));
            }
            continue;
        }
        if let Some(v) = cell(batch.column(i).as_ref(), f, row)? {
            d.insert(f.name().clone(), v);
        }
    }
    if let Some(extra) = extra {
        let list: Vec<(Vec<String>, serde_json::Value)> = serde_json::from_str(extra)
            .map_err(|e| Error::data(format!("bad _extra column: {e}")))?;
        for (path, v) in list {
            let v = Bson::try_from(v).map_err(|e| Error::data(format!("bad _extra value: {e}")))?;
            put(&mut d, &path, v);
        }
    }
    Ok(d)
}

fn put(d: &mut Document, path: &[String], v: Bson) {
    match path {
        [] => {}
        [last] => {
            d.insert(last.clone(), v);
        }
        [first, rest @ ..] => {
            if !matches!(d.get(first), Some(Bson::Document(_))) {
                d.insert(first.clone(), Document::new());
            }
            if let Some(Bson::Document(sub)) = d.get_mut(first) {
                put(sub, rest, v);
            }
        }
    }
}

/// Whether a schema came from MongoDB documents (it has the `_extra` column).
pub fn is_document_schema(schema: &Schema) -> bool {
    schema.fields().iter().any(|f| {
        f.name() == EXTRA_COLUMN && f.metadata().get(BSON_TYPE).map(String::as_str) == Some("extra")
    })
}

/// Row `row` as canonical Extended JSON.
pub fn row_to_extjson(batch: &RecordBatch, row: usize) -> Result<serde_json::Value> {
    Ok(Bson::Document(row_to_document(batch, row)?).into_canonical_extjson())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn inconsistent_late_and_null_fields_survive() {
        let docs = vec![
            doc! { "_id": 1, "a": { "b": 1, "c": [1, 2] }, "s": "x", "mixed": 1 },
            doc! { "_id": 2, "a": { "b": 2, "c": [] }, "s": bson::Bson::Null, "mixed": "one" },
            doc! { "_id": 3, "a": { "b": bson::Bson::Null }, "late": true, "s": 5, "_extra": "mine" },
            doc! { "_id": 4, "a": { "c": [1, bson::Bson::Null, "x"] } },
        ];
        let shape = infer(&docs[..2]);
        let schema = schema_of(&shape);
        let b = batch(&shape, &schema, &docs).unwrap();
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(&row_to_document(&b, i).unwrap(), d, "row {i}");
        }
        assert_eq!(
            schema.field_with_name("mixed").unwrap().metadata()[BSON_TYPE],
            "json"
        );
        assert!(matches!(
            schema.field_with_name("a").unwrap().data_type(),
            DataType::Struct(_)
        ));
    }
}
