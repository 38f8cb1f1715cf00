//! Reading the head of a `CREATE` statement for a routine, trigger or event:
//! what it creates, under which name, and where `OR REPLACE` would go. Not a
//! parser: the body is the engine's business; only the words before it
//! matter to an edit.

use crate::error::{Error, Result};
use crate::schema::TableRef;
use crate::sql::{Flavor, Token, TokenKind, tokenize_in};

use super::ObjectClass;

/// The head of a `CREATE` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Create {
    /// `CREATE OR REPLACE`.
    pub or_replace: bool,
    /// What it creates, upper case: `FUNCTION`, `PROCEDURE`, `AGGREGATE`,
    /// `TRIGGER`, `EVENT TRIGGER`, `EVENT`, `MACRO`.
    pub kind: String,
    /// The name it creates.
    pub name: TableRef,
    /// The table a trigger is on.
    pub table: Option<TableRef>,
    /// Byte offset just after `CREATE`, where ` OR REPLACE` goes.
    pub after_create: usize,
    /// Byte span of the name (namespace included) in the statement.
    pub name_span: (usize, usize),
}

impl Create {
    /// The class of object it creates.
    pub fn class(&self) -> ObjectClass {
        match self.kind.as_str() {
            "TRIGGER" | "EVENT TRIGGER" => ObjectClass::Trigger,
            "EVENT" => ObjectClass::Event,
            _ => ObjectClass::Routine,
        }
    }

    /// The statement with `OR REPLACE` after `CREATE` (unchanged when it
    /// has it already).
    pub fn with_or_replace(&self, sql: &str) -> String {
        if self.or_replace {
            return sql.to_string();
        }
        format!("{} OR REPLACE{}", &sql[..self.after_create], &sql[self.after_create..])
    }

    /// The statement with its name replaced by `name` (already quoted).
    pub fn renamed(&self, sql: &str, name: &str) -> String {
        format!("{}{name}{}", &sql[..self.name_span.0], &sql[self.name_span.1..])
    }
}

/// Reads the head of `sql`, a `CREATE` of a routine, trigger or event.
///
/// # Error handling
///
/// [`Error::InvalidInput`] when `sql` is not such a statement, naming what
/// it found instead.
pub fn read_create(sql: &str, flavor: Flavor) -> Result<Create> {
    let tokens = tokenize_in(sql, flavor);
    let first = tokens.first().map(|t| t.text.as_str()).unwrap_or("");
    if !tokens.first().is_some_and(|t| t.is_keyword("CREATE")) {
        return Err(Error::invalid(format!(
            "a definition starts with CREATE, this one with `{}`",
            if first.is_empty() { "nothing" } else { first }
        )));
    }
    let after_create = tokens[0].end;
    let mut i = 1;
    let mut or_replace = false;
    let at = |i: usize| tokens.get(i);
    let kw = |i: usize, k: &str| at(i).is_some_and(|t| t.is_keyword(k));
    let kind = loop {
        let Some(t) = at(i) else {
            return Err(Error::invalid("the definition ends after CREATE"));
        };
        if t.is_keyword("OR") && kw(i + 1, "REPLACE") {
            or_replace = true;
            i += 2;
        } else if t.is_keyword("DEFINER") {
            // DEFINER = user[@host] | CURRENT_USER[()] | role
            i += 1;
            if at(i).is_some_and(|t| t.kind == TokenKind::Punct('=')) {
                i += 1;
            }
            i += 1;
            if at(i).is_some_and(|t| t.kind == TokenKind::Punct('(')) {
                i += 2;
            }
            if at(i).is_some_and(|t| t.kind == TokenKind::Punct('@')) {
                i += 2;
            } else if at(i).is_some_and(|t| t.text.starts_with('@')) {
                // `root@localhost` lexed as one word by some flavours
                i += 1;
            }
        } else if ["TEMP", "TEMPORARY", "CONSTRAINT", "NONEDITIONABLE", "EDITIONABLE"]
            .iter()
            .any(|k| t.is_keyword(k))
        {
            i += 1;
        } else if t.is_keyword("EVENT") && kw(i + 1, "TRIGGER") {
            i += 2;
            break "EVENT TRIGGER";
        } else if t.is_keyword("AGGREGATE") && kw(i + 1, "FUNCTION") {
            i += 2;
            break "FUNCTION";
        } else if let Some(k) = ["FUNCTION", "PROCEDURE", "AGGREGATE", "TRIGGER", "EVENT", "MACRO"]
            .into_iter()
            .find(|k| t.is_keyword(k))
        {
            i += 1;
            break k;
        } else {
            return Err(Error::invalid(format!(
                "a definition creates a function, procedure, trigger, event or macro; this one creates `{}`",
                t.text
            )));
        }
    };
    if kw(i, "IF") && kw(i + 1, "NOT") && kw(i + 2, "EXISTS") {
        i += 3;
    }
    let (name, name_span, next) = qualified(&tokens, i).ok_or_else(|| {
        Error::invalid(format!("CREATE {kind} is not followed by a name"))
    })?;
    let table = if kind == "TRIGGER" {
        // The first top-level ON names the table (`BEFORE UPDATE OF a ON t`).
        let mut depth = 0i32;
        let mut found = None;
        for j in next..tokens.len() {
            match &tokens[j].kind {
                TokenKind::Punct('(') => depth += 1,
                TokenKind::Punct(')') => depth -= 1,
                _ if depth == 0 && tokens[j].is_keyword("ON") => {
                    found = qualified(&tokens, j + 1).map(|(t, _, _)| t);
                    break;
                }
                _ => {}
            }
        }
        found
    } else {
        None
    };
    Ok(Create { or_replace, kind: kind.to_string(), name, table, after_create, name_span })
}

