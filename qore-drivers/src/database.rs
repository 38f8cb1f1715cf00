//! [`Database`] handles: one target that opens independent sessions.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use qore_core::{ConnectionRef, ConnectionSpec, Database, DatabaseRef, Engine, Result};

/// How more sessions of a database are made.
#[derive(Debug)]
enum Sessions {
    /// Connect again with the same URL: servers, and database files.
    Reconnect,
    /// Another connection to the same DuckDB instance.
    #[cfg(feature = "duckdb")]
    DuckDb(crate::duckdb::Instance, crate::duckdb::DuckDbOptions),
    /// Another handle on the same in-memory SQLite database; the first
    /// session is kept open so that the database lives as long as this.
    #[cfg(feature = "sqlite")]
    SqliteMemory(crate::sqlite::SqliteOptions),
}

#[derive(Debug)]
struct Opened {
    spec: ConnectionSpec,
    /// The session made while opening, handed out by the first `session()`.
    first: Mutex<Option<ConnectionRef>>,
    /// Kept open for the life of the handle (SQLite in memory).
    _anchor: Option<ConnectionRef>,
    sessions: Sessions,
    /// The SSH tunnel the sessions connect through, if any.
    _tunnel: Option<crate::tunnel::Tunnel>,
}

#[async_trait]
impl Database for Opened {
    fn engine(&self) -> Engine {
        self.spec.engine
    }

    fn target(&self) -> String {
        self.spec.to_string()
    }

    async fn session(&self) -> Result<ConnectionRef> {
        if let Some(first) = self.first.lock().ok().and_then(|mut f| f.take()) {
            return Ok(first);
        }
        match &self.sessions {
            Sessions::Reconnect => crate::connect_spec(&self.spec).await,
            #[cfg(feature = "duckdb")]
            Sessions::DuckDb(instance, options) => {
                crate::connect_traced(&self.spec, async {
                    Ok(crate::traced(
                        crate::duckdb::DuckDbConnection::session_of(
                            instance.clone(),
                            options.clone(),
                        )
                        .await?,
                    ))
                })
                .await
            }
            #[cfg(feature = "sqlite")]
            Sessions::SqliteMemory(options) => {
                crate::connect_traced(&self.spec, async {
                    Ok(crate::traced(
                        crate::sqlite::SqliteConnection::open(options.clone()).await?,
                    ))
                })
                .await
            }
        }
    }
}

/// Opens a database from a URL (the forms of [`crate::connect`]): a handle
/// that opens independent sessions of it with
/// [`Database::session`].
///
/// The first session is opened here, so a wrong password or an unreachable
/// server is reported now; it is what the first `session()` returns.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "duckdb")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let db = qore_drivers::open("duckdb:").await.unwrap();
/// let a = db.session().await.unwrap();
/// let b = db.session().await.unwrap();
/// a.execute("CREATE TABLE t AS SELECT 1 AS n", &[]).await.unwrap();
/// // The in-memory database is the same one for both sessions.
/// let rows = qore_core::collect(b.query("SELECT n FROM t", &[]).await.unwrap()).await.unwrap();
/// assert_eq!(rows[0].num_rows(), 1);
/// # });
/// ```
///
/// # Error handling
///
/// As [`crate::connect`].
pub async fn open(url: &str) -> Result<DatabaseRef> {
    open_spec(&ConnectionSpec::parse_lenient(url)?).await
}

/// Opens a database from a parsed [`ConnectionSpec`]: see [`open`].
pub async fn open_spec(spec: &ConnectionSpec) -> Result<DatabaseRef> {
    crate::connect_traced(spec, open_engine(spec)).await
}

async fn open_engine(spec: &ConnectionSpec) -> Result<DatabaseRef> {
    // Through an SSH tunnel when the URL says so: every session connects to
    // the tunnel's local port, which lives as long as this handle.
    let (tunnelled, tunnel) = crate::tunnel::through_ssh(spec).await?;
    let spec = &tunnelled;
    let (first, anchor, sessions) = match spec.engine {
        #[cfg(feature = "duckdb")]
        Engine::DuckDb => {
            let options = crate::duckdb::DuckDbOptions::from_spec(spec)?;
            let first = crate::duckdb::DuckDbConnection::open(options.clone()).await?;
            let instance = first.instance();
            (
                crate::traced(first),
                None,
                Sessions::DuckDb(instance, options),
            )
        }
        #[cfg(feature = "sqlite")]
        Engine::Sqlite if spec.path.is_none() || is_memory(spec) => {
            let mut options = crate::sqlite::SqliteOptions::from_spec(spec)?;
            options.path = None;
            options.shared_memory = Some(memory_name());
            let anchor =
                crate::traced(crate::sqlite::SqliteConnection::open(options.clone()).await?);
            (
                anchor.clone(),
                Some(anchor),
                Sessions::SqliteMemory(options),
            )
        }
        _ => (
            crate::connect_engine(spec).await?,
            None,
            Sessions::Reconnect,
        ),
    };
    Ok(Arc::new(Opened {
        spec: spec.clone(),
        first: Mutex::new(Some(first)),
        _anchor: anchor,
        sessions,
        _tunnel: tunnel,
    }))
}

#[cfg(feature = "sqlite")]
fn is_memory(spec: &ConnectionSpec) -> bool {
    spec.options
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("mode") && v.eq_ignore_ascii_case("memory"))
}

/// A name no other in-memory database of this process has.
#[cfg(feature = "sqlite")]
fn memory_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "qore-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
