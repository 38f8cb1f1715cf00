//! MySQL's SQL spelling (`MySqlDialect`), which follows the session's
//! `sql_mode`.

use std::sync::atomic::{AtomicBool, Ordering};

use arrow::datatypes::DataType;
use qore_core::{Dialect, Error, Result};

/// MySQL's spelling, following the session's `sql_mode`.
///
/// Identifiers are always backquoted, which every mode reads (`"` would be
/// a string without ANSI_QUOTES). Strings always use single quotes (`"` is an
/// identifier under ANSI_QUOTES) with `'` doubled; a backslash is doubled
/// unless NO_BACKSLASH_ESCAPES is set, where it is an ordinary character.
#[derive(Debug)]
pub struct MySqlDialect {
    no_backslash_escapes: AtomicBool,
    ansi_quotes: AtomicBool,
}

impl MySqlDialect {
    /// A dialect for a session whose `sql_mode` is `mode`.
    pub fn for_sql_mode(mode: &str) -> Self {
        let d = MySqlDialect {
            no_backslash_escapes: AtomicBool::new(false),
            ansi_quotes: AtomicBool::new(false),
        };
        d.set_sql_mode(mode);
        d
    }

    pub(super) fn set_sql_mode(&self, mode: &str) {
        let has = |flag: &str| mode.split(',').any(|m| m.trim().eq_ignore_ascii_case(flag));
        self.no_backslash_escapes
            .store(has("NO_BACKSLASH_ESCAPES"), Ordering::Relaxed);
        // ANSI is a combination mode that includes ANSI_QUOTES.
        self.ansi_quotes
            .store(has("ANSI_QUOTES") || has("ANSI"), Ordering::Relaxed);
    }

    /// Whether the session reads `"x"` as an identifier.
    pub fn ansi_quotes(&self) -> bool {
        self.ansi_quotes.load(Ordering::Relaxed)
    }

    /// Whether backslashes are ordinary characters in string literals.
    pub fn no_backslash_escapes(&self) -> bool {
        self.no_backslash_escapes.load(Ordering::Relaxed)
    }
}

impl Dialect for MySqlDialect {
    fn text_match(&self, expr: &str, needle: &str, how: qore_core::TextMatch, case_sensitive: bool) -> Option<String> {
        use qore_core::TextMatch as M;
        // Compared as utf8mb4 (never the 3-byte utf8) in its binary
        // collation, whatever the column's: a _ci or accent-insensitive
        // collation would otherwise match more than asked. Case is folded
        // by LOWER under a Unicode collation first.
        let bin = |x: &str| format!("(CONVERT({x} USING utf8mb4) COLLATE utf8mb4_bin)");
        let low = |x: &str| format!("(LOWER(CONVERT({x} USING utf8mb4) COLLATE utf8mb4_unicode_ci) COLLATE utf8mb4_bin)");
        let (e, n) = if case_sensitive { (bin(expr), bin(needle)) } else { (low(expr), low(needle)) };
        Some(match how {
            M::Contains => format!("LOCATE({n}, {e}) > 0"),
            // As bytes: the _bin collations pad with spaces, so `=` would
            // call 'ab' and 'ab ' equal.
            M::Exact => format!("CAST({e} AS BINARY) = CAST({n} AS BINARY)"),
            M::Prefix => format!("CAST(LEFT({e}, CHAR_LENGTH({n})) AS BINARY) = CAST({n} AS BINARY)"),
            M::Regex if case_sensitive => format!("{} REGEXP {needle}", bin(expr)),
            M::Regex => format!("(CONVERT({expr} USING utf8mb4) COLLATE utf8mb4_unicode_ci) REGEXP {needle}"),
        })
    }
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn quote_identifier(&self, ident: &str) -> Result<String> {
        if ident.is_empty() {
            return Err(Error::invalid("an identifier cannot be empty"));
        }
        if ident.contains('\0') {
            return Err(Error::invalid(
                "the identifier contains a NUL character (\\0), which SQL cannot hold",
            ));
        }
        Ok(format!("`{}`", ident.replace('`', "``")))
    }

