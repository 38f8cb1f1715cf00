//! How an engine spells SQL: identifier and literal quoting, placeholders.

use std::fmt::Debug;

use crate::error::{Error, Result};
use crate::schema::TableRef;
use crate::value::Value;

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
    fn literal(&self, value: &Value) -> Result<String> {
        Ok(match value {
            Value::Null => "NULL".into(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) if f.is_finite() => format!("{f:?}"),
            Value::Float(f) => {
                return Err(Error::invalid(format!(
                    "{f} has no portable SQL literal; bind it as a parameter"
                )));
            }
            Value::Bytes(b) => self.quote_bytes(b),
            Value::Text(s) => self.quote_string(s)?,
            other => self.quote_string(&other.to_string())?,
        })
    }
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
