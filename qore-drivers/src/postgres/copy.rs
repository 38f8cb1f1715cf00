//! Plain SELECTs through `COPY (query) TO STDOUT (FORMAT binary)`: the same
//! binary values as the row protocol without sqlx's per-row work.

use arrow::array::RecordBatch;
use futures::{FutureExt, StreamExt};
use qore_core::{Error, Result};
use tokio::sync::mpsc;

use super::connection::{
    BatchBuilder, Cancel, PgGuard, PostgresConnection, connect_with, forget_statements,
};
use super::errors::map_stream_err;
use crate::server::BATCH_ROWS;

impl BatchBuilder {
    /// Decodes up to `max_rows` tuples of binary COPY data from the start of
    /// `data`; returns how many bytes it used (a tuple cut at the end waits
    /// for more data) and whether the end-of-data marker was seen.
    fn push_copy(&mut self, data: &[u8], max_rows: usize) -> Result<(usize, bool)> {
        let mut at = 0;
        let mut rows = 0;
        while rows < max_rows {
            let Some(count) = data.get(at..at + 2) else {
                break;
            };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                return Ok((at + 2, true));
            }
            if usize::try_from(count).ok() != Some(self.width()) {
                return Err(Error::data(format!(
                    "COPY sent a row of {count} fields for {} columns",
                    self.width()
                )));
            }
            // The whole tuple must be here before any of it is decoded.
            let mut end = at + 2;
            let mut complete = true;
            for _ in 0..self.width() {
                let Some(len) = data.get(end..end + 4) else {
                    complete = false;
                    break;
                };
                let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                end += 4 + usize::try_from(len).unwrap_or(0);
                if end > data.len() {
                    complete = false;
                    break;
                }
            }
            if !complete {
                break;
            }
            let mut p = at + 2;
            for i in 0..self.width() {
                let len = i32::from_be_bytes([data[p], data[p + 1], data[p + 2], data[p + 3]]);
                p += 4;
                if len < 0 {
                    self.append(i, None)?;
                } else {
                    let n = len as usize;
                    self.append(i, Some(&data[p..p + n]))?;
                    p += n;
                }
            }
            self.end_row();
            rows += 1;
            at = end;
        }
        Ok((at, false))
    }
}

/// The binary COPY header: signature, flags, header extension length.
pub(super) const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Like [`pump`], for `COPY (query) TO STDOUT (FORMAT binary)`: the same
/// binary values without sqlx's per-row work. On abandon, the statement is
/// cancelled and the rest of the COPY read and dropped (the connection must
/// see the end of the COPY before it can run anything else).
pub(super) async fn pump_copy(
    mut guard: PgGuard,
    copy_sql: String,
    batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: Cancel,
) {
    let broken = copy_rows(&mut guard, copy_sql, batch, tx, &cancel).await;
    if broken {
        // sqlx leaves the server's ReadyForQuery unread when a COPY fails
        // before it starts, and the connection cannot resync: replace it
        // (settings made with SET are lost; the URL's options apply again).
        let (options, timeout, pid_cell) = &cancel;
        if let Ok(mut fresh) = connect_with(options, *timeout).await
            && let Ok((p,)) = sqlx::query_as::<_, (i32,)>("SELECT pg_backend_pid()")
                .fetch_one(&mut fresh)
                .await
        {
            pid_cell.store(p, std::sync::atomic::Ordering::Relaxed);
            *guard = fresh;
        }
    }
    forget_statements(guard);
}