/// `ident` or `ident.ident` at `i`: the name, its byte span, and the index
/// after it.
fn qualified(tokens: &[Token], i: usize) -> Option<(TableRef, (usize, usize), usize)> {
    let first = tokens.get(i)?;
    let a = first.ident()?;
    if tokens.get(i + 1).is_some_and(|t| t.kind == TokenKind::Punct('.'))
        && let Some(second) = tokens.get(i + 2)
        && let Some(b) = second.ident()
    {
        return Some((TableRef::qualified(a, b), (first.start, second.end), i + 3));
    }
    Some((TableRef::new(a), (first.start, first.end), i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn heads_of_every_engine() {
        let c = read_create(
            "CREATE DEFINER=`root`@`localhost` PROCEDURE `shop`.`restock`(IN n INT) BEGIN END",
            Flavor::MySql,
        )
        .unwrap();
        assert_eq!((c.kind.as_str(), c.name.namespace.as_deref(), c.name.name.as_str()), ("PROCEDURE", Some("shop"), "restock"));
        assert!(!c.or_replace);
        let c = read_create("create or replace function public.f(a int) returns int as $$ select 1 $$ language sql", Flavor::Standard).unwrap();
        assert!(c.or_replace);
        assert_eq!(c.name, TableRef::qualified("public", "f"));
        let c = read_create("CREATE TEMP TRIGGER IF NOT EXISTS main.tr BEFORE UPDATE OF a ON t BEGIN SELECT 1; END", Flavor::Standard).unwrap();
        assert_eq!((c.kind.as_str(), c.name.name.as_str()), ("TRIGGER", "tr"));
        assert_eq!(c.table, Some(TableRef::new("t")));
        let c = read_create("CREATE EVENT TRIGGER guard ON ddl_command_start EXECUTE FUNCTION f()", Flavor::Standard).unwrap();
        assert_eq!((c.kind.as_str(), c.class()), ("EVENT TRIGGER", ObjectClass::Trigger));
        assert_eq!(c.table, None);
        let c = read_create("CREATE DEFINER=CURRENT_USER() EVENT e ON SCHEDULE EVERY 1 HOUR DO SELECT 1", Flavor::MySql).unwrap();
        assert_eq!((c.kind.as_str(), c.class(), c.name.name.as_str()), ("EVENT", ObjectClass::Event, "e"));
        let c = read_create("CREATE AGGREGATE FUNCTION agg(x INT) RETURNS INT BEGIN END", Flavor::MySql).unwrap();
        assert_eq!(c.kind, "FUNCTION");
        let c = read_create("CREATE MACRO add1(a) AS a + 1", Flavor::Standard).unwrap();
        assert_eq!(c.with_or_replace("CREATE MACRO add1(a) AS a + 1"), "CREATE OR REPLACE MACRO add1(a) AS a + 1");
        assert_eq!(c.renamed("CREATE MACRO add1(a) AS a + 1", "\"tmp\""), "CREATE MACRO \"tmp\"(a) AS a + 1");
        let c = read_create("CREATE TRIGGER t1 AFTER INSERT ON orders FOR EACH ROW WHEN (NEW.a ON) EXECUTE FUNCTION f()", Flavor::Standard).unwrap();
        assert_eq!(c.table, Some(TableRef::new("orders")));
    }

    #[test]
    fn other_statements_are_refused_by_name() {
        let e = read_create("DROP FUNCTION f", Flavor::Standard).unwrap_err();
        assert!(e.to_string().contains("`DROP`"), "{e}");
        let e = read_create("CREATE TABLE t (a int)", Flavor::Standard).unwrap_err();
        assert!(e.to_string().contains("`TABLE`"), "{e}");
        assert!(read_create("", Flavor::Standard).is_err());
        assert!(read_create("CREATE FUNCTION", Flavor::Standard).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = read_create(&s, Flavor::MySql);
            let _ = read_create(&s, Flavor::Standard);
        }

        #[test]
        fn or_replace_lands_after_create(name in "[a-z_][a-z0-9_]{0,10}", ws in "[ \t\n]{1,3}") {
            let sql = format!("CREATE{ws}FUNCTION {name}() RETURNS int AS 'select 1' LANGUAGE sql");
            let c = read_create(&sql, Flavor::Standard).unwrap();
            let replaced = c.with_or_replace(&sql);
            let again = read_create(&replaced, Flavor::Standard).unwrap();
            prop_assert!(again.or_replace);
            prop_assert_eq!(&again.name.name, &name);
            prop_assert_eq!(again.with_or_replace(&replaced), replaced);
        }
    }
}
