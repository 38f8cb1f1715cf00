//! SQL functions qore registers on every SQLite session, for what SQLite
//! lacks: `qore_lower` (lower case by all of Unicode; SQLite's `lower`
//! folds ASCII only), `regexp` (so `x REGEXP 'pattern'` works, with
//! Rust's regex syntax), and `qore_icontains` / `qore_iprefix` /
//! `qore_iequal` (the same answers as `instr`, a prefix or `=` over two
//! `qore_lower`s, in one call that folds the needle once per statement and
//! compares ASCII text in place), and `qore_imatch_any` / `qore_match_any`
//! (see `match_any`: the same matches over many columns in one call, for
//! global search).
//! All are deterministic, so indexes on expressions may use them.

use std::borrow::Cow;
use std::sync::Arc;

use qore_core::Result;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

use super::connection::map_err;

pub(crate) fn register(conn: &rusqlite::Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("qore_lower", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            // Char by char, as the server engines fold (no final-sigma
            // rule); ASCII text (most of it) the fast way.
            ValueRef::Text(t) if t.is_ascii() => Some(String::from_utf8_lossy(t).to_ascii_lowercase()),
            v => Some(text(v).chars().flat_map(char::to_lowercase).collect::<String>()),
        })
    })
    .map_err(map_err)?;
    conn.create_scalar_function("regexp", 2, flags, |ctx| {
        // The compiled pattern is kept for the statement (auxiliary data),
        // not compiled once per row.
        let re: Arc<regex::Regex> = ctx.get_or_create_aux(0, |v| -> std::result::Result<regex::Regex, Box<dyn std::error::Error + Send + Sync>> {
            let pattern = v.as_str().map_err(|_| "REGEXP takes its pattern as text")?;
            regex::Regex::new(pattern).map_err(|e| format!("bad regular expression: {e}").into())
        })?;
        Ok(match ctx.get_raw(1) {
            ValueRef::Null => None,
            v => Some(re.is_match(&text(v))),
        })
    })
    .map_err(map_err)?;
    register_fold_match(conn, "qore_icontains", Mode::Contains)?;
    register_fold_match(conn, "qore_iprefix", Mode::Prefix)?;
    register_fold_match(conn, "qore_iequal", Mode::Exact)?;
    super::match_any::register(conn)?;
    Ok(())
}

/// The needle (argument 1) lower-cased, kept for the statement.
fn folded_needle(ctx: &rusqlite::functions::Context<'_>) -> rusqlite::Result<Arc<String>> {
    ctx.get_or_create_aux(1, |v| -> std::result::Result<String, Box<dyn std::error::Error + Send + Sync>> {
        Ok(fold(&text(v)).into_owned())
    })
}

/// `name(haystack, needle)`: whether the two lower-cased by all of Unicode
/// match as `mode` says, NULL when either is NULL.
fn register_fold_match(conn: &rusqlite::Connection, name: &str, mode: Mode) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(name, 2, flags, move |ctx| {
        if matches!(ctx.get_raw(1), ValueRef::Null) {
            return Ok(None);
        }
        let needle = folded_needle(ctx)?;
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            v => Some(mode.test(v, &needle)),
        })
    })
    .map_err(map_err)
}

/// How a folded haystack must hold the folded needle.
#[derive(Clone, Copy)]
pub(super) enum Mode {
    Contains,
    Prefix,
    Exact,
}

impl Mode {
    /// Whether the non-NULL `hay`, lower-cased, matches `needle` (already
    /// lower-cased).
    pub(super) fn test(self, hay: ValueRef<'_>, needle: &str) -> bool {
        if let ValueRef::Text(t) = hay
            && t.is_ascii()
        {
            // ASCII folds byte by byte: compare in place, no copy. Folded
            // ASCII holds no other byte, so a non-ASCII needle cannot match.
            return needle.is_ascii() && self.ascii(t, needle.as_bytes());
        }
        let text = text(hay);
        let hay = fold(&text);
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        match self {
            Mode::Contains => contains(h, n),
            Mode::Prefix => h.starts_with(n),
            Mode::Exact => h == n,
        }
    }

