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

pub(crate) struct SqlSink {
    dialect: Arc<dyn Dialect>,
    prefix: String,
    rows_per_insert: usize,
    in_statement: usize,
    out: Box<dyn Write + Send>,
    schema: SchemaRef,
}

/// The column type a CREATE TABLE gets for an Arrow type, per dialect.
fn sql_type(dt: &DataType, dialect: &str) -> String {
    let my = dialect == "mysql";
    let pg = dialect == "postgres";
    match dt {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 if my => "INT UNSIGNED".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "BIGINT".into(),
        DataType::UInt64 if my => "BIGINT UNSIGNED".into(),
        DataType::UInt64 if dialect == "duckdb" => "UBIGINT".into(),
        DataType::UInt64 => "NUMERIC(20, 0)".into(),
        DataType::Float16 | DataType::Float32 => "REAL".into(),
        DataType::Float64 if my => "DOUBLE".into(),
        DataType::Float64 => "DOUBLE PRECISION".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::FixedSizeBinary(_)
        | DataType::BinaryView
            if pg =>
        {
            "BYTEA".into()
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::FixedSizeBinary(_)
        | DataType::BinaryView
            if my =>
        {
            "LONGBLOB".into()
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::FixedSizeBinary(_)
        | DataType::BinaryView => "BLOB".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) if my => "TIME(6)".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, None) if my => "DATETIME(6)".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) if my => "TIMESTAMP(6)".into(),
        DataType::Timestamp(_, Some(_)) if pg || dialect == "duckdb" => "TIMESTAMPTZ".into(),
        DataType::Interval(_) | DataType::Duration(_) if pg || dialect == "duckdb" => {
            "INTERVAL".into()
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if my => "LONGTEXT".into(),
        _ => "TEXT".into(),
    }
}

