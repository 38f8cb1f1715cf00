//! Interceptors: hooks around every statement a session runs, applied as a
//! decorator that is itself a [`Connection`], so that nothing reaches the
//! engine around them.
//!
//! The shape is tower's Layer + wrapper: an [`InterceptLayer`] holds a
//! [`Chain`] of [`Interceptor`]s and wraps any connection into an
//! [`Intercepted`] one. Before a statement, each interceptor may allow it,
//! deny it with a reason, or ask for a confirmation (answered by the chain's
//! [`Confirmer`]: a terminal prompt, a GUI dialog; none means "no"). After
//! it, each sees the [`Outcome`]: the decision, time, rows, bytes, batches,
//! time to the first batch, the error kind. A result stream is wrapped, not
//! buffered: its outcome is reported when it ends, fails, or is dropped.
//!
//! Statements inside transactions (savepoints included), the transaction's
//! begin/commit/rollback, and the key-value and document facets go through
//! the same chain. Catalog reads are the engine's own metadata queries and
//! are forwarded as they are.
//!
//! # Example
//!
//! ```
//! # async fn f(conn: qore_core::ConnectionRef) -> qore_core::Result<()> {
//! use std::sync::Arc;
//! use qore_core::intercept::{Chain, Decision, InterceptLayer, Interceptor, Request};
//! use qore_core::Connection;
//!
//! #[derive(Debug)]
//! struct NoTruncate;
//!
//! #[async_trait::async_trait]
//! impl Interceptor for NoTruncate {
//!     async fn before(&self, req: &Request, _: &dyn Connection) -> qore_core::Result<Decision> {
//!         Ok(if req.text.trim_start().to_ascii_uppercase().starts_with("TRUNCATE") {
//!             Decision::Deny("TRUNCATE is not allowed here".into())
//!         } else {
//!             Decision::Allow
//!         })
//!     }
//! }
//!
//! let layer = InterceptLayer::new(Chain::new().with(Arc::new(NoTruncate)));
//! let guarded = layer.layer(conn);
//! let e = guarded.execute("TRUNCATE orders", &[]).await.unwrap_err();
//! assert_eq!(e.kind(), qore_core::ErrorKind::Denied);
//! # Ok(()) }
//! ```

mod observed;
mod profile;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::connection::{Catalog, Connection, ExecuteOutcome};
use crate::dialect::Dialect;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::facets::{BrowseOptions, Documents, KeyValue};
use crate::kind::ErrorKind;
use crate::schema::TableRef;
use crate::stream::SendableRecordBatchStream;
use crate::transaction::{Transaction, TransactionBackend};
use crate::url::Engine;
use crate::value::Value;

pub use observed::ObservedStream;
pub use profile::{Profile, Profiler, otel_system};

/// Which call a statement came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// [`Connection::query`] or a transaction's `query`.
    Query,
    /// [`Connection::execute`] or a transaction's `execute`.
    Execute,
    /// [`Connection::begin`].
    Begin,
    /// A transaction's commit.
    Commit,
    /// A transaction's rollback (explicit, or on drop).
    Rollback,
    /// [`KeyValue::browse`]: a SCAN of the key space (the text says which).
    Browse,
    /// [`Documents::find`] (the text is the collection, then the filter).
    Find,
    /// [`Documents::aggregate`] (the text is the collection, then the pipeline).
    Aggregate,
}

impl Call {
    /// A stable lower-case name (`query`, `execute`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Call::Query => "query",
            Call::Execute => "execute",
            Call::Begin => "begin",
            Call::Commit => "commit",
            Call::Rollback => "rollback",
            Call::Browse => "browse",
            Call::Find => "find",
            Call::Aggregate => "aggregate",
        }
    }
}

