//! Syntax classes for the text being typed, by the engine's own lexical
//! rules (the ones the statement splitter uses), so a string the
//! highlighter shows closed is one the server reads closed.

use qore_core::sql::{TokenKind, lex};

use crate::input::Syntax;
use crate::words;

/// The class of a piece of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A keyword (or a Redis command).
    Keyword,
    /// A string literal.
    String,
    /// A number.
    Number,
    /// A comment.
    Comment,
    /// A name (unquoted or quoted).
    Identifier,
    /// `:name` variable references.
    Variable,
    /// A backslash command line.
    Command,
    /// Anything else: operators, punctuation, blanks.
    Plain,
}

/// The input cut into consecutive pieces covering all of it, each with
/// its class.
pub fn highlight(text: &str, syntax: Syntax) -> Vec<(std::ops::Range<usize>, Class)> {
    let mut out: Vec<(std::ops::Range<usize>, Class)> = Vec::new();
    let mut push = |range: std::ops::Range<usize>, class: Class| {
        if range.is_empty() {
            return;
        }
        match out.last_mut() {
            Some((r, c)) if *c == class && r.end == range.start => r.end = range.end,
            _ => out.push((range, class)),
        }
    };
    if text.trim_start().starts_with('\\') {
        push(0..text.len(), Class::Command);
        return out;
    }
    let spans = lex(text, syntax.flavor());
    let mut at = 0usize;
    let mut first_word = true;
    for (i, s) in spans.iter().enumerate() {
        // What the lexer skipped is blanks and comments.
        let gap = &text[at..s.start];
        if gap.trim().is_empty() {
            push(at..s.start, Class::Plain);
        } else {
            push(at..s.start, Class::Comment);
        }
        let word = &text[s.start..s.end];
        let class = match s.kind {
            TokenKind::Str => Class::String,
            TokenKind::Number => Class::Number,
            TokenKind::QuotedIdent => Class::Identifier,
            TokenKind::Word => {
                let after_colon = i > 0
                    && spans[i - 1].kind == TokenKind::Punct(':')
                    && spans[i - 1].end == s.start
                    && !(i > 1 && spans[i - 2].kind == TokenKind::Punct(':') && spans[i - 2].end == spans[i - 1].start);
                let keyword = match syntax {
                    Syntax::Redis => first_word && words::REDIS_COMMANDS.iter().any(|k| k.eq_ignore_ascii_case(word)),
                    Syntax::Mongo => false,
                    Syntax::Sql(_) => words::KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)),
                };
                if after_colon {
                    Class::Variable
                } else if keyword {
                    Class::Keyword
                } else {
                    Class::Identifier
                }
            }
            TokenKind::Punct(':')
                if spans.get(i + 1).is_some_and(|n| n.start == s.end && n.kind == TokenKind::Word)
                    && !(i > 0 && spans[i - 1].kind == TokenKind::Punct(':') && spans[i - 1].end == s.start) =>
            {
                Class::Variable
            }
            TokenKind::Punct(_) => Class::Plain,
        };
        first_word = false;
        push(s.start..s.end, class);
        at = s.end;
    }
    let tail = &text[at..];
    push(at..text.len(), if tail.trim().is_empty() { Class::Plain } else { Class::Comment });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use qore_core::sql::Flavor;

    #[test]
    fn classes() {
        let t = "select 'a;b', 42 -- c\nfrom t where x = :v";
        let h = highlight(t, Syntax::Sql(Flavor::Standard));
        let class_of = |needle: &str| {
            let at = t.find(needle).unwrap();
            h.iter().find(|(r, _)| r.contains(&at)).unwrap().1
        };
        assert_eq!(class_of("select"), Class::Keyword);
        assert_eq!(class_of("'a;b'"), Class::String);
        assert_eq!(class_of("42"), Class::Number);
        assert_eq!(class_of("-- c"), Class::Comment);
        assert_eq!(class_of("t where"), Class::Identifier);
        assert_eq!(class_of(":v"), Class::Variable);
    }

    proptest! {
        /// The pieces cover the input exactly, in order, on char boundaries.
        #[test]
        fn pieces_cover_the_input(text in "\\PC{0,60}") {
            for syntax in [Syntax::Sql(Flavor::Standard), Syntax::Sql(Flavor::MySql), Syntax::Mongo, Syntax::Redis] {
                let h = highlight(&text, syntax);
                let mut at = 0;
                for (r, _) in &h {
                    prop_assert_eq!(r.start, at);
                    prop_assert!(text.is_char_boundary(r.end));
                    at = r.end;
                }
                prop_assert_eq!(at, text.len());
            }
        }
    }
}
