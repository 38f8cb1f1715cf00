//! Results as Arrow batches: the schema of a statement's columns, binding
//! parameters, the task that reads rows into batches, and what makes a
//! connection ready after a caller walked away.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use futures::FutureExt;
use qore_core::metadata::SOURCE_TYPE;
use qore_core::{Result, Value};
use tokio::sync::{OwnedMutexGuard, mpsc};

use super::codec::{ColumnDef, Param, Statement};
use super::connection::MySqlConnection;
use super::decode::{Kind, decode};
use super::errors::{map_err, map_stream_err};
use super::options::Options;
use super::wire::Conn;
use crate::server::builder::Col;
use crate::server::{Batch, Decoder, SpawnedTask};

/// Each column's kind and source type name as the wire describes them.
pub(super) fn wire_types(columns: &[ColumnDef]) -> (Vec<Kind>, Vec<String>) {
    columns
        .iter()
        .map(|c| {
            let name = c.type_name();
            (Kind::from_type_name(name), name.to_lowercase())
        })
        .unzip()
}

/// The Arrow schema of result columns of these kinds and source types.
pub(super) fn schema_of(columns: &[ColumnDef], kinds: &[Kind], source: Vec<String>) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .zip(kinds)
        .zip(source)
        .map(|((c, k), src)| {
            let mut md = HashMap::new();
            md.insert(SOURCE_TYPE.to_string(), src);
            if *k == Kind::Json {
                md.insert(qore_core::metadata::JSON.to_string(), "true".into());
            }
            Field::new(&c.name, k.arrow_type(), true).with_metadata(md)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

pub(super) fn bind(v: &Value) -> std::result::Result<Param, String> {
    use arrow::datatypes::TimeUnit;
    let micros = |value: i64, unit: TimeUnit| match unit {
        TimeUnit::Second => value.saturating_mul(1_000_000),
        TimeUnit::Millisecond => value.saturating_mul(1000),
        TimeUnit::Microsecond => value,
        TimeUnit::Nanosecond => value.div_euclid(1000),
    };
    Ok(match v {
        Value::Null => Param::Null,
        Value::Bool(b) => Param::I64(i64::from(*b)),
        Value::Int(i) => Param::I64(*i),
        Value::UInt(u) => Param::U64(*u),
        Value::Float(f) => Param::F64(*f),
        Value::Text(s) => Param::Text(s.clone()),
        Value::Bytes(b) => Param::Bytes(b.clone()),
        Value::Decimal { .. } => Param::Text(v.to_string()),
        Value::Date(d) => Param::Text(crate::server::text::date(i64::from(*d))),
        Value::Time { value, unit } => {
            Param::Text(crate::server::text::time(micros(*value, *unit)))
        }
        Value::Timestamp { value, unit, .. } => {
            Param::Text(crate::server::text::timestamp(micros(*value, *unit)))
        }
        Value::Duration { value, unit } => {
            Param::Text(crate::server::text::time(micros(*value, *unit)))
        }
        other => {
            return Err(format!(
                "{other} has no MySQL parameter form; pass it as text"
            ));
        }
    })
}

/// Decodes rows into Arrow columns, one batch at a time.
pub(super) type BatchBuilder = Batch<Kind>;

impl Decoder for Kind {
    fn decode(&self, bytes: &[u8], col: &mut Col) -> Result<()> {
        decode(self, bytes, col)
    }
}

/// Reads the executing statement's rows into batches until the end, an
/// error, or the consumer going away. True when abandoned.
pub(super) async fn read_rows(
    conn: &mut Conn,
    batch: &mut BatchBuilder,
    tx: &mpsc::Sender<Result<RecordBatch>>,
) -> bool {
    let closed = tx.closed();
    tokio::pin!(closed);
    loop {
        // Rows already buffered come without a trip through the scheduler;
        // only a wait for the socket also watches for the consumer leaving.
        let next = match conn.next_row().now_or_never() {
            Some(r) => r,
            None => tokio::select! {
                biased;
                _ = &mut closed => return true,
                r = conn.next_row() => r,
            },
        };
        match next {
            Ok(true) => {
                for i in 0..batch.width() {
                    if let Err(e) = batch.append(i, conn.value(i)) {
                        let _ = tx.send(Err(e)).await;
                        return true;
                    }
                }
                batch.end_row();
                if batch.full() && tx.send(batch.finish()).await.is_err() {
                    return true;
                }
            }
            Ok(false) => {
                if batch.len() > 0 {
                    let _ = tx.send(batch.finish()).await;
                }
                return false;
            }
            Err(e) => {
                let _ = tx.send(Err(map_stream_err(e))).await;
                return false;
            }
        }
    }
}

/// Sends `KILL QUERY` from a task of its own when dropped armed: the
/// future running a statement inline was cancelled (Ctrl-C), and the
/// server would otherwise run the statement to its end.
pub(super) struct KillOnDrop(pub(super) Option<(Arc<Options>, u64)>);

impl KillOnDrop {
    pub(super) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some((options, id)) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            SpawnedTask::spawn(async move {
                crate::note(
                    "KILL QUERY",
                    MySqlConnection::kill_query(&options, id).await,
                );
            })
            .run_to_completion();
        }
    }
}

pub(super) async fn pump(
    mut guard: OwnedMutexGuard<Conn>,
    stmt: Statement,
    args: Option<Vec<Param>>,
    mut batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: (Arc<Options>, u64),
) {
    // The server answers only when the first row is ready (a long query
    // sends nothing for a while): wait for it here, watching the consumer.
    let abandoned = {
        let closed = tx.closed();
        tokio::pin!(closed);
        match args {
            // Executed already (its columns were learnt from the reply).
            None => read_rows(&mut guard, &mut batch, &tx).await,
            Some(args) => tokio::select! {
                biased;
                _ = &mut closed => true,
                r = guard.execute(&stmt, &args) => match r {
                    Ok(Some(_)) => read_rows(&mut guard, &mut batch, &tx).await,
                    Ok(None) => false,
                    Err(e) => {
                        let _ = tx.send(Err(map_stream_err(e))).await;
                        false
                    }
                },
            },
        }
    };
    if abandoned && guard.in_result() {
        let (options, id) = cancel;
        crate::note(
            "KILL QUERY",
            MySqlConnection::kill_query(&options, id).await,
        );
    }
    // Whatever is left of the result (up to KILL QUERY's error) is read
    // before the statement is freed, so the connection is ready again.
    crate::note("draining a cancelled result", guard.drain().await);
    crate::note(
        "closing a prepared statement",
        guard.close_statement(stmt.id).await,
    );
    if !abandoned {
        super::text::report_warnings(&mut guard).await;
    }
}

/// Makes the connection ready for a statement: reads what a caller that
/// dropped its statement mid-reply left unread (its future was cancelled,
/// and KillOnDrop stopped the statement), and rolls back what a dropped
/// transaction left open.
pub(super) async fn ready(conn: &mut Conn, rollback_pending: &AtomicBool) -> Result<()> {
    if conn.in_result()
        && let Err(e) = conn.drain().await
    {
        tracing::debug!(error = ?e, "draining an abandoned reply failed");
    }
    if rollback_pending.swap(false, Ordering::AcqRel) {
        conn.query_text("ROLLBACK").await.map_err(map_err)?;
    }
    Ok(())
}
