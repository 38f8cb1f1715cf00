//! The SQL dialects of the embedded engines (SQLite, DuckDB) and what the
//! dialects share. PostgreSQL's and MySQL's live with their drivers.

#[cfg(any(feature = "sqlite", feature = "duckdb"))]
use arrow::datatypes::DataType;
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
use qore_core::{AnsiDialect, Dialect, Error, PlaceholderStyle, Result, UpsertStyle};

/// `'infinity'` / `'-infinity'`: the timestamp literals PostgreSQL and
/// DuckDB both read.
#[cfg(any(feature = "postgres", feature = "duckdb"))]
pub(crate) fn infinity_literal(positive: bool) -> Option<&'static str> {
    Some(if positive {
        "'infinity'"
    } else {
        "'-infinity'"
    })
}

/// A float as engines with NaN and infinities read it in a typed context
/// (`'NaN'`, `'Infinity'`, `'-Infinity'`); finite values exactly.
#[cfg(any(feature = "postgres", feature = "duckdb"))]
pub(crate) fn float_words(f: f64) -> String {
    if f.is_nan() {
        "'NaN'".into()
    } else if f == f64::INFINITY {
        "'Infinity'".into()
    } else if f == f64::NEG_INFINITY {
        "'-Infinity'".into()
    } else {
        format!("{f:?}")
    }
}

/// SQLite's spelling: ANSI quoting, `?N` placeholders, no MD5.
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone, Copy)]
pub struct SqliteDialect;

#[cfg(feature = "sqlite")]
const SQLITE_ANSI: AnsiDialect = AnsiDialect::new("sqlite", PlaceholderStyle::QuestionNumbered);

