//! Backslash commands, the same on every engine, in the psql and usql
//! spirit. Parsing is separate from running so a GUI can offer the same
//! commands from a menu.

use std::path::PathBuf;

use qore_core::{Error, Result};

/// When rows are shown one field per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expanded {
    /// Always a table.
    #[default]
    Off,
    /// Always one block per record.
    On,
    /// A table unless a row is wider than the screen.
    Auto,
}

impl Expanded {
    /// Its name, as `\x` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Expanded::Off => "off",
            Expanded::On => "on",
            Expanded::Auto => "auto",
        }
    }
}

/// The formats results can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// A table fitted to the screen.
    #[default]
    Table,
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl OutputFormat {
    /// Every format, by name.
    pub const ALL: [(&'static str, OutputFormat); 5] = [
        ("table", OutputFormat::Table),
        ("csv", OutputFormat::Csv),
        ("tsv", OutputFormat::Tsv),
        ("json", OutputFormat::Json),
        ("ndjson", OutputFormat::Ndjson),
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, f)| *f == self).map_or("table", |(n, _)| n)
    }
}

/// A parsed backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meta {
    /// `\d [NAME]`: describe a table or view, or list relations.
    Describe(Option<String>),
    /// `\dt [PATTERN]`: tables.
    Tables(Option<String>),
    /// `\dv [PATTERN]`: views.
    Views(Option<String>),
    /// `\di [PATTERN]`: indexes.
    Indexes(Option<String>),
    /// `\df [PATTERN]`: routines.
    Functions(Option<String>),
    /// `\dn`: namespaces (schemas; databases on MySQL).
    Namespaces,
    /// `\l`: databases.
    Databases,
    /// `\c URL|NAME`: switch connection.
    Connect(String),
    /// `\x [on|off|auto]`: expanded display (toggles without an argument).
    Expanded(Option<Expanded>),
    /// `\timing [on|off]`: show how long statements take (toggles).
    Timing(Option<bool>),
    /// `\format [FORMAT]`: the result format (shows it without an argument).
    Format(Option<OutputFormat>),
    /// `\o [FILE]`: results to a file; without one, back to the screen.
    Output(Option<PathBuf>),
    /// `\e`: edit the last statement in `$EDITOR`.
    Edit,
    /// `\i FILE`: run a script.
    Include(PathBuf),
    /// `\set [NAME [VALUE]]`: set a variable (lists them without a name).
    Set(Option<(String, String)>),
    /// `\unset NAME`.
    Unset(String),
    /// `\export FILE`: the last result into a file, in the format its
    /// extension names, through the export pipeline.
    Export(PathBuf),
    /// `\q`: quit.
    Quit,
    /// `\?`: help.
    Help,
}

/// The commands and what they do, for `\?` and completion.
pub const COMMANDS: &[(&str, &str)] = &[
    ("\\d", "[NAME]  describe a table or view (no name: list tables and views)"),
    ("\\dt", "[PATTERN]  list tables"),
    ("\\dv", "[PATTERN]  list views"),
    ("\\di", "[PATTERN]  list indexes"),
    ("\\df", "[PATTERN]  list routines"),
    ("\\dn", "list namespaces (schemas)"),
    ("\\l", "list databases"),
    ("\\c", "URL|NAME  connect to another database"),
    ("\\x", "[on|off|auto]  expanded rows"),
    ("\\timing", "[on|off]  show how long each statement takes"),
    ("\\format", "[table|csv|tsv|json|ndjson]  result format"),
    ("\\o", "[FILE]  send results to FILE (no FILE: back to the screen)"),
    ("\\e", "edit the last statement in $EDITOR, then run it"),
    ("\\i", "FILE  run the statements in FILE"),
    ("\\set", "[NAME [VALUE]]  set a variable, used as :NAME, :'NAME', :\"NAME\""),
    ("\\unset", "NAME  remove a variable"),
    ("\\export", "FILE  write the last result to FILE (.csv .tsv .json .ndjson .parquet .xlsx .html .sql ...)"),
    ("\\q", "quit (also Ctrl-D)"),
    ("\\?", "this help"),
];

/// The text `\?` shows.
pub fn help() -> String {
    let mut s = String::from("Backslash commands (the same on every engine):\n");
    for (cmd, what) in COMMANDS {
        s.push_str(&format!("  {cmd:<9} {what}\n"));
    }
    s.push_str(
        "Statements end with ; (MongoDB: a closed bracket at the end of a line; Redis: each line).\n\
         BEGIN ... COMMIT spans statements; Ctrl-C cancels a running statement; Ctrl-D quits.\n",
    );
    s
}

/// Splits arguments at blanks; `'...'` keeps blanks (`''` is a quote).
fn args(text: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(out);
        };
        let mut arg = String::new();
        if first == '\'' {
            chars.next();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        arg.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => arg.push(c),
                    None => return Err(Error::invalid(format!("unterminated quote in `{text}`"))),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        out.push(arg);
    }
}

