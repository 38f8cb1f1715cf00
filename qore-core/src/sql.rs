//! Light SQL lexing shared by drivers and frontends: statement splitting and
//! recognising a plain single-table `SELECT`. Not a parser: it only needs to
//! know where strings, quoted identifiers and comments are.

use crate::Engine;
use crate::schema::TableRef;

/// The lexical rules of a family of engines: where strings and comments
/// start and end. Getting this wrong splits a statement inside a string, or
/// hides a statement the server runs inside what looked like a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// PostgreSQL, SQLite, DuckDB: `'...'` with doubled quotes (and
    /// `E'...'` escapes), `$tag$...$tag$`, `"ident"`, `[ident]`, `--` and
    /// `/* */` comments.
    #[default]
    Standard,
    /// MySQL and MariaDB: backslash escapes in `'...'` and `"..."` (both
    /// strings), `` `ident` ``, `#` comments, and `--` a comment only when
    /// whitespace follows (`1--1` is `1 - -1`); no dollar quotes.
    MySql,
}

impl Flavor {
    /// The rules `engine` reads SQL by.
    pub fn of(engine: Engine) -> Self {
        match engine {
            Engine::MySql => Self::MySql,
            _ => Self::Standard,
        }
    }
}

/// The kind of a lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// An unquoted word: keyword or identifier.
    Word,
    /// A quoted identifier (`"x"`, `` `x` ``, `[x]`); `text` holds it unquoted.
    QuotedIdent,
    /// A string literal (`'x'`, `$tag$x$tag$`, `E'x'`).
    Str,
    /// A number.
    Number,
    /// Any other single character (`(`, `,`, `;`, operators).
    Punct(char),
}

/// A token with its byte span in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Its text: unquoted for identifiers, raw for everything else.
    pub text: String,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
}

impl Token {
    /// Whether this is the unquoted keyword `kw` (case-insensitive).
    pub fn is_keyword(&self, kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// The identifier this token names, if it is a word or quoted identifier.
    pub fn ident(&self) -> Option<&str> {
        matches!(self.kind, TokenKind::Word | TokenKind::QuotedIdent).then_some(self.text.as_str())
    }
}

/// Splits SQL into tokens, skipping whitespace and comments. Unterminated
/// strings, identifiers and comments run to the end of the input.
pub fn tokenize(sql: &str) -> Vec<Token> {
    tokenize_in(sql, Flavor::Standard)
}

/// [`tokenize`] by the lexical rules of `flavor`.
pub fn tokenize_in(sql: &str, flavor: Flavor) -> Vec<Token> {
    lex(sql, flavor)
        .into_iter()
        .map(|s| Token {
            text: match s.kind {
                TokenKind::QuotedIdent => s.unquoted(sql),
                _ => sql[s.start..s.end].to_string(),
            },
            kind: s.kind,
            start: s.start,
            end: s.end,
        })
        .collect()
}

/// A token without its text: where it is in the input, and what it is.
/// [`lex`] makes these without allocating per token (a few nanoseconds a
/// byte), for callers that look at most tokens once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// What it is.
    pub kind: TokenKind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
}

impl Span {
    /// Its text in `sql` (raw: quotes included).
    pub fn text<'a>(&self, sql: &'a str) -> &'a str {
        sql.get(self.start..self.end).unwrap_or("")
    }

    /// Whether this is the unquoted keyword `kw` (case-insensitive).
    pub fn is_keyword(&self, sql: &str, kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text(sql).eq_ignore_ascii_case(kw)
    }

    /// A quoted identifier's name: quotes removed, doubled quotes single.
    fn unquoted(&self, sql: &str) -> String {
        let raw = self.text(sql);
        let Some(&q) = raw.as_bytes().first() else {
            return String::new();
        };
        if q == b'[' {
            let inner = &raw[1..];
            return inner.strip_suffix(']').unwrap_or(inner).to_string();
        }
        let inner = &raw[1..];
        let inner = if inner.as_bytes().last() == Some(&q) {
            &inner[..inner.len() - 1]
        } else {
            inner
        };
        let q = q as char;
        inner.replace(&format!("{q}{q}"), &q.to_string())
    }
}

