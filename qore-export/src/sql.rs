//! A SQL script of multi-row INSERT statements, spelled by a [`Dialect`].

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use qore_core::metadata::PRIMARY_KEY;
use qore_core::{AnsiDialect, Dialect, Error, PlaceholderStyle, Result, TableRef, Value};

use crate::Sink;

/// Options of the SQL script format.
#[derive(Clone)]
pub struct SqlOptions {
    /// The table the INSERTs target (required).
    pub table: Option<TableRef>,
    /// How to spell identifiers and literals; ANSI when `None`.
    pub dialect: Option<Arc<dyn Dialect>>,
    /// Rows per INSERT statement (default 500).
    pub rows_per_insert: usize,
    /// Start with a CREATE TABLE made from the result's schema.
    pub create_table: bool,
}

impl std::fmt::Debug for SqlOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlOptions")
            .field("table", &self.table)
            .field("dialect", &self.dialect.as_ref().map(|d| d.name()))
            .field("rows_per_insert", &self.rows_per_insert)
            .field("create_table", &self.create_table)
            .finish()
    }
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            table: None,
            dialect: None,
            rows_per_insert: 500,
            create_table: false,
        }
    }
}

static ANSI: AnsiDialect = AnsiDialect::new("ansi", PlaceholderStyle::Dollar);

/// The INSERT statements without their writer, so that a paged export can
/// stop between any two rows and a later process carry on.
pub(crate) struct SqlEncoder {
    dialect: Arc<dyn Dialect>,
    prefix: String,
    rows_per_insert: usize,
    /// Rows in the INSERT now open; 0 when none is.
    in_statement: usize,
    schema: SchemaRef,
}

pub(crate) struct SqlSink {
    enc: SqlEncoder,
    out: Box<dyn Write + Send>,
}

impl SqlSink {
    pub(crate) fn new(
        schema: SchemaRef,
        mut out: Box<dyn Write + Send>,
        options: &SqlOptions,
    ) -> Result<Self> {
        let (enc, head) = SqlEncoder::new(schema, options)?;
        out.write_all(head.as_bytes())
            .map_err(|e| Error::io("cannot write the SQL script", e))?;
        Ok(SqlSink { enc, out })
    }
}

