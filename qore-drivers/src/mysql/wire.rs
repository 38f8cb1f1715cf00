//! The MySQL client/server protocol, spoken directly: packet framing and
//! the state of a reply being read.
//!
//! Rows of a large result are the hot path of every export: here a row is a
//! slice of the read buffer, cut by the column types, with no allocation,
//! no per-row future and no reference counting (sqlx spent a third of the
//! decoding thread on that). The handshake and authentication are in
//! `auth.rs`, the commands in `commands.rs`, the packets' layout in
//! `codec.rs`.
//!
//! One command at a time; a result that was not read to its end (a dropped
//! stream) is drained before the next command, so the connection never
//! answers a question with the previous one's rows.

use std::ops::Range;
use std::pin::Pin;

use qore_core::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::codec::*;

/// The transport under a connection: TCP, a Unix socket, or TLS over either.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One connection.
pub(crate) struct Conn {
    pub(super) io: Pin<Box<dyn Io>>,
    pub(super) rbuf: Vec<u8>,
    /// Unread bytes are `rbuf[start..end]`.
    pub(super) start: usize,
    pub(super) end: usize,
    /// A payload that spanned several packets.
    pub(super) big: Vec<u8>,
    /// Where the last payload is: `rbuf[range]`, or `big` when None.
    pub(super) cur: Option<Range<usize>>,
    pub(super) wbuf: Vec<u8>,
    pub(super) seq: u8,
    pub(super) caps: u32,
    pub(super) tls: bool,
    /// A result is being read: drain it before the next command.
    pub(super) pending: Pending,
    /// The columns of the result being streamed.
    pub(super) row_layout: Vec<Layout>,
    /// Value ranges of the last binary row, within its payload.
    pub(super) row_values: Vec<Option<Range<usize>>>,
    /// Affected rows of the last OK packet.
    pub(super) last_affected: u64,
    /// Warnings the last statement left (`SHOW WARNINGS` lists them).
    pub(super) last_warnings: u16,
    /// The transport failed: every later command fails at once.
    pub(super) broken: bool,
    /// The largest payload accepted ([`MAX_PAYLOAD`]; smaller in tests).
    pub(super) max_payload: usize,
    /// `quit` was sent.
    pub(super) closed: bool,
    /// The server's thread id and version, from the handshake.
    pub(crate) connection_id: u32,
    pub(crate) server_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    None,
    /// Rows (then maybe more results) are still coming.
    Rows,
    /// A result head is due (after a command, or a terminator that said
    /// more results follow).
    MoreResults,
    /// This many column definitions, then rows.
    Columns(usize),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("connection_id", &self.connection_id)
            .field("server_version", &self.server_version)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// A connection object over a transport, before the handshake.
    pub(super) fn over(io: Pin<Box<dyn Io>>) -> Conn {
        Conn {
            io,
            rbuf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            big: Vec::new(),
            cur: None,
            wbuf: Vec::with_capacity(1024),
            seq: 0,
            caps: 0,
            tls: false,
            pending: Pending::None,
            row_layout: Vec::new(),
            row_values: Vec::new(),
            last_affected: 0,
            last_warnings: 0,
            broken: false,
            max_payload: MAX_PAYLOAD,
            closed: false,
            connection_id: 0,
            server_version: String::new(),
        }
    }

    /// Whether the server has closed this idle connection (or written to
    /// it unasked: MariaDB sends an error packet before closing a killed
    /// connection), without a round trip: a read is polled once, and
    /// anything but "nothing yet" means the connection cannot be used.
    pub(crate) fn peer_gone(&mut self) -> bool {
        if self.broken {
            return true;
        }
        if self.closed || self.pending != Pending::None {
            return false;
        }
        if self.end > self.start {
            return true;
        }
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut scratch = [0u8; 256];
        let mut buf = tokio::io::ReadBuf::new(&mut scratch);
        match self.io.as_mut().poll_read(&mut cx, &mut buf) {
            std::task::Poll::Pending => false,
            std::task::Poll::Ready(_) => {
                self.broken = true;
                true
            }
        }
    }

