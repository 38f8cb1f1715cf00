//! How an engine spells SQL: identifier and literal quoting, placeholders,
//! column types, literals of every kind, LIMIT, upsert and RETURNING, row
//! identity, and the hash and checksum expressions a diff pushes down.
//!
//! Every hook has the ANSI answer as its default; an engine's dialect
//! overrides what it spells differently, so that no crate ever matches on
//! an engine's name to build SQL (DataFusion's unparser `Dialect` works the
//! same way).

use std::fmt::Debug;

use arrow::datatypes::DataType;

use crate::error::{Error, Result};
use crate::schema::TableRef;
use crate::value::Value;

/// How an engine writes "insert, or update the row with the same key".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertStyle {
    /// `INSERT ... ON CONFLICT (key) DO UPDATE SET c = excluded.c`
    /// (PostgreSQL, SQLite, DuckDB).
    OnConflict,
    /// `INSERT ... ON DUPLICATE KEY UPDATE c = VALUES(c)` (MySQL, MariaDB).
    OnDuplicateKey,
}

/// How bound parameters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceholderStyle {
    /// `?` for every parameter (MySQL).
    Question,
    /// `?1`, `?2`, ... (SQLite).
    QuestionNumbered,
    /// `$1`, `$2`, ... (PostgreSQL, DuckDB).
    Dollar,
}

/// The SQL spelling rules of one engine.
///
/// Every piece of generated SQL in QoreDB goes through a `Dialect`; nothing
/// formats user input into SQL by hand.
pub trait Dialect: Send + Sync + Debug {
    /// A short name of the dialect (`sqlite`, `duckdb`, ...).
    fn name(&self) -> &'static str;

    /// Quotes an identifier so that the engine reads it back unchanged.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for an empty identifier or one that holds a
    /// NUL character, which no engine of QoreDB can store.
    fn quote_identifier(&self, ident: &str) -> Result<String>;

    /// Quotes a string literal so that the engine reads it back unchanged.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when the string holds a NUL character.
    fn quote_string(&self, s: &str) -> Result<String>;

