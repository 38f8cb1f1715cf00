//! The MySQL client/server protocol, spoken directly.
//!
//! Rows of a large result are the hot path of every export: here a row is a
//! slice of the read buffer, cut by the column types, with no allocation,
//! no per-row future and no reference counting (sqlx spent a third of the
//! decoding thread on that). The rest is the protocol a client needs:
//! handshake, TLS, authentication (`mysql_native_password`,
//! `caching_sha2_password`, `mysql_clear_password` over TLS), text queries,
//! prepared statements with binary parameters and rows, multi-results, ping.
//!
//! One command at a time; a result that was not read to its end (a dropped
//! stream) is drained before the next command, so the connection never
//! answers a question with the previous one's rows.

use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use qore_core::Error;

pub(crate) use super::options::{Options, SslMode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

// Capability flags (protocol 4.1).
const LONG_PASSWORD: u32 = 1;
const FOUND_ROWS: u32 = 2;
const LONG_FLAG: u32 = 4;
const CONNECT_WITH_DB: u32 = 8;
const IGNORE_SPACE: u32 = 0x100;
const PROTOCOL_41: u32 = 0x200;
const SSL: u32 = 0x800;
const TRANSACTIONS: u32 = 0x2000;
const SECURE_CONNECTION: u32 = 0x8000;
const MULTI_STATEMENTS: u32 = 0x1_0000;
const MULTI_RESULTS: u32 = 0x2_0000;
const PS_MULTI_RESULTS: u32 = 0x4_0000;
const PLUGIN_AUTH: u32 = 0x8_0000;
const PLUGIN_AUTH_LENENC_DATA: u32 = 0x20_0000;
const DEPRECATE_EOF: u32 = 0x100_0000;

const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// utf8mb4_general_ci: the handshake's character set (the session's is set
/// with `SET NAMES` right after).
const UTF8MB4_GENERAL_CI: u8 = 45;
/// The `binary` pseudo character set of byte columns.
pub(crate) const BINARY_CHARSET: u16 = 63;

const MAX_PACKET: usize = 0xFF_FFFF;

/// The read buffer: many rows per read system call.
const READ_BUFFER: usize = 1 << 16;
/// Buffers grown past this for a huge value are released afterwards.
const BIG_BUFFER: usize = 4 << 20;

// Column flags.
pub(crate) const FLAG_UNSIGNED: u16 = 0x20;
pub(crate) const FLAG_BINARY: u16 = 0x80;
pub(crate) const FLAG_ENUM: u16 = 0x100;
pub(crate) const FLAG_SET: u16 = 0x800;

/// Column type codes.
#[allow(missing_docs)]
pub(crate) mod types {
    pub(crate) const DECIMAL: u8 = 0;
    pub(crate) const TINY: u8 = 1;
    pub(crate) const SHORT: u8 = 2;
    pub(crate) const LONG: u8 = 3;
    pub(crate) const FLOAT: u8 = 4;
    pub(crate) const DOUBLE: u8 = 5;
    pub(crate) const NULL: u8 = 6;
    pub(crate) const TIMESTAMP: u8 = 7;
    pub(crate) const LONGLONG: u8 = 8;
    pub(crate) const INT24: u8 = 9;
    pub(crate) const DATE: u8 = 10;
    pub(crate) const TIME: u8 = 11;
    pub(crate) const DATETIME: u8 = 12;
    pub(crate) const YEAR: u8 = 13;
    pub(crate) const NEWDATE: u8 = 14;
    pub(crate) const VARCHAR: u8 = 15;
    pub(crate) const BIT: u8 = 16;
    pub(crate) const TIMESTAMP2: u8 = 17;
    pub(crate) const DATETIME2: u8 = 18;
    pub(crate) const TIME2: u8 = 19;
    pub(crate) const JSON: u8 = 245;
    pub(crate) const NEWDECIMAL: u8 = 246;
    pub(crate) const ENUM: u8 = 247;
    pub(crate) const SET: u8 = 248;
    pub(crate) const TINY_BLOB: u8 = 249;
    pub(crate) const MEDIUM_BLOB: u8 = 250;
    pub(crate) const LONG_BLOB: u8 = 251;
    pub(crate) const BLOB: u8 = 252;
    pub(crate) const VAR_STRING: u8 = 253;
    pub(crate) const STRING: u8 = 254;
    pub(crate) const GEOMETRY: u8 = 255;
}

/// An error packet, or the transport failing.
#[derive(Debug)]
pub(crate) enum WireError {
    /// The server's ERR packet.
    Server {
        code: u16,
        state: String,
        message: String,
    },
    /// Anything else, already a QoreDB error.
    Other(Error),
}

impl From<Error> for WireError {
    fn from(e: Error) -> Self {
        WireError::Other(e)
    }
}

type WResult<T> = std::result::Result<T, WireError>;

fn io_err(e: std::io::Error) -> WireError {
    WireError::Other(Error::connect(
        "the MySQL server is not reachable or went away",
        e,
    ))
}

fn proto(what: impl Into<String>) -> WireError {
    WireError::Other(Error::connect(
        format!("protocol error: {}", what.into()),
        "unexpected packet from the MySQL server",
    ))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A column of a result or a statement's parameter.
#[derive(Debug, Clone)]
pub(crate) struct ColumnDef {
    pub(crate) schema: String,
    pub(crate) org_table: String,
    pub(crate) name: String,
    pub(crate) org_name: String,
    pub(crate) charset: u16,
    pub(crate) length: u32,
    pub(crate) ty: u8,
    pub(crate) flags: u16,
}

impl ColumnDef {
    /// The type's name as MySQL users write it (`INT UNSIGNED`, `VARBINARY`).
    pub(crate) fn type_name(&self) -> &'static str {
        use types::*;
        let binary = self.flags & FLAG_BINARY != 0 && self.charset == BINARY_CHARSET;
        let unsigned = self.flags & FLAG_UNSIGNED != 0;
        match self.ty {
            TINY if self.length == 1 && !unsigned => "BOOLEAN",
            TINY if unsigned => "TINYINT UNSIGNED",
            SHORT if unsigned => "SMALLINT UNSIGNED",
            LONG if unsigned => "INT UNSIGNED",
            INT24 if unsigned => "MEDIUMINT UNSIGNED",
            LONGLONG if unsigned => "BIGINT UNSIGNED",
            TINY => "TINYINT",
            SHORT => "SMALLINT",
            LONG => "INT",
            INT24 => "MEDIUMINT",
            LONGLONG => "BIGINT",
            FLOAT => "FLOAT",
            DOUBLE => "DOUBLE",
            NULL => "NULL",
            TIMESTAMP | TIMESTAMP2 => "TIMESTAMP",
            DATE | NEWDATE => "DATE",
            TIME | TIME2 => "TIME",
            DATETIME | DATETIME2 => "DATETIME",
            YEAR => "YEAR",
            BIT => "BIT",
            ENUM => "ENUM",
            SET => "SET",
            DECIMAL | NEWDECIMAL => "DECIMAL",
            GEOMETRY => "GEOMETRY",
            JSON => "JSON",
            STRING if self.flags & FLAG_ENUM != 0 => "ENUM",
            STRING if self.flags & FLAG_SET != 0 => "SET",
            STRING if binary => "BINARY",
            VARCHAR | VAR_STRING if binary => "VARBINARY",
            STRING => "CHAR",
            VARCHAR | VAR_STRING => "VARCHAR",
            TINY_BLOB if binary => "TINYBLOB",
            TINY_BLOB => "TINYTEXT",
            BLOB if binary => "BLOB",
            BLOB => "TEXT",
            MEDIUM_BLOB if binary => "MEDIUMBLOB",
            MEDIUM_BLOB => "MEDIUMTEXT",
            LONG_BLOB if binary => "LONGBLOB",
            LONG_BLOB => "LONGTEXT",
            _ => "TEXT",
        }
    }

    /// How a binary-protocol row stores this column's value.
    fn layout(&self) -> Layout {
        use types::*;
        match self.ty {
            LONGLONG | DOUBLE => Layout::Fixed(8),
            LONG | INT24 | FLOAT => Layout::Fixed(4),
            SHORT | YEAR => Layout::Fixed(2),
            TINY => Layout::Fixed(1),
            DATE | NEWDATE | DATETIME | DATETIME2 | TIMESTAMP | TIMESTAMP2 | TIME | TIME2 => {
                Layout::LengthByte
            }
            _ => Layout::LenEnc,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Fixed(usize),
    /// One length byte, kept in the value (the date decoders read it).
    LengthByte,
    /// A length-encoded string; the value is what follows the length.
    LenEnc,
}

/// A prepared statement.
#[derive(Debug)]
pub(crate) struct Statement {
    pub(crate) id: u32,
    pub(crate) params: usize,
    pub(crate) columns: Vec<ColumnDef>,
}

/// A statement's parameter in its binary form.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Null,
    I64(i64),
    U64(u64),
    F64(f64),
    /// Text, sent as VAR_STRING.
    Text(String),
    Bytes(Vec<u8>),
}

/// A small result read whole, every value as its text-protocol bytes.
#[derive(Debug, Default)]
pub(crate) struct TextResult {
    pub(crate) columns: Vec<ColumnDef>,
    pub(crate) rows: Vec<Vec<Option<Vec<u8>>>>,
    pub(crate) affected_rows: u64,
}

/// A byte cursor over one packet.
struct Cur<'a> {
    b: &'a [u8],
}

impl<'a> Cur<'a> {
    fn u8(&mut self) -> WResult<u8> {
        let (&x, rest) = self.b.split_first().ok_or_else(|| proto("short packet"))?;
        self.b = rest;
        Ok(x)
    }
    fn take(&mut self, n: usize) -> WResult<&'a [u8]> {
        if self.b.len() < n {
            return Err(proto("short packet"));
        }
        let (x, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(x)
    }
    fn u16(&mut self) -> WResult<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> WResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn lenenc(&mut self) -> WResult<u64> {
        Ok(match self.u8()? {
            x @ 0..=0xfa => u64::from(x),
            0xfc => u64::from(self.u16()?),
            0xfd => {
                let b = self.take(3)?;
                u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16
            }
            0xfe => {
                let b = self.take(8)?;
                u64::from_le_bytes(b.try_into().map_err(|_| proto("short packet"))?)
            }
            x => return Err(proto(format!("bad length-encoded integer 0x{x:02x}"))),
        })
    }
    fn lenenc_bytes(&mut self) -> WResult<&'a [u8]> {
        let n = usize::try_from(self.lenenc()?).map_err(|_| proto("length out of range"))?;
        self.take(n)
    }
    fn lenenc_str(&mut self) -> WResult<String> {
        Ok(String::from_utf8_lossy(self.lenenc_bytes()?).into_owned())
    }
    fn nul_str(&mut self) -> WResult<&'a [u8]> {
        let end = self
            .b
            .iter()
            .position(|&c| c == 0)
            .ok_or_else(|| proto("unterminated string"))?;
        let s = &self.b[..end];
        self.b = &self.b[end + 1..];
        Ok(s)
    }
}