#[cfg(feature = "sqlite")]
impl Dialect for SqliteDialect {
    fn text_match(&self, expr: &str, needle: &str, how: qore_core::TextMatch, case_sensitive: bool) -> Option<String> {
        use qore_core::TextMatch as M;
        // SQLite's lower() and LIKE fold ASCII only: qore's sessions
        // register Unicode-folding matches (qore_icontains, ...) and
        // regexp (Rust's regex).
        let (e, n) = (expr, needle);
        if !case_sensitive
            && how != M::Regex
            && let Some(text) = unquote(needle).filter(|t| t.is_ascii())
        {
            return sqlite_ascii_match(e, n, &text, how);
        }
        Some(match (how, case_sensitive) {
            (M::Contains, true) => format!("instr({e}, {n}) > 0"),
            (M::Exact, true) => format!("({e}) = ({n}) COLLATE BINARY"),
            (M::Prefix, true) => format!("substr({e}, 1, length({n})) = ({n}) COLLATE BINARY"),
            (M::Contains, false) => format!("qore_icontains({e}, {n})"),
            (M::Exact, false) => format!("qore_iequal({e}, {n})"),
            (M::Prefix, false) => format!("qore_iprefix({e}, {n})"),
            (M::Regex, true) => format!("{e} REGEXP {n}"),
            (M::Regex, false) => format!("{e} REGEXP ('(?i)' || {n})"),
        })
    }
    fn text_match_any(&self, exprs: &[&str], needle: &str, how: qore_core::TextMatch, case_sensitive: bool) -> Option<String> {
        use qore_core::TextMatch as M;
        // SQLite's cost is per function call (its LIKE and instr are calls
        // too), not per byte compared: one call per row for all the
        // columns (sqlite/match_any.rs) runs about 0.8 of the instructions
        // of the OR of one call per column.
        let mode = match how {
            M::Contains => 0,
            M::Prefix => 1,
            M::Exact => 2,
            M::Regex => return None,
        };
        let f = if case_sensitive { "qore_match_any" } else { "qore_imatch_any" };
        (exprs.len() > 1).then(|| format!("{f}({mode}, {needle}, {})", exprs.join(", ")))
    }
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        SQLITE_ANSI.quote_identifier(ident)
    }
    fn quote_string(&self, s: &str) -> Result<String> {
        SQLITE_ANSI.quote_string(s)
    }
    fn placeholder(&self, index: usize) -> String {
        SQLITE_ANSI.placeholder(index)
    }
    fn float_literal(&self, f: f64) -> Result<String> {
        if f.is_nan() {
            // SQLite stores NaN as NULL: no literal keeps it.
            return Err(Error::invalid("SQLite cannot store the float NaN"));
        }
        // REAL holds ±Inf; 9e999 overflows to it.
        Ok(if f == f64::INFINITY {
            "9e999".into()
        } else if f == f64::NEG_INFINITY {
            "-9e999".into()
        } else {
            format!("{f:?}")
        })
    }
    fn timestamp_offsets(&self) -> bool {
        false
    }
    fn column_type(&self, dt: &DataType) -> String {
        match dt {
            DataType::Timestamp(_, Some(_)) | DataType::Interval(_) | DataType::Duration(_) => {
                "TEXT".into()
            }
            other => SQLITE_ANSI.column_type(other),
        }
    }
    fn limit_clause(&self, limit: Option<u64>, offset: Option<u64>) -> String {
        match (limit, offset) {
            // SQLite has no OFFSET without LIMIT.
            (None, Some(o)) => format!("LIMIT -1 OFFSET {o}"),
            other => SQLITE_ANSI.limit_clause(other.0, other.1),
        }
    }
    fn supports_returning(&self) -> bool {
        true
    }
    fn upsert_style(&self) -> Option<UpsertStyle> {
        Some(UpsertStyle::OnConflict)
    }
    fn row_identity(&self) -> Option<&'static str> {
        Some("rowid")
    }
    fn null_safe_eq(&self, lhs: &str, rhs: &str) -> String {
        format!("{lhs} IS {rhs}")
    }
    fn defer_foreign_keys(&self) -> Option<&'static str> {
        // Checked at COMMIT, and reset by it.
        Some("PRAGMA defer_foreign_keys = ON")
    }
    fn deferral_needs_deferrable(&self) -> bool {
        false
    }
    fn cast_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }
    fn byte_order(&self, expr: &str) -> String {
        // A column declared NOCASE or RTRIM would otherwise sort by it.
        format!("{expr} COLLATE BINARY")
    }
    fn md5_text(&self, _expr: &str) -> Option<String> {
        None
    }
}

/// SQLite's case-insensitive match of the ASCII needle `text` (the literal
/// `needle`) in `expr`. SQLite's `LIKE` folds ASCII letters only, and that
/// is the whole match: Unicode lower-casing turns no other character into
/// ASCII but two, the Kelvin sign (to `k`) and `İ` (to `i` and a combining
/// dot). Where the needle could meet one of those, a cell holding it goes
/// to the registered Unicode fold as well.
#[cfg(feature = "sqlite")]
fn sqlite_ascii_match(expr: &str, needle: &str, text: &str, how: qore_core::TextMatch) -> Option<String> {
    use qore_core::TextMatch as M;
    let folded = text.to_ascii_lowercase();
    let mut specials = Vec::new();
    if folded.contains('k') {
        specials.push('\u{212A}');
    }
    // `İ` lower-cases to `i` before a combining mark: only a needle ending
    // in `i` can end there, and never the whole of an exact match.
    if folded.ends_with('i') && how != M::Exact {
        specials.push('\u{130}');
    }
    let pattern = SQLITE_ANSI.quote_string(&like_pattern(text, how)).ok()?;
    let like = format!("{expr} LIKE {pattern} ESCAPE '\\'");
    if specials.is_empty() {
        return Some(like);
    }
    let exact = match how {
        M::Prefix => format!("qore_iprefix({expr}, {needle})"),
        M::Exact => format!("qore_iequal({expr}, {needle})"),
        _ => format!("qore_icontains({expr}, {needle})"),
    };
    let gate = specials.iter().map(|c| format!("instr({expr}, '{c}') > 0")).collect::<Vec<_>>().join(" OR ");
    Some(format!("({like} OR (({gate}) AND {exact}))"))
}

