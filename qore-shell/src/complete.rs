//! Completion from the catalog: keywords, tables, columns of the tables a
//! statement names (aliases resolved), functions, backslash commands,
//! saved connections, variables; MongoDB collections and methods, Redis
//! commands and keys.
//!
//! Completion is asked for on a keypress, so it never waits on a server:
//! [`Completer::complete`] answers from a cache, [`Completer::needs`] says
//! what the cache lacks for this position and [`Completer::load`] fetches
//! it (a frontend awaits it with a short timeout before completing, or in
//! the background). The cache is dropped after DDL
//! ([`Completer::invalidate`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use qore_core::sql::{Flavor, Span, TokenKind, lex};
use qore_core::{BrowseOptions, ConnectionRef, Result, TableInfo, TableRef};

use crate::input::Syntax;
use crate::words;

/// What a suggestion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionKind {
    /// An SQL keyword.
    Keyword,
    /// A table, view or collection.
    Table,
    /// A column.
    Column,
    /// A function.
    Function,
    /// A backslash command.
    Command,
    /// A saved connection's name.
    Connection,
    /// A shell variable.
    Variable,
    /// A Redis command.
    RedisCommand,
    /// A Redis key.
    Key,
    /// A MongoDB collection method.
    Method,
}

/// One completion: replace `text[start..end]` with `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The text to put in.
    pub value: String,
    /// What it is (a frontend shows an icon or a colour).
    pub kind: SuggestionKind,
    /// Byte offset where the replaced word starts.
    pub start: usize,
    /// Byte offset where it ends (the cursor).
    pub end: usize,
}

/// What completing at a position needs that the cache does not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The default namespace's tables.
    pub tables: bool,
    /// The columns of these tables.
    pub columns: Vec<TableRef>,
    /// Redis keys starting with this prefix.
    pub keys: Option<String>,
    /// The tables of this namespace (`sales.` may be a schema).
    pub namespace: Option<String>,
}

impl Needs {
    /// Whether nothing is missing.
    pub fn is_empty(&self) -> bool {
        !self.tables && self.columns.is_empty() && self.keys.is_none() && self.namespace.is_none()
    }
}

#[derive(Debug, Default)]
struct Cache {
    tables: Option<Vec<TableInfo>>,
    /// By lower-case table name.
    columns: HashMap<String, Vec<String>>,
    keys: HashMap<String, Vec<String>>,
    /// Tables by lower-case namespace name (empty: no such namespace).
    namespaces: HashMap<String, Vec<TableInfo>>,
}

/// Completes input for one session; cheap to clone (shares its cache).
#[derive(Clone)]
pub struct Completer {
    conn: ConnectionRef,
    syntax: Syntax,
    cache: Arc<Mutex<Cache>>,
    connections: Arc<Vec<String>>,
    variables: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Completer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completer").field("syntax", &self.syntax).finish_non_exhaustive()
    }
}

/// Redis keys fetched for one prefix, at most.
const KEY_LIMIT: usize = 200;
/// Tables whose columns one load fetches, at most.
const COLUMN_TABLES: usize = 8;

/// What the word under the cursor can be.
#[derive(Debug, PartialEq, Eq)]
enum Context {
    Nothing,
    Commands,
    Connections,
    Tables,
    /// Columns of these tables, plus functions and keywords when `wide`.
    Columns { tables: Vec<TableRef>, wide: bool },
    /// After `name.` that is no alias: the columns of table `name`, or the
    /// tables of namespace `name`.
    Qualified(String),
    Variables,
    RedisCommands,
    Keys,
    Collections,
    Methods,
}

impl Completer {
    /// A completer for `conn`, offering `connections` after `\c`.
    pub fn new(conn: ConnectionRef, connections: Vec<String>) -> Completer {
        let syntax = Syntax::of(conn.engine());
        Completer {
            conn,
            syntax,
            cache: Arc::default(),
            connections: Arc::new(connections),
            variables: Arc::default(),
        }
    }

    /// Forgets what the catalog said (after DDL, or `\c`).
    pub fn invalidate(&self) {
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = Cache::default();
    }

    /// Tells the completer the variable names to offer after `:`.
    pub fn set_variables(&self, names: Vec<String>) {
        *self.variables.lock().unwrap_or_else(PoisonError::into_inner) = names;
    }