    /// A binary literal.
    fn quote_bytes(&self, bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len() * 2 + 3);
        out.push_str("X'");
        for b in bytes {
            out.push_str(&format!("{b:02X}"));
        }
        out.push('\'');
        out
    }

    /// The placeholder for the `index`-th (1-based) bound parameter.
    fn placeholder(&self, index: usize) -> String;

    /// A possibly qualified table name, quoted.
    fn quote_table(&self, table: &TableRef) -> Result<String> {
        match &table.namespace {
            Some(ns) => Ok(format!(
                "{}.{}",
                self.quote_identifier(ns)?,
                self.quote_identifier(&table.name)?
            )),
            None => self.quote_identifier(&table.name),
        }
    }

    /// A SQL literal for a single value.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a value the engine cannot spell (a NaN
    /// where the engine has none): never a silent NULL.
    fn literal(&self, value: &Value) -> Result<String> {
        Ok(match value {
            Value::Null => "NULL".into(),
            Value::Bool(b) => self.bool_literal(*b).into(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => self.float_literal(*f)?,
            Value::Bytes(b) => self.quote_bytes(b),
            Value::Text(s) => self.quote_string(s)?,
            other => self.quote_string(&other.to_string())?,
        })
    }

    /// The text the engine reads back as an array of `items` in a typed
    /// context (PostgreSQL `{1,NULL,"a b"}`); `None` where arrays have no
    /// text form (they are written as JSON-like text then).
    fn array_text(&self, items: &[Value]) -> Option<String> {
        let _ = items;
        None
    }

    /// `TRUE`/`FALSE`, or how the engine spells them.
    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "TRUE" } else { "FALSE" }
    }

    /// A float literal: exact (shortest round-trip digits) when finite; NaN
    /// and the infinities as the engine reads them.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] where the engine cannot store the value.
    fn float_literal(&self, f: f64) -> Result<String> {
        if f.is_finite() {
            Ok(format!("{f:?}"))
        } else {
            Err(Error::invalid(format!(
                "{} cannot store the float {f}",
                self.name()
            )))
        }
    }

    /// The literal of an infinite date or timestamp, where the engine has
    /// them (`'infinity'`).
    fn infinite_datetime(&self, positive: bool) -> Option<&'static str> {
        let _ = positive;
        None
    }

    /// What follows a date or timestamp before year 1 to mark it BC
    /// (PostgreSQL ` BC`, DuckDB ` (BC)`); `None`: the engine reads the
    /// astronomical year (`-0044-03-15`) or has no such dates.
    fn bc_suffix(&self) -> Option<&'static str> {
        None
    }

    /// Whether a timestamp-with-time-zone literal carries its offset
    /// (`+00`); engines that store wall clocks read it in the session zone.
    fn timestamp_offsets(&self) -> bool {
        true
    }

    /// The statement that makes a script's session read timestamps as UTC.
    fn utc_session(&self) -> Option<&'static str> {
        None
    }

    /// The column type CREATE TABLE uses for an Arrow type.
    fn column_type(&self, dt: &DataType) -> String {
        match dt {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int8 | DataType::Int16 => "SMALLINT".into(),
            DataType::Int32 => "INTEGER".into(),
            DataType::Int64 => "BIGINT".into(),
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "BIGINT".into(),
            DataType::UInt64 => "NUMERIC(20, 0)".into(),
            DataType::Float16 | DataType::Float32 => "REAL".into(),
            DataType::Float64 => "DOUBLE PRECISION".into(),
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                format!("DECIMAL({p}, {s})")
            }
            DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::BinaryView => "BLOB".into(),
            DataType::Date32 | DataType::Date64 => "DATE".into(),
            DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
            DataType::Timestamp(_, None) => "TIMESTAMP".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
            DataType::Interval(_) | DataType::Duration(_) => "INTERVAL".into(),
            _ => "TEXT".into(),
        }
    }

    /// The Arrow type a column declared as `sql_type` reads back as, for the
    /// common ANSI names; `None` when the name says nothing certain.
    fn arrow_type_hint(&self, sql_type: &str) -> Option<DataType> {
        let t = sql_type.trim().to_ascii_lowercase();
        let base = t.split('(').next().unwrap_or("").trim();
        Some(match base {
            "boolean" | "bool" => DataType::Boolean,
            "smallint" | "int2" => DataType::Int16,
            "integer" | "int" | "int4" => DataType::Int32,
            "bigint" | "int8" => DataType::Int64,
            "real" | "float4" => DataType::Float32,
            "double precision" | "double" | "float8" => DataType::Float64,
            "date" => DataType::Date32,
            "text" | "varchar" | "character varying" | "char" | "character" => DataType::Utf8,
            "blob" | "bytea" | "varbinary" | "binary" => DataType::Binary,
            _ => return None,
        })
    }

    /// `LIMIT`/`OFFSET` as the engine spells them (empty when both are `None`).
    fn limit_clause(&self, limit: Option<u64>, offset: Option<u64>) -> String {
        match (limit, offset) {
            (None, None) => String::new(),
            (Some(l), None) => format!("LIMIT {l}"),
            (Some(l), Some(o)) => format!("LIMIT {l} OFFSET {o}"),
            (None, Some(o)) => format!("OFFSET {o}"),
        }
    }

    /// Whether `INSERT/UPDATE/DELETE ... RETURNING` exists.
    fn supports_returning(&self) -> bool {
        false
    }

    /// How the engine upserts, if it can.
    fn upsert_style(&self) -> Option<UpsertStyle> {
        None
    }

    /// Whether `SAVEPOINT` works inside transactions.
    fn supports_savepoints(&self) -> bool {
        true
    }

    /// The hidden column that identifies a row of a table without a key
    /// (`ctid`, `rowid`); `None` where there is none (MySQL).
    fn row_identity(&self) -> Option<&'static str> {
        None
    }

    /// The expression that reads a row's hidden identity as a value that
    /// can be bound back into [`row_identity_eq`](Dialect::row_identity_eq)
    /// (`CAST(ctid AS text)` on PostgreSQL, `rowid` elsewhere).
    fn row_identity_expr(&self) -> Option<String> {
        self.row_identity().map(str::to_string)
    }

    /// The condition "this row's hidden identity is `value_sql`" (a
    /// placeholder or a literal), written so that the engine finds the row
    /// directly (a TID scan, a rowid lookup) rather than scanning.
    fn row_identity_eq(&self, value_sql: &str) -> Option<String> {
        self.row_identity().map(|c| format!("{c} = {value_sql}"))
    }

    /// Whether a referencing row deleted (or updated away) in a transaction
    /// still holds its parent until the commit (DuckDB's foreign-key
    /// limitation), so that the parent cannot be deleted in the same
    /// transaction.
    fn references_held_until_commit(&self) -> bool {
        false
    }

    /// Whether `RETURNING` can return the row identity (DuckDB cannot).
    fn returns_row_identity(&self) -> bool {
        self.supports_returning() && self.row_identity().is_some()
    }

    /// The expression that reads a row's version, which every write of the
    /// row changes (PostgreSQL `xmin`): an edit based on one version
    /// conflicts with any later write. `None` where rows have no version.
    fn row_version_expr(&self) -> Option<&'static str> {
        None
    }

    /// The condition "`lhs` equals `rhs`" where NULL equals NULL.
    fn null_safe_eq(&self, lhs: &str, rhs: &str) -> String {
        format!("{lhs} IS NOT DISTINCT FROM {rhs}")
    }

    /// An expression of `column_sql` (declared as `source_type`) that `=`
    /// compares with a value read from it: the column itself, or its text
    /// where the type has no equality (PostgreSQL `json`, `xml`, `point`).
    fn comparable(&self, column_sql: &str, source_type: &str) -> String {
        let _ = source_type;
        column_sql.to_string()
    }

    /// The value `value_sql` (a placeholder or a literal) as it goes into a
    /// column declared `source_type`: itself, or cast from text where the
    /// engine's client cannot send the type directly (PostgreSQL arrays and
    /// geometric types).
    fn typed_value(&self, value_sql: &str, source_type: &str) -> String {
        let _ = source_type;
        value_sql.to_string()
    }

    /// Whether `UPDATE` and `DELETE` take a `LIMIT` (MySQL), which makes a
    /// statement on a table without any key touch exactly one of several
    /// identical rows.
    fn dml_limit(&self) -> bool {
        false
    }

    /// An `INSERT` of one row where every column takes its default.
    fn insert_defaults(&self, table_sql: &str) -> String {
        format!("INSERT INTO {table_sql} DEFAULT VALUES")
    }

    /// The statement that defers every foreign-key check of the current
    /// transaction to its commit, so that rows referencing each other in a
    /// cycle can be written one after the other; `None` where the engine
    /// cannot (the checks run at every statement).
    fn defer_foreign_keys(&self) -> Option<&'static str> {
        None
    }

    /// `expr` as the engine's exact text of the value, compared byte for
    /// byte: what a check of "the cell still holds what was read" compares
    /// (MySQL compares `CAST(... AS BINARY)`, so that a case-insensitive
    /// collation cannot hide a change).
    fn exact_text(&self, expr: &str) -> String {
        self.cast_text(expr)
    }

    /// The clause that lets an INSERT give an identity column its value
    /// (`OVERRIDING SYSTEM VALUE` for PostgreSQL's `GENERATED ALWAYS`).
    fn overriding_identity(&self) -> Option<&'static str> {
        None
    }

    /// Whether [`defer_foreign_keys`](Dialect::defer_foreign_keys) defers
    /// only the constraints declared `DEFERRABLE` (PostgreSQL) rather than
    /// every foreign key (SQLite).
    fn deferral_needs_deferrable(&self) -> bool {
        true
    }

    /// The query that reads the key the last INSERT of the session
    /// generated, for engines without `RETURNING` (MySQL).
    fn last_insert_id(&self) -> Option<&'static str> {
        None
    }

    /// `expr` (a text column) as an `ORDER BY` item that sorts by the bytes
    /// of its UTF-8 form whatever the column's collation: the one order of
    /// text two engines agree on (a diff merges two sides by it).
    fn byte_order(&self, expr: &str) -> String {
        expr.to_string()
    }

    /// The integer quotient of two integer expressions.
    fn int_div(&self, a: &str, b: &str) -> String {
        format!("({a}) / ({b})")
    }

    /// The instant `expr` (a timestamp or date) as
    /// `YYYY-MM-DD HH:MM:SS.ffffff`, the same text on every engine that has
    /// it (diff checksums); `None` where the engine cannot format it.
    fn instant_text(&self, expr: &str) -> Option<String> {
        let _ = expr;
        None
    }

    /// A faster native checksum than [`native_row_checksum`] that hashes
    /// the values themselves rather than their text, where every column's
    /// declared type (`source_types`) hashes exactly what a diff compares;
    /// `None` otherwise. The function may be missing on old servers: the
    /// caller falls back to [`native_row_checksum`] when the engine says
    /// so ([`ErrorKind::UndefinedObject`](crate::ErrorKind::UndefinedObject)).
    ///
    /// [`native_row_checksum`]: Dialect::native_row_checksum
    fn native_value_checksum(&self, columns: &[String], source_types: &[String]) -> Option<String> {
        let _ = (columns, source_types);
        None
    }

    /// An aggregate checksum of rows made of the SQL expressions `columns`
    /// that only the same engine reproduces (the row's own text form and
    /// a fast built-in hash), cheaper than [`checksum_aggregate`]; `None`
    /// where the engine has none.
    ///
    /// [`checksum_aggregate`]: Dialect::checksum_aggregate
    fn native_row_checksum(&self, columns: &[String]) -> Option<String> {
        let _ = columns;
        None
    }

    /// The time-zone-aware timestamp `expr` as the wall-clock time in UTC,
    /// whatever the session's time zone (what [`instant_text`] formats).
    ///
    /// [`instant_text`]: Dialect::instant_text
    fn utc_instant(&self, expr: &str) -> String {
        expr.to_string()
    }

    /// The bytes `expr` as lower-case hexadecimal text.
    fn hex_text(&self, expr: &str) -> String {
        format!("lower(hex({expr}))")
    }

    /// The length of the text `expr` in characters.
    fn char_length(&self, expr: &str) -> String {
        format!("char_length({expr})")
    }

    /// `item` sorted ascending with NULLs first, the order a diff merges by.
    fn ascending_nulls_first(&self, item: &str) -> String {
        format!("{item} ASC NULLS FIRST")
    }

    /// `expr` as text, the same text for the same value on both sides of a
    /// diff.
    fn cast_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS VARCHAR)")
    }

    /// The MD5 (32 hex digits) of the text expression `expr`; `None` where
    /// the engine has no MD5.
    fn md5_text(&self, expr: &str) -> Option<String> {
        Some(format!("md5({expr})"))
    }

    /// An aggregate that sums a 60-bit number taken from the MD5 of each
    /// row's text (`text_expr`): equal for the same multiset of rows on any
    /// engine that has it, so segments compare across engines. `None` where
    /// the engine cannot compute it.
    fn checksum_aggregate(&self, text_expr: &str) -> Option<String> {
        let _ = text_expr;
        None
    }

    /// A condition true when the text expression `expr` matches the string
    /// literal `needle_sql` (quoted by this dialect) the way `how` says;
    /// without `case_sensitive`, by the case of all of Unicode, not only
    /// ASCII, and whatever the column's collation. `None` where the engine
    /// cannot (a regular expression without a regex function).
    ///
    /// The default is ANSI-like; every engine of qore overrides it.
    fn text_match(&self, expr: &str, needle_sql: &str, how: TextMatch, case_sensitive: bool) -> Option<String> {
        let (e, n) = if case_sensitive {
            (expr.to_string(), needle_sql.to_string())
        } else {
            (format!("lower({expr})"), format!("lower({needle_sql})"))
        };
        match how {
            TextMatch::Contains => Some(format!("position({n} in {e}) > 0")),
            TextMatch::Exact => Some(format!("{e} = {n}")),
            TextMatch::Prefix => Some(format!("substring({e} from 1 for char_length({n})) = {n}")),
            TextMatch::Regex => None,
        }
    }

    /// One condition true when any of the text expressions `exprs` matches
    /// as [`text_match`](Dialect::text_match) says, where the engine has a
    /// cheaper form than the OR of one match per expression (SQLite:
    /// one call of a registered function per row instead of one per
    /// column). `None` (the default): OR the single matches.
    fn text_match_any(&self, exprs: &[&str], needle_sql: &str, how: TextMatch, case_sensitive: bool) -> Option<String> {
        let _ = (exprs, needle_sql, how, case_sensitive);
        None
    }
}