/// A statement about to run, as the interceptors see it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The call it came through.
    pub call: Call,
    /// The statement as given (SQL, a MongoDB command, a Redis line; for
    /// the facets, a description of the call).
    pub text: String,
    /// Its bound parameters.
    pub params: Vec<Value>,
    /// The engine that would run it.
    pub engine: Engine,
    /// The session's environment label, when it has one.
    pub environment: Option<Environment>,
    /// Whether it runs inside a transaction.
    pub in_transaction: bool,
}

impl Request {
    /// The request for `text` on `conn` (its engine and environment label).
    pub fn new(
        conn: &dyn Connection,
        call: Call,
        text: &str,
        params: &[Value],
        in_transaction: bool,
    ) -> Request {
        Request {
            call,
            text: text.to_string(),
            params: params.to_vec(),
            engine: conn.engine(),
            environment: conn.environment(),
            in_transaction,
        }
    }
}

/// What an interceptor decides before a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it.
    Allow,
    /// Run it only if the [`Confirmer`] says yes to this message.
    Confirm(String),
    /// Do not run it, for this reason.
    Deny(String),
}

/// What finally happened to a statement's permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every interceptor allowed it.
    Allowed,
    /// Some asked, and the confirmer said yes.
    Confirmed,
    /// Denied (or a confirmation refused or impossible): it never ran.
    Denied,
}

impl Verdict {
    /// A stable lower-case name (`allowed`, `confirmed`, `denied`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Confirmed => "confirmed",
            Verdict::Denied => "denied",
        }
    }
}

/// What happened when a statement ran (or did not).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Whether it was allowed to run.
    pub verdict: Verdict,
    /// From the call to the end of its result (for a stream: its last batch,
    /// its error, or its drop).
    pub elapsed: Duration,
    /// For a stream: from the call to its first batch.
    pub first_batch: Option<Duration>,
    /// Rows streamed.
    pub rows: u64,
    /// Bytes of data streamed (the batches' slices of their Arrow buffers).
    pub bytes: u64,
    /// Batches streamed.
    pub batches: u64,
    /// Rows affected, for `execute`.
    pub rows_affected: Option<u64>,
    /// The error's kind when it failed (a denial is [`ErrorKind::Denied`]).
    pub error: Option<ErrorKind>,
    /// The error's message when it failed.
    pub message: Option<String>,
    /// False when the consumer dropped a stream before its end.
    pub complete: bool,
}

impl Outcome {
    fn new(verdict: Verdict) -> Outcome {
        Outcome {
            verdict,
            elapsed: Duration::ZERO,
            first_batch: None,
            rows: 0,
            bytes: 0,
            batches: 0,
            rows_affected: None,
            error: None,
            message: None,
            complete: true,
        }
    }

    fn failed(mut self, e: &Error) -> Outcome {
        self.error = Some(e.kind());
        self.message = Some(e.to_string());
        self
    }
}

/// One hook around statements. Both methods default to doing nothing.
#[async_trait]
pub trait Interceptor: Send + Sync + Debug {
    /// Before the statement: allow, confirm or deny. `conn` is the session
    /// under the chain (for an estimate such as `EXPLAIN`; what runs on it
    /// is not intercepted again).
    async fn before(&self, request: &Request, conn: &dyn Connection) -> Result<Decision> {
        let _ = (request, conn);
        Ok(Decision::Allow)
    }

    /// After the statement (for a stream: when it ends, fails or is
    /// dropped), and after a denial. Must not block: it runs on the
    /// consumer's task.
    fn after(&self, request: &Request, outcome: &Outcome) {
        let _ = (request, outcome);
    }
}

/// Answers the confirmations interceptors ask for.
#[async_trait]
pub trait Confirmer: Send + Sync + Debug {
    /// True to run `request` despite `message` (one line per asking
    /// interceptor).
    async fn confirm(&self, request: &Request, message: &str) -> bool;
}

/// The interceptors, in order, and who answers their confirmations.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    interceptors: Vec<Arc<dyn Interceptor>>,
    confirmer: Option<Arc<dyn Confirmer>>,
}

