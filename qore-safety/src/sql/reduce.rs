//! A long statement made short before the parser reads it: the parts no
//! rule looks at are left out, so classification costs about the same for
//! a 4 KB statement as for a 100-byte one (sqlparser takes ~0.4 µs a byte).
//!
//! Only what cannot change a finding is removed: long string literals
//! become short ones that compare the same (`'~<hash>'`), `VALUES` keeps its
//! first row, and comma lists after `SELECT`, `SET` and `IN (` (with a
//! column on the left) keep their first and last items, dropping middle
//! items made only of names, literals and `=`. Lists that name tables
//! (`FROM a, b`, MySQL's `DELETE a, b FROM`) are never touched.

use qore_core::sql::{Span, TokenKind, closing_paren};

use super::lexical::upper_word;

/// Statements shorter than this are parsed as they are.
pub(super) const REDUCE_ABOVE: usize = 512;

/// Strings longer than this (quotes included) are replaced.
const LONG_STRING: usize = 40;

/// Whether a word ends a list or makes an item more than a name or a
/// literal (one case-blind match, no allocation: this runs per token).
fn clause_word(text: &str, t: &Span) -> bool {
    let mut buf = [0u8; 9];
    let Some(w) = upper_word(text, t, &mut buf) else {
        return false;
    };
    matches!(
        w,
        b"FROM"
            | b"WHERE"
            | b"GROUP"
            | b"HAVING"
            | b"ORDER"
            | b"LIMIT"
            | b"OFFSET"
            | b"UNION"
            | b"EXCEPT"
            | b"INTERSECT"
            | b"INTO"
            | b"WINDOW"
            | b"FOR"
            | b"FETCH"
            | b"RETURNING"
            | b"ON"
            | b"USING"
            | b"JOIN"
            | b"SET"
            | b"SELECT"
            | b"VALUES"
            | b"WITH"
            | b"DELETE"
            | b"UPDATE"
            | b"INSERT"
            | b"DROP"
            | b"TRUNCATE"
            | b"CASE"
            | b"WHEN"
            | b"AND"
            | b"OR"
            | b"NOT"
            | b"IN"
            | b"IS"
            | b"LIKE"
            | b"EXISTS"
            | b"RENAME"
            | b"ADD"
            | b"ALTER"
            | b"CHANGE"
            | b"MODIFY"
            | b"REPLACE"
            | b"MERGE"
            | b"CREATE"
    )
}

/// Whether a token can be part of an item that is only a name, a literal,
/// an assignment of one, or an alias.
fn simple(text: &str, t: &Span) -> bool {
    match &t.kind {
        TokenKind::Word => !clause_word(text, t),
        TokenKind::QuotedIdent | TokenKind::Number | TokenKind::Str => true,
        TokenKind::Punct(c) => matches!(c, '.' | '*' | '=' | '?' | '$' | ':' | '-' | '+'),
    }
}

fn literal(t: &Span) -> bool {
    matches!(t.kind, TokenKind::Number | TokenKind::Str)
}

