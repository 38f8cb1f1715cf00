//! PostgreSQL's SQL spelling (`PostgresDialect`).

use arrow::datatypes::DataType;
use qore_core::{Dialect, PlaceholderStyle, Result};

/// PostgreSQL's spelling: ANSI quoting, `$n` placeholders, and string
/// literals with a backslash written as `E'...'` so that they read the same
/// whatever `standard_conforming_strings` says.
#[derive(Debug)]
pub struct PostgresDialect;

static ANSI: qore_core::AnsiDialect =
    qore_core::AnsiDialect::new("postgres", PlaceholderStyle::Dollar);

impl Dialect for PostgresDialect {
    fn text_match(&self, expr: &str, needle: &str, how: qore_core::TextMatch, case_sensitive: bool) -> Option<String> {
        use qore_core::TextMatch as M;
        // lower() follows the database's ctype (all of Unicode under a
        // UTF-8 locale); strpos and starts_with ignore collations.
        let (e, n) = if case_sensitive { (expr.to_string(), needle.to_string()) } else { (format!("lower({expr})"), format!("lower({needle})")) };
        Some(match (how, case_sensitive) {
            (M::Contains, _) => format!("strpos({e}, {n}) > 0"),
            (M::Exact, _) => format!("{e} = {n}"),
            (M::Prefix, _) => format!("starts_with({e}, {n})"),
            (M::Regex, true) => format!("{expr} ~ {needle}"),
            (M::Regex, false) => format!("{expr} ~* {needle}"),
        })
    }
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        ANSI.quote_identifier(ident)
    }
    fn quote_string(&self, s: &str) -> Result<String> {
        if !s.contains('\\') {
            return ANSI.quote_string(s);
        }
        let inner = ANSI.quote_string(&s.replace('\\', "\\\\"))?;
        Ok(format!("E{inner}"))
    }
    fn quote_bytes(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("'\\x{hex}'::bytea")
    }
    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }
    fn float_literal(&self, f: f64) -> Result<String> {
        Ok(crate::dialects::float_words(f))
    }
    fn infinite_datetime(&self, positive: bool) -> Option<&'static str> {
        crate::dialects::infinity_literal(positive)
    }
    fn bc_suffix(&self) -> Option<&'static str> {
        Some(" BC")
    }
    fn utc_session(&self) -> Option<&'static str> {
        Some("SET TIME ZONE 'UTC';")
    }
    fn column_type(&self, dt: &DataType) -> String {
        match dt {
            DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::BinaryView => "BYTEA".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMPTZ".into(),
            other => ANSI.column_type(other),
        }
    }
    fn supports_returning(&self) -> bool {
        true
    }
    fn upsert_style(&self) -> Option<qore_core::UpsertStyle> {
        Some(qore_core::UpsertStyle::OnConflict)
    }
    fn row_identity(&self) -> Option<&'static str> {
        Some("ctid")
    }
    fn row_identity_expr(&self) -> Option<String> {
        Some("CAST(ctid AS text)".into())
    }
    fn row_identity_eq(&self, value_sql: &str) -> Option<String> {
        // A constant `tid` on the right keeps the TID scan.
        Some(format!("ctid = CAST(CAST({value_sql} AS text) AS tid)"))
    }
    fn row_version_expr(&self) -> Option<&'static str> {
        Some("CAST(xmin AS text)")
    }
    fn comparable(&self, column_sql: &str, source_type: &str) -> String {
        if without_equality(source_type) {
            format!("CAST({column_sql} AS text)")
        } else {
            column_sql.to_string()
        }
    }
    fn typed_value(&self, value_sql: &str, source_type: &str) -> String {
        if sent_as_text(source_type) {
            format!("CAST(CAST({value_sql} AS text) AS {source_type})")
        } else {
            value_sql.to_string()
        }
    }
    fn array_text(&self, items: &[qore_core::Value]) -> Option<String> {
        array_text(items)
    }
    fn overriding_identity(&self) -> Option<&'static str> {
        Some("OVERRIDING SYSTEM VALUE")
    }
    fn defer_foreign_keys(&self) -> Option<&'static str> {
        // Only constraints declared DEFERRABLE obey it.
        Some("SET CONSTRAINTS ALL DEFERRED")
    }
    fn cast_text(&self, expr: &str) -> String {
        format!("({expr})::text")
    }
    fn instant_text(&self, expr: &str) -> Option<String> {
        Some(format!("to_char({expr}, 'YYYY-MM-DD HH24:MI:SS.US')"))
    }
    fn native_row_checksum(&self, columns: &[String]) -> Option<String> {
        // record_out quotes what needs it and leaves NULL empty, so the text
        // is unambiguous; hashtextextended is the portable hash that hash
        // partitioning relies on, several times cheaper than md5.
        Some(format!(
            "sum(hashtextextended(ROW({})::text, 0))",
            columns.join(", ")
        ))
    }
    fn native_value_checksum(&self, columns: &[String], source_types: &[String]) -> Option<String> {
        // hash_record_extended (PostgreSQL 14+) hashes each field with its
        // type's hash: no text is built. Only types whose equality is the
        // diff's (not citext, interval, json, ... where equal values may
        // differ in what the diff compares, or no hash exists).
        let exact = |t: &str| {
            matches!(
                t,
                "int2" | "int4" | "int8" | "smallint" | "integer" | "bigint" | "float4" | "float8"
                    | "real" | "double precision" | "numeric" | "bool" | "boolean" | "date"
                    | "timestamp" | "timestamptz" | "time" | "text" | "varchar" | "bytea" | "uuid"
                    | "character varying"
            )
        };
        source_types.iter().all(|t| exact(t.as_str())).then(|| {
            format!("sum(hash_record_extended(ROW({}), 0))", columns.join(", "))
        })
    }
    fn utc_instant(&self, expr: &str) -> String {
        format!("({expr} AT TIME ZONE 'UTC')")
    }
    fn hex_text(&self, expr: &str) -> String {
        format!("encode({expr}, 'hex')")
    }
    fn byte_order(&self, expr: &str) -> String {
        // "C" compares the encoded bytes, which in UTF-8 is code point order.
        format!("{expr} COLLATE \"C\"")
    }
    fn checksum_aggregate(&self, text_expr: &str) -> Option<String> {
        Some(format!(
            "sum(('x' || substr(md5({text_expr}), 1, 15))::bit(60)::bigint)"
        ))
    }
}