impl Chain {
    /// An empty chain: everything is allowed.
    pub fn new() -> Chain {
        Chain::default()
    }

    /// Appends an interceptor (its `before` runs after the earlier ones').
    pub fn with(mut self, interceptor: Arc<dyn Interceptor>) -> Chain {
        self.interceptors.push(interceptor);
        self
    }

    /// Sets who answers confirmations; without one, a statement that needs
    /// a confirmation is denied.
    pub fn confirm_with(mut self, confirmer: Arc<dyn Confirmer>) -> Chain {
        self.confirmer = Some(confirmer);
        self
    }

    /// Runs the `before` hooks and the confirmation: the verdict, and the
    /// reason of a denial. A hook's error is a denial too (it is reported
    /// as that error): a safety net that fails must not let a statement by.
    async fn decide(&self, request: &Request, conn: &dyn Connection) -> Result<Verdict> {
        let mut asks = Vec::new();
        for i in &self.interceptors {
            match i.before(request, conn).await {
                Ok(Decision::Allow) => {}
                Ok(Decision::Confirm(m)) => asks.push(m),
                Ok(Decision::Deny(reason)) => return self.refuse(request, Error::Denied(reason)),
                Err(e) => return self.refuse(request, e),
            }
        }
        if asks.is_empty() {
            return Ok(Verdict::Allowed);
        }
        let message = asks.join("\n");
        let yes = match &self.confirmer {
            Some(c) => c.confirm(request, &message).await,
            None => false,
        };
        if yes {
            Ok(Verdict::Confirmed)
        } else {
            let why = if self.confirmer.is_some() {
                format!("{message} (not confirmed)")
            } else {
                format!("{message} (needs a confirmation, and nobody can give one here)")
            };
            self.refuse(request, Error::Denied(why))
        }
    }

    fn refuse(&self, request: &Request, e: Error) -> Result<Verdict> {
        let outcome = Outcome::new(Verdict::Denied).failed(&e);
        self.after(request, &outcome);
        Err(e)
    }

    fn after(&self, request: &Request, outcome: &Outcome) {
        for i in &self.interceptors {
            i.after(request, outcome);
        }
    }
}

/// Wraps connections into [`Intercepted`] ones sharing one [`Chain`].
#[derive(Debug, Clone)]
pub struct InterceptLayer {
    chain: Arc<Chain>,
}

impl InterceptLayer {
    /// A layer applying `chain`.
    pub fn new(chain: Chain) -> Self {
        InterceptLayer {
            chain: Arc::new(chain),
        }
    }

    /// Wraps `inner`.
    pub fn layer<C: Connection>(&self, inner: C) -> Intercepted<C> {
        Intercepted {
            inner,
            chain: self.chain.clone(),
        }
    }
}

/// A connection whose statements all pass through a [`Chain`].
#[derive(Debug)]
pub struct Intercepted<C> {
    inner: C,
    chain: Arc<Chain>,
}

impl<C: Connection> Intercepted<C> {
    /// Wraps `inner` with `chain`.
    pub fn new(inner: C, chain: Chain) -> Self {
        InterceptLayer::new(chain).layer(inner)
    }

    /// The wrapped connection.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// Unwraps the connection.
    pub fn into_inner(self) -> C {
        self.inner
    }

    fn request(&self, call: Call, text: &str, params: &[Value], in_tx: bool) -> Request {
        Request::new(&self.inner, call, text, params, in_tx)
    }
}

/// Runs a statement that returns a stream through the chain.
async fn intercepted_query<F>(
    chain: &Arc<Chain>,
    request: Request,
    conn: &dyn Connection,
    run: F,
) -> Result<SendableRecordBatchStream>
where
    F: std::future::Future<Output = Result<SendableRecordBatchStream>>,
{
    let verdict = chain.decide(&request, conn).await?;
    let started = Instant::now();
    match run.await {
        Ok(stream) => Ok(Box::pin(ObservedStream::new(
            stream,
            chain.clone(),
            request,
            verdict,
            started,
        ))),
        Err(e) => {
            let mut outcome = Outcome::new(verdict).failed(&e);
            outcome.elapsed = started.elapsed();
            chain.after(&request, &outcome);
            Err(e)
        }
    }
}

