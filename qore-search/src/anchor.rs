//! Caseless anchors: the part of a needle that case folding cannot change.
//!
//! A case-insensitive match costs every engine a fold of every cell
//! (`lower()` allocates on DuckDB, a registered function call per row on
//! SQLite), while a case-sensitive `instr`/`contains` is a plain byte search.
//! Characters such as digits, punctuation, symbols and emoji have no case:
//! no fold changes them and no other character folds into them. So when a
//! folded cell holds the folded needle, the cell itself holds every run of
//! such characters of the needle, byte for byte. The longest run is a cheap
//! necessary condition checked before the fold, and a needle made only of
//! such characters needs no fold at all.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The characters that some case mapping changes or produces: every
/// character whose lower or upper case is not itself, and every character
/// of those mappings. Built once by a pass over all of Unicode (a few
/// milliseconds), and only for needles that are not ASCII.
fn mapped() -> &'static HashSet<char> {
    static MAPPED: OnceLock<HashSet<char>> = OnceLock::new();
    MAPPED.get_or_init(|| {
        let mut set = HashSet::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let mut lower = c.to_lowercase();
            let mut upper = c.to_uppercase();
            let lower_is_self = lower.len() == 1 && lower.next() == Some(c);
            let upper_is_self = upper.len() == 1 && upper.next() == Some(c);
            if !(lower_is_self && upper_is_self) {
                set.insert(c);
                set.extend(c.to_lowercase());
                set.extend(c.to_uppercase());
            }
        }
        set
    })
}

/// Whether `c` has no case under any engine's folding: not a letter (nor
/// any alphabetic character, nor a combining mark, which full case folding
/// may emit), not changed by a case mapping and not the result of one.
pub(crate) fn caseless(c: char) -> bool {
    if c.is_ascii() {
        // ASCII: everything but the letters (checked against the Unicode
        // tables by a test).
        return !c.is_ascii_alphabetic();
    }
    let combining = matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F);
    !c.is_alphabetic() && !combining && !mapped().contains(&c)
}

/// What a case-insensitive search of `needle` can check case-sensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// Nothing: every character of the needle has case.
    None,
    /// The longest run of caseless characters: every cell that matches
    /// holds it.
    Run(String),
    /// The whole needle is caseless: matching it case-sensitively is the
    /// same match.
    Whole,
}

/// The caseless anchor of `needle`.
pub(crate) fn anchor(needle: &str) -> Anchor {
    if needle.is_empty() {
        return Anchor::None;
    }
    let mut best = "";
    let mut start = None;
    for (i, c) in needle.char_indices().chain(std::iter::once((needle.len(), 'a'))) {
        let free = i < needle.len() && caseless(c);
        match (free, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if needle[s..i].len() > best.len() {
                    best = &needle[s..i];
                }
                start = None;
            }
            _ => {}
        }
    }
    if best.len() == needle.len() {
        Anchor::Whole
    } else if best.is_empty() {
        Anchor::None
    } else {
        Anchor::Run(best.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ascii_rule_agrees_with_the_unicode_tables() {
        for c in (0u8..128).map(char::from) {
            let by_tables = !c.is_alphabetic() && !mapped().contains(&c);
            assert_eq!(caseless(c), by_tables, "{c:?}");
        }
    }

    #[test]
    fn anchors_are_the_longest_caseless_run() {
        assert_eq!(anchor("zanzibar😀"), Anchor::Run("😀".into()));
        assert_eq!(anchor("ann@example.com"), Anchor::Run("@".into()), "the first of the longest");
        assert_eq!(anchor("order 2024-05"), Anchor::Run(" 2024-05".into()));
        assert_eq!(anchor("12345"), Anchor::Whole);
        assert_eq!(anchor("😀 42"), Anchor::Whole);
        assert_eq!(anchor("zanzibar"), Anchor::None);
        assert_eq!(anchor("Ⓐ"), Anchor::None, "circled letters have case");
        assert_eq!(anchor("\u{308}"), Anchor::None, "combining marks come out of folds");
        assert_eq!(anchor("K"), Anchor::None);
        assert_eq!(anchor(""), Anchor::None);
    }

    fn fold(s: &str) -> String {
        s.chars().flat_map(char::to_lowercase).collect()
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop::sample::select(vec!['a', 'A', 'k', 'K', '\u{212A}', 'i', 'İ', '\u{307}', 'Σ', 'ς', 'ß', 'ẞ', 'Ⓐ', 'ⓐ', '1', '-', ' ', '@', '😀', '€', '\u{301}']),
            0..10,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        /// A cell whose fold holds the needle's fold holds the needle's
        /// anchor as it is; a whole-caseless needle matches folded exactly
        /// when it matches as it is.
        #[test]
        fn anchors_are_necessary(hay in text(), needle in text()) {
            let matched = fold(&hay).contains(&fold(&needle));
            match anchor(&needle) {
                Anchor::Run(r) => prop_assert!(!matched || hay.contains(&r)),
                Anchor::Whole => prop_assert_eq!(matched, hay.contains(&needle)),
                Anchor::None => {}
            }
        }
    }
}