/// An array in PostgreSQL's text form: `{1,NULL,"it's \"x\""}`, nested
/// arrays in nested braces; every non-NULL element that is not a number is
/// double-quoted with `"` and `\` escaped.
pub(crate) fn array_text(items: &[qore_core::Value]) -> Option<String> {
    use qore_core::Value;
    let mut out = String::from("{");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Value::Null => out.push_str("NULL"),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::UInt(n) => out.push_str(&n.to_string()),
            Value::Float(f) => out.push_str(&crate::dialects::float_words(*f).replace('\'', "")),
            Value::List(inner) => out.push_str(&array_text(inner)?),
            Value::Struct(_) => return None,
            Value::Bytes(b) => {
                out.push_str("\"\\\\x");
                for x in b {
                    out.push_str(&format!("{x:02x}"));
                }
                out.push('"');
            }
            other => {
                let text = match other {
                    Value::Text(s) => s.clone(),
                    v => v.to_string(),
                };
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    Some(out)
}

/// Types whose values `=` cannot compare (no equality operator).
fn without_equality(source_type: &str) -> bool {
    let t = source_type.trim().to_ascii_lowercase();
    matches!(
        t.as_str(),
        "json" | "xml" | "point" | "line" | "lseg" | "box" | "path" | "polygon" | "circle"
    ) || t.ends_with("[]") && without_equality(&t[..t.len() - 2])
}

/// Types the binary parameter encoder does not write (anything but the
/// built-in scalars of `encode.rs`): their values travel as text and the
/// server casts them.
fn sent_as_text(source_type: &str) -> bool {
    let t = source_type.trim().to_ascii_lowercase();
    if t.is_empty() {
        return false;
    }
    let base = t.split('(').next().unwrap_or("").trim();
    let encoded = matches!(
        base,
        "boolean" | "bool" | "smallint" | "int2" | "integer" | "int" | "int4" | "bigint" | "int8"
            | "oid" | "real" | "float4" | "double precision" | "float8" | "numeric" | "decimal"
            | "money" | "text" | "character varying" | "varchar" | "character" | "char"
            | "bpchar" | "\"char\"" | "name" | "json" | "jsonb" | "bytea" | "date" | "time"
            | "time without time zone" | "timestamp" | "timestamp without time zone"
            | "timestamp with time zone" | "timestamptz" | "interval" | "uuid" | "citext"
    );
    // `time(3) without time zone`, `timestamp(6) with time zone`: the
    // modifier sits inside the name.
    let modified = t.ends_with("without time zone") && t.starts_with("time")
        || t.starts_with("timestamp") && t.ends_with("with time zone")
        || t.starts_with("interval");
    !((encoded || modified) && !t.ends_with("[]"))
        || base == "time" && t.ends_with("with time zone")
}

/// The one PostgreSQL dialect.
pub static POSTGRES_DIALECT: PostgresDialect = PostgresDialect;