/// How a search compares text (see [`Dialect::text_match`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextMatch {
    /// The needle anywhere in the text.
    Contains,
    /// The whole text equals the needle.
    Exact,
    /// The text starts with the needle.
    Prefix,
    /// The text matches the needle as a regular expression (the engine's
    /// own dialect of them).
    Regex,
}

/// The ANSI spelling: `"identifiers"` and `'strings'` with the quote doubled.
/// SQLite, DuckDB and PostgreSQL (with `standard_conforming_strings`, the
/// default since 9.1) read exactly this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnsiDialect {
    name: &'static str,
    placeholders: PlaceholderStyle,
}

impl AnsiDialect {
    /// A dialect with the ANSI quoting rules.
    pub const fn new(name: &'static str, placeholders: PlaceholderStyle) -> Self {
        AnsiDialect { name, placeholders }
    }
}

fn check_nul(s: &str, what: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(Error::invalid(format!(
            "{what} contains a NUL character (\\0), which SQL cannot hold"
        )));
    }
    Ok(())
}

impl Dialect for AnsiDialect {
    fn name(&self) -> &'static str {
        self.name
    }

    fn quote_identifier(&self, ident: &str) -> Result<String> {
        if ident.is_empty() {
            return Err(Error::invalid("an identifier cannot be empty"));
        }
        check_nul(ident, "the identifier")?;
        let mut out = String::with_capacity(ident.len() + 2);
        out.push('"');
        for c in ident.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
        Ok(out)
    }

    fn quote_string(&self, s: &str) -> Result<String> {
        check_nul(s, "the string literal")?;
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        for c in s.chars() {
            if c == '\'' {
                out.push('\'');
            }
            out.push(c);
        }
        out.push('\'');
        Ok(out)
    }

    fn placeholder(&self, index: usize) -> String {
        match self.placeholders {
            PlaceholderStyle::Question => "?".into(),
            PlaceholderStyle::QuestionNumbered => format!("?{index}"),
            PlaceholderStyle::Dollar => format!("${index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: AnsiDialect = AnsiDialect::new("ansi", PlaceholderStyle::Dollar);

    #[test]
    fn typed_hooks_default_to_ansi() {
        assert_eq!(D.limit_clause(Some(5), Some(10)), "LIMIT 5 OFFSET 10");
        assert_eq!(D.limit_clause(None, None), "");
        assert!(
            D.literal(&Value::Float(f64::NAN)).is_err(),
            "never a silent NULL"
        );
        assert_eq!(D.literal(&Value::Float(0.1)).unwrap(), "0.1");
        assert_eq!(D.literal(&Value::Bool(true)).unwrap(), "TRUE");
        assert_eq!(D.column_type(&DataType::Int64), "BIGINT");
        assert_eq!(D.arrow_type_hint("varchar(20)"), Some(DataType::Utf8));
        assert_eq!(D.arrow_type_hint("geometry"), None);
        assert!(D.checksum_aggregate("x").is_none() && D.row_identity().is_none());
    }

    proptest::proptest! {
        #[test]
        fn finite_float_literals_read_back_exactly(f in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let lit = D.float_literal(f).unwrap();
            proptest::prop_assert_eq!(lit.parse::<f64>().unwrap().to_bits(), f.to_bits());
        }
    }

    #[test]
    fn quotes() {
        assert_eq!(D.quote_identifier(r#"a"b"#).unwrap(), r#""a""b""#);
        assert_eq!(D.quote_string("it's \\ fine").unwrap(), "'it''s \\ fine'");
        assert!(
            D.quote_string("a\0b")
                .unwrap_err()
                .to_string()
                .contains("NUL")
        );
        assert!(D.quote_identifier("").is_err());
        assert_eq!(D.quote_bytes(&[0, 255]), "X'00FF'");
        assert_eq!(D.placeholder(3), "$3");
        assert_eq!(
            D.quote_table(&TableRef::qualified("s", "t")).unwrap(),
            r#""s"."t""#
        );
    }
}