    /// What completing at `pos` needs from the server that is not cached.
    pub fn needs(&self, text: &str, pos: usize) -> Needs {
        let pos = floor_boundary(text, pos);
        let (_, word) = word_at(text, pos, self.syntax);
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let mut needs = Needs::default();
        match self.context(text, pos) {
            Context::Tables | Context::Collections => needs.tables = cache.tables.is_none(),
            Context::Columns { tables, .. } => {
                needs.tables = cache.tables.is_none();
                needs.columns = tables
                    .into_iter()
                    .filter(|t| !cache.columns.contains_key(&t.name.to_lowercase()))
                    .take(COLUMN_TABLES)
                    .collect();
            }
            Context::Keys if !cache.keys.contains_key(word) => needs.keys = Some(word.to_string()),
            Context::Qualified(q) => {
                if !cache.columns.contains_key(&q.to_lowercase()) {
                    needs.columns = vec![TableRef::new(q.clone())];
                }
                if !cache.namespaces.contains_key(&q.to_lowercase()) {
                    needs.namespace = Some(q);
                }
            }
            _ => {}
        }
        needs
    }

    /// Fetches what [`needs`](Completer::needs) named into the cache.
    ///
    /// # Error handling
    ///
    /// The catalog's or store's error; what was fetched before it stays.
    pub async fn load(&self, needs: &Needs) -> Result<()> {
        if needs.tables
            && let Some(catalog) = self.conn.catalog()
        {
            let tables = catalog.tables(None).await?;
            self.cache.lock().unwrap_or_else(PoisonError::into_inner).tables = Some(tables);
        }
        for t in &needs.columns {
            let Some(catalog) = self.conn.catalog() else { break };
            // A name that is no table (a CTE, a typo) has no columns.
            let cols = match catalog.table(t).await {
                Ok(d) => d.columns.into_iter().map(|c| c.name).collect(),
                Err(qore_core::Error::NotFound(_)) => Vec::new(),
                Err(e) => return Err(e),
            };
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .columns
                .insert(t.name.to_lowercase(), cols);
        }
        if let (Some(ns), Some(catalog)) = (&needs.namespace, self.conn.catalog()) {
            // A name that is no namespace lists nothing (or fails): no tables.
            let tables = catalog.tables(Some(ns)).await.unwrap_or_default();
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .namespaces
                .insert(ns.to_lowercase(), tables);
        }
        if let (Some(prefix), Some(kv)) = (&needs.keys, self.conn.key_value()) {
            let pattern = format!("{}*", glob_escape(prefix));
            let mut keys = Vec::new();
            let mut stream = kv
                .browse(BrowseOptions { pattern: Some(pattern), key_type: None, count: KEY_LIMIT })
                .await?;
            while let Some(batch) = stream.next().await
                && keys.len() < KEY_LIMIT
            {
                let batch = batch?;
                if let Some(col) = batch.column(0).as_any().downcast_ref::<arrow::array::StringArray>() {
                    keys.extend(col.iter().flatten().map(str::to_string));
                }
            }
            keys.sort();
            keys.truncate(KEY_LIMIT);
            self.cache.lock().unwrap_or_else(PoisonError::into_inner).keys.insert(prefix.clone(), keys);
        }
        Ok(())
    }