impl SqlSink {
    pub(crate) fn new(
        schema: SchemaRef,
        mut out: Box<dyn Write + Send>,
        options: &SqlOptions,
    ) -> Result<Self> {
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
        let io = |e| Error::io("cannot write the SQL script", e);
        let mut head = String::from("-- written by qore export\n");
        match dialect.name() {
            "mysql" => head.push_str("SET time_zone = '+00:00';\n"),
            "postgres" => head.push_str("SET TIME ZONE 'UTC';\n"),
            _ => {}
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
                        sql_type(f.data_type(), dialect.name()),
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
        out.write_all(head.as_bytes()).map_err(io)?;
        Ok(SqlSink {
            prefix: format!("INSERT INTO {qtable} ({}) VALUES\n", cols.join(", ")),
            dialect,
            rows_per_insert: options.rows_per_insert,
            in_statement: 0,
            out,
            schema,
        })
    }

    /// A date or timestamp text with an astronomical year (`-4712-...`, year
    /// 0 = 1 BC) as PostgreSQL (`4713-... BC`) and DuckDB (`4713-... (BC)`)
    /// read it; unchanged for years from 1 on and for other engines.
    fn era(&self, text: Vec<u8>) -> Vec<u8> {
        let d = self.dialect.name();
        if d != "postgres" && d != "duckdb" {
            return text;
        }
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
        out.extend_from_slice(if d == "postgres" { b" BC" } else { b" (BC)" });
        out
    }

    /// `'infinity'` / `'-infinity'` where the engine has them, else an error.
    fn infinity(&self, positive: bool, line: &mut Vec<u8>) -> Result<()> {
        let d = self.dialect.name();
        if d == "postgres" || d == "duckdb" {
            line.extend_from_slice(if positive {
                b"'infinity'" as &[u8]
            } else {
                b"'-infinity'"
            });
            Ok(())
        } else {
            Err(Error::data(format!(
                "{d} has no infinite dates or timestamps; export to another format or filter them out"
            )))
        }
    }

    /// A literal for row `row` of `col`.
    fn literal(&self, col: &dyn Array, row: usize, line: &mut Vec<u8>) -> Result<()> {
        if col.is_null(row) {
            line.extend_from_slice(b"NULL");
            return Ok(());
        }
        let d = self.dialect.name();
        match col.data_type() {
            DataType::Date32 => {
                let days = col
                    .as_primitive::<arrow::datatypes::Date32Type>()
                    .value(row);
                if let Some(positive) = crate::text::date_infinity(days) {
                    return self.infinity(positive, line);
                }
                let mut s = Vec::new();
                crate::text::date32(&mut s, days);
                line.push(b'\'');
                line.extend_from_slice(&self.era(s));
                line.push(b'\'');
            }
            DataType::Timestamp(unit, tz) => {
                let v = match Value::from_array(col, row)? {
                    Value::Timestamp { value, .. } => value,
                    _ => 0,
                };
                if let Some(positive) = crate::text::timestamp_infinity(v) {
                    return self.infinity(positive, line);
                }
                let mut s = Vec::new();
                crate::text::timestamp(&mut s, v, *unit, false);
                if let Some(p) = s.iter().position(|&c| c == b'T') {
                    s[p] = b' ';
                }
                let offset = tz.is_some() && d != "mysql" && d != "sqlite";
                let s = self.era(s);
                line.push(b'\'');
                line.extend_from_slice(&s);
                // Offsets for engines that store instants; MySQL reads the
                // wall clock in the script's session zone (+00:00).
                if offset {
                    // Before the era marker PostgreSQL wants the offset.
                    if let Some(stripped) = line.strip_suffix(b" BC") {
                        let n = stripped.len();
                        line.truncate(n);
                        line.extend_from_slice(b"+00 BC");
                    } else {
                        line.extend_from_slice(b"+00");
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
                let lit = if d == "postgres" {
                    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    format!("'\\x{hex}'")
                } else {
                    self.dialect.quote_bytes(&b)
                };
                line.extend_from_slice(lit.as_bytes());
            }
            DataType::Float32 | DataType::Float64 => {
                let Value::Float(f) = Value::from_array(col, row)? else {
                    return Err(Error::Internal("float value".into()));
                };
                if f.is_finite() {
                    line.extend_from_slice(format!("{f:?}").as_bytes());
                } else if d == "postgres" || d == "duckdb" {
                    line.extend_from_slice(if f.is_nan() {
                        b"'NaN'" as &[u8]
                    } else if f > 0.0 {
                        b"'Infinity'"
                    } else {
                        b"'-Infinity'"
                    });
                } else if d == "sqlite" && !f.is_nan() {
                    // SQLite's REAL holds ±Inf; 9e999 overflows to it.
                    line.extend_from_slice(if f > 0.0 { b"9e999" } else { b"-9e999" });
                } else {
                    // Never NULL in place of a value: the script would load
                    // something else than the source held.
                    return Err(Error::data(format!(
                        "{d} cannot store the float {f}; export to another format or filter it out"
                    )));
                }
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
                line.extend_from_slice(self.dialect.quote_string(&text)?.as_bytes());
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
                let mut text = Vec::new();
                crate::text::write_text(&mut text, col, row)?;
                let text = String::from_utf8(text)
                    .map_err(|_| Error::data("a rendered value is not UTF-8"))?;
                line.extend_from_slice(self.dialect.quote_string(&text)?.as_bytes());
            }
            _ => {
                let v = Value::from_array(col, row)?;
                line.extend_from_slice(self.dialect.literal(&v)?.as_bytes());
            }
        }
        Ok(())
    }
}

impl Sink for SqlSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
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
                self.literal(col.as_ref(), row, &mut line)
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
                self.out.write_all(&line).map_err(io)?;
                line.clear();
            }
        }
        self.out.write_all(&line).map_err(io)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let io = |e| Error::io("cannot write the SQL script", e);
        if self.in_statement > 0 {
            self.out.write_all(b";\n").map_err(io)?;
        }
        self.out.write_all(b"COMMIT;\n").map_err(io)?;
        self.out.flush().map_err(io)
    }
}