fn put_lenenc(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=0xfa => out.push(v as u8),
        0xfb..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn parse_err(payload: &[u8]) -> WireError {
    let mut c = Cur { b: payload };
    let _ = c.u8();
    let code = c.u16().unwrap_or(0);
    let mut state = String::new();
    if c.b.first() == Some(&b'#') && c.b.len() >= 6 {
        state = String::from_utf8_lossy(&c.b[1..6]).into_owned();
        c.b = &c.b[6..];
    }
    WireError::Server {
        code,
        state,
        message: String::from_utf8_lossy(c.b).into_owned(),
    }
}

/// `(affected rows, status flags)` of an OK packet (header 0x00 or 0xFE).
fn parse_ok(payload: &[u8]) -> WResult<(u64, u16)> {
    let mut c = Cur { b: payload };
    c.u8()?;
    let affected = c.lenenc()?;
    let _last_insert_id = c.lenenc()?;
    let status = c.u16()?;
    Ok((affected, status))
}

fn parse_column(payload: &[u8]) -> WResult<ColumnDef> {
    let mut c = Cur { b: payload };
    let _catalog = c.lenenc_bytes()?;
    let schema = c.lenenc_str()?;
    let _table = c.lenenc_bytes()?;
    let org_table = c.lenenc_str()?;
    let name = c.lenenc_str()?;
    let org_name = c.lenenc_str()?;
    let _fixed = c.lenenc()?;
    let charset = c.u16()?;
    let length = c.u32()?;
    let ty = c.u8()?;
    let flags = c.u16()?;
    Ok(ColumnDef {
        schema,
        org_table,
        name,
        org_name,
        charset,
        length,
        ty,
        flags,
    })
}

/// One connection.
pub(crate) struct Conn {
    io: Pin<Box<dyn Io>>,
    rbuf: Vec<u8>,
    /// Unread bytes are `rbuf[start..end]`.
    start: usize,
    end: usize,
    /// A payload that spanned several packets.
    big: Vec<u8>,
    /// Where the last payload is: `rbuf[range]`, or `big` when None.
    cur: Option<Range<usize>>,
    wbuf: Vec<u8>,
    seq: u8,
    caps: u32,
    tls: bool,
    /// A result is being read: drain it before the next command.
    pending: Pending,
    /// The columns of the result being streamed.
    row_layout: Vec<Layout>,
    /// Value ranges of the last binary row, within its payload.
    row_values: Vec<Option<Range<usize>>>,
    /// Affected rows of the last OK packet.
    last_affected: u64,
    /// The transport failed: every later command fails at once.
    broken: bool,
    /// `quit` was sent.
    closed: bool,
    /// The server's thread id and version, from the handshake.
    pub(crate) connection_id: u32,
    pub(crate) server_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
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
    /// Connects, upgrades to TLS as asked, and authenticates.
    pub(crate) async fn connect(o: &Options) -> WResult<Conn> {
        let fut = Self::connect_inner(o);
        match tokio::time::timeout(o.connect_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(WireError::Other(Error::Timeout(format!(
                "the MySQL server did not answer within {} s; raise it with ?connect_timeout=S",
                o.connect_timeout.as_secs()
            )))),
        }
    }

    /// A connection object over a transport, before the handshake.
    fn over(io: Pin<Box<dyn Io>>) -> Conn {
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
            broken: false,
            closed: false,
            connection_id: 0,
            server_version: String::new(),
        }
    }

    async fn connect_inner(o: &Options) -> WResult<Conn> {
        let io: Pin<Box<dyn Io>> = match &o.socket {
            #[cfg(unix)]
            Some(path) => Box::pin(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(io_err)?,
            ),
            #[cfg(not(unix))]
            Some(_) => return Err(Error::invalid("socket= needs a Unix system").into()),
            None => {
                let s = tokio::net::TcpStream::connect((o.host.as_str(), o.port))
                    .await
                    .map_err(io_err)?;
                // Requests are single small packets: without this, a request
                // that follows one with no reply waits for a delayed ACK.
                s.set_nodelay(true).map_err(io_err)?;
                Box::pin(s)
            }
        };
        let mut conn = Conn::over(io);
        // Handshake v10.
        conn.read_packet().await?;
        let hs = conn.payload().to_vec();
        if hs.first() == Some(&0xff) {
            return Err(parse_err(&hs));
        }
        let mut c = Cur { b: &hs };
        let version = c.u8()?;
        if version != 10 {
            return Err(proto(format!("unsupported handshake version {version}")));
        }
        conn.server_version = String::from_utf8_lossy(c.nul_str()?).into_owned();
        conn.connection_id = c.u32()?;
        let mut scramble = c.take(8)?.to_vec();
        c.u8()?;
        let mut server_caps = u32::from(c.u16()?);
        let _charset = c.u8()?;
        let _status = c.u16()?;
        server_caps |= u32::from(c.u16()?) << 16;
        let auth_len = c.u8()?;
        c.take(10)?;
        if server_caps & SECURE_CONNECTION != 0 {
            let n = (usize::from(auth_len).saturating_sub(8)).max(13);
            let part = c.take(n.min(c.b.len()))?;
            // The second part ends with a NUL that is not part of the scramble.
            let part = part.strip_suffix(&[0]).unwrap_or(part);
            scramble.extend_from_slice(part);
        }
        let mut plugin = if server_caps & PLUGIN_AUTH != 0 {
            String::from_utf8_lossy(c.nul_str().unwrap_or(b"")).into_owned()
        } else {
            "mysql_native_password".to_string()
        };
        if plugin.is_empty() {
            plugin = "mysql_native_password".into();
        }

        let mut caps = LONG_PASSWORD
            | FOUND_ROWS
            | LONG_FLAG
            | IGNORE_SPACE
            | PROTOCOL_41
            | TRANSACTIONS
            | SECURE_CONNECTION
            | MULTI_STATEMENTS
            | MULTI_RESULTS
            | PS_MULTI_RESULTS
            | PLUGIN_AUTH
            | PLUGIN_AUTH_LENENC_DATA
            | DEPRECATE_EOF;
        if o.database.is_some() {
            caps |= CONNECT_WITH_DB;
        }
        let want_tls = o.ssl_mode != SslMode::Disabled && o.socket.is_none();
        if want_tls && server_caps & SSL != 0 {
            caps |= SSL;
        } else if matches!(
            o.ssl_mode,
            SslMode::Required | SslMode::VerifyCa | SslMode::VerifyIdentity
        ) {
            return Err(WireError::Other(Error::connect(
                "TLS with the MySQL server failed",
                format!(
                    "ssl-mode={} but the server does not offer TLS",
                    o.ssl_mode.name()
                ),
            )));
        }
        caps &= server_caps | SSL;
        caps |= PROTOCOL_41;
        conn.caps = caps;

        let mut head = Vec::with_capacity(64);
        head.extend_from_slice(&caps.to_le_bytes());
        head.extend_from_slice(&(MAX_PACKET as u32).to_le_bytes());
        head.push(UTF8MB4_GENERAL_CI);
        head.extend_from_slice(&[0; 23]);
        if caps & SSL != 0 {
            conn.write_packet(&head).await?;
            conn.start_tls(o).await?;
        }
        let response = auth_response(&plugin, o.password.as_deref(), &scramble, conn.tls)?;
        let mut p = head;
        p.extend_from_slice(o.user.as_bytes());
        p.push(0);
        if caps & PLUGIN_AUTH_LENENC_DATA != 0 {
            put_lenenc(&mut p, response.len() as u64);
        } else {
            p.push(u8::try_from(response.len()).map_err(|_| proto("auth data too long"))?);
        }
        p.extend_from_slice(&response);
        if let Some(db) = &o.database {
            p.extend_from_slice(db.as_bytes());
            p.push(0);
        }
        if caps & PLUGIN_AUTH != 0 {
            p.extend_from_slice(plugin.as_bytes());
            p.push(0);
        }
        conn.write_packet(&p).await?;
        conn.finish_auth(o, plugin).await?;
        Ok(conn)
    }

    async fn start_tls(&mut self, o: &Options) -> WResult<()> {
        let tls_err =
            |m: String| WireError::Other(Error::connect("TLS with the MySQL server failed", m));
        let config = super::tls::client_config(o.ssl_mode, o.ssl_ca.as_deref()).map_err(tls_err)?;
        let name = rustls::pki_types::ServerName::try_from(o.host.clone())
            .map_err(|e| tls_err(format!("host `{}`: {e}", o.host)))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let io = std::mem::replace(&mut self.io, Box::pin(tokio::io::empty()));
        // TLS wraps the plain stream; an empty reader holds its place.
        let tls = connector
            .connect(name, io)
            .await
            .map_err(|e| tls_err(e.to_string()))?;
        self.io = Box::pin(tls);
        self.tls = true;
        Ok(())
    }

    async fn finish_auth(&mut self, o: &Options, mut plugin: String) -> WResult<()> {
        loop {
            self.read_packet().await?;
            let p = self.payload().to_vec();
            match p.first() {
                Some(0x00) => return Ok(()),
                Some(0xff) => return Err(parse_err(&p)),
                Some(0xfe) => {
                    // Auth switch: another plugin, a new scramble.
                    let mut c = Cur { b: &p[1..] };
                    plugin = String::from_utf8_lossy(c.nul_str()?).into_owned();
                    let scramble = c.b.strip_suffix(&[0]).unwrap_or(c.b).to_vec();
                    let r = auth_response(&plugin, o.password.as_deref(), &scramble, self.tls)?;
                    self.write_packet(&r).await?;
                }
                Some(0x01) if plugin == "caching_sha2_password" => match p.get(1) {
                    Some(3) => {} // fast auth succeeded; OK follows
                    Some(4) => {
                        // The password goes in clear: only over TLS or a
                        // Unix socket (as the server itself requires).
                        if !self.tls && o.socket.is_none() {
                            return Err(WireError::Other(Error::Auth(
                                "caching_sha2_password needs a full authentication, which QoreDB only sends over TLS or a Unix socket: connect once with ssl-mode=required (the server then caches the password), or use mysql_native_password".into(),
                            )));
                        }
                        let mut pw = o.password.clone().unwrap_or_default().into_bytes();
                        pw.push(0);
                        self.write_packet(&pw).await?;
                    }
                    _ => return Err(proto("unexpected caching_sha2_password message")),
                },
                _ => return Err(proto("unexpected packet during authentication")),
            }
        }
    }

    fn payload(&self) -> &[u8] {
        match &self.cur {
            Some(r) => &self.rbuf[r.clone()],
            None => &self.big,
        }
    }

    /// Makes `n` bytes readable at `start`.
    async fn fill(&mut self, n: usize) -> WResult<()> {
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
    async fn read_packet(&mut self) -> WResult<()> {
        let r = self.read_packet_inner().await;
        if r.is_err() {
            self.broken = true;
            self.pending = Pending::None;
        }
        r
    }

    async fn read_packet_inner(&mut self) -> WResult<()> {
        let mut joined = false;
        loop {
            self.fill(4).await?;
            let h = &self.rbuf[self.start..self.start + 4];
            let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            self.seq = h[3].wrapping_add(1);
            self.fill(4 + len).await?;
            let body = self.start + 4..self.start + 4 + len;
            self.start = body.end;
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

    async fn write_packet(&mut self, payload: &[u8]) -> WResult<()> {
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
        let r = self.io.write_all(&buf).await;
        self.wbuf = buf;
        r.map_err(io_err)?;
        self.io.flush().await.map_err(io_err)
    }

    /// Starts a command: drains what a dropped result left, then sends.
    async fn command(&mut self, cmd: u8, body: &[u8]) -> WResult<()> {
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
    async fn read_to_end(&mut self) -> WResult<Option<WireError>> {
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
    async fn read_result_head(&mut self) -> WResult<Option<Vec<ColumnDef>>> {
        // Until the head is read, a result is due (a cancelled wait leaves
        // it for `drain`).
        self.pending = Pending::MoreResults;
        self.read_packet().await?;
        self.pending = Pending::None;
        let first = self.payload().first().copied();
        match first {
            Some(0x00) => {
                let (affected, status) = parse_ok(self.payload())?;
                self.last_affected = affected;
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
    async fn read_columns(&mut self, n: usize, result: bool) -> WResult<Vec<ColumnDef>> {
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
    async fn next_row_raw(&mut self) -> WResult<bool> {
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
                let status = if self.caps & DEPRECATE_EOF != 0 {
                    parse_ok(p)?.1
                } else {
                    let mut c = Cur { b: p };
                    c.u8()?;
                    let _warnings = c.u16()?;
                    c.u16()?
                };
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

/// Answers the server's challenge for `plugin`.
fn auth_response(
    plugin: &str,
    password: Option<&str>,
    scramble: &[u8],
    tls: bool,
) -> WResult<Vec<u8>> {
    let pw = password.unwrap_or("");
    match plugin {
        "mysql_native_password" => {
            if pw.is_empty() {
                return Ok(Vec::new());
            }
            use sha1::{Digest, Sha1};
            let h1 = Sha1::digest(pw.as_bytes());
            let h2 = Sha1::digest(h1);
            let mut h = Sha1::new();
            h.update(scramble.get(..20).unwrap_or(scramble));
            h.update(h2);
            let h3 = h.finalize();
            Ok(h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect())
        }
        "caching_sha2_password" => {
            if pw.is_empty() {
                return Ok(Vec::new());
            }
            use sha2::{Digest, Sha256};
            let h1 = Sha256::digest(pw.as_bytes());
            let h2 = Sha256::digest(h1);
            let mut h = Sha256::new();
            h.update(h2);
            h.update(scramble.get(..20).unwrap_or(scramble));
            let h3 = h.finalize();
            Ok(h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect())
        }
        "mysql_clear_password" if tls => {
            let mut v = pw.as_bytes().to_vec();
            v.push(0);
            Ok(v)
        }
        "mysql_clear_password" => Err(WireError::Other(Error::Auth(
            "the server asks for the password in clear text; QoreDB only sends it over TLS (ssl-mode=required)".into(),
        ))),
        other => Err(WireError::Other(Error::Auth(format!(
            "the account uses the authentication plugin `{other}`, which QoreDB does not speak (it speaks mysql_native_password, caching_sha2_password and, over TLS, mysql_clear_password)"
        )))),
    }
}

// Commands.
const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_PING: u8 = 0x0e;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;
const COM_STMT_CLOSE: u8 = 0x19;

impl Conn {
    /// Runs `sql` (one or more statements) in the text protocol and reads
    /// every result whole: for small results (catalog, administration).
    /// The rows are those of the first result set; affected rows add up.
    pub(crate) async fn query_text(&mut self, sql: &str) -> WResult<TextResult> {
        self.command(COM_QUERY, sql.as_bytes()).await?;
        let mut out = TextResult::default();
        loop {
            match self.read_result_head().await? {
                None => out.affected_rows += self.last_affected,
                Some(_) if !out.columns.is_empty() => {
                    // A later result set: read and dropped.
                    while self.next_row_raw().await? {}
                }
                Some(cols) => {
                    while self.next_row_raw().await? {
                        let n = cols.len();
                        let mut c = Cur { b: self.payload() };
                        let mut row = Vec::with_capacity(n);
                        for _ in 0..n {
                            if c.b.first() == Some(&0xfb) {
                                c.u8()?;
                                row.push(None);
                            } else {
                                row.push(Some(c.lenenc_bytes()?.to_vec()));
                            }
                        }
                        out.rows.push(row);
                    }
                    out.columns = cols;
                }
            }
            if self.pending != Pending::MoreResults {
                return Ok(out);
            }
        }
    }

    /// Prepares `sql`.
    pub(crate) async fn prepare(&mut self, sql: &str) -> WResult<Statement> {
        self.command(COM_STMT_PREPARE, sql.as_bytes()).await?;
        self.read_packet().await?;
        let p = self.payload();
        if p.first() == Some(&0xff) {
            return Err(parse_err(p));
        }
        let mut c = Cur { b: p };
        if c.u8()? != 0 {
            return Err(proto("bad COM_STMT_PREPARE answer"));
        }
        let id = c.u32()?;
        let ncols = usize::from(c.u16()?);
        let nparams = usize::from(c.u16()?);
        self.read_columns(nparams, false).await?;
        let columns = self.read_columns(ncols, false).await?;
        Ok(Statement {
            id,
            params: nparams,
            columns,
        })
    }

    /// Frees a prepared statement (the server sends no answer).
    pub(crate) async fn close_statement(&mut self, id: u32) -> WResult<()> {
        self.command(COM_STMT_CLOSE, &id.to_le_bytes()).await
    }

    /// Executes a prepared statement. `Ok(None)`: it returned no rows (see
    /// `affected_rows`); `Ok(Some(columns))`: rows follow, read them with
    /// [`Conn::next_row`].
    pub(crate) async fn execute(
        &mut self,
        stmt: &Statement,
        params: &[Param],
    ) -> WResult<Option<Vec<ColumnDef>>> {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&stmt.id.to_le_bytes());
        b.push(0); // CURSOR_TYPE_NO_CURSOR
        b.extend_from_slice(&1u32.to_le_bytes());
        if !params.is_empty() {
            let mut nulls = vec![0u8; params.len().div_ceil(8)];
            for (i, p) in params.iter().enumerate() {
                if matches!(p, Param::Null) {
                    nulls[i / 8] |= 1 << (i % 8);
                }
            }
            b.extend_from_slice(&nulls);
            b.push(1); // types follow
            for p in params {
                let (ty, unsigned) = match p {
                    Param::Null => (types::NULL, 0),
                    Param::I64(_) => (types::LONGLONG, 0),
                    Param::U64(_) => (types::LONGLONG, 0x80),
                    Param::F64(_) => (types::DOUBLE, 0),
                    Param::Text(_) => (types::VAR_STRING, 0),
                    Param::Bytes(_) => (types::BLOB, 0),
                };
                b.push(ty);
                b.push(unsigned);
            }
            for p in params {
                match p {
                    Param::Null => {}
                    Param::I64(v) => b.extend_from_slice(&v.to_le_bytes()),
                    Param::U64(v) => b.extend_from_slice(&v.to_le_bytes()),
                    Param::F64(v) => b.extend_from_slice(&v.to_le_bytes()),
                    Param::Text(s) => {
                        put_lenenc(&mut b, s.len() as u64);
                        b.extend_from_slice(s.as_bytes());
                    }
                    Param::Bytes(v) => {
                        put_lenenc(&mut b, v.len() as u64);
                        b.extend_from_slice(v);
                    }
                }
            }
        }
        self.command(COM_STMT_EXECUTE, &b).await?;
        let head = self.read_result_head().await?;
        if let Some(cols) = &head {
            self.row_layout = cols.iter().map(ColumnDef::layout).collect();
        }
        Ok(head)
    }

    /// Rows affected by the last statement that returned none.
    pub(crate) fn affected_rows(&self) -> u64 {
        self.last_affected
    }

    /// Reads the next binary row of the executing statement; false at the
    /// end. Its values are then [`Conn::value`].
    pub(crate) async fn next_row(&mut self) -> WResult<bool> {
        if !self.next_row_raw().await? {
            return Ok(false);
        }
        let mut values = std::mem::take(&mut self.row_values);
        values.clear();
        let n = self.row_layout.len();
        let p = self.payload();
        let bitmap = (n + 9) / 8;
        if p.len() < 1 + bitmap {
            return Err(proto("short row"));
        }
        let mut pos = 1 + bitmap;
        for (i, layout) in self.row_layout.iter().enumerate() {
            let bit = i + 2;
            if p[1 + bit / 8] & (1 << (bit % 8)) != 0 {
                values.push(None);
                continue;
            }
            let range = match layout {
                Layout::Fixed(k) => pos..pos + k,
                Layout::LengthByte => {
                    let len = usize::from(*p.get(pos).ok_or_else(|| proto("short row"))?);
                    pos..pos + 1 + len
                }
                Layout::LenEnc => {
                    let mut c = Cur { b: &p[pos..] };
                    let len = usize::try_from(c.lenenc()?).map_err(|_| proto("length"))?;
                    let start = p.len() - c.b.len();
                    start..start + len
                }
            };
            if range.end > p.len() {
                return Err(proto("short row"));
            }
            pos = range.end;
            values.push(Some(range));
        }
        self.row_values = values;
        Ok(true)
    }

    /// Value `i` of the current row (None: NULL).
    #[inline]
    pub(crate) fn value(&self, i: usize) -> Option<&[u8]> {
        let r = self.row_values.get(i)?.as_ref()?;
        self.payload().get(r.clone())
    }

    /// True while rows of the last statement are still unread.
    pub(crate) fn in_result(&self) -> bool {
        self.pending != Pending::None
    }

    /// COM_PING.
    pub(crate) async fn ping(&mut self) -> WResult<()> {
        self.command(COM_PING, &[]).await?;
        match self.read_result_head().await? {
            None => Ok(()),
            Some(_) => Err(proto("rows in answer to a ping")),
        }
    }

    /// Says goodbye (the server closes the connection); later commands
    /// fail with a clear error.
    pub(crate) async fn quit(&mut self) {
        if self.closed {
            return;
        }
        if !self.broken {
            crate::note("COM_QUIT", self.command(COM_QUIT, &[]).await);
            crate::note("closing the socket", self.io.shutdown().await);
        }
        self.closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn length_encoded_integers_round_trip(v in prop_oneof![
            0u64..0xfb, 0xfbu64..0x1_0000, 0x1_0000u64..0x100_0000, any::<u64>()
        ]) {
            let mut b = Vec::new();
            put_lenenc(&mut b, v);
            let mut c = Cur { b: &b };
            prop_assert_eq!(c.lenenc().unwrap(), v);
            prop_assert!(c.b.is_empty());
        }

        #[test]
        fn truncated_packets_are_errors_not_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_column(&b);
            let _ = parse_ok(&b);
            let _ = parse_err(&b);
            let mut c = Cur { b: &b };
            let _ = c.lenenc_bytes();
        }
    }

    /// Packet framing both ways, across the 16 MiB boundary (our writer
    /// against our reader over an in-memory pipe).
    #[test]
    fn payloads_split_and_join_across_packets() {
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

    /// caching_sha2_password against another client's published vectors
    /// (go-sql-driver/mysql's auth tests): no MySQL 8 server runs here.
    #[test]
    fn caching_sha2_scramble_matches_an_independent_client() {
        let scramble = [
            10, 47, 74, 111, 75, 73, 34, 48, 88, 76, 114, 74, 37, 13, 3, 80, 82, 2, 23, 21,
        ];
        for (pw, hex) in [
            (
                "secret",
                "f490e76f66d9d86665ce54d98c78d0acfe2fb0b08b423da807144873d30b312c",
            ),
            (
                "secret2",
                "abc3934a012cf342e876071c8ee202de51785b430258a7a0138bc79c4d800bc6",
            ),
        ] {
            let r = auth_response("caching_sha2_password", Some(pw), &scramble, false).unwrap();
            let got: String = r.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, hex, "{pw}");
        }
    }

    #[test]
    fn native_password_scramble() {
        // SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))), computed by hand
        // from the definition for a 20-byte scramble of 1..=20.
        let scramble: Vec<u8> = (1..=20).collect();
        let r = auth_response("mysql_native_password", Some("secret"), &scramble, false).unwrap();
        assert_eq!(r.len(), 20);
        use sha1::{Digest, Sha1};
        let h1 = Sha1::digest(b"secret");
        let h2 = Sha1::digest(h1);
        let mut h = Sha1::new();
        h.update(&scramble);
        h.update(h2);
        let h3 = h.finalize();
        // XOR back: r ^ h3 must be SHA1(pw), whose SHA1 is h2.
        let back: Vec<u8> = r.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha1::digest(&back).as_slice(), h2.as_slice());
        assert!(
            auth_response("mysql_native_password", None, &scramble, false)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            auth_response("client_ed25519", Some("x"), &scramble, false),
            Err(WireError::Other(Error::Auth(_)))
        ));
        assert!(auth_response("mysql_clear_password", Some("x"), &scramble, false).is_err());
    }

    #[test]
    fn type_names_follow_flags_and_charset() {
        let col = |ty, flags, charset, length| ColumnDef {
            schema: String::new(),
            org_table: String::new(),
            name: String::new(),
            org_name: String::new(),
            charset,
            length,
            ty,
            flags,
        };
        assert_eq!(col(types::TINY, 0, 63, 1).type_name(), "BOOLEAN");
        assert_eq!(
            col(types::LONGLONG, FLAG_UNSIGNED, 63, 20).type_name(),
            "BIGINT UNSIGNED"
        );
        assert_eq!(
            col(types::VAR_STRING, FLAG_BINARY, 63, 8).type_name(),
            "VARBINARY"
        );
        // utf8mb4_bin text is flagged BINARY but keeps its character set.
        assert_eq!(
            col(types::VAR_STRING, FLAG_BINARY, 46, 40).type_name(),
            "VARCHAR"
        );
        assert_eq!(col(types::BLOB, FLAG_BINARY, 63, 65535).type_name(), "BLOB");
        assert_eq!(col(types::BLOB, 0, 45, 65535).type_name(), "TEXT");
        assert_eq!(col(types::STRING, FLAG_ENUM, 45, 4).type_name(), "ENUM");
    }
}
