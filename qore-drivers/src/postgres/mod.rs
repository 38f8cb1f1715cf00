//! The PostgreSQL driver (feature `postgres`), on sqlx.
//!
//! A statement is prepared first (so the schema is known before any row),
//! then executed in the extended protocol with binary results; rows are
//! decoded straight from the wire format into Arrow builders, 8192 rows (or
//! 16 MiB) per batch, one batch ahead of the consumer. Dropping the stream
//! mid-way cancels the statement on the server (`pg_cancel_backend` from a
//! second connection) and the connection is ready again afterwards.
//!
//! # Type mapping
//!
//! | PostgreSQL | Arrow |
//! |---|---|
//! | `bool` | Boolean |
//! | `int2` / `int4` / `int8` | Int16 / Int32 / Int64 |
//! | `oid`, `regclass`, `regtype`, `xid`, ... | UInt32 |
//! | `float4` / `float8` | Float32 / Float64 |
//! | `numeric(p, s)` read from a table, p ≤ 38 | Decimal128(p, s) |
//! | `numeric` without precision, or p > 38 | Utf8, the exact decimal text (lossless fallback; `NaN`, `Infinity` kept) |
//! | `money` | Decimal128(19, 2) (minor units of `lc_monetary`) |
//! | `text`, `varchar`, `char(n)`, `name`, `citext`, `xml`, enums | Utf8 |
//! | `"char"` | Utf8 (one character) |
//! | `json`, `jsonb`, `jsonpath` | Utf8, marked `qore.json` (json, jsonb) |
//! | `bytea` | Binary |
//! | `date` | Date32 (`±infinity` saturate to Date32's ends) |
//! | `time` | Time64(µs) |
//! | `timetz` | Utf8 (`HH:MM:SS+hh:mm`: Arrow has no zoned time of day) |
//! | `timestamp` | Timestamp(µs) |
//! | `timestamptz` | Timestamp(µs, "UTC") |
//! | `interval` | Interval(MonthDayNano) |
//! | `uuid` | Utf8 (canonical hyphenated) |
//! | `inet`, `cidr` | Utf8 (`10.0.0.1`, `10.0.0.0/8`) |
//! | `macaddr`, `macaddr8` | Utf8 |
//! | `bit(n)`, `varbit` | Utf8 of `0`/`1` |
//! | `tsvector` | Utf8 in PostgreSQL's text form |
//! | `point` | Utf8 `(x,y)` |
//! | `pg_lsn` | Utf8 `16/B374D848` |
//! | `int4range`, `int8range`, `numrange`, `daterange`, `tsrange`, `tstzrange` | Utf8 in PostgreSQL's text form (`[1,10)`) |
//! | one-dimensional arrays of the above | List of the element type (multi-dimensional values are an error naming `array_to_json`) |
//! | domains | their base type |
//! | anything else (composites, multiranges, extension types) | Binary: the type's binary send form; cast to `::text` for text |
//!
//! Every field carries its PostgreSQL type name in `qore.source_type`.

mod admin;
mod catalog;
mod connection;
mod copy;
pub(crate) mod decode;
mod dialect;
mod encode;
mod errors;
mod options;
mod maintenance;

pub use connection::PostgresConnection;
pub use dialect::{POSTGRES_DIALECT, PostgresDialect};