/// The body of [`pump_copy`]; returns whether the connection is out of sync.
pub(super) async fn copy_rows(
    guard: &mut sqlx::PgConnection,
    copy_sql: String,
    mut batch: BatchBuilder,
    tx: mpsc::Sender<Result<RecordBatch>>,
    cancel: &Cancel,
) -> bool {
    let (options, timeout, pid_cell) = cancel;
    let (options, timeout) = (options.clone(), *timeout);
    let pid = pid_cell.load(std::sync::atomic::Ordering::Relaxed);
    // The server sends nothing until the first row (its CopyOutResponse
    // waits in its output buffer), so a receiver that leaves now is
    // noticed here: cancel, and go on waiting for the start, which then
    // fails or starts and ends at once.
    let mut cancelled = false;
    let started = {
        let start = guard.copy_out_raw(&copy_sql);
        tokio::pin!(start);
        let closed = tx.closed();
        tokio::pin!(closed);
        loop {
            tokio::select! {
                biased;
                _ = &mut closed, if !cancelled => {
                    cancelled = true;
                    crate::note("cancelling a statement", PostgresConnection::cancel_backend(&options, timeout, pid).await);
                }
                r = &mut start => break r,
            }
        }
    };
    let chunks = match started {
        Ok(c) => Some(c),
        Err(e) => {
            let err = map_stream_err(e);
            if !cancelled {
                let _ = tx.send(Err(err)).await;
            }
            None
        }
    };
    let Some(mut chunks) = chunks else {
        return true;
    };
    if cancelled {
        while let Some(r) = chunks.next().await {
            if r.is_err() {
                break;
            }
        }
        return false;
    }
    let mut parser = CopyParser::default();
    let mut abandoned = false;
    {
        // One `closed` future for the whole COPY: a fresh one per message
        // costs more than decoding the row.
        let closed = tx.closed();
        tokio::pin!(closed);
        'read: loop {
            let first = tokio::select! {
                biased;
                _ = &mut closed => { abandoned = true; break 'read; }
                next = chunks.next() => next,
            };
            let mut next = first;
            // Then every chunk that is already there, without going back
            // through the select (a bounded number, to notice a dropped
            // receiver in time).
            let mut budget = 4096;
            loop {
                match next {
                    Some(Ok(chunk)) => match parser.feed(&chunk, &mut batch, &tx).await {
                        Ok(true) => {}
                        Ok(false) => {
                            abandoned = true;
                            break 'read;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            abandoned = true;
                            break 'read;
                        }
                    },
                    Some(Err(e)) => {
                        let _ = tx.send(Err(map_stream_err(e))).await;
                        return false;
                    }
                    None => break 'read,
                }
                budget -= 1;
                if budget == 0 {
                    continue 'read;
                }
                match chunks.next().now_or_never() {
                    Some(n) => next = n,
                    None => continue 'read,
                }
            }
        }
    }
    if abandoned {
        crate::note(
            "cancelling a statement",
            PostgresConnection::cancel_backend(&options, timeout, pid).await,
        );
        // Read the COPY to its end (the server stops at the cancel) so the
        // connection is in sync again.
        while let Some(r) = chunks.next().await {
            if r.is_err() {
                break;
            }
        }
        return false;
    }
    if batch.len() > 0 {
        let _ = tx.send(batch.finish()).await;
    }
    false
}

/// Splits binary COPY data into tuples, whatever the chunking.
#[derive(Default)]
pub(super) struct CopyParser {
    /// Bytes of a tuple (or the header) cut at the end of the last chunk.
    pending: Vec<u8>,
    header: bool,
    finished: bool,
}

impl CopyParser {
    /// Decodes what `chunk` completes into `batch`, sending full batches.
    /// Returns `Ok(false)` when the receiver is gone.
    async fn feed(
        &mut self,
        chunk: &[u8],
        batch: &mut BatchBuilder,
        tx: &mpsc::Sender<Result<RecordBatch>>,
    ) -> Result<bool> {
        if self.finished {
            return Ok(true);
        }
        let joined;
        let mut data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            self.pending.extend_from_slice(chunk);
            joined = std::mem::take(&mut self.pending);
            &joined
        };
        if !self.header {
            if data.len() < COPY_SIGNATURE.len() + 8 {
                self.pending.extend_from_slice(data);
                return Ok(true);
            }
            if &data[..COPY_SIGNATURE.len()] != COPY_SIGNATURE {
                return Err(Error::data("COPY did not start with the binary signature"));
            }
            let ext = u32::from_be_bytes([data[15], data[16], data[17], data[18]]) as usize;
            if data.len() < 19 + ext {
                self.pending.extend_from_slice(data);
                return Ok(true);
            }
            data = &data[19 + ext..];
            self.header = true;
        }
        loop {
            let room = BATCH_ROWS.saturating_sub(batch.len()).max(1);
            let (used, end) = batch.push_copy(data, room)?;
            data = &data[used..];
            if batch.full() && tx.send(batch.finish()).await.is_err() {
                return Ok(false);
            }
            if end {
                self.finished = true;
                return Ok(true);
            }
            if used == 0 || data.is_empty() {
                break;
            }
        }
        self.pending.extend_from_slice(data);
        Ok(true)
    }
}

/// Whether `sql` is one read-only query that `COPY (...) TO STDOUT` accepts.
pub(super) fn copyable(sql: &str) -> Option<String> {
    let body = sql
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let tokens = qore_core::sql::tokenize(body);
    let first = tokens.first()?;
    if !["SELECT", "VALUES", "TABLE", "WITH"]
        .iter()
        .any(|k| first.is_keyword(k))
    {
        return None;
    }
    // One statement, and not SELECT ... INTO (which COPY refuses).
    if tokens
        .iter()
        .any(|t| t.kind == qore_core::sql::TokenKind::Punct(';') || t.is_keyword("INTO"))
    {
        return None;
    }
    // The newline ends a trailing `-- comment` before the closing parenthesis.
    Some(format!("COPY ({body}\n) TO STDOUT (FORMAT binary)"))
}