/// A 64-bit FNV-1a hash: equal strings stay equal, different ones stay
/// different (for the comparisons the rules fold).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `text` with the parts no rule reads left out, or `None` when nothing
/// could be (or the statement is short).
pub(super) fn reduce(text: &str, tokens: &[Span]) -> Option<String> {
    if text.len() < REDUCE_ABOVE {
        return None;
    }
    // Token ranges [from, to) to leave out.
    let mut skip: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let next_open = tokens.get(i + 1).map(|n| n.kind.clone()) == Some(TokenKind::Punct('('));
        if t.is_keyword(text, "VALUES") && next_open {
            // Rows after the first: `, ( ... )` repeated.
            let Some(mut end) = closing_paren(tokens, i + 1) else {
                break;
            };
            let first_end = end;
            while tokens.get(end + 1).map(|n| n.kind.clone()) == Some(TokenKind::Punct(','))
                && tokens.get(end + 2).map(|n| n.kind.clone()) == Some(TokenKind::Punct('('))
            {
                match closing_paren(tokens, end + 2) {
                    Some(e) => end = e,
                    None => break,
                }
            }
            if end > first_end {
                skip.push((first_end + 1, end + 1));
            }
            i = end + 1;
            continue;
        }
        // SET lists only of UPDATE (and `DO UPDATE SET`): ALTER TABLE's
        // `SET DEFAULT 1, RENAME ...` is a list of operations.
        let update_set = t.is_keyword(text, "SET")
            && (tokens[0].is_keyword(text, "UPDATE")
                || i.checked_sub(1)
                    .is_some_and(|p| tokens[p].is_keyword(text, "UPDATE")));
        let list_start = if t.is_keyword(text, "SELECT") || update_set {
            Some(i + 1)
        } else if t.is_keyword(text, "IN")
            && next_open
            && !tokens.get(i.wrapping_sub(1)).is_some_and(literal)
        {
            Some(i + 2)
        } else {
            None
        };
        if let Some(start) = list_start {
            i = middle_items(text, tokens, start, &mut skip);
            continue;
        }
        i += 1;
    }
    let long_strings = tokens
        .iter()
        .any(|t| t.kind == TokenKind::Str && t.end - t.start > LONG_STRING);
    if skip.is_empty() && !long_strings {
        return None;
    }
    let mut out = String::with_capacity(text.len() / 4);
    let mut last = 0;
    let mut k = 0;
    let mut idx = 0;
    while idx < tokens.len() {
        if let Some(&(from, to)) = skip.get(k)
            && idx == from
        {
            out.push_str(&text[last..tokens[from].start]);
            last = tokens[to - 1].end;
            idx = to;
            k += 1;
            continue;
        }
        let t = &tokens[idx];
        let s = t.text(text);
        if t.kind == TokenKind::Str
            && s.len() > LONG_STRING
            && !s.trim_matches('\'').chars().all(|c| c == '%')
        {
            out.push_str(&text[last..t.start]);
            out.push_str(&format!("'~{:016x}'", fnv(s)));
            last = t.end;
        }
        idx += 1;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// From `start` (the first token of a comma list), records the middle
/// items made only of simple tokens for leaving out; returns where the
/// list ends.
fn middle_items(
    text: &str,
    tokens: &[Span],
    start: usize,
    skip: &mut Vec<(usize, usize)>,
) -> usize {
    // Commas at the list's own depth, until a clause word at that depth or
    // a `)` closing it.
    let mut commas = Vec::new();
    let mut depth = 0usize;
    let mut end = tokens.len();
    for (j, t) in tokens.iter().enumerate().skip(start) {
        match t.kind {
            TokenKind::Punct('(') => depth += 1,
            TokenKind::Punct(')') if depth == 0 => {
                end = j;
                break;
            }
            TokenKind::Punct(')') => depth -= 1,
            TokenKind::Punct(',') if depth == 0 => commas.push(j),
            TokenKind::Punct(';') if depth == 0 => {
                end = j;
                break;
            }
            _ if depth == 0 && clause_word(text, t) => {
                end = j;
                break;
            }
            _ => {}
        }
    }
    // An item between two commas: leave out the first comma and the item.
    for w in commas.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b > a + 1 && tokens[a + 1..b].iter().all(|t| simple(text, t)) {
            match skip.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => skip.push((a, b)),
            }
        }
    }
    end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qore_core::sql::{Flavor, lex};

    fn r(s: &str) -> String {
        let padded = format!("{s} {}", " ".repeat(REDUCE_ABOVE));
        reduce(&padded, &lex(&padded, Flavor::Standard))
            .unwrap_or(padded)
            .trim_end()
            .to_string()
    }

    #[test]
    fn keeps_what_the_rules_read() {
        assert_eq!(
            r("UPDATE t SET a = 1, b = 'x', c = d, e = 2 WHERE id = 1"),
            "UPDATE t SET a = 1, e = 2 WHERE id = 1"
        );
        assert_eq!(
            r("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c') ON CONFLICT DO NOTHING"),
            "INSERT INTO t VALUES (1, 'a') ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            r("DELETE FROM t WHERE id IN (1, 2, 3, 4, 5)"),
            "DELETE FROM t WHERE id IN (1, 5)"
        );
        // A literal on the left: the list decides the truth, kept whole.
        assert_eq!(
            r("DELETE FROM t WHERE 3 IN (1, 2, 3, 4, 5)"),
            "DELETE FROM t WHERE 3 IN (1, 2, 3, 4, 5)"
        );
        // ALTER's operations are not an UPDATE's assignments.
        assert_eq!(
            r("ALTER TABLE t ALTER c SET DEFAULT 1, RENAME COLUMN a TO b, ADD z int"),
            "ALTER TABLE t ALTER c SET DEFAULT 1, RENAME COLUMN a TO b, ADD z int"
        );
        // Items that are more than a name or a literal stay.
        assert_eq!(
            r("SELECT a, f(b), c AS d, CASE WHEN x THEN 1 END, e FROM t, u, v"),
            "SELECT a, f(b), CASE WHEN x THEN 1 END, e FROM t, u, v"
        );
        let long = format!("'{}'", "y".repeat(100));
        let s = r(&format!("DELETE FROM t WHERE {long} = {long}"));
        assert!(s.len() < 80, "{s}");
        let parts: Vec<&str> = s.split(" = ").collect();
        assert_eq!(
            parts[0].rsplit(' ').next(),
            Some(parts[1]),
            "equal strings stay equal"
        );
    }
}
