//! Which columns of a matching row hold the needle, decided in Rust where
//! the engine's own comparison can be reproduced exactly.
//!
//! A table's statement must say which column matched; the portable way is
//! a `CASE WHEN <match> THEN <value> END` per column, which names every
//! column's match twice. On DuckDB 2 planning a statement costs more than
//! scanning a small table (its PEG parser pays per token), so there the
//! statement only filters rows and returns the values, and this module
//! tells the matching columns apart: DuckDB's `LIKE` is a byte comparison
//! and its `ILIKE` lowers both sides with utf8proc's simple (one code point
//! to one) lowercase, both reproduced here. Should a returned row have no
//! column this module accepts (a code point whose case the two Unicode
//! versions disagree on), the table is searched again the portable way:
//! the engine stays the judge of every hit.

use qore_core::TextMatch;

/// The engine's match of one column, reproduced.
#[derive(Debug, Clone)]
pub(crate) struct Attribution {
    mode: TextMatch,
    case_sensitive: bool,
    /// The needle, lowered when the match folds.
    needle: String,
}

/// One code point to one, as utf8proc's `tolower` (the Unicode data's
/// simple mapping): where Rust's full mapping gives more (only `İ`, to
/// `i` and a combining dot), the simple one is its first.
fn lower_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    c.to_lowercase().next().unwrap_or(c)
}

fn lower(s: &str) -> String {
    if s.is_ascii() { s.to_ascii_lowercase() } else { s.chars().map(lower_char).collect() }
}

impl Attribution {
    /// The match of `needle` by `mode` on the engine `dialect` speaks for,
    /// where it is reproduced here: DuckDB's, except a regex (RE2's syntax
    /// and Unicode tables are not reproduced).
    pub(crate) fn for_dialect(dialect: &dyn qore_core::Dialect, needle: &str, mode: TextMatch, case_sensitive: bool) -> Option<Attribution> {
        if dialect.name() != "duckdb" {
            return None;
        }
        Attribution::duckdb(needle, mode, case_sensitive)
    }

    /// DuckDB's match of `needle` by `mode`, or `None` for a regex.
    fn duckdb(needle: &str, mode: TextMatch, case_sensitive: bool) -> Option<Attribution> {
        if mode == TextMatch::Regex {
            return None;
        }
        let needle = if case_sensitive { needle.to_string() } else { lower(needle) };
        Some(Attribution { mode, case_sensitive, needle })
    }

    /// An attribution that accepts nothing, to test the way back to the
    /// engine.
    #[cfg(test)]
    pub(crate) fn rejecting() -> Attribution {
        Attribution { mode: TextMatch::Exact, case_sensitive: true, needle: "\u{0}".into() }
    }

    /// Whether the engine's match accepts `value` (the column as text).
    pub(crate) fn test(&self, value: &str) -> bool {
        let folded;
        let v = if self.case_sensitive {
            value
        } else {
            folded = lower(value);
            &folded
        };
        match self.mode {
            TextMatch::Contains => v.contains(self.needle.as_str()),
            TextMatch::Prefix => v.starts_with(self.needle.as_str()),
            TextMatch::Exact => v == self.needle,
            TextMatch::Regex => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_one_code_point_to_one() {
        let a = Attribution::duckdb("İSTANBUL", TextMatch::Contains, false).unwrap();
        assert!(a.test("istanbul"), "İ lowers to i, as utf8proc's simple mapping");
        assert!(a.test("xİstanbul"));
        let a = Attribution::duckdb("ΣΊΣΥΦΟΣ", TextMatch::Exact, false).unwrap();
        assert!(a.test("σίσυφοσ"), "no final-sigma rule");
        assert!(!a.test("σίσυφος"));
        let a = Attribution::duckdb("\u{212A}", TextMatch::Prefix, false).unwrap();
        assert!(a.test("kelvin"));
        let a = Attribution::duckdb("Zan", TextMatch::Contains, true).unwrap();
        assert!(a.test("aZanb") && !a.test("zan"));
        assert!(Attribution::duckdb("x", TextMatch::Regex, false).is_none());
    }
}