/// Runs a statement for its effect through the chain.
async fn intercepted_execute<F>(
    chain: &Chain,
    request: Request,
    conn: &dyn Connection,
    run: F,
) -> Result<ExecuteOutcome>
where
    F: std::future::Future<Output = Result<ExecuteOutcome>>,
{
    let verdict = chain.decide(&request, conn).await?;
    let started = Instant::now();
    let r = run.await;
    let mut outcome = Outcome::new(verdict);
    outcome.elapsed = started.elapsed();
    match &r {
        Ok(o) => outcome.rows_affected = Some(o.rows_affected),
        Err(e) => outcome = outcome.failed(e),
    }
    chain.after(&request, &outcome);
    r
}

/// Reports a transaction's end (which is not refused: a rollback must
/// always be possible, and a commit of allowed statements too).
fn report_end(chain: &Chain, request: &Request, started: Instant, r: &Result<()>) {
    let mut outcome = Outcome::new(Verdict::Allowed);
    outcome.elapsed = started.elapsed();
    if let Err(e) = r {
        outcome = outcome.failed(e);
    }
    chain.after(request, &outcome);
}

#[async_trait]
impl<C: Connection> Connection for Intercepted<C> {
    fn engine(&self) -> Engine {
        self.inner.engine()
    }

    fn dialect(&self) -> Option<Arc<dyn Dialect>> {
        self.inner.dialect()
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        let request = self.request(Call::Query, sql, params, false);
        intercepted_query(
            &self.chain,
            request,
            &self.inner,
            self.inner.query(sql, params),
        )
        .await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        let request = self.request(Call::Execute, sql, params, false);
        intercepted_execute(
            &self.chain,
            request,
            &self.inner,
            self.inner.execute(sql, params),
        )
        .await
    }

    async fn begin(&self) -> Result<Transaction<'_>> {
        let request = self.request(Call::Begin, "BEGIN", &[], false);
        let verdict = self.chain.decide(&request, &self.inner).await?;
        let started = Instant::now();
        let r = self.inner.begin().await;
        let mut outcome = Outcome::new(verdict);
        outcome.elapsed = started.elapsed();
        if let Err(e) = &r {
            outcome = outcome.failed(e);
        }
        self.chain.after(&request, &outcome);
        let backend = r?.into_backend()?;
        Ok(Transaction::new(Box::new(InterceptedTransaction {
            inner: Some(backend),
            chain: self.chain.clone(),
            conn: &self.inner,
        })))
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        self.inner.catalog()
    }

    fn environment(&self) -> Option<Environment> {
        self.inner.environment()
    }

    fn key_value(&self) -> Option<&dyn KeyValue> {
        self.inner.key_value().map(|_| self as &dyn KeyValue)
    }

    fn reconnects(&self) -> u64 {
        self.inner.reconnects()
    }

    async fn session_info(&self) -> Result<crate::SessionInfo> {
        self.inner.session_info().await
    }

    fn admin(&self) -> Option<&dyn crate::admin::Admin> {
        self.inner.admin()
    }

    fn documents(&self) -> Option<&dyn Documents> {
        self.inner.documents().map(|_| self as &dyn Documents)
    }

    fn table_query(&self, table: &TableRef) -> Result<String> {
        self.inner.table_query(table)
    }

    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

fn missing(facet: &str) -> Error {
    Error::Internal(format!("the {facet} facet went away under an interceptor"))
}