/// A token or a span: what [`closing_paren`] needs of either.
pub trait Lexeme {
    /// What it is.
    fn kind(&self) -> &TokenKind;
}

impl Lexeme for Token {
    fn kind(&self) -> &TokenKind {
        &self.kind
    }
}

impl Lexeme for Span {
    fn kind(&self) -> &TokenKind {
        &self.kind
    }
}

/// The index of the token closing the parenthesis opened at `open`.
pub fn closing_paren<L: Lexeme>(tokens: &[L], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.kind() {
            TokenKind::Punct('(') => depth += 1,
            TokenKind::Punct(')') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The tokens of `sql` as [`Span`]s, skipping whitespace and comments, by
/// the lexical rules of `flavor`. Unterminated strings, identifiers and
/// comments run to the end of the input.
pub fn lex(sql: &str, flavor: Flavor) -> Vec<Span> {
    let mut out = Vec::with_capacity(sql.len() / 3 + 1);
    lex_into(sql, flavor, &mut out);
    out
}

/// [`lex`] into `out` (cleared first): a caller that lexes often keeps one
/// buffer instead of allocating one per statement.
pub fn lex_into(sql: &str, flavor: Flavor, out: &mut Vec<Span>) {
    out.clear();
    let my = flavor == Flavor::MySql;
    let b = sql.as_bytes();
    let mut i = 0;
    let push = |out: &mut Vec<Span>, kind, start, end| out.push(Span { kind, start, end });
    while i < b.len() {
        let c = b[i];
        let start = i;
        // The common bytes by one table lookup: spaces, digits, punctuation
        // that starts nothing else.
        match CLASS[c as usize] {
            SPACE => {
                i += 1;
                while i < b.len() && CLASS[b[i] as usize] == SPACE {
                    i += 1;
                }
                continue;
            }
            DIGIT => {
                i += 1;
                while i < b.len() && NUMBER_PART[b[i] as usize] {
                    i += 1;
                }
                push(out, TokenKind::Number, start, i);
                continue;
            }
            PUNCT => {
                i += 1;
                push(out, TokenKind::Punct(c as char), start, i);
                continue;
            }
            _ => {}
        }
        // Words next: most of any statement.
        if c.is_ascii_alphabetic() || c == b'_' {
            i += 1;
            while i < b.len() && IDENT_PART[b[i] as usize] {
                i += 1;
            }
            if !(i < b.len() && b[i] == b'\'' && i - start == 1) {
                push(out, TokenKind::Word, start, i);
                continue;
            }
            // E'...' and the like: read below as a prefixed string.
            i = start;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
        } else if (c == b'-'
            && b.get(i + 1) == Some(&b'-')
            && (!my
                || b.get(i + 2)
                    .is_none_or(|n| n.is_ascii_whitespace() || *n < 0x20)))
            || (my && c == b'#')
        {
            i = memchr_newline(b, i);
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if c == b'\'' || (my && c == b'"') {
            i = skip_quoted_in(b, i, c, my);
            push(out, TokenKind::Str, start, i);
        } else if c == b'"' || c == b'`' {
            i = skip_quoted(b, i, c);
            push(out, TokenKind::QuotedIdent, start, i);
        } else if !my && c == b'[' && prev_allows_bracket_ident(sql, out) {
            while i < b.len() && b[i] != b']' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            push(out, TokenKind::QuotedIdent, start, i);
        } else if !my
            && c == b'$'
            && let Some(end) = dollar_quote_end(sql, i)
        {
            i = end;
            push(out, TokenKind::Str, start, i);
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            push(out, TokenKind::Number, start, i);
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            // E'...' / X'...' / N'...' prefixes belong to the string that follows.
            if i < b.len() && b[i] == b'\'' && i - start == 1 {
                // (PostgreSQL's E'...' takes backslash escapes.)
                let escapes = my || b[start].eq_ignore_ascii_case(&b'e');
                i = skip_quoted_in(b, i, b'\'', escapes);
                push(out, TokenKind::Str, start, i);
            } else {
                push(out, TokenKind::Word, start, i);
            }
        } else if c < 0x80 {
            i += 1;
            push(out, TokenKind::Punct(c as char), start, i);
        } else {
            let ch = sql[i..].chars().next().unwrap_or('\0');
            i += ch.len_utf8();
            push(out, TokenKind::Punct(ch), start, i);
        }
    }
}

const OTHER: u8 = 0;
const SPACE: u8 = 1;
const DIGIT: u8 = 2;
const PUNCT: u8 = 3;

/// What a byte starts: the lexer's fast paths by one lookup (`OTHER`: the
/// general path, for words, quotes, comments and the rest).
static CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_whitespace() {
            SPACE
        } else if b.is_ascii_digit() {
            DIGIT
        } else if matches!(
            b,
            b',' | b'('
                | b')'
                | b'='
                | b';'
                | b'+'
                | b'*'
                | b'<'
                | b'>'
                | b'!'
                | b'%'
                | b'&'
                | b'|'
                | b'^'
                | b'~'
                | b'?'
                | b':'
                | b'@'
                | b'{'
                | b'}'
                | b']'
        ) {
            PUNCT
        } else {
            OTHER
        };
        c += 1;
    }
    t
};

/// Bytes that continue a word: letters, digits, `_`, `$`, and UTF-8.
static IDENT_PART: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
        c += 1;
    }
    t
};

