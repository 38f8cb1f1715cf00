//! The MySQL protocol's data: capability flags, column types, the packets a
//! client parses (OK, ERR, column definitions) and the cursor that reads
//! them. No I/O here: every function takes a payload, so the property
//! tests can feed it anything.

use qore_core::Error;

// Capability flags (protocol 4.1).
pub(super) const LONG_PASSWORD: u32 = 1;
pub(super) const FOUND_ROWS: u32 = 2;
pub(super) const LONG_FLAG: u32 = 4;
pub(super) const CONNECT_WITH_DB: u32 = 8;
pub(super) const IGNORE_SPACE: u32 = 0x100;
pub(super) const PROTOCOL_41: u32 = 0x200;
pub(super) const SSL: u32 = 0x800;
pub(super) const TRANSACTIONS: u32 = 0x2000;
pub(super) const SECURE_CONNECTION: u32 = 0x8000;
pub(super) const MULTI_STATEMENTS: u32 = 0x1_0000;
pub(super) const MULTI_RESULTS: u32 = 0x2_0000;
pub(super) const PS_MULTI_RESULTS: u32 = 0x4_0000;
pub(super) const PLUGIN_AUTH: u32 = 0x8_0000;
pub(super) const PLUGIN_AUTH_LENENC_DATA: u32 = 0x20_0000;
pub(super) const DEPRECATE_EOF: u32 = 0x100_0000;

pub(super) const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// utf8mb4_general_ci: the handshake's character set (the session's is set
/// with `SET NAMES` right after).
pub(super) const UTF8MB4_GENERAL_CI: u8 = 45;
/// The `binary` pseudo character set of byte columns.
pub(crate) const BINARY_CHARSET: u16 = 63;

pub(super) const MAX_PACKET: usize = 0xFF_FFFF;
/// The largest payload read (joined packets): MySQL and MariaDB cap
/// `max_allowed_packet` at 1 GiB, so more is a broken or hostile peer.
pub(super) const MAX_PAYLOAD: usize = 1 << 30;

/// The read buffer: many rows per read system call.
pub(super) const READ_BUFFER: usize = 1 << 16;
/// Buffers grown past this for a huge value are released afterwards.
pub(super) const BIG_BUFFER: usize = 4 << 20;

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

pub(super) type WResult<T> = std::result::Result<T, WireError>;

pub(super) fn io_err(e: std::io::Error) -> WireError {
    WireError::Other(Error::connect(
        "the MySQL server is not reachable or went away",
        e,
    ))
}

pub(super) fn proto(what: impl Into<String>) -> WireError {
    WireError::Other(Error::connect(
        format!("protocol error: {}", what.into()),
        "unexpected packet from the MySQL server",
    ))
}

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
    pub(super) fn layout(&self) -> Layout {
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
pub(super) enum Layout {
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
pub(super) struct Cur<'a> {
    pub(super) b: &'a [u8],
}

impl<'a> Cur<'a> {
    pub(super) fn u8(&mut self) -> WResult<u8> {
        let (&x, rest) = self.b.split_first().ok_or_else(|| proto("short packet"))?;
        self.b = rest;
        Ok(x)
    }
    pub(super) fn take(&mut self, n: usize) -> WResult<&'a [u8]> {
        if self.b.len() < n {
            return Err(proto("short packet"));
        }
        let (x, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(x)
    }
    pub(super) fn u16(&mut self) -> WResult<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(super) fn u32(&mut self) -> WResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn lenenc(&mut self) -> WResult<u64> {
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
    pub(super) fn lenenc_bytes(&mut self) -> WResult<&'a [u8]> {
        let n = usize::try_from(self.lenenc()?).map_err(|_| proto("length out of range"))?;
        self.take(n)
    }
    pub(super) fn lenenc_str(&mut self) -> WResult<String> {
        Ok(String::from_utf8_lossy(self.lenenc_bytes()?).into_owned())
    }
    pub(super) fn nul_str(&mut self) -> WResult<&'a [u8]> {
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

pub(super) fn put_lenenc(out: &mut Vec<u8>, v: u64) {
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

pub(super) fn parse_err(payload: &[u8]) -> WireError {
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
/// An OK packet's affected rows, status flags and warning count.
pub(super) fn parse_ok(payload: &[u8]) -> WResult<(u64, u16, u16)> {
    let mut c = Cur { b: payload };
    c.u8()?;
    let affected = c.lenenc()?;
    let _last_insert_id = c.lenenc()?;
    let status = c.u16()?;
    // Absent only from pre-4.1 servers.
    let warnings = c.u16().unwrap_or(0);
    Ok((affected, status, warnings))
}

pub(super) fn parse_column(payload: &[u8]) -> WResult<ColumnDef> {
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