    /// [`test`](Mode::test) for the ASCII `needle` (any case), without
    /// folding `hay` unless it must: `special` says whether a non-ASCII
    /// `hay` may fold into a match (see `match_any::Needle`).
    pub(super) fn ascii_fold(self, hay: ValueRef<'_>, needle: &[u8], special: bool) -> bool {
        let (ValueRef::Text(h) | ValueRef::Blob(h)) = hay else {
            return self.test(hay, &String::from_utf8_lossy(needle).to_ascii_lowercase());
        };
        self.ascii(h, needle) || (special && !h.is_ascii() && self.test(hay, &String::from_utf8_lossy(needle).to_ascii_lowercase()))
    }

    /// Whether the non-NULL `hay` matches `needle` byte for byte, as
    /// SQLite's `instr(h, n) > 0`, `substr(h, 1, length(n)) = n` and `h = n`
    /// answer for a text needle: only text equals text, and a BLOB's
    /// `substr` is a BLOB.
    #[inline(always)]
    pub(super) fn bytes(self, hay: ValueRef<'_>, needle: &[u8]) -> bool {
        let owned;
        let h: &[u8] = match (self, hay) {
            (_, ValueRef::Text(t)) => t,
            (Mode::Contains, ValueRef::Blob(b)) => b,
            (Mode::Exact, _) | (_, ValueRef::Blob(_)) => return false,
            (_, v) => {
                owned = text(v);
                owned.as_bytes()
            }
        };
        match self {
            Mode::Contains => contains(h, needle),
            Mode::Prefix => h.starts_with(needle),
            Mode::Exact => h == needle,
        }
    }

    /// [`test`](Mode::test) of `hay` against the ASCII `needle`, both
    /// compared ignoring ASCII case only.
    #[inline(always)]
    pub(super) fn ascii(self, hay: &[u8], needle: &[u8]) -> bool {
        match self {
            Mode::Contains => {
                let Some((&first, rest)) = needle.split_first() else { return true };
                let Some(last) = hay.len().checked_sub(needle.len()) else { return false };
                let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
                let at = |i: usize| hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest);
                if last < SHORT {
                    // A letter in either case is its lower case with bit
                    // 0x20 set; no other byte is.
                    let bit = if first.is_ascii_alphabetic() { 0x20 } else { 0 };
                    scan(hay, last + 1, lower, bit, at)
                } else {
                    memchr::memchr2_iter(lower, upper, &hay[..=last]).any(at)
                }
            }
            Mode::Prefix => hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle),
            Mode::Exact => hay.eq_ignore_ascii_case(needle),
        }
    }
}

/// Lower case by all of Unicode, char by char as the server engines fold
/// (no final-sigma rule).
pub(super) fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(s.to_ascii_lowercase()) } else { Cow::Borrowed(s) }
    } else {
        Cow::Owned(s.chars().flat_map(char::to_lowercase).collect())
    }
}

/// Whether `needle` occurs in `hay` (byte-wise; both are UTF-8, so a byte
/// match is a character match). An empty needle is in everything, as
/// `instr` says.
#[inline(always)]
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    let Some(last) = hay.len().checked_sub(needle.len()) else { return false };
    if last < SHORT {
        scan(hay, last + 1, first, 0, |i| hay[i + 1..].starts_with(rest))
    } else {
        memchr::memmem::find(hay, needle).is_some()
    }
}

/// Whether `at(i)` holds for some position `i < positions` of `hay` whose
/// byte, with `bit` set, is `want`; tried in order. Eight bytes at a time,
/// read from `hay` past the last position where it has them (a search's
/// cells are short: most hold a single word of candidates, and no
/// candidate at all).
#[inline(always)]
fn scan(hay: &[u8], positions: usize, want: u8, bit: u8, mut at: impl FnMut(usize) -> bool) -> bool {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let ones = u64::from_ne_bytes([1; 8]);
    let (bits, wants) = (ones * u64::from(bit), ones * u64::from(want));
    let mut base = 0;
    while base < positions {
        let rest = &hay[base..];
        let word = match rest.first_chunk::<8>() {
            Some(w) => *w,
            None => {
                let mut w = [0u8; 8];
                w[..rest.len()].copy_from_slice(rest);
                w
            }
        };
        // Zero bytes of `x` are candidates; the high bit of each byte of
        // `zero` says which, exactly (no borrow runs between bytes), cut
        // to the positions asked for.
        let x = (u64::from_le_bytes(word) | bits) ^ wants;
        let mut zero = !(((x & LOW7) + LOW7) | x | LOW7);
        if positions - base < 8 {
            zero &= (1u64 << ((positions - base) * 8)) - 1;
        }
        while zero != 0 {
            if at(base + zero.trailing_zeros() as usize / 8) {
                return true;
            }
            zero &= zero - 1;
        }
        base += 8;
    }
    false
}

