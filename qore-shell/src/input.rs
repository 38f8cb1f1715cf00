//! Where a statement ends: the shell reads lines until the input holds a
//! whole statement, and a line editor asks the same question to decide
//! whether Enter submits or starts a new line.

use qore_core::Engine;
use qore_core::sql::{Flavor, TokenKind, lex, split_statements_in};

/// How an engine's input is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// SQL: a statement ends at a top-level `;` (compound bodies kept whole).
    Sql(Flavor),
    /// The mongosh shorthand (`db.orders.find({...})`) or a command document:
    /// a statement ends at the end of a line where every bracket is closed.
    Mongo,
    /// redis-cli lines: one command per line.
    Redis,
}

impl Syntax {
    /// How `engine` reads its input.
    pub fn of(engine: Engine) -> Syntax {
        match engine {
            Engine::MongoDb => Syntax::Mongo,
            Engine::Redis => Syntax::Redis,
            e => Syntax::Sql(Flavor::of(e)),
        }
    }

    /// The lexical rules for highlighting and substitution.
    pub fn flavor(self) -> Flavor {
        match self {
            Syntax::Sql(f) => f,
            _ => Flavor::Standard,
        }
    }
}

/// One thing to run, in the order typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A whole statement, trimmed, without its terminating `;`.
    Statement(String),
    /// A backslash command line, as typed (`\d orders`).
    Meta(String),
}

/// Whether `text` is ready to run: empty, a backslash command on its last
/// line, or ending with a finished statement (no open string, comment,
/// bracket or compound body).
pub fn is_complete(text: &str, syntax: Syntax) -> bool {
    if text.trim().is_empty() {
        return true;
    }
    let (steps, rest) = steps(text, syntax);
    // A backslash command last runs now; SQL before it that is not
    // finished waits in the buffer, as in psql.
    matches!(steps.last(), Some(Step::Meta(_))) && text.trim_end().lines().last().is_some_and(|l| l.trim_start().starts_with('\\'))
        || (rest.trim().is_empty() && !steps.is_empty())
}

/// Splits typed input into the steps it completes and the unfinished rest,
/// which stays in the buffer for the next line.
///
/// A line starting with `\` outside any string or comment is a backslash
/// command; SQL before it that is not finished stays pending across it,
/// as in psql.
pub fn steps(text: &str, syntax: Syntax) -> (Vec<Step>, String) {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.split_inclusive('\n') {
        let is_meta = line.trim_start().starts_with('\\') && !is_open_literal(&pending, syntax);
        if is_meta {
            let (done, rest) = statements(&pending, syntax);
            out.extend(done.into_iter().map(Step::Statement));
            pending = rest;
            out.push(Step::Meta(line.trim().to_string()));
        } else {
            pending.push_str(line);
        }
    }
    let (done, rest) = statements(&pending, syntax);
    out.extend(done.into_iter().map(Step::Statement));
    (out, rest)
}

/// Whether the end of `text` is inside a string, quoted name or comment.
pub(crate) fn is_open_literal(text: &str, syntax: Syntax) -> bool {
    if text.trim().is_empty() || syntax == Syntax::Redis {
        return false;
    }
    // A word appended after a line break comes out as its own token unless
    // something before it swallows it.
    let probe = format!("{text}\nqore_probe");
    let spans = lex(&probe, syntax.flavor());
    !spans
        .last()
        .is_some_and(|s| s.kind == TokenKind::Word && s.start == text.len() + 1)
}

/// The finished statements at the start of `text` and what is left.
fn statements(text: &str, syntax: Syntax) -> (Vec<String>, String) {
    match syntax {
        Syntax::Redis => {
            // Every line is a command; nothing waits for more.
            let done = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            (done, String::new())
        }
        Syntax::Mongo => mongo_statements(text),
        Syntax::Sql(flavor) => sql_statements(text, flavor),
    }
}

fn sql_statements(text: &str, flavor: Flavor) -> (Vec<String>, String) {
    let parts = split_statements_in(text, flavor);
    let Some(last) = parts.last() else {
        // Only blanks, comments and semicolons.
        return (Vec::new(), String::new());
    };
    let offset = |s: &str| s.as_ptr() as usize - text.as_ptr() as usize;
    let last_end = offset(last) + last.len();
    let terminated = lex(text, flavor)
        .iter()
        .any(|s| s.start >= last_end && s.kind == TokenKind::Punct(';'));
    if terminated {
        return (parts.iter().map(|s| s.to_string()).collect(), String::new());
    }
    let done = parts[..parts.len() - 1].iter().map(|s| s.to_string()).collect();
    (done, text[offset(last)..].to_string())
}