/// Bytes that continue a number (`1e5`, `0x1F`, `1_000`, `1.5`).
static NUMBER_PART: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'.' || b == b'_';
        c += 1;
    }
    t
};

/// The end of the line at or after `i` (the input's end without one).
fn memchr_newline(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

fn prev_allows_bracket_ident(sql: &str, tokens: &[Span]) -> bool {
    // `a[1]` is an array subscript (PostgreSQL, DuckDB); `[col]` after a
    // keyword, comma or parenthesis is SQLite's quoted identifier.
    match tokens.last() {
        None => true,
        Some(t) => match &t.kind {
            TokenKind::Punct(c) => matches!(c, ',' | '(' | '=' | '<' | '>' | '+' | '-' | '*' | '/'),
            TokenKind::Word => {
                const KW: [&str; 12] = [
                    "SELECT", "FROM", "JOIN", "ON", "WHERE", "AND", "OR", "BY", "AS", "TABLE",
                    "INTO", "UPDATE",
                ];
                KW.iter().any(|k| t.text(sql).eq_ignore_ascii_case(k))
            }
            _ => false,
        },
    }
}

fn skip_quoted(b: &[u8], i: usize, q: u8) -> usize {
    skip_quoted_in(b, i, q, false)
}

/// Past the string or identifier opened by `q` at `i`; with `escapes`, a
/// backslash takes the next byte with it.
fn skip_quoted_in(b: &[u8], mut i: usize, q: u8, escapes: bool) -> usize {
    i += 1;
    while i < b.len() {
        if escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn dollar_quote_end(sql: &str, i: usize) -> Option<usize> {
    let rest = &sql[i + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    if !tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        || tag.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let delim = &sql[i..i + tag_len + 2];
    let body_start = i + tag_len + 2;
    Some(match sql[body_start..].find(delim) {
        Some(p) => body_start + p + delim.len(),
        None => sql.len(),
    })
}

/// Splits a script into statements at top-level semicolons, keeping
/// compound bodies whole: `CREATE TRIGGER ... BEGIN ...; END` (SQLite,
/// MySQL), MySQL/MariaDB `CREATE PROCEDURE | FUNCTION | EVENT ... BEGIN
/// ...; END`, MariaDB's `BEGIN NOT ATOMIC ... END` and the standard
/// `BEGIN ATOMIC ... END` bodies (PostgreSQL). A plain `BEGIN;` is a
/// transaction and splits as usual. Empty statements are dropped; each
/// statement is trimmed and has no trailing semicolon.
pub fn split_statements(sql: &str) -> Vec<&str> {
    split_statements_in(sql, Flavor::Standard)
}

/// [`split_statements`] by the lexical rules of `flavor`.
pub fn split_statements_in(sql: &str, flavor: Flavor) -> Vec<&str> {
    let tokens = lex(sql, flavor);
    let mut out = Vec::new();
    let mut stmt_start: Option<usize> = None;
    let mut depth = 0usize;
    let mut compound = false;
    for (idx, t) in tokens.iter().enumerate() {
        if stmt_start.is_none() {
            if t.kind == TokenKind::Punct(';') {
                continue;
            }
            stmt_start = Some(t.start);
            compound = is_compound(sql, &tokens[idx..]);
        }
        if compound && t.kind == TokenKind::Word {
            let after_end = idx > 0 && tokens[idx - 1].is_keyword(sql, "END");
            if t.is_keyword(sql, "BEGIN") || (t.is_keyword(sql, "CASE") && !after_end) {
                // (`END CASE` closes a CASE; its CASE opens nothing.)
                depth += 1;
            } else if t.is_keyword(sql, "END") {
                // `END IF`, `END LOOP`, `END WHILE` and `END REPEAT` close
                // blocks that were not counted (IF is also a function).
                let next = tokens.get(idx + 1);
                if !next.is_some_and(|n| {
                    ["IF", "LOOP", "WHILE", "REPEAT"]
                        .iter()
                        .any(|k| n.is_keyword(sql, k))
                }) {
                    depth = depth.saturating_sub(1);
                }
            }
        } else if t.kind == TokenKind::Punct(';')
            && depth == 0
            && let Some(s) = stmt_start.take()
        {
            out.push(sql[s..t.start].trim());
        }
    }
    if let Some(s) = stmt_start {
        let tail = sql[s..].trim();
        if !tail.is_empty() {
            out.push(tail);
        }
    }
    out
}

/// Whether a statement (its tokens from the first) can hold a body of
/// statements between BEGIN and END.
fn is_compound(sql: &str, t: &[Span]) -> bool {
    let Some(first) = t.first() else {
        return false;
    };
    if first.is_keyword(sql, "BEGIN") {
        // MariaDB's anonymous block; `BEGIN;` and `BEGIN WORK` are
        // transactions.
        return t.get(1).is_some_and(|n| n.is_keyword(sql, "NOT"));
    }
    first.is_keyword(sql, "CREATE")
        && t.iter().skip(1).take(12).any(|x| {
            ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"]
                .iter()
                .any(|k| x.is_keyword(sql, k))
        })
}

/// The table a plain `SELECT` reads, when the result's columns are that
/// table's columns: `SELECT * | col, ... FROM [ns.]table [[AS] alias]`
/// followed by nothing or by `WHERE`, `ORDER BY`, `LIMIT`, `OFFSET`.
/// Joins, expressions, aggregates and set operations give `None`.
pub fn single_table_source(sql: &str) -> Option<TableRef> {
    let tokens = tokenize(sql);
    let mut t = tokens.as_slice();
    if let Some(last) = t.last()
        && last.kind == TokenKind::Punct(';')
    {
        t = &t[..t.len() - 1];
    }
    let mut i = 0;
    if !t.first()?.is_keyword("SELECT") {
        return None;
    }
    i += 1;
    if t.get(i)?.is_keyword("DISTINCT") || t.get(i)?.is_keyword("ALL") {
        i += 1;
    }
    // Select list: `*` or plain column names separated by commas.
    loop {
        let tok = t.get(i)?;
        if tok.kind == TokenKind::Punct('*') {
            i += 1;
        } else if tok.ident().is_some() && !tok.is_keyword("FROM") {
            i += 1;
            // `alias.col` or `alias.*`
            if t.get(i).is_some_and(|x| x.kind == TokenKind::Punct('.')) {
                let next = t.get(i + 1)?;
                if next.ident().is_none() && next.kind != TokenKind::Punct('*') {
                    return None;
                }
                i += 2;
            }
        } else {
            return None;
        }
        match t.get(i)? {
            x if x.kind == TokenKind::Punct(',') => i += 1,
            x if x.is_keyword("FROM") => break,
            _ => return None,
        }
    }
    i += 1;
    let first = t.get(i)?.ident()?.to_string();
    i += 1;
    let table = if t.get(i).is_some_and(|x| x.kind == TokenKind::Punct('.')) {
        let name = t.get(i + 1)?.ident()?.to_string();
        i += 2;
        TableRef::qualified(first, name)
    } else {
        TableRef::new(first)
    };
    const TAIL: [&str; 5] = ["WHERE", "ORDER", "LIMIT", "OFFSET", "FETCH"];
    if let Some(x) = t.get(i) {
        if x.is_keyword("AS") {
            t.get(i + 1)?.ident()?;
            i += 2;
        } else if x.ident().is_some() && !TAIL.iter().any(|k| x.is_keyword(k)) {
            const NOT_ALIAS: [&str; 9] = [
                "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "UNION", "GROUP",
            ];
            if NOT_ALIAS.iter().any(|k| x.is_keyword(k))
                || x.is_keyword("EXCEPT")
                || x.is_keyword("INTERSECT")
            {
                return None;
            }
            i += 1;
        }
    }
    match t.get(i) {
        None => Some(table),
        Some(x) if TAIL.iter().any(|k| x.is_keyword(k)) => {
            let rest = &t[i..];
            let bad = [
                "UNION",
                "EXCEPT",
                "INTERSECT",
                "GROUP",
                "JOIN",
                "HAVING",
                "WINDOW",
            ];
            if rest.iter().any(|x| bad.iter().any(|k| x.is_keyword(k))) {
                None
            } else {
                Some(table)
            }
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_scripts() {
        let s = "CREATE TABLE a(x);\n-- c;\nINSERT INTO a VALUES ('a;b');;\
                 CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = CASE WHEN 1 THEN 2 END; END;\
                 SELECT $$;$$, \"x;\" FROM a";
        let parts = split_statements(s);
        assert_eq!(parts.len(), 4, "{parts:?}");
        assert!(parts[2].ends_with("END"), "{}", parts[2]);
        assert_eq!(parts[3], "SELECT $$;$$, \"x;\" FROM a");
    }

    #[test]
    fn keeps_routine_bodies_whole() {
        let s = "BEGIN; \
                 CREATE DEFINER=`me`@`%` PROCEDURE p(x INT) BEGIN \
                   DECLARE i INT DEFAULT 0; \
                   IF x > 0 THEN SET i = IF(x > 5, 1, 2); ELSE SET i = 3; END IF; \
                   WHILE i < 3 DO SET i = i + 1; END WHILE; \
                   CASE i WHEN 1 THEN SELECT 1; ELSE BEGIN SELECT 2; END; END CASE; \
                   lbl: LOOP LEAVE lbl; END LOOP lbl; \
                   SELECT CASE WHEN i > 1 THEN 'a' ELSE 'b' END; \
                 END; \
                 CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x * 2; \
                 CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; INSERT INTO t VALUES (1); END; \
                 BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; \
                 CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; \
                 COMMIT";
        let parts = split_statements(s);
        assert_eq!(parts.len(), 7, "{parts:#?}");
        assert_eq!(parts[0], "BEGIN");
        assert!(
            parts[1].starts_with("CREATE DEFINER") && parts[1].ends_with("END"),
            "{}",
            parts[1]
        );
        assert!(parts[2].ends_with("RETURN x * 2"));
        assert!(parts[3].starts_with("CREATE EVENT") && parts[3].ends_with("END"));
        assert!(parts[4].starts_with("BEGIN NOT ATOMIC") && parts[4].ends_with("END"));
        assert!(parts[5].ends_with("END"));
        assert_eq!(parts[6], "COMMIT");
    }

    #[test]
    fn mysql_strings_and_comments_hide_what_mysql_hides() {
        fn my(s: &str) -> Vec<&str> {
            split_statements_in(s, Flavor::MySql)
        }
        // A backslash-escaped quote stays inside the string: MySQL runs two
        // statements here, not one.
        assert_eq!(
            my(r"SELECT 'x\'' ; DROP TABLE t; -- '"),
            [r"SELECT 'x\''", "DROP TABLE t"]
        );
        assert_eq!(
            split_statements(r"SELECT 'x\'' ; DROP TABLE t; -- '"),
            [r"SELECT 'x\'' ; DROP TABLE t; -- '"],
            "standard strings take no backslash escapes"
        );
        assert_eq!(
            my("SELECT 1 # ; DROP TABLE t"),
            ["SELECT 1 # ; DROP TABLE t"]
        );
        assert_eq!(my("SELECT \"a;b\""), ["SELECT \"a;b\""]);
        // `--` needs whitespace after it to start a comment.
        assert_eq!(
            my("SELECT 1 --1, '\n'; DROP TABLE t; -- '"),
            ["SELECT 1 --1, '\n'", "DROP TABLE t"]
        );
        assert_eq!(my("SELECT 1 -- ; x"), ["SELECT 1 -- ; x"]);
        // `$` is an identifier character, not a quote.
        assert_eq!(my("SELECT $$; SELECT $$"), ["SELECT $$", "SELECT $$"]);
        // PostgreSQL's E'' strings take escapes.
        assert_eq!(
            split_statements(r"SELECT E'a\'; b'; SELECT 2"),
            [r"SELECT E'a\'; b'", "SELECT 2"]
        );
        let t = tokenize_in("SELECT \"DROP\" # x", Flavor::MySql);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].kind, TokenKind::Str);
    }

    #[test]
    fn finds_single_tables() {
        let t = |s: &str| single_table_source(s).map(|t| t.to_string());
        assert_eq!(t("SELECT * FROM customers"), Some("customers".into()));
        assert_eq!(
            t("select id, \"Name\" from main.\"my t\" c where id > 3 order by 1 limit 5;"),
            Some("main.my t".into())
        );
        assert_eq!(
            t("SELECT c.* FROM customers AS c"),
            Some("customers".into())
        );
        assert_eq!(t("SELECT count(*) FROM customers"), None);
        assert_eq!(t("SELECT * FROM a JOIN b ON a.x = b.x"), None);
        assert_eq!(t("SELECT * FROM a, b"), None);
        assert_eq!(t("SELECT x FROM a UNION SELECT x FROM b"), None);
        assert_eq!(t("SELECT x + 1 FROM a"), None);
        assert_eq!(t("SELECT * FROM 'data.csv'"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Deep nesting and long runs of quotes, brackets and comment
        /// openers: no recursion, so no stack to exhaust.
        #[test]
        fn deep_input_never_panics(depth in 0usize..50_000, open in "[(\\[{'\"`$]|/\\*|--|BEGIN |CASE ") {
            let s = format!("SELECT {} 1; SELECT 2", open.repeat(depth));
            let _ = tokenize(&s);
            let _ = split_statements(&s);
            let _ = single_table_source(&s);
        }
    }

    proptest! {
        #[test]
        fn lexing_never_panics(s in "\\PC{0,80}") {
            let _ = tokenize_in(&s, Flavor::MySql);
            let _ = split_statements_in(&s, Flavor::MySql);
            let _ = tokenize(&s);
            let _ = split_statements(&s);
            let _ = single_table_source(&s);
        }

        #[test]
        fn statements_are_slices_of_the_input(s in "[a-z ;'\"$#\\\\-]{0,60}") {
            for part in split_statements(&s) {
                prop_assert!(s.contains(part));
            }
            for part in split_statements_in(&s, Flavor::MySql) {
                prop_assert!(s.contains(part));
            }
        }
    }
}
