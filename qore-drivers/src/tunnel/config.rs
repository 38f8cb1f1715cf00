//! `~/.ssh/config` host aliases, read the way OpenSSH reads them: `Host`
//! blocks with `*` / `?` patterns and `!` negations, the first value found
//! for each setting wins (so specific blocks go first and `Host *` last),
//! `IdentityFile` accumulates, `Include` pulls in other files (relative to
//! `~/.ssh`, `*` in the file name). Only what a tunnel needs is kept:
//! `HostName`, `User`, `Port`, `IdentityFile`, `ProxyJump`,
//! `UserKnownHostsFile`. `Match` blocks are skipped (they need
//! information, such as the local user's groups or a command's result,
//! that a library should not go looking for); the settings they hold do
//! not apply.

use std::path::{Path, PathBuf};

use qore_core::{Error, Result};

/// What the config says about one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`: the real host (`%h` replaced by the alias).
    pub host_name: Option<String>,
    /// `User`.
    pub user: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// `IdentityFile`s, in order (`~` expanded, `%h`/`%u`/`%r` replaced).
    pub identity_files: Vec<PathBuf>,
    /// `ProxyJump`, as written (`none` read as no jump).
    pub proxy_jump: Option<String>,
    /// `UserKnownHostsFile` (its first file).
    pub known_hosts: Option<PathBuf>,
}

/// One setting line, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// The patterns of the `Host` block it is in (`None`: before any block,
    /// or in a `Match` block, which is skipped).
    block: Block,
    key: String,
    value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Global,
    Host(Vec<String>),
    Match,
}

/// A parsed config: its setting lines, `Include`s already in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshConfig {
    lines: Vec<Line>,
}

/// Splits a line into its keyword and value: `Key value`, `Key=value`,
/// `Key = "quoted value"`.
fn split(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(line.len());
    let key = line[..end].to_ascii_lowercase();
    let mut rest = line[end..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    Some((key, rest.trim_end().to_string()))
}

/// The words of a value: whitespace-separated, `"..."` keeping spaces.
fn words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default()
}

fn expand(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None if p == "~" => home(),
        None => PathBuf::from(p),
    }
}

impl SshConfig {
    /// Reads `~/.ssh/config`; an absent file is an empty config.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] for a file that exists and cannot be read.
    pub fn load_default() -> Result<SshConfig> {
        SshConfig::load(&home().join(".ssh").join("config"))
    }

    /// Reads `path` and the files it includes; an absent file is an empty config.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] for a file that exists and cannot be read;
    /// [`Error::InvalidInput`] for includes nested more than 16 deep.
    pub fn load(path: &Path) -> Result<SshConfig> {
        let mut c = SshConfig::default();
        c.read_file(path, &Block::Global, 0)?;
        Ok(c)
    }

    /// Reads config text (`Include`s are read from the file system).
    ///
    /// # Error handling
    ///
    /// As [`load`](Self::load), for the included files.
    pub fn parse(text: &str) -> Result<SshConfig> {
        let mut c = SshConfig::default();
        c.read_text(text, &Block::Global, 0)?;
        Ok(c)
    }

    fn read_file(&mut self, path: &Path, block: &Block, depth: usize) -> Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(format!("cannot read the SSH config {}", path.display()), e)),
        };
        self.read_text(&text, block, depth)
    }

    fn read_text(&mut self, text: &str, outer: &Block, depth: usize) -> Result<()> {
        if depth > 16 {
            return Err(Error::invalid("the SSH config's Include directives nest more than 16 deep"));
        }
        let mut block = outer.clone();
        for raw in text.lines() {
            let Some((key, value)) = split(raw) else { continue };
            match key.as_str() {
                "host" => block = Block::Host(words(&value)),
                "match" => block = Block::Match,
                "include" => {
                    for pattern in words(&value) {
                        for file in include_files(&pattern) {
                            self.read_file(&file, &block, depth + 1)?;
                        }
                    }
                }
                _ => self.lines.push(Line { block: block.clone(), key, value }),
            }
        }
        Ok(())
    }

    /// What applies to `alias`: every matching block in file order, the
    /// first value of each setting kept.
    pub fn host(&self, alias: &str) -> HostConfig {
        let mut h = HostConfig::default();
        let mut jump_seen = false;
        let mut known_seen = false;
        for line in &self.lines {
            let applies = match &line.block {
                Block::Global => true,
                Block::Match => false,
                Block::Host(patterns) => host_matches(patterns, alias),
            };
            if !applies {
                continue;
            }
            let first = || words(&line.value).into_iter().next();
            match line.key.as_str() {
                "hostname" if h.host_name.is_none() => h.host_name = first().map(|v| v.replace("%h", alias)),
                "user" if h.user.is_none() => h.user = first(),
                "port" if h.port.is_none() => h.port = first().and_then(|p| p.parse().ok()),
                "identityfile" => {
                    if let Some(f) = first()
                        && !f.eq_ignore_ascii_case("none")
                    {
                        h.identity_files.push(expand(&f.replace("%h", alias)));
                    }
                }
                "proxyjump" if !jump_seen => {
                    jump_seen = true;
                    h.proxy_jump = first().filter(|j| !j.eq_ignore_ascii_case("none"));
                }
                "userknownhostsfile" if !known_seen => {
                    known_seen = true;
                    h.known_hosts = first().filter(|f| !f.eq_ignore_ascii_case("none")).map(|f| expand(&f));
                }
                _ => {}
            }
        }
        let user = h.user.clone().unwrap_or_default();
        for f in &mut h.identity_files {
            let s = f.to_string_lossy().replace("%u", &user).replace("%r", &user);
            *f = PathBuf::from(s);
        }
        h
    }
}

