//! Redis through the `redis` crate: redis-cli commands tokenized with
//! redis-cli's quoting, replies shaped into Arrow tables by command, and
//! SCAN-only key browsing in bounded memory.
//!
//! | command | columns |
//! |---|---|
//! | `HGETALL` | `field`, `value` |
//! | `LRANGE` | `index` (Int64), `value` |
//! | `SMEMBERS`, `SINTER`, `SUNION`, `SDIFF` | `member` |
//! | `ZRANGE`/`ZREVRANGE`/`ZRANGEBYSCORE` ... `WITHSCORES` | `member`, `score` (Float64) |
//! | `XRANGE`, `XREVRANGE` | `id`, `fields` (a JSON object) |
//! | `SCAN` | `key`; the next cursor in the schema metadata `qore.redis.cursor` |
//! | anything else | `value`: one row per reply element |
//!
//! Text columns are Utf8 when every value is UTF-8 and Binary otherwise; a
//! text column whose values are all JSON objects or arrays is marked with the
//! field metadata `qore.json = true`.

mod connection;
mod readonly;
pub mod tokenize;

pub use connection::{CURSOR_METADATA, JSON_METADATA, RedisConnection};
/// Moved to `qore_core`: browsing is the [`qore_core::KeyValue`] facet.
pub use qore_core::BrowseOptions;