/// Mongo input is whole when its brackets balance at the end of a line;
/// `;` or a line break separates statements.
fn mongo_statements(text: &str) -> (Vec<String>, String) {
    let spans = lex(text, Flavor::Standard);
    let mut depth = 0i64;
    let mut done = Vec::new();
    let mut start = 0usize;
    for (i, s) in spans.iter().enumerate() {
        match s.kind {
            TokenKind::Punct('(' | '{' | '[') => depth += 1,
            TokenKind::Punct(')' | '}' | ']') => depth -= 1,
            _ => {}
        }
        let ends_here = depth <= 0
            && (s.kind == TokenKind::Punct(';')
                || spans.get(i + 1).is_none_or(|n| text[s.end..n.start].contains('\n')));
        if ends_here {
            let stmt = text[start..s.end].trim().trim_end_matches(';').trim();
            if !stmt.is_empty() {
                done.push(stmt.to_string());
            }
            start = s.end;
            depth = 0;
        }
    }
    (done, text[start..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: Syntax = Syntax::Sql(Flavor::Standard);

    #[test]
    fn statements_end_at_semicolons_outside_strings_and_bodies() {
        assert!(is_complete("select 1;", PG));
        assert!(is_complete("select 1; -- done", PG));
        assert!(!is_complete("select 1", PG));
        assert!(!is_complete("select ';", PG));
        assert!(!is_complete("select $$ a; $$", PG));
        assert!(is_complete("select $$ a; $$;", PG));
        assert!(!is_complete("/* ; */ select 1", PG));
        assert!(!is_complete(
            "create trigger t after insert on a begin update b set x = 1;",
            PG
        ));
        assert!(is_complete(
            "create trigger t after insert on a begin update b set x = 1; end;",
            PG
        ));
        assert!(is_complete("\\dt", PG));
        assert!(is_complete("select 1\n\\x", PG));
        assert!(is_complete("", PG));
    }

    #[test]
    fn a_backslash_inside_a_string_is_text() {
        let (got, rest) = steps("select 'a\n\\x';", PG);
        assert_eq!(got, vec![Step::Statement("select 'a\n\\x'".into())]);
        assert_eq!(rest, "");
        let (got, rest) = steps("select 1;\nselect\n\\x\n2;", PG);
        assert_eq!(
            got,
            vec![
                Step::Statement("select 1".into()),
                Step::Meta("\\x".into()),
                Step::Statement("select\n2".into())
            ]
        );
        assert_eq!(rest, "");
    }

    #[test]
    fn mongo_and_redis_lines() {
        assert!(!is_complete("db.orders.find({", Syntax::Mongo));
        assert!(is_complete("db.orders.find({\n a: 1 })", Syntax::Mongo));
        let (s, _) = steps("db.a.find()\ndb.b.find()", Syntax::Mongo);
        assert_eq!(s.len(), 2);
        let (s, rest) = steps("SET k v\nGET k\n", Syntax::Redis);
        assert_eq!(s, vec![Step::Statement("SET k v".into()), Step::Statement("GET k".into())]);
        assert_eq!(rest, "");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Statements typed one after another come back one by one, whole,
        /// whatever quotes, semicolons and comments their strings hold.
        #[test]
        fn typed_statements_come_back_whole(bodies in proptest::collection::vec("[a-z ;'\\-*/\\\\]{0,12}", 1..5)) {
            let stmts: Vec<String> = bodies
                .iter()
                .map(|b| format!("select '{}' as x", b.replace('\'', "''")))
                .collect();
            let text = stmts.iter().map(|s| format!("{s};\n")).collect::<String>();
            let (steps, rest) = steps(&text, Syntax::Sql(Flavor::Standard));
            prop_assert_eq!(rest.trim(), "");
            let want: Vec<Step> = stmts.into_iter().map(Step::Statement).collect();
            prop_assert_eq!(steps, want);
            prop_assert!(is_complete(&text, Syntax::Sql(Flavor::Standard)));
        }

        /// A prefix cut inside the last string is never complete.
        #[test]
        fn an_open_string_is_never_complete(body in "[a-z ;]{0,20}") {
            let text = format!("select '{body}");
            prop_assert!(!is_complete(&text, Syntax::Sql(Flavor::Standard)));
            prop_assert!(!is_complete(&text, Syntax::Sql(Flavor::MySql)));
        }
    }
}