/// Whether a `Host` line's patterns take `alias`: one positive pattern
/// matches and no negated one does.
fn host_matches(patterns: &[String], alias: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if super::known_hosts::pattern_matches(neg, alias) {
                return false;
            }
        } else if super::known_hosts::pattern_matches(p, alias) {
            hit = true;
        }
    }
    hit
}

/// The files an `Include` names: relative to `~/.ssh`, with `*` and `?`
/// allowed in the last component, in name order.
fn include_files(pattern: &str) -> Vec<PathBuf> {
    let path = expand(pattern);
    let path = if path.is_absolute() { path } else { home().join(".ssh").join(path) };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![path];
    }
    let Some(dir) = path.parent() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| super::known_hosts::pattern_matches(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "
# the bastion
Host bastion
    HostName 10.0.0.5
    User ops
    Port 2222
    IdentityFile ~/.ssh/bastion_ed25519

Host db-* !db-test
  HostName %h.internal.example
  ProxyJump bastion
  User=dba

Match host foo
  User nobody

Host *
  User fallback
  IdentityFile ~/.ssh/id_ed25519
  UserKnownHostsFile \"~/.ssh/known hosts\"
";

    #[test]
    fn first_value_wins_and_identity_files_add_up() {
        let c = SshConfig::parse(SAMPLE).unwrap();
        let b = c.host("bastion");
        assert_eq!(b.host_name.as_deref(), Some("10.0.0.5"));
        assert_eq!((b.user.as_deref(), b.port), (Some("ops"), Some(2222)));
        assert_eq!(b.identity_files.len(), 2);
        assert!(b.identity_files[0].ends_with(".ssh/bastion_ed25519"));
        assert!(b.known_hosts.unwrap().ends_with(".ssh/known hosts"));
        let d = c.host("db-main");
        assert_eq!(d.host_name.as_deref(), Some("db-main.internal.example"));
        assert_eq!((d.user.as_deref(), d.proxy_jump.as_deref()), (Some("dba"), Some("bastion")));
        // Negated: only `Host *` applies; the Match block never does.
        let t = c.host("db-test");
        assert_eq!((t.host_name, t.user.as_deref(), t.proxy_jump), (None, Some("fallback"), None));
        assert_eq!(c.host("foo").user.as_deref(), Some("fallback"));
    }

    #[test]
    fn includes_are_read_in_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.conf"), "Host x\n  Port 7\n").unwrap();
        std::fs::write(dir.path().join("b.conf"), "Host x\n  Port 8\n  User b\n").unwrap();
        let text = format!("Include {}/*.conf\nHost *\n  User last\n", dir.path().display());
        let c = SshConfig::parse(&text).unwrap();
        let x = c.host("x");
        assert_eq!((x.port, x.user.as_deref()), (Some(7), Some("b")));
        // A file that includes itself stops with an error, not a stack overflow.
        let looped = dir.path().join("loop.conf");
        std::fs::write(&looped, format!("Include {}\n", looped.display())).unwrap();
        assert!(SshConfig::load(&looped).unwrap_err().to_string().contains("16 deep"));
        assert_eq!(SshConfig::load(&dir.path().join("absent")).unwrap(), SshConfig::default());
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panic(text in "\\PC{0,300}", alias in "[a-z0-9.-]{1,12}") {
            if let Ok(c) = SshConfig::parse(&text.replace("Include", "X")) {
                let _ = c.host(&alias);
            }
        }

        #[test]
        fn a_block_for_exactly_the_alias_sets_its_values(alias in "[a-z][a-z0-9-]{0,12}", port in 1u16.., user in "[a-z]{1,8}") {
            let text = format!("Host other\n  Port 1\nHost {alias}\n  Port {port}\n  User {user}\nHost *\n  Port 3\n");
            let h = SshConfig::parse(&text).unwrap().host(&alias);
            prop_assert_eq!(h.port, Some(port));
            prop_assert_eq!(h.user, Some(user));
        }

        #[test]
        fn keys_are_case_insensitive_and_equals_is_optional(port in 1u16.., eq in prop::bool::ANY, upper in prop::bool::ANY) {
            let key = if upper { "PORT" } else { "port" };
            let text = if eq { format!("Host h\n{key}={port}\n") } else { format!("Host h\n{key} {port}\n") };
            prop_assert_eq!(SshConfig::parse(&text).unwrap().host("h").port, Some(port));
        }
    }
}