    /// Suggestions for the word ending at `pos`, from the cache, best first.
    pub fn complete(&self, text: &str, pos: usize) -> Vec<Suggestion> {
        let pos = floor_boundary(text, pos);
        let context = self.context(text, pos);
        let (start, word) = match context {
            // The command itself, backslash included.
            Context::Commands => {
                let s = text[..pos].rfind('\\').unwrap_or(pos);
                (s, &text[s..pos])
            }
            _ => word_at(text, pos, self.syntax),
        };
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        // After `o.` only the part past the dot is replaced (the context
        // already knows which table `o` is).
        let partial = match word.rsplit_once('.') {
            Some((_, p)) if !matches!(self.syntax, Syntax::Redis) && context != Context::Commands => p,
            _ => word,
        };
        let start = start + (word.len() - partial.len());
        let mut out: Vec<(String, SuggestionKind)> = Vec::new();
        let lower = partial.to_lowercase();
        let mut offer = |value: &str, kind: SuggestionKind| {
            if value.to_lowercase().starts_with(&lower) && !out.iter().any(|(v, _)| v == value) {
                out.push((value.to_string(), kind));
            }
        };
        let tables = cache.tables.as_deref().unwrap_or_default();
        match context {
            Context::Nothing => {}
            Context::Commands => {
                for (c, _) in crate::meta::COMMANDS {
                    offer(c, SuggestionKind::Command);
                }
            }
            Context::Connections => self.connections.iter().for_each(|c| offer(c, SuggestionKind::Connection)),
            Context::Variables => self
                .variables
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .for_each(|v| offer(v, SuggestionKind::Variable)),
            Context::Tables | Context::Collections => {
                for t in tables {
                    offer(&self.identifier(&t.table.name), SuggestionKind::Table);
                }
            }
            Context::Columns { tables: named, wide } => {
                for t in &named {
                    for c in cache.columns.get(&t.name.to_lowercase()).into_iter().flatten() {
                        offer(&self.identifier(c), SuggestionKind::Column);
                    }
                }
                if wide {
                    for f in words::FUNCTIONS {
                        offer(&case_like(f, partial, false), SuggestionKind::Function);
                    }
                    for t in tables {
                        offer(&self.identifier(&t.table.name), SuggestionKind::Table);
                    }
                    for k in words::KEYWORDS {
                        offer(&case_like(k, partial, true), SuggestionKind::Keyword);
                    }
                }
            }
            Context::RedisCommands => {
                for c in words::REDIS_COMMANDS {
                    offer(&case_like(c, partial, true), SuggestionKind::RedisCommand);
                }
            }
            Context::Keys => {
                for k in cache.keys.get(word).into_iter().flatten() {
                    offer(k, SuggestionKind::Key);
                }
            }
            Context::Methods => words::MONGO_METHODS.iter().for_each(|m| offer(m, SuggestionKind::Method)),
            Context::Qualified(q) => {
                for c in cache.columns.get(&q.to_lowercase()).into_iter().flatten() {
                    offer(&self.identifier(c), SuggestionKind::Column);
                }
                for t in cache.namespaces.get(&q.to_lowercase()).into_iter().flatten() {
                    offer(&self.identifier(&t.table.name), SuggestionKind::Table);
                }
            }
        }
        out.into_iter()
            .map(|(value, kind)| Suggestion { value, kind, start, end: pos })
            .collect()
    }

    /// How a name is written: bare when the engine would read it back as
    /// the same name, quoted otherwise.
    fn identifier(&self, name: &str) -> String {
        let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !words::KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name));
        if plain || matches!(self.syntax, Syntax::Mongo | Syntax::Redis) {
            return name.to_string();
        }
        match self.conn.dialect() {
            Some(d) => d.quote_identifier(name).unwrap_or_else(|_| name.to_string()),
            None => name.to_string(),
        }
    }

    fn context(&self, text: &str, pos: usize) -> Context {
        let (start, word) = word_at(text, pos, self.syntax);
        let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[line_start..pos];
        if let Some(cmd) = line.trim_start().strip_prefix('\\') {
            return match cmd.split_once(char::is_whitespace) {
                None => Context::Commands,
                Some(("c" | "connect", _)) => Context::Connections,
                Some((c, _)) if c.starts_with('d') => Context::Tables,
                Some(_) => Context::Nothing,
            };
        }
        if crate::input::is_open_literal(&text[..start], self.syntax) {
            return Context::Nothing;
        }
        match self.syntax {
            Syntax::Redis => {
                let before: Vec<&str> = text[..start].split_whitespace().collect();
                match before.as_slice() {
                    [] => Context::RedisCommands,
                    [cmd] if words::redis_takes_key(cmd) => Context::Keys,
                    _ => Context::Nothing,
                }
            }
            Syntax::Mongo => match word.matches('.').count() {
                1 if word.starts_with("db.") => Context::Collections,
                2 if word.starts_with("db.") => Context::Methods,
                _ => Context::Nothing,
            },
            Syntax::Sql(flavor) => sql_context(text, start, word, flavor),
        }
    }
}

/// The context of an SQL word starting at `start`.
fn sql_context(text: &str, start: usize, word: &str, flavor: Flavor) -> Context {
    if text[..start].ends_with(':') && !text[..start].ends_with("::") {
        return Context::Variables;
    }
    // The statement around the cursor: between the `;` before and after.
    let spans = lex(text, flavor);
    let from = spans
        .iter()
        .rfind(|s| s.end <= start && s.kind == TokenKind::Punct(';'))
        .map_or(0, |s| s.end);
    let to = spans
        .iter()
        .find(|s| s.start >= start && s.kind == TokenKind::Punct(';'))
        .map_or(text.len(), |s| s.start);
    let stmt: Vec<&Span> = spans.iter().filter(|s| s.start >= from && s.end <= to).collect();
    let before: Vec<&&Span> = stmt.iter().filter(|s| s.end <= start).collect();
    let named = named_tables(text, &stmt);
    if let Some((qualifier, _)) = word.rsplit_once('.') {
        // `o.` after `orders o`, or `orders.`: that table's columns.
        let unq = unquote(qualifier);
        return match named
            .iter()
            .find(|(_, alias)| alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&unq)))
        {
            Some((table, _)) => Context::Columns { tables: vec![table.clone()], wide: false },
            None => Context::Qualified(unq),
        };
    }
    let last = before.last().map(|s| s.text(text).to_ascii_uppercase());
    // The clause we are in: the last clause keyword before the cursor.
    let clause = before
        .iter()
        .rev()
        .map(|s| s.text(text).to_ascii_uppercase())
        .find(|w| CLAUSES.contains(&w.as_str()));
    match last.as_deref() {
        Some("FROM" | "JOIN" | "UPDATE" | "INTO" | "TABLE" | "DESCRIBE") => Context::Tables,
        Some(",") if clause.as_deref() == Some("FROM") => Context::Tables,
        None => Context::Columns { tables: Vec::new(), wide: true },
        _ => Context::Columns { tables: named.into_iter().map(|(t, _)| t).collect(), wide: true },
    }
}

