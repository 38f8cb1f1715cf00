//! The MongoDB driver (feature `mongodb`), on the official Rust driver.
//!
//! What a user types is MongoDB's own: a command document in Extended JSON
//! (`{"find": "users", "filter": {"age": {"$gt": 30}}, "limit": 10}`,
//! `{"aggregate": "orders", "pipeline": [...]}`, any `runCommand`), or the
//! mongosh shorthand (`db.users.find({age: {$gt: 30}}).sort({age: -1}).limit(10)`,
//! `db.orders.aggregate([...])`, `countDocuments`, `distinct`, `insertOne`,
//! `insertMany`, `updateOne`, `updateMany`, `replaceOne`, `deleteOne`,
//! `deleteMany`, `getIndexes`, `createIndex`, `db.runCommand(...)`). Both are
//! parsed strictly (relaxed JSON: unquoted keys, single quotes; the shell's
//! `ObjectId()`, `ISODate()`, `NumberLong()`, `NumberDecimal()`, `/re/i`);
//! nothing is evaluated, and an error names the position it stopped at.
//!
//! # Documents as Arrow
//!
//! A result's schema is inferred from its first `sample` documents (URL
//! option `?sample=N`, default 1000), then every document streams in batches
//! of 8192, cursor batch by cursor batch.
//!
//! | BSON | Arrow | `qore.bson` |
//! |---|---|---|
//! | double | Float64 | `double` |
//! | int32 / int64 | Int32 / Int64 | `int` / `long` |
//! | decimal128 | Utf8 (exact decimal text) | `decimal` |
//! | string | Utf8 | `string` |
//! | objectId | Utf8 (24 hex digits) | `objectId` |
//! | bool | Boolean | `bool` |
//! | date | Timestamp(ms, "UTC") | `date` |
//! | timestamp | UInt64 (seconds << 32 \| increment) | `timestamp` |
//! | binary (generic subtype) | Binary | `binData` |
//! | consistent embedded documents | Struct (recursively) | `object` |
//! | arrays of one consistent type | List | `array` |
//! | a field of several types, other binary subtypes, regex, code, min/max key | Utf8: canonical Extended JSON, marked `qore.json` | `json` |
//!
//! Nothing is dropped: an Arrow NULL means the field is absent, and whatever
//! a column cannot hold (an explicit `null`, a value of another type than
//! the sample showed, a field first seen after the sample) goes with its
//! path into the last column, `_extra` (canonical Extended JSON).
//! [`row_to_document`] and [`row_to_extjson`] rebuild each original document
//! exactly; `qore query --format ndjson` prints them that way.

mod arrow;
mod catalog;
mod connection;
mod methods;
mod parse;

pub use arrow::{
    BSON_TYPE, EXTRA_COLUMN, documents_batch, is_document_schema, row_to_document, row_to_extjson,
};
pub use connection::{DEFAULT_SAMPLE, MongoConnection, READ_COMMANDS};

/// The command document `input` runs (a command document or the mongosh
/// shorthand, as `query` takes them), as relaxed Extended JSON, without
/// running it: what the safety net classifies.
///
/// # Error handling
///
/// [`qore_core::Error::InvalidInput`] naming what was not understood and where.
pub fn command_document(input: &str) -> qore_core::Result<serde_json::Value> {
    let request = parse::parse(input)?;
    Ok(mongodb::bson::Bson::Document(request.command).into_relaxed_extjson())
}
