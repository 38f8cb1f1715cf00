//! A read-only Redis session (`?read_only=true`, a profile's `read_only`):
//! every command is checked against the server's own command table
//! (`COMMAND INFO`, cached per connection) before it is sent. Refused: what
//! the server flags `write`, scripts that may write (`EVAL`, `FCALL`; the
//! `_RO` variants pass), and administrative commands other than the ones
//! that only read (`CONFIG GET`, `CLIENT LIST`, `SLOWLOG GET`, ...).
//! Redis itself has no read-only session (`READONLY` is for cluster
//! replicas), so this is the client's check, made before anything is sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use qore_core::{Error, Result};
use redis::Value as R;

/// Administrative commands that only read.
const ADMIN_READS: [&str; 14] = [
    "config|get",
    "client|list",
    "client|info",
    "client|getname",
    "slowlog|get",
    "slowlog|len",
    "latency|latest",
    "latency|history",
    "memory|stats",
    "memory|doctor",
    "acl|whoami",
    "acl|list",
    "acl|users",
    "acl|cat",
];

/// The verdicts so far, by command name (`get`, `config|set`).
#[derive(Debug, Clone, Default)]
pub(super) struct ReadOnly {
    known: Arc<Mutex<HashMap<String, bool>>>,
}

/// The flags and ACL categories of one `COMMAND INFO` entry.
fn flags_of(entry: &R) -> Option<Vec<String>> {
    let R::Array(fields) = entry else {
        return None;
    };
    let words = |v: &R| -> Vec<String> {
        match v {
            R::Array(items) | R::Set(items) => items
                .iter()
                .filter_map(|i| match i {
                    R::SimpleString(s) => Some(s.to_ascii_lowercase()),
                    R::BulkString(b) => Some(String::from_utf8_lossy(b).to_ascii_lowercase()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    // [name, arity, flags, first key, last key, step, categories, ...]
    let mut all = words(fields.get(2)?);
    all.extend(words(fields.get(6).unwrap_or(&R::Nil)));
    Some(all)
}

impl ReadOnly {
    /// Whether the server's entry for `name` allows it in a read-only
    /// session.
    fn allows(name: &str, flags: &[String]) -> bool {
        let has = |f: &str| flags.iter().any(|x| x == f);
        if has("write") {
            return false;
        }
        if has("readonly") {
            return true;
        }
        if has("@scripting") {
            return false;
        }
        !has("@admin") || ADMIN_READS.contains(&name)
    }

    /// Refuses `args` unless the server's command table says it only
    /// reads. `info` runs `COMMAND INFO` on the session.
    pub(super) async fn check<F, Fut>(&self, args: &[Vec<u8>], info: F) -> Result<()>
    where
        F: Fn(Vec<Vec<u8>>) -> Fut,
        Fut: std::future::Future<Output = Result<R>>,
    {
        let Some(first) = args.first() else {
            return Ok(());
        };
        let command = String::from_utf8_lossy(first).to_ascii_lowercase();
        let sub = args.get(1).map(|s| {
            format!(
                "{command}|{}",
                String::from_utf8_lossy(s).to_ascii_lowercase()
            )
        });
        for name in sub.iter().chain([&command]) {
            if let Some(ok) = self.known.lock().ok().and_then(|k| k.get(name).copied()) {
                return refuse_unless(ok, &command, args);
            }
            let reply = info(vec![
                b"COMMAND".to_vec(),
                b"INFO".to_vec(),
                name.as_bytes().to_vec(),
            ])
            .await?;
            let entry = match &reply {
                R::Array(entries) => entries.first().and_then(flags_of),
                _ => None,
            };
            // A subcommand the server does not know as such: judge the
            // command itself.
            let Some(flags) = entry else { continue };
            let ok = Self::allows(name, &flags);
            if let Ok(mut k) = self.known.lock() {
                k.insert(name.clone(), ok);
            }
            return refuse_unless(ok, &command, args);
        }
        Err(Error::invalid(format!(
            "unknown Redis command `{command}` (this session is read-only)"
        )))
    }
}

fn refuse_unless(ok: bool, command: &str, args: &[Vec<u8>]) -> Result<()> {
    if ok {
        return Ok(());
    }
    let shown = match args.get(1) {
        Some(s) if command.len() < 12 => {
            format!(
                "{} {}",
                command.to_uppercase(),
                String::from_utf8_lossy(s).to_uppercase()
            )
        }
        _ => command.to_uppercase(),
    };
    Err(Error::Denied(format!(
        "{shown} may write, and this session is read-only"
    )))
}