const CLAUSES: &[&str] = &["SELECT", "FROM", "JOIN", "WHERE", "ON", "GROUP", "ORDER", "HAVING", "SET", "UPDATE", "INTO", "VALUES", "LIMIT"];

/// Tables a statement names after FROM, JOIN, UPDATE, INTO or a comma in a
/// FROM list, each with its alias.
fn named_tables(text: &str, stmt: &[&Span]) -> Vec<(TableRef, Option<String>)> {
    let mut out = Vec::new();
    let ident = |s: &Span| matches!(s.kind, TokenKind::Word | TokenKind::QuotedIdent);
    let mut in_from = false;
    for (i, s) in stmt.iter().enumerate() {
        let w = s.text(text).to_ascii_uppercase();
        if CLAUSES.contains(&w.as_str()) {
            in_from = w == "FROM";
        }
        let opens = matches!(w.as_str(), "FROM" | "JOIN" | "UPDATE" | "INTO") || (w == "," && in_from);
        if !opens {
            continue;
        }
        let Some(first) = stmt.get(i + 1).filter(|t| ident(t)) else { continue };
        // `ns.table`: three adjacent tokens.
        let (name, mut next) = match (stmt.get(i + 2), stmt.get(i + 3)) {
            (Some(dot), Some(t)) if dot.kind == TokenKind::Punct('.') && ident(t) => (
                TableRef::qualified(unquote(first.text(text)), unquote(t.text(text))),
                i + 4,
            ),
            _ => (TableRef::new(unquote(first.text(text))), i + 2),
        };
        if stmt.get(next).is_some_and(|t| t.text(text).eq_ignore_ascii_case("AS")) {
            next += 1;
        }
        let alias = stmt
            .get(next)
            .filter(|t| ident(t) && !words::KEYWORDS.iter().any(|k| t.text(text).eq_ignore_ascii_case(k)))
            .map(|t| unquote(t.text(text)));
        out.push((name, alias));
    }
    out
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && matches!((b[0], b[b.len() - 1]), (b'"', b'"') | (b'`', b'`') | (b'[', b']')) {
        let q = b[0] as char;
        let inner = &s[1..s.len() - 1];
        return if q == '[' { inner.to_string() } else { inner.replace(&format!("{q}{q}"), &q.to_string()) };
    }
    s.to_string()
}

/// A keyword or function in the case the user is typing in.
fn case_like(word: &str, typed: &str, upper_by_default: bool) -> String {
    let lower_typed = typed.chars().any(|c| c.is_ascii_lowercase());
    let upper_typed = typed.chars().any(|c| c.is_ascii_uppercase());
    if lower_typed && !upper_typed {
        word.to_lowercase()
    } else if upper_typed || upper_by_default {
        word.to_uppercase()
    } else {
        word.to_lowercase()
    }
}

/// The word ending at `pos`: identifier characters, dots and quotes (and,
/// for Redis keys, anything but blanks).
fn word_at(text: &str, pos: usize, syntax: Syntax) -> (usize, &str) {
    let before = &text[..pos];
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| match syntax {
            Syntax::Redis => c.is_whitespace(),
            _ => !(c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '`' | '$')),
        })
        .map_or(0, |(i, c)| i + c.len_utf8());
    (start, &text[start..pos])
}

fn floor_boundary(text: &str, pos: usize) -> usize {
    let mut p = pos.min(text.len());
    while !text.is_char_boundary(p) {
        p -= 1;
    }
    p
}

/// A Redis MATCH pattern that matches `prefix` literally.
fn glob_escape(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}
