//! What is read from tokens rather than the parse tree: MySQL's
//! executable comments, reads that need no parser, the conservative check
//! of what the parser could not read, and MySQL's comma joins.

use qore_core::sql::{Span, TokenKind};

use crate::classify::{Finding, Kind, StatementReport};

/// `UPDATE a x, b y SET ...` written `UPDATE a x CROSS JOIN b y SET ...`:
/// the same statement for MySQL, in a form sqlparser reads.
pub(super) fn mysql_comma_joins(text: &str, tokens: &[Span]) -> Option<String> {
    if !tokens.first()?.is_keyword(text, "UPDATE") {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut last = 0;
    let mut depth = 0usize;
    for t in &tokens[1..] {
        match t.kind {
            TokenKind::Punct('(') => depth += 1,
            TokenKind::Punct(')') => depth = depth.saturating_sub(1),
            TokenKind::Punct(',') if depth == 0 => {
                out.push_str(&text[last..t.start]);
                out.push_str(" CROSS JOIN ");
                last = t.end;
            }
            _ if depth == 0 && t.is_keyword(text, "SET") => break,
            _ => {}
        }
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// `/*!` (MySQL) or `/*M!` (MariaDB) outside strings and other comments.
/// `tokens` are the text's, lexed by MySQL's rules: between two tokens
/// there is only space and comments, so that is where to look.
pub(super) fn has_executable_comment(text: &str, tokens: &[Span]) -> bool {
    // Most statements hold no `/*` at all.
    if !text.as_bytes().windows(2).any(|w| w == b"/*") {
        return false;
    }
    let b = text.as_bytes();
    let mut from = 0;
    for t in tokens {
        if executable_in_gap(&b[from.min(t.start)..t.start]) {
            return true;
        }
        from = t.end;
    }
    executable_in_gap(&b[from.min(b.len())..])
}

/// Whether space and comments hold a comment opening `/*!` or `/*M!`
/// (line comments skipped: their content is not read by the server).
fn executable_in_gap(g: &[u8]) -> bool {
    let mut i = 0;
    while i < g.len() {
        if g[i..].starts_with(b"/*") {
            if g[i + 2..].starts_with(b"!") || g[i + 2..].starts_with(b"M!") {
                return true;
            }
            i += 2;
            while i < g.len() && !g[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if g[i] == b'#' || g[i..].starts_with(b"--") {
            while i < g.len() && g[i] != b'\n' {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// What a word means to the fast paths: a keyword they look for, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Word {
    /// Starts a read: SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN.
    ReadStart,
    /// Writes or may write: the [`WRITE_KEYWORDS`], and INTO, CALL, COPY,
    /// DO, SET, LOCK (a read holding one goes to the parser).
    Write,
    /// FROM or JOIN: a table name follows.
    From,
    Other,
}

/// The [`Word`] of a token, by one case-blind comparison against a short
/// list of its length (no allocation).
pub(super) fn word(text: &str, t: &Span) -> Word {
    let mut buf = [0u8; 9];
    let Some(w) = upper_word(text, t, &mut buf) else {
        return Word::Other;
    };
    match w {
        b"SELECT" | b"WITH" | b"VALUES" | b"TABLE" | b"SHOW" | b"EXPLAIN" => Word::ReadStart,
        b"DELETE" | b"UPDATE" | b"INSERT" | b"REPLACE" | b"MERGE" | b"DROP" | b"TRUNCATE"
        | b"ALTER" | b"CREATE" | b"RENAME" | b"GRANT" | b"REVOKE" | b"INTO" | b"CALL" | b"COPY"
        | b"DO" | b"SET" | b"LOCK" => Word::Write,
        b"FROM" | b"JOIN" => Word::From,
        _ => Word::Other,
    }
}

/// A word token of 2 to 9 letters, upper-cased into `buf` (keywords are
/// matched against it without allocating).
pub(super) fn upper_word<'a>(text: &str, t: &Span, buf: &'a mut [u8; 9]) -> Option<&'a [u8]> {
    if t.kind != TokenKind::Word {
        return None;
    }
    let w = t.text(text).as_bytes();
    if !(2..=buf.len()).contains(&w.len()) {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_uppercase();
    }
    Some(&buf[..w.len()])
}

/// A statement that starts like a read and holds no keyword that writes
/// (nor `INTO`, `CALL`, `COPY` or `DO`) cannot write: it is judged from its
/// tokens alone, without the parser (ten times the cost on long SELECTs).
/// Its objects are the names after FROM and JOIN.
pub(super) fn plain_read(text: &str, tokens: &[Span]) -> Option<StatementReport> {
    if !tokens
        .first()
        .is_some_and(|t| word(text, t) == Word::ReadStart)
    {
        return None;
    }
    let mut froms = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match word(text, t) {
            Word::Write => return None,
            Word::From => froms.push(i),
            _ => {}
        }
    }
    let mut objects: Vec<String> = Vec::new();
    for i in froms {
        let mut name = String::new();
        let mut j = i + 1;
        while let Some(part) = tokens.get(j).and_then(|x| ident(text, x)) {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(&part);
            if tokens.get(j + 1).map(|x| x.kind.clone()) != Some(TokenKind::Punct('.')) {
                break;
            }
            j += 2;
        }
        if !name.is_empty() && !objects.contains(&name) {
            objects.push(name);
        }
    }
    Some(StatementReport {
        text: text.to_string(),
        kind: Kind::Read,
        objects,
        findings: Vec::new(),
        parsed: true,
    })
}

/// The name a word or quoted identifier token stands for.
fn ident(text: &str, t: &Span) -> Option<String> {
    let raw = t.text(text);
    match t.kind {
        TokenKind::Word => Some(raw.to_string()),
        TokenKind::QuotedIdent => {
            let q = raw.chars().next()?;
            let close = if q == '[' { ']' } else { q };
            let inner = raw[q.len_utf8()..].strip_suffix(close).unwrap_or(&raw[1..]);
            Some(inner.replace(&format!("{close}{close}"), &close.to_string()))
        }
        _ => None,
    }
}

/// Keywords that write, for a statement the parser could not read.
const WRITE_KEYWORDS: [&str; 12] = [
    "DELETE", "UPDATE", "INSERT", "REPLACE", "MERGE", "DROP", "TRUNCATE", "ALTER", "CREATE",
    "RENAME", "GRANT", "REVOKE",
];

/// Keywords that can destroy rows or objects: an unparsed statement
/// holding one is treated as destructive. (`CHANGE`, `DISCARD`, `REMOVE`
/// and `EXCHANGE` rename columns, drop tablespaces and partitioning, swap
/// partitions in MySQL's ALTER TABLE.) A statement that only inserts,
/// creates, grants or alters otherwise is a write, not an alarm.
const DESTRUCTIVE_KEYWORDS: [&str; 11] = [
    "DELETE", "UPDATE", "REPLACE", "MERGE", "DROP", "TRUNCATE", "RENAME", "CHANGE", "DISCARD",
    "REMOVE", "EXCHANGE",
];

/// MySQL's table maintenance statements (`OPTIMIZE TABLE`, `CHECK TABLE`,
/// `REPAIR TABLE`, `CHECKSUM TABLE`, `ANALYZE TABLE`, `FLUSH`), which the
/// parser does not read: maintenance, not a change of rows or structure,
/// so no "not parsed" warning for what `qore admin run` sends.
pub(super) fn maintenance(text: &str, tokens: &[Span]) -> Option<StatementReport> {
    let word = |i: usize, k: &str| tokens.get(i).is_some_and(|t| t.is_keyword(text, k));
    let table_op = ["OPTIMIZE", "CHECK", "REPAIR", "CHECKSUM", "ANALYZE"].iter().any(|k| word(0, k))
        && (word(1, "TABLE") || word(1, "TABLES") || ((word(1, "LOCAL") || word(1, "NO_WRITE_TO_BINLOG")) && word(2, "TABLE")));
    let flush = word(0, "FLUSH");
    // One statement only: a `;` and more would need reading.
    let single = !tokens.iter().any(|t| t.kind == qore_core::sql::TokenKind::Punct(';'));
    (single && (table_op || flush)).then(|| StatementReport {
        text: text.to_string(),
        kind: Kind::Admin,
        objects: Vec::new(),
        findings: Vec::new(),
        parsed: false,
    })
}

/// The conservative check of a statement the parser could not read.
pub(super) fn lexical(
    text: &str,
    tokens: &[Span],
    error: String,
    mut findings: Vec<Finding>,
) -> StatementReport {
    let has = |k: &&str| tokens.iter().any(|t| t.is_keyword(text, k));
    let found: Vec<&str> = WRITE_KEYWORDS.iter().copied().filter(has).collect();
    let mut destroys: Vec<&str> = DESTRUCTIVE_KEYWORDS.iter().copied().filter(has).collect();
    // Outside ALTER, CHANGE and the like are ordinary words.
    if !found.contains(&"ALTER") {
        destroys.retain(|k| !matches!(*k, "CHANGE" | "DISCARD" | "REMOVE" | "EXCHANGE"));
    }
    // `CREATE OR REPLACE` replaces a table only when it is one.
    if found.contains(&"CREATE") && !has(&"TABLE") && !found.contains(&"DROP") {
        destroys.retain(|k| *k != "REPLACE");
    }
    let kind = if found.is_empty() {
        findings.push(Finding::new(
            "unparsed",
            format!("not parsed ({error}); no keyword that writes"),
        ));
        Kind::Unknown
    } else {
        let first_two = |a: &str, b: &[&str]| {
            tokens.first().is_some_and(|t| t.is_keyword(text, a))
                && tokens
                    .get(1)
                    .is_some_and(|t| b.iter().any(|k| t.is_keyword(text, k)))
        };
        if first_two("DROP", &["DATABASE", "SCHEMA"]) {
            findings.push(Finding::new(
                "drop-database",
                format!("{} (not parsed: read from its first words)", text),
            ));
        }
        if destroys.is_empty() {
            findings.push(Finding::new(
                "unparsed",
                format!(
                    "not parsed ({error}); it holds {} but no keyword that drops, deletes or \
                     overwrites",
                    found.join(", ")
                ),
            ));
        } else {
            findings.push(Finding::new(
                "unparsed-write-keyword",
                format!(
                    "not parsed ({error}), and it holds {}: treated as destructive",
                    destroys.join(", ")
                ),
            ));
        }
        if found
            .iter()
            .any(|k| matches!(*k, "DROP" | "TRUNCATE" | "ALTER" | "CREATE" | "RENAME"))
        {
            Kind::Ddl
        } else {
            Kind::Write
        }
    };
    StatementReport {
        text: text.to_string(),
        kind,
        objects: Vec::new(),
        findings,
        parsed: false,
    }
}
