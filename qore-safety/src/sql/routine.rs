//! PostgreSQL's anonymous code blocks (`DO $$ ... $$`) run at once: the
//! statements of their body are judged like any other, and dynamic SQL
//! (`EXECUTE`), which cannot be, is reported as such. (A `CREATE FUNCTION`
//! body does not run when it is created: it is not judged.)

use qore_core::Engine;
use qore_core::sql::{Flavor, Span, TokenKind, lex, split_statements_in};

use crate::classify::{Finding, Kind, StatementReport};

/// Words that start a statement the body's judgement needs.
const STARTS: [&str; 12] = [
    "DELETE", "UPDATE", "INSERT", "MERGE", "DROP", "TRUNCATE", "ALTER", "CREATE", "GRANT",
    "REVOKE", "WITH", "EXECUTE",
];

/// The body of a string token: `$tag$...$tag$` or `'...'` (doubled quotes
/// single).
fn body(raw: &str) -> Option<String> {
    if let Some(rest) = raw.strip_prefix('$') {
        let tag_len = rest.find('$')?;
        let delim = &raw[..tag_len + 2];
        let inner = &raw[delim.len()..];
        return Some(inner.strip_suffix(delim).unwrap_or(inner).to_string());
    }
    let inner = raw.strip_prefix('\'')?;
    Some(inner.strip_suffix('\'').unwrap_or(inner).replace("''", "'"))
}

/// The report of a `DO` statement (its first token is `DO`), or `None`
/// when it holds no body to read.
pub(super) fn do_block(text: &str, tokens: &[Span]) -> Option<StatementReport> {
    let code = tokens.iter().skip(1).find(|t| t.kind == TokenKind::Str)?;
    let code = body(code.text(text))?;
    let mut findings = Vec::new();
    let mut kind = Kind::Admin;
    let mut objects: Vec<String> = Vec::new();
    for part in split_statements_in(&code, Flavor::Standard) {
        let toks = lex(part, Flavor::Standard);
        let Some(start) = toks
            .iter()
            .find(|t| STARTS.iter().any(|k| t.is_keyword(part, k)))
        else {
            continue;
        };
        if start.is_keyword(part, "EXECUTE") {
            kind = kind.max(Kind::Write);
            findings.push(Finding::new(
                "unparsed-write-keyword",
                "a DO block runs dynamic SQL (EXECUTE), which is not analysed: treated as destructive",
            ));
            continue;
        }
        let c = crate::classify(Engine::Postgres, &part[start.start..]);
        kind = kind.max(c.kind);
        for f in c.findings {
            findings.push(Finding::new(
                f.rule.name,
                format!("in a DO block: {}", f.message),
            ));
        }
        for s in c.statements {
            for o in s.objects {
                if !objects.contains(&o) {
                    objects.push(o);
                }
            }
        }
    }
    Some(StatementReport {
        text: text.to_string(),
        kind,
        objects,
        findings,
        parsed: true,
    })
}