fn on_off(cmd: &str, a: Option<&String>) -> Result<Option<bool>> {
    match a.map(|s| s.to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("on" | "true" | "1") => Ok(Some(true)),
        Some("off" | "false" | "0") => Ok(Some(false)),
        Some(other) => Err(Error::invalid(format!("{cmd} takes on or off, not `{other}`"))),
    }
}

/// Parses one backslash command line.
pub fn parse(line: &str) -> Result<Meta> {
    let line = line.trim();
    let Some(body) = line.strip_prefix('\\') else {
        return Err(Error::invalid(format!("`{line}` is not a backslash command")));
    };
    let (cmd, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    let a = args(rest)?;
    let one = |what: &str| -> Result<String> {
        match a.as_slice() {
            [x] => Ok(x.clone()),
            [] => Err(Error::invalid(format!("\\{cmd} needs {what}"))),
            _ => Err(Error::invalid(format!("\\{cmd} takes one {what}, got {}", a.len()))),
        }
    };
    let optional = |what: &str| -> Result<Option<String>> {
        match a.as_slice() {
            [] => Ok(None),
            [x] => Ok(Some(x.clone())),
            _ => Err(Error::invalid(format!("\\{cmd} takes at most one {what}, got {}", a.len()))),
        }
    };
    Ok(match cmd {
        "d" | "d+" => Meta::Describe(optional("name")?),
        "dt" | "dt+" => Meta::Tables(optional("pattern")?),
        "dv" | "dv+" => Meta::Views(optional("pattern")?),
        "di" | "di+" => Meta::Indexes(optional("pattern")?),
        "df" | "df+" => Meta::Functions(optional("pattern")?),
        "dn" | "dn+" => Meta::Namespaces,
        "l" | "l+" | "list" => Meta::Databases,
        "c" | "connect" => Meta::Connect(one("URL or saved connection name")?),
        "x" => Meta::Expanded(match optional("mode")?.map(|s| s.to_ascii_lowercase()).as_deref() {
            None => None,
            Some("on") => Some(Expanded::On),
            Some("off") => Some(Expanded::Off),
            Some("auto") => Some(Expanded::Auto),
            Some(o) => return Err(Error::invalid(format!("\\x takes on, off or auto, not `{o}`"))),
        }),
        "timing" => Meta::Timing(on_off("\\timing", a.first())?),
        "format" | "pset" => Meta::Format(match optional("format")? {
            None => None,
            Some(f) => Some(
                OutputFormat::ALL
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&f))
                    .map(|(_, f)| *f)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "unknown format `{f}`: use table, csv, tsv, json or ndjson"
                        ))
                    })?,
            ),
        }),
        "o" | "out" => Meta::Output(optional("file")?.map(PathBuf::from)),
        "e" | "edit" => Meta::Edit,
        "i" | "include" => Meta::Include(PathBuf::from(one("file")?)),
        "set" => match a.split_first() {
            None => Meta::Set(None),
            Some((name, value)) => {
                if !crate::vars::is_name(name) {
                    return Err(Error::invalid(format!(
                        "`{name}` is not a variable name: use letters, digits and _"
                    )));
                }
                Meta::Set(Some((name.clone(), value.join(" "))))
            }
        },
        "unset" => Meta::Unset(one("variable name")?),
        "export" => Meta::Export(PathBuf::from(one("file")?)),
        "q" | "quit" => Meta::Quit,
        "?" | "h" | "help" => Meta::Help,
        _ => {
            return Err(Error::invalid(format!(
                "unknown command \\{cmd}: \\? lists the commands"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(parse("\\d orders").unwrap(), Meta::Describe(Some("orders".into())));
        assert_eq!(parse("\\d").unwrap(), Meta::Describe(None));
        assert_eq!(parse("\\x auto").unwrap(), Meta::Expanded(Some(Expanded::Auto)));
        assert_eq!(parse("\\x").unwrap(), Meta::Expanded(None));
        assert_eq!(parse("\\timing off").unwrap(), Meta::Timing(Some(false)));
        assert_eq!(
            parse("\\set who 'O''Brien and co'").unwrap(),
            Meta::Set(Some(("who".into(), "O'Brien and co".into())))
        );
        assert_eq!(parse("\\set a b c").unwrap(), Meta::Set(Some(("a".into(), "b c".into()))));
        assert_eq!(parse("\\format CSV").unwrap(), Meta::Format(Some(OutputFormat::Csv)));
        assert_eq!(parse("\\o").unwrap(), Meta::Output(None));
        assert_eq!(parse("\\c sqlite:a.db").unwrap(), Meta::Connect("sqlite:a.db".into()));
    }

    #[test]
    fn bad_input_is_named() {
        let e = parse("\\zz").unwrap_err().to_string();
        assert!(e.contains("unknown command \\zz"), "{e}");
        let e = parse("\\x sideways").unwrap_err().to_string();
        assert!(e.contains("sideways"), "{e}");
        let e = parse("\\c").unwrap_err().to_string();
        assert!(e.contains("\\c needs"), "{e}");
        let e = parse("\\i 'open").unwrap_err().to_string();
        assert!(e.contains("unterminated"), "{e}");
        let e = parse("\\format xml").unwrap_err().to_string();
        assert!(e.contains("unknown format `xml`"), "{e}");
    }
}
