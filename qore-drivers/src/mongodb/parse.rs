//! What a user types to MongoDB: a command document in (relaxed) Extended
//! JSON, or the mongosh shorthand `db.users.find({...}).sort({...}).limit(5)`.
//!
//! Parsed strictly, never evaluated: relaxed JSON (unquoted keys, single
//! quotes, trailing commas) plus the shell's constructors (`ObjectId("..")`,
//! `ISODate("..")`, `NumberLong(..)`, `NumberInt(..)`, `NumberDecimal("..")`,
//! `new Date(..)`, `/regex/flags`). Errors point at the character position.

use mongodb::bson::{self, Bson, Document, doc};
use qore_core::{Error, Result};

/// A parsed request: a database command, and how to run it and read its
/// reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// The command document (its first key names the command).
    pub(crate) command: Document,
    /// `find`/`aggregate`/`list*`: stream the cursor's documents.
    pub(crate) cursor: bool,
    /// `distinct`: one row per value of the reply's `values`.
    pub(crate) distinct: bool,
    /// `findOne`: only the first document.
    pub(crate) one: bool,
    /// Runs against the `admin` database (`db.adminCommand`,
    /// `renameCollection`, `listDatabases`, ...).
    pub(crate) admin: bool,
    /// `renameCollection` from the shorthand: its collection names are
    /// qualified with the current database's name when it runs.
    pub(crate) qualify: bool,
    /// `findAndModify`: the row is the reply's `value` (none when nothing
    /// matched).
    pub(crate) value: bool,
}

/// Commands MongoDB only runs against the `admin` database.
const ADMIN_COMMANDS: [&str; 6] = [
    "renameCollection",
    "listDatabases",
    "shutdown",
    "fsync",
    "getParameter",
    "setParameter",
];

impl Request {
    /// A command document as given: how it runs follows from its name.
    pub(crate) fn of(command: Document) -> Self {
        let name = command.keys().next().cloned().unwrap_or_default();
        Request {
            cursor: CURSOR_COMMANDS.contains(&name.as_str()),
            distinct: name == "distinct",
            one: false,
            admin: ADMIN_COMMANDS.contains(&name.as_str()),
            qualify: false,
            value: false,
            command,
        }
    }
}

/// An error at byte offset `pos`, reported as a 1-based character position.
pub(super) fn err_at(input: &str, pos: usize, msg: impl std::fmt::Display) -> Error {
    let pos = pos.min(input.len());
    let before = input.get(..pos).unwrap_or(input);
    let shown: String = input.get(pos..).unwrap_or("").chars().take(20).collect();
    Error::invalid(format!(
        "{msg} at position {} (near `{shown}`)",
        before.chars().count() + 1
    ))
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Documents and arrays open around the current position.
    depth: usize,
}

