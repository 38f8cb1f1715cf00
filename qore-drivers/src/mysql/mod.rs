//! The MySQL / MariaDB driver (feature `mysql`), on its own implementation
//! of the client/server protocol: packet framing and reply state in `wire`,
//! handshake and authentication plugins in `auth`, commands in `commands`,
//! packet layouts in `codec`.
//!
//! Statements are prepared (binary protocol, schema known before any row);
//! rows stream from the socket and are decoded straight into Arrow builders,
//! 8192 rows (or 16 MiB) per batch, one batch ahead of the consumer. A row
//! is a slice of the read buffer: no allocation or future per row, which is
//! what makes an export keep up with the `mariadb` client (sqlx, used before,
//! spent a third of the decoding thread on per-row machinery).
//! TLS (`ssl-mode`, `ssl-ca`, rustls) and the `mysql_native_password`,
//! `caching_sha2_password` and `sha256_password` (the full exchange over
//! TLS or a Unix socket, or RSA-encrypted over plain TCP with
//! `server-public-key-path` / `get-server-public-key`), MariaDB's
//! `client_ed25519` and `mysql_clear_password` (TLS only) authentication
//! plugins are supported; other plugins give [`qore_core::Error::Auth`]
//! naming the plugin. Packets out of sequence, a reply past 1 GiB, or a
//! request whose write was cancelled half way leave the connection marked
//! broken: the next command fails at once instead of reading garbage.
//! Dropping the stream mid-way sends `KILL QUERY` from a second connection,
//! and the connection is ready again afterwards. Statements that cannot be
//! prepared (`USE`, a few administrative ones) run as text and return every
//! column as text.
//!
//! # Type mapping
//!
//! | MySQL / MariaDB | Arrow |
//! |---|---|
//! | `TINYINT` (incl. `BOOLEAN` = `TINYINT(1)`) / `UNSIGNED` | Int8 / UInt8 |
//! | `SMALLINT` / `UNSIGNED` | Int16 / UInt16 |
//! | `MEDIUMINT`, `INT` / `UNSIGNED` | Int32 / UInt32 |
//! | `BIGINT` / `UNSIGNED` | Int64 / UInt64 |
//! | `FLOAT` / `DOUBLE` | Float32 / Float64 |
//! | `DECIMAL(p, s)` read from a table, p ≤ 38 | Decimal128(p, s) |
//! | `DECIMAL` of an expression, or p > 38 | Utf8, the exact decimal text |
//! | `BIT(n)` | UInt64 |
//! | `YEAR` | Int16 |
//! | `DATE` | Date32 |
//! | `DATETIME` | Timestamp(µs) |
//! | `TIMESTAMP` | Timestamp(µs, "UTC") (the session runs in UTC) |
//! | `TIME` | Duration(µs) (signed, up to ±838:59:59) |
//! | zero dates (`0000-00-00`, `2024-00-00`) | NULL: there is no such day |
//! | `CHAR`, `VARCHAR`, `TEXT` family, `ENUM`, `SET` | Utf8 |
//! | `JSON` (MariaDB: a `LONGTEXT` alias) | Utf8, marked `qore.json` |
//! | `BINARY`, `VARBINARY`, `BLOB` family | Binary |
//! | `GEOMETRY` and its subtypes | Binary: WKB (MySQL's 4-byte SRID prefix removed) |
//!
//! Every field carries the column's type in `qore.source_type` (the full
//! `COLUMN_TYPE`, such as `enum('a','b')`, for table columns).

mod admin;
mod auth;
mod catalog;
mod codec;
mod commands;
mod connection;
pub(crate) mod decode;
mod dialect;
mod errors;
mod maintenance;
mod options;
mod rows;
mod text;
mod tls;
mod wire;

pub use connection::MySqlConnection;
pub use dialect::MySqlDialect;
