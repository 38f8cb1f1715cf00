//! `\set NAME VALUE` and `:NAME` in statements, as psql has them:
//! `:name` puts the value in as typed, `:'name'` as a string literal and
//! `:"name"` as an identifier, both quoted by the engine's dialect so a
//! value can never end the literal early. Text inside strings, quoted
//! names and comments is never touched, nor `::` casts, nor unknown names.

use std::collections::BTreeMap;

use qore_core::sql::{Flavor, TokenKind, lex};
use qore_core::{AnsiDialect, Dialect, Error, PlaceholderStyle, Result};

/// The shell's variables.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

/// Whether `name` is a variable name: letters, digits and `_`.
pub fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Variables {
    /// Sets a variable; the name must be letters, digits and `_`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        if !is_name(name) {
            return Err(Error::invalid(format!(
                "`{name}` is not a variable name: use letters, digits and _"
            )));
        }
        self.values.insert(name.to_string(), value.to_string());
        Ok(())
    }

    /// Removes a variable; whether it was set.
    pub fn unset(&mut self, name: &str) -> bool {
        self.values.remove(name).is_some()
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Names, for completion after `:`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// `sql` with every reference to a set variable replaced.
    pub fn substitute(&self, sql: &str, flavor: Flavor, dialect: Option<&dyn Dialect>) -> Result<String> {
        if self.values.is_empty() || !sql.contains(':') {
            return Ok(sql.to_string());
        }
        let ansi = AnsiDialect::new("ansi", PlaceholderStyle::Question);
        let dialect = dialect.unwrap_or(&ansi);
        let spans = lex(sql, flavor);
        let mut out = String::with_capacity(sql.len());
        let mut copied = 0usize;
        let mut i = 0usize;
        while i < spans.len() {
            let colon = &spans[i];
            let next = spans.get(i + 1);
            let cast = i > 0 && spans[i - 1].kind == TokenKind::Punct(':') && spans[i - 1].end == colon.start;
            let (Some(next), TokenKind::Punct(':'), false) = (next, &colon.kind, cast) else {
                i += 1;
                continue;
            };
            if next.start != colon.end {
                i += 1;
                continue;
            }
            let raw = &sql[next.start..next.end];
            let replacement = match next.kind {
                TokenKind::Word if is_name(raw) => self.get(raw).map(|v| Ok(v.to_string())),
                TokenKind::Str if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') => {
                    let name = &raw[1..raw.len() - 1];
                    self.get(name).filter(|_| is_name(name)).map(|v| dialect.quote_string(v))
                }
                TokenKind::QuotedIdent if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') => {
                    let name = &raw[1..raw.len() - 1];
                    self.get(name).filter(|_| is_name(name)).map(|v| dialect.quote_identifier(v))
                }
                _ => None,
            };
            match replacement {
                Some(r) => {
                    out.push_str(&sql[copied..colon.start]);
                    out.push_str(&r?);
                    copied = next.end;
                    i += 2;
                }
                None => i += 1,
            }
        }
        out.push_str(&sql[copied..]);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        let mut v = Variables::default();
        for (k, val) in pairs {
            v.set(k, val).unwrap();
        }
        v
    }

    #[test]
    fn the_three_forms() {
        let v = vars(&[("t", "orders"), ("who", "O'Brien"), ("col", "Total \"x\"")]);
        let out = v
            .substitute("select :\"col\" from :t where n = :'who' and x::text = ':t'", Flavor::Standard, None)
            .unwrap();
        assert_eq!(
            out,
            "select \"Total \"\"x\"\"\" from orders where n = 'O''Brien' and x::text = ':t'"
        );
        // Unknown names stay as typed, as psql leaves them.
        assert_eq!(v.substitute("select :nope", Flavor::Standard, None).unwrap(), "select :nope");
        assert!(Variables::default().set("bad name", "x").is_err());
    }

    proptest! {
        /// A value put in as a literal is one string token whose content is
        /// the value, whatever quotes and backslashes it holds.
        #[test]
        fn literal_values_stay_inside_their_literal(value in "\\PC{0,40}") {
            let v = vars(&[("v", &value)]);
            let out = v.substitute("select :'v' as x", Flavor::Standard, None).unwrap();
            let spans = lex(&out, Flavor::Standard);
            prop_assert_eq!(spans.len(), 4, "{}", out);
            prop_assert_eq!(&spans[1].kind, &TokenKind::Str);
            let lit = &out[spans[1].start..spans[1].end];
            prop_assert_eq!(lit[1..lit.len() - 1].replace("''", "'"), value);
        }

        /// Strings and comments come out byte for byte, whatever variables exist.
        #[test]
        fn quoted_text_is_never_touched(body in "[a-z :'\"]{0,30}") {
            let v = vars(&[("a", "X"), ("b", "Y")]);
            let quoted = format!("'{}'", body.replace('\'', "''"));
            let sql = format!("select {quoted} -- :a\n/* :b */");
            let out = v.substitute(&sql, Flavor::Standard, None).unwrap();
            prop_assert_eq!(out, sql);
        }
    }
}
