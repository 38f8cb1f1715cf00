//! `--db` for the CLI: the library's profile resolution, with a terminal
//! prompt for a password the profile's source does not give.

use std::sync::Arc;

use anyhow::{Context, Result};
use qore_core::intercept::{Confirmer, Request};
use qore_core::{ConnectionRef, ConnectionSpec, Secret};
use qore_drivers::profiles::{self, Profiles, Target};
use qore_safety::Warn;

/// The `--ssh*` flags of this invocation, as URL options.
static SSH: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

/// Sets the `--ssh*` flags every connection of this invocation takes, and
/// the terminal prompt for an encrypted SSH key's passphrase (when
/// QORE_SSH_PASSPHRASE is not set and standard input is a terminal).
pub fn set_ssh(options: Vec<(String, String)>) {
    let _ = SSH.set(options);
    qore_drivers::tunnel::set_prompt(|what| {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return None;
        }
        rpassword::prompt_password(format!("qore: {what}: "))
            .ok()
            .map(Secret::new)
    });
}

/// `url` with the `--ssh*` flags added as query options (what `qore conn
/// add` saves).
pub fn with_ssh(url: &str) -> String {
    let mut url = url.to_string();
    for (k, v) in SSH.get().into_iter().flatten() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(k);
        url.push('=');
        // Query-value escaping: unreserved characters and `/` stay.
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~/@:,[]".contains(&b) {
                url.push(b as char);
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
    }
    url
}

/// Resolves `--db` (a saved name, a URL, a file path; none: in-memory
/// DuckDB), with the `--ssh*` flags added to its options.
pub fn resolve(db: Option<&str>) -> Result<Target> {
    let mut target = resolve_plain(db)?;
    // Last options win: the flags override a saved connection's.
    target.spec.options.extend(SSH.get().into_iter().flatten().cloned());
    Ok(target)
}

fn resolve_plain(db: Option<&str>) -> Result<Target> {
    // A URL or path needs no profile file; a broken file must not stop it.
    let store = match db {
        Some(name) if profiles::valid_name(name) => Profiles::load()?,
        _ => Profiles::empty(),
    };
    let mut ask = |name: &str, spec: &ConnectionSpec| -> qore_core::Result<Option<Secret>> {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Ok(None);
        }
        rpassword::prompt_password(format!("qore: password for {name} ({spec}): "))
            .map(|pw| Some(Secret::new(pw)))
            .map_err(|e| qore_core::Error::io("cannot read the password", e))
    };
    Ok(profiles::resolve(db, &store, &mut ask)?)
}

/// How this invocation answers the safety net (`--yes`, `--allow-destructive`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SafetyFlags {
    /// Confirm every confirmation.
    pub yes: bool,
    /// Let destructive statements through.
    pub allow_destructive: bool,
}

/// Opens one session of `--db`, behind the safety net: every statement is
/// classified and handled by the environment's policy (the profile's label;
/// dev for a bare URL).
pub async fn open(db: Option<&str>, flags: SafetyFlags) -> Result<(ConnectionRef, Target)> {
    let target = resolve(db)?;
    let conn = async { target.open().await?.session().await }
        .await
        .with_context(|| format!("cannot open {}", target.spec))?;
    let guard = qore_safety::Guard {
        allow_destructive: flags.allow_destructive,
        warn: Some(Arc::new(StderrWarn)),
        confirmer: Some(Arc::new(Ask { yes: flags.yes })),
        audit: audit_path()?,
    };
    let conn = guard.wrap(conn, &target)?;
    Ok((conn, target))
}

/// Dev warnings, on stderr.
#[derive(Debug)]
struct StderrWarn;

impl Warn for StderrWarn {
    fn warn(&self, _: &Request, c: &qore_safety::Classification) {
        for f in &c.findings {
            eprintln!("qore: warning: {} [{}]", f.message, f.rule.name);
        }
    }
}

/// Confirmations: `--yes`, else a question on the terminal, else no.
#[derive(Debug)]
struct Ask {
    yes: bool,
}

#[async_trait::async_trait]
impl Confirmer for Ask {
    async fn confirm(&self, _: &Request, message: &str) -> bool {
        ask(self.yes, message, "run it?")
    }
}

/// `--yes`, else `question` asked on the terminal after `message`, else no.
pub(crate) fn ask(yes: bool, message: &str, question: &str) -> bool {
    if yes {
        return true;
    }
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !terminal {
        eprintln!(
            "qore: {message}\nqore: this needs a confirmation and there is no terminal to ask on: --yes confirms"
        );
        return false;
    }
    eprint!("qore: {message}\nqore: {question} [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}

/// What `--db` names, without opening anything or asking for a password.
pub fn target_of(db: Option<&str>) -> Result<Target> {
    let store = match db {
        Some(name) if profiles::valid_name(name) => Profiles::load()?,
        _ => Profiles::empty(),
    };
    let mut no_prompt =
        |_: &str, _: &ConnectionSpec| -> qore_core::Result<Option<Secret>> { Ok(None) };
    Ok(profiles::resolve(db, &store, &mut no_prompt)?)
}

/// The engine `--db` names, without opening anything or asking for a
/// password.
pub fn engine_of(db: Option<&str>) -> Result<qore_core::Engine> {
    Ok(target_of(db)?.spec.engine)
}

/// The audit log's file: `$QORE_AUDIT_LOG` (`off` for none), else the
/// library's default in the user's data directory.
pub fn audit_path() -> Result<Option<std::path::PathBuf>> {
    match std::env::var_os("QORE_AUDIT_LOG") {
        Some(v) if v == "off" => Ok(None),
        Some(v) if !v.is_empty() => Ok(Some(v.into())),
        _ => Ok(Some(qore_safety::audit_default_path()?)),
    }
}