    fn quote_string(&self, s: &str) -> Result<String> {
        if s.contains('\0') {
            return Err(Error::invalid(
                "the string literal contains a NUL character (\\0); bind it as a parameter",
            ));
        }
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        let escapes = !self.no_backslash_escapes();
        for c in s.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' if escapes => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('\'');
        Ok(out)
    }

    fn placeholder(&self, _index: usize) -> String {
        "?".into()
    }
    fn timestamp_offsets(&self) -> bool {
        // TIMESTAMP literals are wall clocks in the session zone.
        false
    }
    fn utc_session(&self) -> Option<&'static str> {
        Some("SET time_zone = '+00:00';")
    }
    fn column_type(&self, dt: &DataType) -> String {
        match dt {
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "INT UNSIGNED".into(),
            DataType::UInt64 => "BIGINT UNSIGNED".into(),
            DataType::Float64 => "DOUBLE".into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::BinaryView => "LONGBLOB".into(),
            DataType::Time32(_) | DataType::Time64(_) => "TIME(6)".into(),
            DataType::Timestamp(_, None) => "DATETIME(6)".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMP(6)".into(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "LONGTEXT".into(),
            DataType::Interval(_) | DataType::Duration(_) => "TEXT".into(),
            other => qore_core::AnsiDialect::new("mysql", qore_core::PlaceholderStyle::Question)
                .column_type(other),
        }
    }
    fn limit_clause(&self, limit: Option<u64>, offset: Option<u64>) -> String {
        match (limit, offset) {
            // MySQL has no OFFSET without LIMIT.
            (None, Some(o)) => format!("LIMIT 18446744073709551615 OFFSET {o}"),
            (Some(l), Some(o)) => format!("LIMIT {l} OFFSET {o}"),
            (Some(l), None) => format!("LIMIT {l}"),
            (None, None) => String::new(),
        }
    }
    fn upsert_style(&self) -> Option<qore_core::UpsertStyle> {
        Some(qore_core::UpsertStyle::OnDuplicateKey)
    }
    fn null_safe_eq(&self, lhs: &str, rhs: &str) -> String {
        format!("{lhs} <=> {rhs}")
    }
    fn dml_limit(&self) -> bool {
        true
    }
    fn exact_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS BINARY)")
    }
    fn last_insert_id(&self) -> Option<&'static str> {
        Some("SELECT LAST_INSERT_ID()")
    }
    fn insert_defaults(&self, table_sql: &str) -> String {
        format!("INSERT INTO {table_sql} () VALUES ()")
    }
    fn cast_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }
    fn int_div(&self, a: &str, b: &str) -> String {
        format!("({a}) DIV ({b})")
    }
    fn instant_text(&self, expr: &str) -> Option<String> {
        Some(format!("DATE_FORMAT({expr}, '%Y-%m-%d %H:%i:%s.%f')"))
    }
    fn byte_order(&self, expr: &str) -> String {
        // The connection's utf8mb4 bytes, whatever the column's collation
        // (PAD SPACE, case- and accent-insensitive ones included).
        format!("CAST(CONVERT({expr} USING utf8mb4) AS BINARY)")
    }
    fn ascending_nulls_first(&self, item: &str) -> String {
        // NULLs sort first ascending; MySQL has no NULLS FIRST.
        format!("{item} ASC")
    }
    fn md5_text(&self, expr: &str) -> Option<String> {
        Some(format!("MD5({expr})"))
    }
    fn checksum_aggregate(&self, text_expr: &str) -> Option<String> {
        Some(format!(
            "SUM(CAST(CONV(SUBSTRING(MD5({text_expr}), 1, 15), 16, 10) AS UNSIGNED))"
        ))
    }
}