    /// Whether `quit` was sent.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(super) fn payload(&self) -> &[u8] {
        match &self.cur {
            Some(r) => &self.rbuf[r.clone()],
            None => &self.big,
        }
    }

    /// Makes `n` bytes readable at `start`.
    pub(super) async fn fill(&mut self, n: usize) -> WResult<()> {
        while self.end - self.start < n {
            if self.start + n > self.rbuf.len() {
                // Move the unread tail to the front, growing for big packets.
                self.rbuf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if n > self.rbuf.len() {
                    self.rbuf.resize(n.next_power_of_two(), 0);
                } else if self.rbuf.len() > BIG_BUFFER && n.max(self.end) <= READ_BUFFER {
                    // Back to the usual size after a huge value.
                    self.rbuf.truncate(READ_BUFFER);
                    self.rbuf.shrink_to_fit();
                }
            }
            let read = self
                .io
                .read(&mut self.rbuf[self.end..])
                .await
                .map_err(io_err)?;
            if read == 0 {
                return Err(io_err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
            self.end += read;
        }
        Ok(())
    }

    /// Reads one payload (joining packets of 16 MiB and more).
    pub(super) async fn read_packet(&mut self) -> WResult<()> {
        let r = self.read_packet_inner().await;
        if r.is_err() {
            self.broken = true;
            self.pending = Pending::None;
        }
        r
    }

    pub(super) async fn read_packet_inner(&mut self) -> WResult<()> {
        let mut joined = false;
        loop {
            self.fill(4).await?;
            let h = &self.rbuf[self.start..self.start + 4];
            let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            let seq = h[3];
            if joined && self.big.len() + len > self.max_payload {
                return Err(proto(format!(
                    "a reply of more than {} MiB (no server sends a packet larger than max_allowed_packet's 1 GiB limit)",
                    self.max_payload >> 20
                )));
            }
            self.fill(4 + len).await?;
            // The sequence id is checked only once the packet is whole: a
            // wait cancelled half way reads this header again.
            let body = self.start + 4..self.start + 4 + len;
            self.start = body.end;
            if seq != self.seq {
                return Err(self.out_of_order(seq, body));
            }
            self.seq = seq.wrapping_add(1);
            if len == MAX_PACKET || joined {
                if !joined {
                    self.big.clear();
                    joined = true;
                    // Broken until the payload is whole: a wait cancelled
                    // between its packets leaves no way to resynchronise.
                    self.broken = true;
                }
                let (s, e) = (body.start, body.end);
                self.big.extend_from_slice(&self.rbuf[s..e]);
                if len < MAX_PACKET {
                    self.cur = None;
                    self.broken = false;
                    return Ok(());
                }
            } else {
                self.cur = Some(body);
                if self.big.capacity() > BIG_BUFFER {
                    self.big = Vec::new();
                }
                return Ok(());
            }
        }
    }

    /// A packet whose sequence id is not the next one. A server that
    /// closes an idle or killed connection sends its reason as an error
    /// packet numbered 0 before any command: that error is the answer.
    /// Anything else means client and server no longer agree on where a
    /// reply starts; the connection cannot be trusted again (the caller
    /// marks it broken).
    fn out_of_order(&self, seq: u8, body: Range<usize>) -> WireError {
        let payload = &self.rbuf[body];
        if payload.first() == Some(&0xff) {
            return parse_err(payload);
        }
        proto(format!("packet number {seq} where {} was due", self.seq))
    }

    pub(super) async fn write_packet(&mut self, payload: &[u8]) -> WResult<()> {
        self.wbuf.clear();
        // Packets of at most 16 MiB - 1; a full one is always followed by
        // another, empty if need be, so the server knows where it ends.
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_PACKET);
            self.wbuf.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            self.wbuf.push(self.seq);
            self.seq = self.seq.wrapping_add(1);
            self.wbuf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if n < MAX_PACKET {
                break;
            }
        }
        let buf = std::mem::take(&mut self.wbuf);
        // Broken until the request is out: a write cancelled half way (a
        // dropped future) leaves a partial packet the server would read as
        // the start of the next command.
        self.broken = true;
        let r = self.io.write_all(&buf).await;
        self.wbuf = buf;
        r.map_err(io_err)?;
        self.io.flush().await.map_err(io_err)?;
        self.broken = false;
        Ok(())
    }

    /// Starts a command: drains what a dropped result left, then sends.
    pub(super) async fn command(&mut self, cmd: u8, body: &[u8]) -> WResult<()> {
        if self.closed {
            return Err(WireError::Other(Error::invalid(
                "the MySQL connection was closed",
            )));
        }
        if self.broken {
            return Err(WireError::Other(Error::connect(
                "the connection to the MySQL server was lost mid-reply; connect again",
                "connection broken",
            )));
        }
        self.drain().await?;
        self.seq = 0;
        let mut p = Vec::with_capacity(body.len() + 1);
        p.push(cmd);
        p.extend_from_slice(body);
        self.write_packet(&p).await
    }

    /// Reads and drops the rest of an unfinished result.
    pub(crate) async fn drain(&mut self) -> WResult<()> {
        self.read_to_end().await.map(|_| ())
    }

    /// Reads the rest of the reply like [`drain`](Self::drain), for a
    /// caller that wants its outcome: the first error the server sent
    /// (a statement timeout, a deadlock in the middle of a result) is
    /// returned once the connection is ready again.
    pub(crate) async fn finish(&mut self) -> WResult<()> {
        match self.read_to_end().await? {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Reads what is left of the reply; returns the first server error in it.
    pub(super) async fn read_to_end(&mut self) -> WResult<Option<WireError>> {
        let mut first_error = None;
        loop {
            let step = match self.pending {
                Pending::None => return Ok(first_error),
                Pending::MoreResults => self.read_result_head().await.map(|cols| {
                    if let Some(cols) = cols {
                        self.row_layout = cols.iter().map(ColumnDef::layout).collect();
                    }
                }),
                Pending::Columns(n) => self.read_columns(n, true).await.map(|cols| {
                    self.row_layout = cols.iter().map(ColumnDef::layout).collect();
                }),
                Pending::Rows => self.next_row_raw().await.map(|_| ()),
            };
            match step {
                Ok(()) => {}
                // The transport failed: nothing more to read.
                Err(e @ WireError::Other(_)) => return Err(e),
                // An error ending a result nobody reads (KILL QUERY's 1317)
                // is not the next command's problem; a caller of `finish`
                // gets it.
                Err(e @ WireError::Server { .. }) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }

    /// After a command: an OK (no rows), an ERR, or a result's columns.
    /// Sets `pending` for rows.
    pub(super) async fn read_result_head(&mut self) -> WResult<Option<Vec<ColumnDef>>> {
        // Until the head is read, a result is due (a cancelled wait leaves
        // it for `drain`).
        self.pending = Pending::MoreResults;
        self.read_packet().await?;
        self.pending = Pending::None;
        let first = self.payload().first().copied();
        match first {
            Some(0x00) => {
                let (affected, status, warnings) = parse_ok(self.payload())?;
                self.last_affected = affected;
                self.last_warnings = warnings;
                if status & SERVER_MORE_RESULTS_EXISTS != 0 {
                    self.pending = Pending::MoreResults;
                }
                Ok(None)
            }
            Some(0xff) => Err(parse_err(self.payload())),
            Some(0xfb) => {
                // LOCAL INFILE request: refuse by sending an empty packet.
                self.write_packet(&[]).await?;
                self.read_packet().await?;
                if self.payload().first() == Some(&0xff) {
                    return Err(parse_err(self.payload()));
                }
                Err(WireError::Other(Error::invalid(
                    "LOAD DATA LOCAL INFILE is not supported: the client refused to send a file",
                )))
            }
            _ => {
                let n = {
                    let mut c = Cur { b: self.payload() };
                    c.lenenc()?
                };
                let n = usize::try_from(n).map_err(|_| proto("column count"))?;
                self.pending = Pending::Columns(n);
                let cols = self.read_columns(n, true).await?;
                Ok(Some(cols))
            }
        }
    }

    /// Reads `n` column definitions; with `result`, rows follow them and
    /// `pending` tracks how many definitions are still due.
    pub(super) async fn read_columns(&mut self, n: usize, result: bool) -> WResult<Vec<ColumnDef>> {
        let mut cols = Vec::with_capacity(n);
        for i in 0..n {
            self.read_packet().await?;
            if result {
                self.pending = Pending::Columns(n - i - 1);
            }
            cols.push(parse_column(self.payload())?);
        }
        if self.caps & DEPRECATE_EOF == 0 && n > 0 {
            self.read_packet().await?;
        }
        if result {
            self.pending = Pending::Rows;
        }
        Ok(cols)
    }

    /// Reads the next row packet of the current result into `payload()`.
    /// False at the result's end (then `pending` says if more follow).
    pub(super) async fn next_row_raw(&mut self) -> WResult<bool> {
        if self.pending != Pending::Rows {
            return Ok(false);
        }
        if let Err(e) = self.read_packet().await {
            self.pending = Pending::None;
            return Err(e);
        }
        let p = self.payload();
        match p.first() {
            Some(0xfe) if self.cur.is_some() => {
                // EOF / OK terminator. A row can start with 0xFE only as a
                // text value of 16 MiB or more, so in a joined payload.
                let (status, warnings) = if self.caps & DEPRECATE_EOF != 0 {
                    let (_, status, warnings) = parse_ok(p)?;
                    (status, warnings)
                } else {
                    let mut c = Cur { b: p };
                    c.u8()?;
                    let warnings = c.u16()?;
                    (c.u16()?, warnings)
                };
                self.last_warnings = warnings;
                self.pending = if status & SERVER_MORE_RESULTS_EXISTS != 0 {
                    Pending::MoreResults
                } else {
                    Pending::None
                };
                Ok(false)
            }
            Some(0xff) => {
                let e = parse_err(p);
                self.pending = Pending::None;
                Err(e)
            }
            _ => Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packet framing both ways, across the 16 MiB boundary (our writer
    /// against our reader over an in-memory pipe).
    #[test]
    pub(super) fn payloads_split_and_join_across_packets() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (a, b) = tokio::io::duplex(1 << 20);
            let mut tx = Conn::over(Box::pin(a));
            let mut rx = Conn::over(Box::pin(b));
            let sizes = [
                0,
                1,
                250,
                READ_BUFFER + 7,
                MAX_PACKET - 1,
                MAX_PACKET,
                MAX_PACKET + 1,
                2 * MAX_PACKET,
                10,
            ];
            let write = async {
                for n in sizes {
                    let payload: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
                    tx.write_packet(&payload).await.expect("write");
                }
            };
            let read = async {
                for n in sizes {
                    rx.read_packet().await.expect("read");
                    let got = rx.payload();
                    assert_eq!(got.len(), n);
                    assert!(got.iter().enumerate().all(|(i, &x)| x == (i % 253) as u8));
                }
            };
            tokio::join!(write, read);
            // After the huge ones, the buffers are back to their usual size.
            assert!(rx.big.capacity() <= BIG_BUFFER);
        });
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    }

    /// A packet out of sequence is a protocol error that breaks the
    /// connection, except an error packet (a server closing an idle or
    /// killed connection says why that way), which is reported as is.
    #[test]
    fn packets_out_of_sequence_break_the_connection() {
        runtime().block_on(async {
            let (a, b) = tokio::io::duplex(1 << 16);
            let mut tx = Conn::over(Box::pin(a));
            let mut rx = Conn::over(Box::pin(b));
            tx.write_packet(b"first").await.expect("write");
            rx.read_packet().await.expect("in order");
            tx.seq = 7;
            tx.write_packet(b"\x00late").await.expect("write");
            let e = rx.read_packet().await.unwrap_err();
            assert!(
                format!("{e:?}").contains("packet number 7 where 1 was due"),
                "{e:?}"
            );
            assert!(rx.broken);

            let (a, b) = tokio::io::duplex(1 << 16);
            let mut tx = Conn::over(Box::pin(a));
            let mut rx = Conn::over(Box::pin(b));
            rx.seq = 1;
            let mut err = vec![0xff];
            err.extend_from_slice(&1927u16.to_le_bytes());
            err.extend_from_slice(b"#70100Connection was killed");
            tx.write_packet(&err).await.expect("write");
            match rx.read_packet().await {
                Err(WireError::Server { code: 1927, .. }) => {}
                other => panic!("{other:?}"),
            }
            assert!(rx.broken);
        });
    }

    /// A peer that sends packet after full packet is cut off at the cap,
    /// not read into memory without end.
    #[test]
    fn joined_payloads_are_capped() {
        runtime().block_on(async {
            let (a, b) = tokio::io::duplex(1 << 20);
            let mut tx = Conn::over(Box::pin(a));
            let mut rx = Conn::over(Box::pin(b));
            rx.max_payload = 2 * MAX_PACKET;
            let write = async {
                let payload = vec![7u8; 3 * MAX_PACKET];
                // The reader gives up before the end: the pipe closes.
                let _ = tx.write_packet(&payload).await;
            };
            let read = async {
                let e = rx.read_packet().await.unwrap_err();
                assert!(format!("{e:?}").contains("a reply of more than"), "{e:?}");
                drop(rx);
            };
            tokio::join!(write, read);
        });
    }

    /// A write cancelled half way leaves the connection broken: the next
    /// command fails at once instead of finishing a torn packet.
    #[test]
    fn a_cancelled_write_breaks_the_connection() {
        runtime().block_on(async {
            let (a, _b) = tokio::io::duplex(64);
            let mut tx = Conn::over(Box::pin(a));
            let payload = vec![1u8; 4096];
            let r = tokio::time::timeout(
                std::time::Duration::from_millis(50),
                tx.write_packet(&payload),
            )
            .await;
            assert!(r.is_err(), "the write cannot finish: nobody reads");
            let e = tx.command(3, b"SELECT 1").await.unwrap_err();
            assert!(format!("{e:?}").contains("connection broken"), "{e:?}");
        });
    }
}