/// `text` as a `LIKE` pattern (escaped with `\\`, unquoted) matching as
/// `how` says.
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
fn like_pattern(text: &str, how: qore_core::TextMatch) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] })
        .collect();
    match how {
        qore_core::TextMatch::Contains => format!("%{escaped}%"),
        qore_core::TextMatch::Prefix => format!("{escaped}%"),
        _ => escaped,
    }
}

/// DuckDB's spelling: ANSI quoting, `$N` placeholders, no savepoints.
#[cfg(feature = "duckdb")]
#[derive(Debug, Clone, Copy)]
pub struct DuckDbDialect;

/// The text of a plain `'...'` literal as `quote_string` writes it, or
/// `None` for any other expression.
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
fn unquote(sql: &str) -> Option<String> {
    let inner = sql.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(feature = "duckdb")]
const DUCKDB_ANSI: AnsiDialect = AnsiDialect::new("duckdb", PlaceholderStyle::Dollar);

#[cfg(feature = "duckdb")]
impl Dialect for DuckDbDialect {
    fn arrow_type_hint(&self, sql_type: &str) -> Option<DataType> {
        use arrow::datatypes::TimeUnit;
        let t = sql_type.trim().to_ascii_uppercase();
        // Nested types (lists, structs, maps, unions) say nothing scalar.
        if t.ends_with(']') || ["STRUCT", "MAP", "UNION"].iter().any(|p| t.starts_with(p)) {
            return None;
        }
        let base = t.split('(').next().unwrap_or("").trim();
        Some(match base {
            "BOOLEAN" | "BOOL" => DataType::Boolean,
            "TINYINT" | "INT1" => DataType::Int8,
            "SMALLINT" | "INT2" => DataType::Int16,
            "INTEGER" | "INT" | "INT4" => DataType::Int32,
            "BIGINT" | "INT8" => DataType::Int64,
            "UTINYINT" => DataType::UInt8,
            "USMALLINT" => DataType::UInt16,
            "UINTEGER" => DataType::UInt32,
            "UBIGINT" => DataType::UInt64,
            "HUGEINT" | "UHUGEINT" => DataType::Decimal128(38, 0),
            "FLOAT" | "REAL" | "FLOAT4" => DataType::Float32,
            "DOUBLE" | "FLOAT8" => DataType::Float64,
            "DECIMAL" | "NUMERIC" => {
                let args: Vec<u8> = t
                    .split(['(', ')', ','])
                    .skip(1)
                    .filter_map(|a| a.trim().parse().ok())
                    .collect();
                match args.as_slice() {
                    [p, s] => DataType::Decimal128(*p, *s as i8),
                    [p] => DataType::Decimal128(*p, 0),
                    _ => DataType::Decimal128(18, 3),
                }
            }
            "DATE" => DataType::Date32,
            "TIMESTAMP WITH TIME ZONE" | "TIMESTAMPTZ" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "TIMESTAMP" | "DATETIME" | "TIMESTAMP_US" => DataType::Timestamp(TimeUnit::Microsecond, None),
            "TIMESTAMP_S" => DataType::Timestamp(TimeUnit::Second, None),
            "TIMESTAMP_MS" => DataType::Timestamp(TimeUnit::Millisecond, None),
            "TIMESTAMP_NS" => DataType::Timestamp(TimeUnit::Nanosecond, None),
            "VARCHAR" | "TEXT" | "STRING" | "CHAR" | "BPCHAR" | "ENUM" | "JSON" | "UUID" => DataType::Utf8,
            "BLOB" | "BYTEA" | "VARBINARY" | "BINARY" => DataType::Binary,
            _ => return None,
        })
    }
    fn text_match(&self, expr: &str, needle: &str, how: qore_core::TextMatch, case_sensitive: bool) -> Option<String> {
        use qore_core::TextMatch as M;
        // DuckDB 2's parser costs more per token than scanning a small
        // table: a literal needle becomes the shortest form, a LIKE/ILIKE
        // pattern (DuckDB plans `LIKE '%x%'` as contains and `'x%'` as a
        // prefix; ILIKE folds both sides with lower()).
        if how != M::Regex
            && let Some(text) = unquote(needle)
        {
            if how == M::Exact && case_sensitive {
                return Some(format!("{expr} = {needle}"));
            }
            let escapes = text.contains(['%', '_', '\\']);
            let pattern = DUCKDB_ANSI.quote_string(&like_pattern(&text, how)).ok()?;
            // A column DuckDB's statistics know to be ASCII is matched
            // byte-wise against the pattern as written: a needle with
            // non-ASCII letters is lowered first, as lower() would.
            let pattern = if !case_sensitive && text.chars().any(|c| !c.is_ascii() && c.to_lowercase().ne(std::iter::once(c))) {
                format!("lower({pattern})")
            } else {
                pattern
            };
            let op = if case_sensitive { "LIKE" } else { "ILIKE" };
            let escape = if escapes { " ESCAPE '\\'" } else { "" };
            return Some(format!("{expr} {op} {pattern}{escape}"));
        }
        let (e, n) = if case_sensitive { (expr.to_string(), needle.to_string()) } else { (format!("lower({expr})"), format!("lower({needle})")) };
        Some(match how {
            M::Contains => format!("contains({e}, {n})"),
            M::Exact => format!("{e} = {n}"),
            M::Prefix => format!("starts_with({e}, {n})"),
            M::Regex if case_sensitive => format!("regexp_matches({expr}, {needle})"),
            M::Regex => format!("regexp_matches({expr}, {needle}, 'i')"),
        })
    }
    fn name(&self) -> &'static str {
        "duckdb"
    }
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        DUCKDB_ANSI.quote_identifier(ident)
    }
    fn quote_string(&self, s: &str) -> Result<String> {
        DUCKDB_ANSI.quote_string(s)
    }
    fn placeholder(&self, index: usize) -> String {
        DUCKDB_ANSI.placeholder(index)
    }
    fn float_literal(&self, f: f64) -> Result<String> {
        Ok(float_words(f))
    }
    fn infinite_datetime(&self, positive: bool) -> Option<&'static str> {
        infinity_literal(positive)
    }
    fn bc_suffix(&self) -> Option<&'static str> {
        Some(" (BC)")
    }
    fn column_type(&self, dt: &DataType) -> String {
        match dt {
            DataType::UInt64 => "UBIGINT".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMPTZ".into(),
            other => DUCKDB_ANSI.column_type(other),
        }
    }
    fn supports_returning(&self) -> bool {
        true
    }
    fn upsert_style(&self) -> Option<UpsertStyle> {
        Some(UpsertStyle::OnConflict)
    }
    fn supports_savepoints(&self) -> bool {
        false
    }
    fn returns_row_identity(&self) -> bool {
        // `RETURNING rowid` does not bind.
        false
    }
    fn references_held_until_commit(&self) -> bool {
        true
    }
    fn row_identity(&self) -> Option<&'static str> {
        Some("rowid")
    }
    fn int_div(&self, a: &str, b: &str) -> String {
        format!("({a}) // ({b})")
    }
    fn instant_text(&self, expr: &str) -> Option<String> {
        Some(format!("strftime(CAST({expr} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%f')"))
    }
    fn utc_instant(&self, expr: &str) -> String {
        format!("timezone('UTC', {expr})")
    }
    fn checksum_aggregate(&self, text_expr: &str) -> Option<String> {
        Some(format!(
            "sum(CAST(('0x' || substr(md5({text_expr}), 1, 15)) AS UBIGINT))"
        ))
    }
}