/// How deep documents and arrays may nest: MongoDB's own limit for a
/// command (BSON deeper than this is refused by the server anyway). The
/// parser recurses per level, so the limit also keeps hostile input from
/// exhausting the stack.
pub(crate) const MAX_DEPTH: usize = 200;

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            b: src.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn err(&self, msg: impl std::fmt::Display) -> Error {
        err_at(self.src, self.pos, msg)
    }

    fn ws(&mut self) {
        loop {
            while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.b[self.pos..].starts_with(b"//") {
                while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else if self.b[self.pos..].starts_with(b"/*") {
                match self.src[self.pos + 2..].find("*/") {
                    Some(end) => self.pos += end + 4,
                    None => self.pos = self.b.len(),
                }
            } else {
                return;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{}`", c as char)))
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.pos;
        while self.pos < self.b.len()
            && (self.b[self.pos].is_ascii_alphanumeric() || matches!(self.b[self.pos], b'_' | b'$'))
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.src[start..self.pos])
    }

    fn string(&mut self) -> Result<String> {
        self.ws();
        let quote = match self.b.get(self.pos) {
            Some(&q @ (b'"' | b'\'')) => q,
            Some(_) => return Err(self.err("expected a quoted string")),
            None => return Err(self.err("expected a quoted string, found the end")),
        };
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.src[self.pos..].chars().next() else {
                return Err(err_at(self.src, start, "unterminated string"));
            };
            self.pos += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => return Ok(out),
                '\\' => {
                    let Some(e) = self.src[self.pos..].chars().next() else {
                        return Err(err_at(self.src, start, "unterminated string"));
                    };
                    self.pos += e.len_utf8();
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        '0' => out.push('\0'),
                        'u' => {
                            let hex = self
                                .src
                                .get(self.pos..self.pos + 4)
                                .ok_or_else(|| self.err("bad \\u escape"))?;
                            let mut code = u32::from_str_radix(hex, 16)
                                .map_err(|_| self.err("bad \\u escape"))?;
                            self.pos += 4;
                            if (0xD800..0xDC00).contains(&code)
                                && self.src[self.pos..].starts_with("\\u")
                            {
                                let lo = self
                                    .src
                                    .get(self.pos + 2..self.pos + 6)
                                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                                if let Some(lo @ 0xDC00..=0xDFFF) = lo {
                                    code = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                                    self.pos += 6;
                                }
                            }
                            out.push(
                                char::from_u32(code).ok_or_else(|| self.err("bad \\u escape"))?,
                            );
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn number(&mut self) -> Result<Bson> {
        self.ws();
        let start = self.pos;
        if matches!(self.b.get(self.pos), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        let mut float = false;
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b'0'..=b'9' => {}
                b'.' | b'e' | b'E' => float = true,
                b'-' | b'+' if matches!(self.b[self.pos - 1], b'e' | b'E') => {}
                _ => break,
            }
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        if !float && let Ok(i) = text.parse::<i64>() {
            return Ok(i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i)));
        }
        text.parse::<f64>()
            .map(Bson::Double)
            .map_err(|_| err_at(self.src, start, format!("`{text}` is not a number")))
    }

    /// Enters a document or array; errors past [`MAX_DEPTH`].
    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!(
                "documents and arrays nest more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Bson> {
        match self.peek() {
            None => Err(self.err("expected a value, found the end")),
            Some(b'{') => Ok(Bson::Document(self.document()?)),
            Some(b'[') => {
                self.nest()?;
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if self.eat(b']') {
                        self.depth -= 1;
                        return Ok(Bson::Array(items));
                    }
                    items.push(self.value()?);
                    if !self.eat(b',') {
                        self.expect(b']')?;
                        self.depth -= 1;
                        return Ok(Bson::Array(items));
                    }
                }
            }
            Some(b'"' | b'\'') => Ok(Bson::String(self.string()?)),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.') => self.number(),
            Some(b'/') => {
                let start = self.pos;
                self.pos += 1;
                let mut pattern = String::new();
                loop {
                    let Some(c) = self.src[self.pos..].chars().next() else {
                        return Err(err_at(self.src, start, "unterminated regular expression"));
                    };
                    self.pos += c.len_utf8();
                    match c {
                        '/' => break,
                        '\\' => {
                            pattern.push('\\');
                            if let Some(e) = self.src[self.pos..].chars().next() {
                                pattern.push(e);
                                self.pos += e.len_utf8();
                            }
                        }
                        c => pattern.push(c),
                    }
                }
                let fstart = self.pos;
                while self.pos < self.b.len() && self.b[self.pos].is_ascii_alphabetic() {
                    self.pos += 1;
                }
                let mut flags: Vec<char> = self.src[fstart..self.pos].chars().collect();
                flags.sort_unstable();
                Ok(Bson::RegularExpression(bson::Regex {
                    pattern,
                    options: flags.into_iter().collect(),
                }))
            }
            Some(_) => {
                let start = self.pos;
                let word = self
                    .ident()
                    .ok_or_else(|| self.err("unexpected character"))?;
                match word {
                    "true" => Ok(Bson::Boolean(true)),
                    "false" => Ok(Bson::Boolean(false)),
                    "null" => Ok(Bson::Null),
                    "undefined" => Ok(Bson::Undefined),
                    "Infinity" => Ok(Bson::Double(f64::INFINITY)),
                    "NaN" => Ok(Bson::Double(f64::NAN)),
                    "MinKey" => self.call_empty(Bson::MinKey),
                    "MaxKey" => self.call_empty(Bson::MaxKey),
                    "new" => {
                        let Some(ctor) = self.ident() else {
                            return Err(self.err("expected a constructor after `new`"));
                        };
                        self.constructor(ctor, start)
                    }
                    other => self.constructor(other, start),
                }
            }
        }
    }

    fn call_empty(&mut self, v: Bson) -> Result<Bson> {
        if self.eat(b'(') {
            self.expect(b')')?;
        }
        Ok(v)
    }

    fn constructor(&mut self, name: &str, start: usize) -> Result<Bson> {
        self.expect(b'(')?;
        self.nest()?;
        let arg = if self.peek() == Some(b')') {
            None
        } else {
            Some(self.value()?)
        };
        self.expect(b')')?;
        self.depth -= 1;
        let bad = |what: &str| err_at(self.src, start, format!("{name}(...) needs {what}"));
        Ok(match (name, arg) {
            ("ObjectId", Some(Bson::String(s))) => Bson::ObjectId(
                bson::oid::ObjectId::parse_str(&s).map_err(|_| bad("24 hex digits"))?,
            ),
            ("ObjectId", None) => Bson::ObjectId(bson::oid::ObjectId::new()),
            ("ISODate" | "Date", Some(Bson::String(s))) => Bson::DateTime(
                bson::DateTime::parse_rfc3339_str(&s)
                    .or_else(|_| bson::DateTime::parse_rfc3339_str(format!("{s}T00:00:00Z")))
                    .map_err(|_| bad("an ISO 8601 date"))?,
            ),
            ("ISODate" | "Date", Some(Bson::Int32(ms))) => {
                Bson::DateTime(bson::DateTime::from_millis(i64::from(ms)))
            }
            ("ISODate" | "Date", Some(Bson::Int64(ms))) => {
                Bson::DateTime(bson::DateTime::from_millis(ms))
            }
            ("ISODate" | "Date", None) => Bson::DateTime(bson::DateTime::now()),
            ("NumberLong", Some(Bson::String(s))) => {
                Bson::Int64(s.parse().map_err(|_| bad("an integer"))?)
            }
            ("NumberLong", Some(Bson::Int32(i))) => Bson::Int64(i64::from(i)),
            ("NumberLong", Some(Bson::Int64(i))) => Bson::Int64(i),
            ("NumberInt", Some(Bson::String(s))) => {
                Bson::Int32(s.parse().map_err(|_| bad("a 32-bit integer"))?)
            }
            ("NumberInt", Some(Bson::Int32(i))) => Bson::Int32(i),
            ("NumberDecimal", Some(Bson::String(s))) => {
                Bson::Decimal128(s.parse().map_err(|_| bad("a decimal string"))?)
            }
            ("NumberDecimal", Some(Bson::Int32(i))) => {
                Bson::Decimal128(i.to_string().parse().map_err(|_| bad("a decimal"))?)
            }
            ("UUID", Some(Bson::String(s))) => Bson::Binary(bson::Binary::from_uuid(
                bson::Uuid::parse_str(&s).map_err(|_| bad("a UUID"))?,
            )),
            _ => {
                return Err(err_at(
                    self.src,
                    start,
                    format!("`{name}(...)` is not understood here (no JavaScript is evaluated)"),
                ));
            }
        })
    }

    fn document(&mut self) -> Result<Document> {
        self.expect(b'{')?;
        self.nest()?;
        let mut d = Document::new();
        loop {
            if self.eat(b'}') {
                self.depth -= 1;
                return Ok(d);
            }
            let key = match self.peek() {
                Some(b'"' | b'\'') => self.string()?,
                _ => self
                    .ident()
                    .map(str::to_string)
                    .ok_or_else(|| self.err("expected a key"))?,
            };
            self.expect(b':')?;
            let v = self.value()?;
            d.insert(key, v);
            if !self.eat(b',') {
                self.expect(b'}')?;
                self.depth -= 1;
                return Ok(d);
            }
        }
    }

    fn end(&mut self) -> Result<()> {
        self.eat(b';');
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err("unexpected text after the end")),
        }
    }
}

/// Turns Extended JSON wrappers (`{"$oid": ...}`, `{"$date": ...}`,
/// `{"$numberLong": ...}`, ...) into their BSON values, everywhere.
fn ejson(v: Bson) -> Result<Bson> {
    const WRAPPERS: [&str; 15] = [
        "$oid",
        "$date",
        "$numberLong",
        "$numberInt",
        "$numberDouble",
        "$numberDecimal",
        "$binary",
        "$uuid",
        "$timestamp",
        "$regularExpression",
        "$minKey",
        "$maxKey",
        "$undefined",
        "$symbol",
        "$code",
    ];
    Ok(match v {
        Bson::Document(d) => {
            if d.len() <= 2
                && d.keys()
                    .next()
                    .is_some_and(|k| WRAPPERS.contains(&k.as_str()))
            {
                let json = Bson::Document(d).into_relaxed_extjson();
                return Bson::try_from(json)
                    .map_err(|e| Error::invalid(format!("bad Extended JSON value: {e}")));
            }
            let mut out = Document::new();
            for (k, v) in d {
                out.insert(k, ejson(v)?);
            }
            Bson::Document(out)
        }
        Bson::Array(a) => Bson::Array(a.into_iter().map(ejson).collect::<Result<_>>()?),
        other => other,
    })
}

fn ejson_doc(d: Document) -> Result<Document> {
    match ejson(Bson::Document(d))? {
        Bson::Document(d) => Ok(d),
        _ => Err(Error::invalid("expected a document")),
    }
}

pub(super) const CURSOR_COMMANDS: [&str; 5] = [
    "find",
    "aggregate",
    "listCollections",
    "listIndexes",
    "listSearchIndexes",
];

/// Parses what the user typed.
///
/// # Error handling
///
/// [`Error::InvalidInput`] naming what was not understood and where.
pub(crate) fn parse(input: &str) -> Result<Request> {
    let t = input.trim_start();
    let offset = input.len() - t.len();
    let mut lx = Lexer::new(input);
    lx.pos = offset;
    if t.starts_with('{') {
        let command = ejson_doc(lx.document()?)?;
        lx.end()?;
        let name = command.keys().next().cloned().unwrap_or_default();
        let mut command = command;
        if name == "aggregate" && !command.contains_key("cursor") {
            command.insert("cursor", doc! {});
        }
        return Ok(Request::of(command));
    }
    if !t.starts_with("db.") && !t.starts_with("db[") {
        return Err(err_at(
            input,
            offset,
            "expected a command document `{...}` or `db.collection.method(...)`",
        ));
    }
    lx.pos += 2;
    // db.runCommand({...}) / db.getCollectionNames() / db.coll.method(...)
    let collection = if lx.eat(b'[') {
        let name = lx.string()?;
        lx.expect(b']')?;
        name
    } else {
        lx.expect(b'.')?;
        let first = lx
            .ident()
            .ok_or_else(|| lx.err("expected a collection name"))?
            .to_string();
        if first == "getCollection" && lx.peek() == Some(b'(') {
            lx.expect(b'(')?;
            let name = lx.string()?;
            lx.expect(b')')?;
            name
        } else if lx.peek() == Some(b'(') {
            return db_method(&mut lx, &first);
        } else {
            first
        }
    };
    lx.expect(b'.')?;
    let method_pos = lx.pos;
    let method = lx
        .ident()
        .ok_or_else(|| lx.err("expected a method name"))?
        .to_string();
    let args = call_args(&mut lx)?
        .into_iter()
        .map(ejson)
        .collect::<Result<Vec<Bson>>>()?;
    let mut req =
        super::methods::collection_method(input, method_pos, &collection, &method, &args)?;
    // Cursor modifiers: .sort() .limit() .skip() .projection() .batchSize()
    while lx.eat(b'.') {
        let pos = lx.pos;
        let m = lx
            .ident()
            .ok_or_else(|| lx.err("expected a method name"))?
            .to_string();
        let a = call_args(&mut lx)?;
        let first = a.into_iter().next().map(ejson).transpose()?;
        let find = req.command.contains_key("find");
        let agg = req.command.contains_key("aggregate");
        match (m.as_str(), first) {
            ("sort", Some(Bson::Document(d))) if find => {
                req.command.insert("sort", d);
            }
            ("projection" | "project", Some(Bson::Document(d))) if find => {
                req.command.insert("projection", d);
            }
            ("limit", Some(n @ (Bson::Int32(_) | Bson::Int64(_)))) if find => {
                req.command.insert("limit", n);
            }
            ("skip", Some(n @ (Bson::Int32(_) | Bson::Int64(_)))) if find => {
                req.command.insert("skip", n);
            }
            ("batchSize", Some(n @ (Bson::Int32(_) | Bson::Int64(_)))) if find => {
                req.command.insert("batchSize", n);
            }
            ("toArray" | "pretty", None) if find || agg => {}
            (m, _) => {
                return Err(err_at(
                    input,
                    pos,
                    format!("`.{m}(...)` cannot follow this call (or has the wrong argument)"),
                ));
            }
        }
    }
    lx.end()?;
    Ok(req)
}

fn call_args(lx: &mut Lexer<'_>) -> Result<Vec<Bson>> {
    lx.expect(b'(')?;
    let mut args = Vec::new();
    loop {
        if lx.eat(b')') {
            return Ok(args);
        }
        args.push(lx.value()?);
        if !lx.eat(b',') {
            lx.expect(b')')?;
            return Ok(args);
        }
    }
}

fn db_method(lx: &mut Lexer<'_>, name: &str) -> Result<Request> {
    let pos = lx.pos;
    let args = call_args(lx)?;
    let req = match name {
        "runCommand" | "adminCommand" => {
            let mut req = match args.into_iter().next().map(ejson).transpose()? {
                Some(Bson::Document(d)) => Request::of(d),
                Some(Bson::String(s)) => Request::of(doc! { s: 1 }),
                _ => return Err(lx.err(format!("{name} takes a command document"))),
            };
            req.admin |= name == "adminCommand";
            req
        }
        "getCollectionNames" | "getCollectionInfos" => {
            let mut req = Request::of(
                doc! { "listCollections": 1, "nameOnly": name == "getCollectionNames" },
            );
            req.cursor = true;
            req
        }
        "stats" => Request::of(doc! { "dbStats": 1 }),
        "dropDatabase" => Request::of(doc! { "dropDatabase": 1 }),
        other => {
            return Err(err_at(
                lx.src,
                pos,
                format!("`db.{other}()` is not a database method qore understands"),
            ));
        }
    };
    lx.end()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shorthand_becomes_commands() {
        let r = parse(
            "db.users.find({age: {$gt: 30}, name: 'ann'}, {_id: 0}).sort({age: -1}).limit(5)",
        )
        .unwrap();
        assert_eq!(
            r.command,
            doc! { "find": "users", "filter": { "age": { "$gt": 30 }, "name": "ann" }, "projection": { "_id": 0 }, "sort": { "age": -1 }, "limit": 5 }
        );
        assert!(r.cursor);
        let r = parse("db.orders.aggregate([{$group: {_id: '$c', n: {$sum: 1}}},])").unwrap();
        assert_eq!(r.command.get_str("aggregate").unwrap(), "orders");
        let r = parse(r#"{"find": "u", "filter": {"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "at": {"$date": "2024-01-01T00:00:00Z"}}}"#).unwrap();
        let f = r.command.get_document("filter").unwrap();
        assert!(matches!(f.get("_id"), Some(Bson::ObjectId(_))));
        assert!(matches!(f.get("at"), Some(Bson::DateTime(_))));
        let r = parse("db.t.insertOne({_id: ObjectId('65a1b2c3d4e5f60718293a4b'), n: NumberLong(5), d: ISODate('2024-01-02'), re: /ab+c/i})").unwrap();
        let d = r.command.get_array("documents").unwrap()[0]
            .as_document()
            .unwrap()
            .clone();
        assert_eq!(d.get("n"), Some(&Bson::Int64(5)));
        assert!(matches!(d.get("re"), Some(Bson::RegularExpression(_))));
        assert!(
            parse("db.t.countDocuments({})")
                .unwrap()
                .command
                .contains_key("count")
        );
        assert!(parse("db.t.distinct('x')").unwrap().distinct);
        assert!(parse("db.runCommand({ping: 1})").is_ok());
        for bare in [
            "db.t.insertOne()",
            "db.t.deleteMany()",
            "db.t.deleteOne()",
            "db.t.updateMany()",
        ] {
            let e = parse(bare).unwrap_err().to_string();
            assert!(e.contains("is missing"), "{bare}: {e}");
        }
        assert!(parse("db.t.deleteMany({})").is_ok());
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("db.users.find({age: })").unwrap_err().to_string();
        assert!(e.contains("position 21"), "{e}");
        let e = parse("db.users.frobnicate()").unwrap_err().to_string();
        assert!(e.contains("frobnicate") && e.contains("position 10"), "{e}");
        let e = parse("db.users.find({}).sort(1)").unwrap_err().to_string();
        assert!(e.contains(".sort"), "{e}");
        assert!(
            parse("SELECT 1")
                .unwrap_err()
                .to_string()
                .contains("db.collection")
        );
        assert!(
            parse("db.t.find({a: eval('x')})")
                .unwrap_err()
                .to_string()
                .contains("no JavaScript")
        );
        assert!(
            parse("{find: 't'} trailing")
                .unwrap_err()
                .to_string()
                .contains("after the end")
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        for (open, close) in [("{a:", "}"), ("[", "]"), ("ObjectId(", ")")] {
            let deep = format!(
                "db.c.find({{x:{}1{}}})",
                open.repeat(10_000),
                close.repeat(10_000)
            );
            let e = parse(&deep).unwrap_err().to_string();
            assert!(e.contains("nest more than 200"), "{e}");
            let cmd = format!(
                "{{\"find\": \"c\", \"filter\": {{\"x\": {}1{}}}}}",
                open.repeat(50_000),
                close.repeat(50_000)
            );
            assert!(parse(&cmd).is_err());
        }
        let ok = format!("db.c.find({{x:{}1{}}})", "{a:".repeat(150), "}".repeat(150));
        assert!(parse(&ok).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Thousands of shorthand lines built from the grammar's pieces.
        #[test]
        fn shorthand_pieces_never_panic(pieces in proptest::collection::vec(
            "(db|\\.|c|find|aggregate|insertOne|deleteMany|updateOne|sort|limit|\\(|\\)|\\{|\\}|\\[|\\]|:|,|'|\"|\\$gt|1|-1|1e999|ObjectId|ISODate|NumberLong|/a/i|new| |true|null|;|//|/\\*)",
            0..40,
        )) {
            let _ = parse(&pieces.concat());
        }

        /// Never a panic, whatever the input, including deep nesting.
        #[test]
        fn no_panic_deep(depth in 0usize..3000, open in "[\\[{(a:]{1,3}") {
            let s = open.repeat(depth);
            let _ = parse(&format!("db.c.find({s})"));
            let _ = parse(&format!("{{{s}"));
        }

        /// Never a panic, whatever the input.
        #[test]
        fn no_panic(s in "\\PC{0,60}") {
            let _ = parse(&s);
            let _ = parse(&format!("db.c.find({s})"));
            let _ = parse(&format!("{{{s}}}"));
        }

        /// Any string survives single- or double-quoted JSON escaping.
        #[test]
        fn strings_round_trip(s in "\\PC{0,30}") {
            let json = serde_json::to_string(&s).unwrap();
            let r = parse(&format!("db.c.find({{k: {json}}})")).unwrap();
            prop_assert_eq!(r.command.get_document("filter").unwrap().get_str("k").unwrap(), s.as_str());
        }
    }
}
