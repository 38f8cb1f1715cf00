//! What the oracle tests share: generated text and the brute-force match.
#![allow(dead_code)]

use qore_core::TextMatch;

/// `len` pieces drawn from `pieces` by a fixed generator (the same text on
/// every run and engine).
pub(crate) fn text(seed: &mut u64, len: usize, pieces: &[&str]) -> String {
    (0..len)
        .map(|_| {
            *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            pieces[(*seed >> 33) as usize % pieces.len()]
        })
        .collect()
}

/// Unicode lower case, character by character.
pub(crate) fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// Whether `cell` holds `needle` by `how`: the oracle every search is
/// checked against.
pub(crate) fn matches(cell: &str, needle: &str, how: TextMatch, cs: bool) -> bool {
    let (c, n) = if cs { (cell.to_string(), needle.to_string()) } else { (lower(cell), lower(needle)) };
    match how {
        TextMatch::Contains => c.contains(&n),
        TextMatch::Exact => c == n,
        TextMatch::Prefix => c.starts_with(&n),
        TextMatch::Regex => unreachable!("regex needles are checked one by one"),
    }
}
