//! The engines the diff tests run on, each a real one: SQLite and DuckDB
//! files, and the PostgreSQL and MariaDB servers `scripts/servers.sh`
//! started (`QORE_TEST_POSTGRES_URL`, `QORE_TEST_MYSQL_URL`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use qore_core::{ConnectionRef, TableRef};
use qore_diff::{Side, Source};

/// One engine under test, with its column types.
pub(crate) struct Engine {
    pub(crate) name: &'static str,
    pub(crate) url: String,
    /// bigint, key text, int, decimal(12,2), double, timestamp(6), text, bool
    pub(crate) types: [&'static str; 8],
    _dir: Option<tempfile::TempDir>,
}

fn server(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the tests through scripts/servers.sh"))
}

impl Engine {
    pub(crate) fn postgres() -> Engine {
        Engine {
            name: "postgres",
            url: server("QORE_TEST_POSTGRES_URL"),
            types: ["bigint", "text", "integer", "numeric(12,2)", "double precision", "timestamp(6)", "text", "boolean"],
            _dir: None,
        }
    }
    pub(crate) fn mariadb() -> Engine {
        Engine {
            name: "mariadb",
            url: server("QORE_TEST_MYSQL_URL"),
            // The key's collation is binary so that `a` and `A` are two keys;
            // the value text keeps the default, case-insensitive one.
            types: ["BIGINT", "VARCHAR(64) COLLATE utf8mb4_bin", "INT", "DECIMAL(12,2)", "DOUBLE", "DATETIME(6)", "TEXT", "BOOLEAN"],
            _dir: None,
        }
    }
    pub(crate) fn sqlite() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        Engine {
            name: "sqlite",
            url: format!("sqlite:{}", dir.path().join("d.db").display()),
            types: ["INTEGER", "TEXT", "INTEGER", "NUMERIC(12,2)", "REAL", "TEXT", "TEXT", "BOOLEAN"],
            _dir: Some(dir),
        }
    }
    pub(crate) fn duckdb() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        Engine {
            name: "duckdb",
            url: format!("duckdb:{}", dir.path().join("d.duckdb").display()),
            types: ["BIGINT", "VARCHAR", "INTEGER", "DECIMAL(12,2)", "DOUBLE", "TIMESTAMP", "VARCHAR", "BOOLEAN"],
            _dir: Some(dir),
        }
    }

    pub(crate) async fn conn(&self) -> ConnectionRef {
        qore_drivers::connect(&self.url).await.unwrap()
    }

    pub(crate) async fn side(&self, table: &str) -> Side {
        Side { conn: self.conn().await, source: Source::Table(TableRef::new(table)), label: self.name.into() }
    }

    pub(crate) async fn query_side(&self, sql: &str) -> Side {
        Side { conn: self.conn().await, source: Source::Query(sql.into()), label: self.name.into() }
    }

    pub(crate) fn is_mysql(&self) -> bool {
        self.name == "mariadb"
    }

    /// Runs statements one by one.
    pub(crate) async fn run(&self, statements: &[String]) {
        let c = self.conn().await;
        for s in statements {
            c.execute(s, &[]).await.unwrap_or_else(|e| panic!("{}: {s}: {e}", self.name));
        }
        let _ = c.close().await;
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A table name no other test uses (the servers are shared).
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A SQL string literal, for the test data (no backslashes in it).
pub(crate) fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
