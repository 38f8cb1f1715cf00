//! Reading the parts of `CREATE TABLE` and `CREATE INDEX` text that no
//! catalog view reports (CHECK and generation expressions, expression index
//! parts, partial-index predicates, DEFERRABLE), with the shared SQL lexer.

#![allow(dead_code)]

use std::collections::BTreeMap;

use qore_core::sql::{Token, TokenKind, closing_paren, tokenize};

/// What only the `CREATE TABLE` text tells.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct TableDdl {
    /// (constraint name, expression, column for column-level checks)
    pub(crate) checks: Vec<(Option<String>, String, Option<String>)>,
    /// lower-cased column name -> generation expression
    pub(crate) generated: BTreeMap<String, String>,
    pub(crate) fks: Vec<FkDecl>,
    pub(crate) pk_name: Option<String>,
    pub(crate) without_rowid: bool,
}

#[derive(Debug, PartialEq)]
pub(crate) struct FkDecl {
    pub(crate) name: Option<String>,
    /// lower-cased referencing columns
    pub(crate) columns: Vec<String>,
    pub(crate) deferrable: bool,
}

/// Splits `tokens[from..to]` at depth-0 commas.
fn split_commas(tokens: &[Token], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = from;
    for (i, t) in tokens.iter().enumerate().take(to).skip(from) {
        match t.kind {
            TokenKind::Punct('(') => depth += 1,
            TokenKind::Punct(')') => depth = depth.saturating_sub(1),
            TokenKind::Punct(',') if depth == 0 => {
                out.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < to {
        out.push((start, to));
    }
    out
}

fn text_between(sql: &str, tokens: &[Token], open: usize, close: usize) -> String {
    if close <= open + 1 {
        return String::new();
    }
    sql[tokens[open + 1].start..tokens[close - 1].end]
        .trim()
        .to_string()
}

pub(crate) fn parse_create_table(sql: &str) -> TableDdl {
    let tokens = tokenize(sql);
    let mut ddl = TableDdl::default();
    let Some(open) = tokens.iter().position(|t| t.kind == TokenKind::Punct('(')) else {
        return ddl;
    };
    let Some(close) = closing_paren(&tokens, open) else {
        return ddl;
    };
    ddl.without_rowid = tokens[close..]
        .windows(2)
        .any(|w| w[0].is_keyword("WITHOUT") && w[1].is_keyword("ROWID"));
    for (s, e) in split_commas(&tokens, open + 1, close) {
        let def = &tokens[s..e];
        let Some(first) = def.first() else { continue };
        let table_level = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|k| first.is_keyword(k));
        let column = if table_level {
            None
        } else {
            first.ident().map(str::to_string)
        };
        let mut name: Option<String> = None;
        let mut i = if table_level { 0 } else { 1 };
        while i < def.len() {
            let t = &def[i];
            if t.is_keyword("CONSTRAINT") {
                name = def.get(i + 1).and_then(Token::ident).map(str::to_string);
                i += 2;
                continue;
            }
            let paren_after =
                |k: usize| def.get(k).is_some_and(|x| x.kind == TokenKind::Punct('('));
            if t.is_keyword("CHECK") && paren_after(i + 1) {
                if let Some(m) = closing_paren(def, i + 1) {
                    ddl.checks.push((
                        name.take(),
                        text_between(sql, def, i + 1, m),
                        column.clone(),
                    ));
                    i = m + 1;
                    continue;
                }
            } else if t.is_keyword("AS") && paren_after(i + 1) && column.is_some() {
                if let Some(m) = closing_paren(def, i + 1)
                    && let Some(col) = &column
                {
                    ddl.generated
                        .insert(col.to_lowercase(), text_between(sql, def, i + 1, m));
                    i = m + 1;
                    continue;
                }
            } else if t.is_keyword("PRIMARY") {
                if name.is_some() {
                    ddl.pk_name = name.take();
                }
            } else if t.is_keyword("FOREIGN") && paren_after(i + 2) {
                if let Some(m) = closing_paren(def, i + 2) {
                    let cols = split_commas(def, i + 3, m)
                        .into_iter()
                        .filter_map(|(a, _)| def[a].ident().map(str::to_lowercase))
                        .collect();
                    ddl.fks.push(FkDecl {
                        name: name.take(),
                        columns: cols,
                        deferrable: deferrable(&def[m..]),
                    });
                    i = m + 1;
                    continue;
                }
            } else if t.is_keyword("REFERENCES")
                && let Some(col) = &column
            {
                ddl.fks.push(FkDecl {
                    name: name.take(),
                    columns: vec![col.to_lowercase()],
                    deferrable: deferrable(&def[i..]),
                });
            }
            i += 1;
        }
    }
    ddl
}

fn deferrable(rest: &[Token]) -> bool {
    rest.iter().enumerate().any(|(i, t)| {
        t.is_keyword("DEFERRABLE")
            && !(i > 0 && rest[i - 1].is_keyword("NOT"))
            && !rest.get(i + 2).is_some_and(|x| x.is_keyword("IMMEDIATE"))
    })
}

/// `expr` without one pair of parentheses around all of it (`((a > 0))` → `(a > 0)`).
pub(crate) fn strip_outer_parens(expr: &str) -> &str {
    let t = expr.trim();
    let tokens = tokenize(t);
    if tokens.len() >= 2
        && tokens[0].kind == TokenKind::Punct('(')
        && closing_paren(&tokens, 0) == Some(tokens.len() - 1)
    {
        return t[tokens[0].end..tokens[tokens.len() - 1].start].trim();
    }
    t
}

/// The key-part texts and the WHERE predicate of a `CREATE INDEX`.
pub(crate) fn parse_create_index(sql: &str) -> (Vec<String>, Option<String>) {
    let tokens = tokenize(sql);
    let Some(on) = tokens.iter().position(|t| t.is_keyword("ON")) else {
        return (Vec::new(), None);
    };
    let Some(open) = tokens
        .iter()
        .skip(on)
        .position(|t| t.kind == TokenKind::Punct('('))
        .map(|p| p + on)
    else {
        return (Vec::new(), None);
    };
    let Some(close) = closing_paren(&tokens, open) else {
        return (Vec::new(), None);
    };
    let parts = split_commas(&tokens, open + 1, close)
        .into_iter()
        .map(|(a, b)| {
            // Drop a trailing ASC/DESC: it is an ordering, not part of the key.
            let b = if b > a + 1
                && (tokens[b - 1].is_keyword("ASC") || tokens[b - 1].is_keyword("DESC"))
            {
                b - 1
            } else {
                b
            };
            let text = sql[tokens[a].start..tokens[b - 1].end].trim();
            text.strip_prefix('(')
                .and_then(|t| t.strip_suffix(')'))
                .unwrap_or(text)
                .to_string()
        })
        .collect();
    let predicate = tokens[close..]
        .iter()
        .position(|t| t.is_keyword("WHERE"))
        .map(|w| {
            sql[tokens[close + w].end..]
                .trim()
                .trim_end_matches(';')
                .trim()
                .to_string()
        });
    (parts, predicate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_create_table_text() {
        let ddl = parse_create_table(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, price REAL CHECK (price >= 0), \
             qty INT, total REAL GENERATED ALWAYS AS (price * qty) STORED, \
             owner INT REFERENCES u(id) DEFERRABLE INITIALLY DEFERRED, \
             CONSTRAINT qty_pos CHECK(qty > 0 AND (qty < 1000)), \
             CONSTRAINT fk_x FOREIGN KEY (a, b) REFERENCES x(a, b) ON DELETE CASCADE)",
        );
        assert_eq!(
            ddl.checks[0],
            (None, "price >= 0".into(), Some("price".into()))
        );
        assert_eq!(
            ddl.checks[1],
            (
                Some("qty_pos".into()),
                "qty > 0 AND (qty < 1000)".into(),
                None
            )
        );
        assert_eq!(
            ddl.generated.get("total").map(String::as_str),
            Some("price * qty")
        );
        assert_eq!(
            ddl.fks[0],
            FkDecl {
                name: None,
                columns: vec!["owner".into()],
                deferrable: true
            }
        );
        assert_eq!(
            ddl.fks[1],
            FkDecl {
                name: Some("fk_x".into()),
                columns: vec!["a".into(), "b".into()],
                deferrable: false
            }
        );
    }

    #[test]
    fn strips_one_pair_of_parens() {
        assert_eq!(strip_outer_parens("((a > 0))"), "(a > 0)");
        assert_eq!(
            strip_outer_parens("(a > 0) AND (b < 1)"),
            "(a > 0) AND (b < 1)"
        );
        assert_eq!(strip_outer_parens("a"), "a");
    }

    #[test]
    fn reads_create_index_text() {
        let (parts, pred) = parse_create_index(
            "CREATE INDEX i ON t (lower(email), created_at DESC) WHERE status = 'open'",
        );
        assert_eq!(
            parts,
            vec!["lower(email)".to_string(), "created_at".to_string()]
        );
        assert_eq!(pred.as_deref(), Some("status = 'open'"));
    }
}