impl SqlEncoder {
    /// The encoder, and the head of the script (a comment, the session's
    /// time zone, BEGIN, the CREATE TABLE when asked) for the caller to write.
    pub(crate) fn new(schema: SchemaRef, options: &SqlOptions) -> Result<(SqlEncoder, String)> {
        let table = options.table.clone().ok_or_else(|| {
            Error::invalid("a SQL export needs the name of the table to insert into (--sql-table)")
        })?;
        let dialect: Arc<dyn Dialect> = options.dialect.clone().unwrap_or_else(|| Arc::new(ANSI));
        if options.rows_per_insert == 0 {
            return Err(Error::invalid("rows per INSERT must be at least 1"));
        }
        let qtable = dialect.quote_table(&table)?;
        let cols: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| dialect.quote_identifier(f.name()))
            .collect::<Result<_>>()?;
        let mut head = String::from("-- written by qore export\n");
        if let Some(utc) = dialect.utc_session() {
            head.push_str(utc);
            head.push('\n');
        }
        head.push_str("BEGIN;\n");
        if options.create_table {
            let mut defs: Vec<String> = schema
                .fields()
                .iter()
                .zip(&cols)
                .map(|(f, q)| {
                    format!(
                        "  {q} {}{}",
                        dialect.column_type(f.data_type()),
                        if f.is_nullable() { "" } else { " NOT NULL" }
                    )
                })
                .collect();
            let mut pk: Vec<(usize, &String)> = schema
                .fields()
                .iter()
                .zip(&cols)
                .filter_map(|(f, q)| {
                    f.metadata()
                        .get(PRIMARY_KEY)
                        .and_then(|p| p.parse().ok())
                        .map(|p| (p, q))
                })
                .collect();
            pk.sort();
            if !pk.is_empty() {
                defs.push(format!(
                    "  PRIMARY KEY ({})",
                    pk.iter()
                        .map(|p| p.1.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            head.push_str(&format!(
                "CREATE TABLE {qtable} (\n{}\n);\n",
                defs.join(",\n")
            ));
        }
        let enc = SqlEncoder {
            prefix: format!("INSERT INTO {qtable} ({}) VALUES\n", cols.join(", ")),
            dialect,
            rows_per_insert: options.rows_per_insert,
            in_statement: 0,
            schema,
        };
        Ok((enc, head))
    }

    /// An encoder that carries on after `rows` rows written by another one
    /// with the same options (the head is not written again).
    pub(crate) fn continuing(schema: SchemaRef, options: &SqlOptions, rows: u64) -> Result<SqlEncoder> {
        let (mut enc, _) = SqlEncoder::new(schema, options)?;
        enc.in_statement = (rows % enc.rows_per_insert as u64) as usize;
        Ok(enc)
    }
}


/// A date or timestamp text with an astronomical year (`-4712-...`, year
/// 0 = 1 BC) with the era marker the dialect reads (`4713-... BC`);
/// unchanged for years from 1 on and for dialects without one.
fn era(dialect: &dyn Dialect, text: Vec<u8>) -> Vec<u8> {
    let Some(suffix) = dialect.bc_suffix() else {
        return text;
    };
    let (neg, digits_at) = if text.first() == Some(&b'-') {
        (true, 1)
    } else {
        (false, 0)
    };
    let end = text[digits_at..]
        .iter()
        .position(|c| !c.is_ascii_digit())
        .map_or(text.len(), |p| p + digits_at);
    let Ok(year) = std::str::from_utf8(&text[digits_at..end])
        .unwrap_or_default()
        .parse::<i64>()
    else {
        return text;
    };
    let year = if neg { -year } else { year };
    if year >= 1 {
        return text;
    }
    let mut out = format!("{:04}", 1 - year).into_bytes();
    out.extend_from_slice(&text[end..]);
    out.extend_from_slice(suffix.as_bytes());
    out
}

/// `'infinity'` / `'-infinity'` where the engine has them, else an error.
fn infinity(dialect: &dyn Dialect, positive: bool, line: &mut Vec<u8>) -> Result<()> {
    match dialect.infinite_datetime(positive) {
        Some(lit) => {
            line.extend_from_slice(lit.as_bytes());
            Ok(())
        }
        None => Err(Error::data(format!(
            "{} has no infinite dates or timestamps; export to another format or filter them out",
            dialect.name()
        ))),
    }
}

/// A literal for row `row` of `col`.
pub(crate) fn write_literal(
    dialect: &dyn Dialect,
    col: &dyn Array,
    row: usize,
    line: &mut Vec<u8>,
) -> Result<()> {
    if col.is_null(row) {
        line.extend_from_slice(b"NULL");
        return Ok(());
    }
    match col.data_type() {
        DataType::Date32 => {
            let days = col
                .as_primitive::<arrow::datatypes::Date32Type>()
                .value(row);
            if let Some(positive) = crate::text::date_infinity(days) {
                return infinity(dialect, positive, line);
            }
            let mut s = Vec::new();
            crate::text::date32(&mut s, days);
            line.push(b'\'');
            line.extend_from_slice(&era(dialect, s));
            line.push(b'\'');
        }
        DataType::Timestamp(unit, tz) => {
            let v = match Value::from_array(col, row)? {
                Value::Timestamp { value, .. } => value,
                _ => 0,
            };
            if let Some(positive) = crate::text::timestamp_infinity(v) {
                return infinity(dialect, positive, line);
            }
            let mut s = Vec::new();
            crate::text::timestamp(&mut s, v, *unit, false);
            if let Some(p) = s.iter().position(|&c| c == b'T') {
                s[p] = b' ';
            }
            let offset = tz.is_some() && dialect.timestamp_offsets();
            let s = era(dialect, s);
            line.push(b'\'');
            line.extend_from_slice(&s);
            // Offsets for engines that store instants; MySQL reads the
            // wall clock in the script's session zone (+00:00).
            if offset {
                // The offset goes before the era marker.
                match dialect.bc_suffix() {
                    Some(bc) if line.ends_with(bc.as_bytes()) => {
                        line.truncate(line.len() - bc.len());
                        line.extend_from_slice(b"+00");
                        line.extend_from_slice(bc.as_bytes());
                    }
                    _ => line.extend_from_slice(b"+00"),
                }
            }
            line.push(b'\'');
        }
        DataType::Decimal128(_, s) => crate::text::decimal(
            line,
            col.as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(row),
            *s,
        ),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::FixedSizeBinary(_)
        | DataType::BinaryView => {
            let v = Value::from_array(col, row)?;
            let Value::Bytes(b) = v else {
                return Err(Error::Internal("binary value".into()));
            };
            line.extend_from_slice(dialect.quote_bytes(&b).as_bytes());
        }
        DataType::Float32 | DataType::Float64 => {
            let Value::Float(f) = Value::from_array(col, row)? else {
                return Err(Error::Internal("float value".into()));
            };
            // Never NULL in place of a value: the script would load
            // something else than the source held.
            let lit = dialect.float_literal(f).map_err(|_| {
                Error::data(format!(
                    "{} cannot store the float {f}; export to another format or filter it out",
                    dialect.name()
                ))
            })?;
            line.extend_from_slice(lit.as_bytes());
        }
        DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano) => {
            // Units both PostgreSQL and DuckDB read exactly.
            let v = col
                .as_primitive::<arrow::datatypes::IntervalMonthDayNanoType>()
                .value(row);
            if v.nanoseconds % 1000 != 0 {
                return Err(Error::data(
                    "an interval with nanoseconds has no exact SQL literal",
                ));
            }
            let text = format!(
                "{} months {} days {} microseconds",
                v.months,
                v.days,
                v.nanoseconds / 1000
            );
            line.extend_from_slice(dialect.quote_string(&text)?.as_bytes());
        }
        DataType::Interval(_)
        | DataType::Duration(_)
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::Struct(_)
        | DataType::Map(_, _) => {
            // Arrays in the engine's own text form where it has one.
            if matches!(
                col.data_type(),
                DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
            ) && let Value::List(items) = Value::from_array(col, row)?
                && let Some(text) = dialect.array_text(&items)
            {
                line.extend_from_slice(dialect.quote_string(&text)?.as_bytes());
                return Ok(());
            }
            let mut text = Vec::new();
            crate::text::write_text(&mut text, col, row)?;
            let text = String::from_utf8(text)
                .map_err(|_| Error::data("a rendered value is not UTF-8"))?;
            line.extend_from_slice(dialect.quote_string(&text)?.as_bytes());
        }
        _ => {
            let v = Value::from_array(col, row)?;
            line.extend_from_slice(dialect.literal(&v)?.as_bytes());
        }
    }
    Ok(())
}

/// The SQL literal of one value as `dialect` reads it back into a column
/// of Arrow type `data_type`: what a SQL export writes for that cell
/// (dates with their era, infinities, exact floats, binary, intervals).
///
/// # Error handling
///
/// [`Error::InvalidData`](qore_core::Error) for a value the engine cannot
/// spell (a NaN in SQLite, a string with a NUL) or that does not fit
/// `data_type`.
///
/// # Example
///
/// ```
/// use qore_core::{AnsiDialect, PlaceholderStyle, Value};
/// use qore_core::arrow::datatypes::DataType;
///
/// let d = AnsiDialect::new("ansi", PlaceholderStyle::Dollar);
/// assert_eq!(qore_export::sql_literal(&d, &Value::Text("it's".into()), &DataType::Utf8).unwrap(), "'it''s'");
/// assert_eq!(qore_export::sql_literal(&d, &Value::Date(0), &DataType::Date32).unwrap(), "'1970-01-01'");
/// ```
pub fn sql_literal(dialect: &dyn Dialect, value: &Value, data_type: &DataType) -> Result<String> {
    let array = Value::to_array(std::slice::from_ref(value), data_type)?;
    let mut out = Vec::with_capacity(16);
    write_literal(dialect, array.as_ref(), 0, &mut out)?;
    String::from_utf8(out).map_err(|_| Error::data("a SQL literal is not UTF-8"))
}

impl SqlEncoder {
    /// Writes every row of `batch` as INSERT values.
    pub(crate) fn write(&mut self, batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
        let io = |e| Error::io("cannot write the SQL script", e);
        let mut line = Vec::with_capacity(1 << 16);
        for row in 0..batch.num_rows() {
            if self.in_statement == 0 {
                line.extend_from_slice(self.prefix.as_bytes());
            } else {
                line.extend_from_slice(b",\n");
            }
            line.push(b'(');
            for (i, col) in batch.columns().iter().enumerate() {
                if i > 0 {
                    line.extend_from_slice(b", ");
                }
                write_literal(self.dialect.as_ref(), col.as_ref(), row, &mut line)
                    .map_err(|e| match e {
                        Error::InvalidInput(m) => Error::data(format!(
                            "column `{}`, row {}: {m}",
                            self.schema.field(i).name(),
                            row + 1
                        )),
                        other => other,
                    })?;
            }
            line.push(b')');
            self.in_statement += 1;
            if self.in_statement == self.rows_per_insert {
                line.extend_from_slice(b";\n");
                self.in_statement = 0;
            }
            if line.len() >= 1 << 16 {
                out.write_all(&line).map_err(io)?;
                line.clear();
            }
        }
        out.write_all(&line).map_err(io)
    }

    /// Ends the open INSERT, if any, and the transaction.
    pub(crate) fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        let io = |e| Error::io("cannot write the SQL script", e);
        if self.in_statement > 0 {
            out.write_all(b";\n").map_err(io)?;
            self.in_statement = 0;
        }
        out.write_all(b"COMMIT;\n").map_err(io)
    }
}

impl Sink for SqlSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.enc.write(batch, &mut self.out)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.enc.finish(&mut self.out)?;
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write the SQL script", e))
    }
}
