//! Saved connections in `$XDG_CONFIG_HOME/qore/connections.toml`.
//!
//! The file holds URLs without passwords and an environment label. Passwords
//! come from `QORE_PASSWORD_<NAME>` (upper-cased, other characters as `_`) or
//! from a prompt on the terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use qore_core::{ConnectionSpec, Secret};
use serde::{Deserialize, Serialize};

use crate::opts::EnvLabel;

/// One saved connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Saved {
    /// URL without password.
    pub url: String,
    /// Environment label.
    pub env: EnvLabel,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    connections: BTreeMap<String, Saved>,
}

/// The connection store.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    file: File,
}

/// Where the store lives.
pub fn store_path() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(
            std::env::var_os("HOME")
                .ok_or_else(|| anyhow!("neither XDG_CONFIG_HOME nor HOME is set"))?,
        )
        .join(".config"),
    };
    Ok(base.join("qore").join("connections.toml"))
}

/// The environment variable that holds a saved connection's password.
pub fn password_var(name: &str) -> String {
    let up: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("QORE_PASSWORD_{up}")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Store {
    /// Loads the store (empty when the file does not exist).
    pub fn load() -> Result<Store> {
        let path = store_path()?;
        let file = match std::fs::read_to_string(&path) {
            Ok(s) => toml::from_str(&s)
                .with_context(|| format!("cannot read saved connections in {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Store { path, file })
    }

    /// A saved connection by name.
    pub fn get(&self, name: &str) -> Option<&Saved> {
        self.file.connections.get(name)
    }

    /// All saved connections, by name.
    pub fn all(&self) -> impl Iterator<Item = (&String, &Saved)> {
        self.file.connections.iter()
    }

    /// Adds a connection; returns whether a password was dropped from the URL.
    pub fn add(&mut self, name: &str, url: &str, env: EnvLabel, force: bool) -> Result<bool> {
        if !valid_name(name) {
            bail!("connection name `{name}` must be 1-64 letters, digits, `-` or `_`");
        }
        if self.file.connections.contains_key(name) && !force {
            bail!("a connection named `{name}` exists; pass --force to replace it");
        }
        // Two names that read the same password variable would share it.
        let var = password_var(name);
        if let Some((other, _)) = self
            .file
            .connections
            .iter()
            .find(|(n, _)| n.as_str() != name && password_var(n) == var)
        {
            bail!(
                "connection name `{name}` reads its password from {var}, like the saved `{other}`; pick another name"
            );
        }
        let spec = ConnectionSpec::parse_lenient(url)?;
        // Options are checked now, not at the first use.
        qore_drivers::validate_spec(&spec)?;
        let had_password = spec.password.is_some();
        self.file.connections.insert(
            name.to_string(),
            Saved {
                url: spec.without_password().expose_url(),
                env,
            },
        );
        self.save()?;
        Ok(had_password)
    }

    /// Removes a connection.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        if self.file.connections.remove(name).is_none() {
            bail!("no saved connection named `{name}`");
        }
        self.save()
    }

    fn save(&self) -> Result<()> {
        let dir = self
            .path
            .parent()
            .ok_or_else(|| anyhow!("bad config path"))?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = toml::to_string_pretty(&self.file)?;
        let tmp = self.path.with_extension("toml.tmp");
        {
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            f.write_all(b"# qore saved connections. Passwords are never stored here.\n")?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot replace {}", self.path.display()))?;
        Ok(())
    }
}

/// Resolves `--db`: a saved name, else a URL or file path; the default is an
/// in-memory DuckDB. Saved server connections get their password from the
/// environment or a prompt.
pub fn resolve(db: Option<&str>) -> Result<(ConnectionSpec, Option<EnvLabel>)> {
    let Some(db) = db else {
        return Ok((ConnectionSpec::parse("duckdb:")?, None));
    };
    if db.trim().is_empty() {
        bail!(
            "--db is empty; give a URL, a file path or a saved connection name (or leave --db out for an in-memory DuckDB)"
        );
    }
    if valid_name(db) {
        let store = Store::load()?;
        if let Some(saved) = store.get(db) {
            let mut spec = ConnectionSpec::parse(&saved.url)?;
            if !spec.engine.is_embedded() && spec.password.is_none() {
                let var = password_var(db);
                if let Ok(pw) = std::env::var(&var) {
                    spec.password = Some(Secret::new(pw));
                } else if spec.user.is_some() && std::io::IsTerminal::is_terminal(&std::io::stdin())
                {
                    let pw =
                        rpassword::prompt_password(format!("qore: password for {db} ({spec}): "))
                            .context("cannot read the password")?;
                    spec.password = Some(Secret::new(pw));
                }
            }
            return Ok((spec, Some(saved.env)));
        }
    }
    match ConnectionSpec::parse_lenient(db) {
        Ok(spec) => {
            // A bare path names an existing file; creating one takes an explicit URL.
            let bare = !db.contains(':');
            if bare
                && let Some(p) = &spec.path
                && !std::path::Path::new(p).exists()
            {
                bail!(
                    "no database file `{p}` (to create one, use the URL {}:{p})",
                    spec.engine.feature()
                );
            }
            Ok((spec, None))
        }
        Err(_) if valid_name(db) => bail!(
            "`{db}` is neither a saved connection (see `qore conn ls`), a URL, nor a .duckdb/.db/.sqlite file path"
        ),
        Err(e) => Err(e.into()),
    }
}
