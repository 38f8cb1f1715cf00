//! The commands QoreDB sends: text queries, prepared statements, ping, quit.

use tokio::io::AsyncWriteExt;

use super::codec::*;
use super::wire::{Conn, Pending};

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