/// Below this many candidate positions [`scan`] finds a needle with fewer
/// instructions than `memchr`'s vector search, whose setup costs about 100
/// instructions a call (cachegrind; a search's typical cell is short).
const SHORT: usize = 64;

/// A non-NULL value as text (numbers as Rust writes them, blobs as UTF-8
/// where they are).
pub(super) fn text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn session() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        super::register(&c).unwrap();
        c
    }

    /// Haystacks and needles from a small alphabet that folds in every way
    /// that matters: ASCII case, Greek and Cyrillic case, a letter that
    /// lower-cases to two chars (İ), the Kelvin sign (lower-cases to ASCII
    /// k), combining marks and emoji.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop::sample::select(vec!['a', 'A', 'k', 'K', '\u{212A}', 'i', 'İ', 'Σ', 'σ', 'ς', 'Ж', 'ж', 'é', '\u{301}', '😀', ' ', '%', '_']), 0..12)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        /// The fused functions answer exactly as the two-step SQL they
        /// replace, NULLs included.
        #[test]
        fn fused_matches_equal_lower_then_compare(h in proptest::option::of(text()), n in proptest::option::of(text())) {
            let c = session();
            let (a, b, x, y, p, q): (Option<bool>, Option<bool>, Option<bool>, Option<bool>, Option<bool>, Option<bool>) = c.query_row(
                "SELECT qore_icontains(?1, ?2), instr(qore_lower(?1), qore_lower(?2)) > 0, \
                        qore_iequal(?1, ?2), qore_lower(?1) = qore_lower(?2), \
                        qore_iprefix(?1, ?2), substr(qore_lower(?1), 1, length(qore_lower(?2))) = qore_lower(?2)",
                rusqlite::params![h, n],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            ).unwrap();
            prop_assert_eq!(a, b);
            prop_assert_eq!(x, y);
            prop_assert_eq!(p, q);
        }

        /// The one-call-per-row forms equal SQL's OR of the single
        /// matches, NULLs, numbers and BLOBs included: `qore_imatch_any`
        /// the fold's (ASCII needles take its in-place path, others the
        /// folded one), `qore_match_any` SQLite's own case-sensitive forms.
        #[test]
        fn match_any_equals_the_or(
            hs in proptest::collection::vec(hay(), 1..4),
            n in prop_oneof![text(), ascii_needle()],
            mode in 0..3i64,
            fold in any::<bool>(),
        ) {
            let c = session();
            let single = |i: usize| {
                let h = format!("?{}", i + 3);
                match (fold, mode) {
                    (true, 0) => format!("qore_icontains({h}, ?1)"),
                    (true, 1) => format!("qore_iprefix({h}, ?1)"),
                    (true, _) => format!("qore_iequal({h}, ?1)"),
                    (false, 0) => format!("instr({h}, ?1) > 0"),
                    (false, 1) => format!("substr({h}, 1, length(?1)) = (?1) COLLATE BINARY"),
                    (false, _) => format!("({h}) = (?1) COLLATE BINARY"),
                }
            };
            let ors = (0..hs.len()).map(|i| format!("({})", single(i))).collect::<Vec<_>>().join(" OR ");
            let args = (0..hs.len()).map(|i| format!("?{}", i + 3)).collect::<Vec<_>>().join(", ");
            let f = if fold { "qore_imatch_any" } else { "qore_match_any" };
            let sql = format!("SELECT {f}(?2, ?1, {args}), {ors}");
            let blobs = hs.iter().any(|h| matches!(h, rusqlite::types::Value::Blob(_)));
            let mut params: Vec<rusqlite::types::Value> = vec![n.into(), mode.into()];
            params.extend(hs);
            let (any, or): (Option<bool>, Option<bool>) =
                c.query_row(&sql, rusqlite::params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            if blobs {
                // SQLite's `substr` of an empty BLOB is NULL, not a BLOB:
                // the same rows pass a WHERE, the NULLs may differ.
                prop_assert_eq!(any == Some(true), or == Some(true), "{}", sql);
            } else {
                prop_assert_eq!(any, or, "{}", sql);
            }
        }
    }

    /// A cell as SQLite may hold it in a text column: text, NULL, an
    /// integer, or a BLOB of text.
    fn hay() -> impl Strategy<Value = rusqlite::types::Value> {
        use rusqlite::types::Value;
        prop_oneof![
            4 => text().prop_map(Value::Text),
            1 => Just(Value::Null),
            1 => (-1000i64..1000).prop_map(Value::Integer),
            1 => text().prop_map(|t| Value::Blob(t.into_bytes())),
        ]
    }

    /// ASCII needles are matched by SQLite's own LIKE (see
    /// `dialects::sqlite_ascii_match`): the same answers as the fold.
    fn ascii_needle() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop::sample::select(vec!['a', 'A', 'k', 'K', 'i', 'I', '%', '_', '\\', '\'', ' ']), 0..5)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn ascii_needles_match_as_the_fold(h in proptest::option::of(text()), n in ascii_needle(), mode in 0..3usize) {
            use qore_core::{Dialect, TextMatch};
            let c = session();
            let d = crate::dialects::SqliteDialect;
            let how = [TextMatch::Contains, TextMatch::Prefix, TextMatch::Exact][mode];
            let lit = d.quote_string(&n).unwrap();
            let predicate = d.text_match("?1", &lit, how, false).unwrap();
            prop_assert!(predicate.contains("LIKE"), "{}", predicate);
            let f = ["qore_icontains", "qore_iprefix", "qore_iequal"][mode];
            let sql = format!("SELECT {predicate}, {f}(?1, {lit})");
            let (got, want): (Option<bool>, Option<bool>) = c.query_row(&sql, [&h], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            prop_assert_eq!(got, want, "{}", sql);
        }
    }

    proptest! {
        /// The in-place searches (a word at a time for short cells,
        /// `memchr` for long ones) find what a plain search finds, at any
        /// length and alignment.
        #[test]
        fn byte_searches_equal_the_plain_ones(
            hay in proptest::collection::vec(prop::sample::select(b"aAzZ@`{[\x80\xff0".to_vec()), 0..160),
            needle in proptest::collection::vec(prop::sample::select(b"aAzZ@`\x80".to_vec()), 0..4),
        ) {
            let plain = |fold: bool| {
                needle.is_empty()
                    || hay.windows(needle.len()).any(|w| if fold { w.eq_ignore_ascii_case(&needle) } else { w == needle.as_slice() })
            };
            prop_assert_eq!(super::contains(&hay, &needle), plain(false));
            if needle.is_ascii() {
                prop_assert_eq!(super::Mode::Contains.ascii(&hay, &needle), plain(true));
            }
        }
    }

    /// The premise of the LIKE path: no character but these two lower-cases
    /// to anything with ASCII in it.
    #[test]
    fn only_two_characters_lower_case_into_ascii() {
        let into_ascii: Vec<char> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().any(|l| l.is_ascii()))
            .collect();
        assert_eq!(into_ascii, vec!['\u{130}', '\u{212A}']);
    }

    #[test]
    fn numbers_and_long_text_are_folded_too() {
        let c = session();
        let long = format!("{}ZanZibar", "x".repeat(300));
        let got: (bool, bool, bool) = c
            .query_row("SELECT qore_icontains(?1, 'zanzibar'), qore_icontains(12345, '234'), qore_iequal('K', '\u{212A}')", [&long], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(got, (true, true, true));
    }
}