#[async_trait]
impl<C: Connection> KeyValue for Intercepted<C> {
    async fn browse(&self, options: BrowseOptions) -> Result<SendableRecordBatchStream> {
        let kv = self.inner.key_value().ok_or_else(|| missing("key-value"))?;
        let text = format!(
            "SCAN MATCH {} TYPE {} COUNT {}",
            options.pattern.as_deref().unwrap_or("*"),
            options.key_type.as_deref().unwrap_or("*"),
            options.count,
        );
        let request = self.request(Call::Browse, &text, &[], false);
        intercepted_query(&self.chain, request, &self.inner, kv.browse(options)).await
    }
}

#[async_trait]
impl<C: Connection> Documents for Intercepted<C> {
    async fn find(
        &self,
        collection: &str,
        filter: &serde_json::Value,
        limit: Option<u64>,
    ) -> Result<SendableRecordBatchStream> {
        let docs = self.inner.documents().ok_or_else(|| missing("documents"))?;
        let text = format!("{collection} {filter}");
        let request = self.request(Call::Find, &text, &[], false);
        intercepted_query(
            &self.chain,
            request,
            &self.inner,
            docs.find(collection, filter, limit),
        )
        .await
    }

    async fn aggregate(
        &self,
        collection: &str,
        pipeline: &serde_json::Value,
    ) -> Result<SendableRecordBatchStream> {
        let docs = self.inner.documents().ok_or_else(|| missing("documents"))?;
        let text = format!("{collection} {pipeline}");
        let request = self.request(Call::Aggregate, &text, &[], false);
        intercepted_query(
            &self.chain,
            request,
            &self.inner,
            docs.aggregate(collection, pipeline),
        )
        .await
    }
}

/// A transaction whose statements pass through the chain. Savepoint
/// statements, made by [`Transaction`], pass through it as well.
struct InterceptedTransaction<'c> {
    inner: Option<Box<dyn TransactionBackend + 'c>>,
    chain: Arc<Chain>,
    conn: &'c (dyn Connection + 'c),
}

impl Debug for InterceptedTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterceptedTransaction")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl InterceptedTransaction<'_> {
    fn backend(&self) -> Result<&(dyn TransactionBackend + '_)> {
        self.inner
            .as_deref()
            .ok_or_else(|| Error::invalid("the transaction has ended"))
    }

    fn request(&self, call: Call, text: &str, params: &[Value]) -> Request {
        Request::new(self.conn, call, text, params, true)
    }
}

#[async_trait]
impl TransactionBackend for InterceptedTransaction<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<SendableRecordBatchStream> {
        let b = self.backend()?;
        let request = self.request(Call::Query, sql, params);
        intercepted_query(&self.chain, request, self.conn, b.query(sql, params)).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecuteOutcome> {
        let b = self.backend()?;
        let request = self.request(Call::Execute, sql, params);
        intercepted_execute(&self.chain, request, self.conn, b.execute(sql, params)).await
    }

    async fn commit(&mut self) -> Result<()> {
        let request = self.request(Call::Commit, "COMMIT", &[]);
        let started = Instant::now();
        let r = match self.inner.as_mut() {
            Some(b) => b.commit().await,
            None => Err(Error::invalid("the transaction has ended")),
        };
        report_end(&self.chain, &request, started, &r);
        r
    }

    async fn rollback(&mut self) -> Result<()> {
        let request = self.request(Call::Rollback, "ROLLBACK", &[]);
        let started = Instant::now();
        let r = match self.inner.as_mut() {
            Some(b) => b.rollback().await,
            None => Ok(()),
        };
        report_end(&self.chain, &request, started, &r);
        r
    }

    fn rollback_on_drop(&mut self) {
        if let Some(b) = self.inner.as_mut() {
            b.rollback_on_drop();
            let request = self.request(Call::Rollback, "ROLLBACK (transaction dropped)", &[]);
            report_end(&self.chain, &request, Instant::now(), &Ok(()));
        }
    }

    fn supports_savepoints(&self) -> bool {
        self.inner
            .as_deref()
            .is_some_and(TransactionBackend::supports_savepoints)
    }
}
