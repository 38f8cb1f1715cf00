//! Profiles: saved connections, in `$XDG_CONFIG_HOME/qore/connections.toml`
//! (`~/.config/qore/connections.toml`), shared by the CLI, a GUI and the
//! safety net.
//!
//! A profile holds a URL without its password, an environment label
//! (dev, staging, prod), where the password comes from, an optional
//! read-only flag and optional SSH settings. Passwords are never written to
//! the file: they come from an environment variable (by default
//! `QORE_PASSWORD_<NAME>`, upper-cased, other characters as `_`) or from
//! the frontend, which asks the user (see [`resolve`]).
//!
//! ```toml
//! [connections.shop]
//! url = "postgres://ann@db.example.com/shop"
//! env = "prod"
//! read_only = true
//! password = { env = "SHOP_PW" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use qore_core::{
    ConnectionSpec, DatabaseRef, Environment, Error, LabelledDatabase, Result, Secret,
};
use serde::{Deserialize, Serialize};

/// Where a profile's password comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordSource {
    /// An environment variable, else the frontend asks.
    Env(String),
    /// Always asked by the frontend (never read from the environment).
    Prompt,
    /// No password (trust, peer or certificate authentication).
    None,
}

/// SSH settings of a profile: the host to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshSettings {
    /// The SSH server.
    pub host: String,
    /// Its port (22 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to log in as.
    pub user: String,
    /// A private key file; the agent is used when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<PathBuf>,
}

/// One saved connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The URL, without password.
    pub url: String,
    /// The environment label.
    pub env: Environment,
    /// Where the password comes from; `None` in the file means the
    /// default variable, [`password_var`] of the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordSource>,
    /// Open read-only: the engine refuses writes (SQL engines; MongoDB and
    /// Redis sessions check each command before sending it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Reach the database through this SSH server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshSettings>,
}

impl Profile {
    /// A profile of `url` (a password in it is dropped) labelled `env`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a bad URL or options the driver would
    /// refuse; [`Error::NotSupported`] for an engine not in this build.
    pub fn new(url: &str, env: Environment) -> Result<(Profile, bool)> {
        let spec = ConnectionSpec::parse_lenient(url)?;
        crate::validate_spec(&spec)?;
        let had_password = spec.password.is_some();
        Ok((
            Profile {
                url: spec.without_password().expose_url(),
                env,
                password: None,
                read_only: false,
                ssh: None,
            },
            had_password,
        ))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    connections: BTreeMap<String, Profile>,
}

/// The profile store: one TOML file.
#[derive(Debug)]
pub struct Profiles {
    path: PathBuf,
    file: File,
}

/// Where the store lives: `$XDG_CONFIG_HOME/qore/connections.toml`, else
/// `$HOME/.config/qore/connections.toml`.
///
/// # Error handling
///
/// [`Error::InvalidInput`] when neither variable is set.
pub fn default_path() -> Result<PathBuf> {
    Ok(qore_core::files::config_dir("the saved connections")?.join("connections.toml"))
}

/// The environment variable that holds profile `name`'s password by default.
///
/// ```
/// assert_eq!(qore_drivers::profiles::password_var("shop-db"), "QORE_PASSWORD_SHOP_DB");
/// ```
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

/// Whether `name` can name a profile: 1-64 letters, digits, `-` or `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Profiles {
    /// Loads the store at [`default_path`] (empty when there is no file).
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::InvalidInput`]
    /// when it is not a valid profile file.
    pub fn load() -> Result<Profiles> {
        Self::load_from(&default_path()?)
    }

    /// A store with no profiles and no file, for resolving a URL without
    /// reading the profile file.
    pub fn empty() -> Profiles {
        Profiles {
            path: PathBuf::new(),
            file: File::default(),
        }
    }

    /// Loads the store at `path`.
    pub fn load_from(path: &Path) -> Result<Profiles> {
        let file = match std::fs::read_to_string(path) {
            Ok(s) => toml::from_str(&s).map_err(|e| {
                Error::invalid(format!(
                    "cannot read saved connections in {}: {e}",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        Ok(Profiles {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A profile by name.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.file.connections.get(name)
    }

    /// All profiles, by name.
    pub fn all(&self) -> impl Iterator<Item = (&String, &Profile)> {
        self.file.connections.iter()
    }

    /// Saves `profile` as `name` and writes the file.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a bad name, a name taken (unless
    /// `replace`), or a name whose password variable another profile reads.
    pub fn add(&mut self, name: &str, profile: Profile, replace: bool) -> Result<()> {
        if !valid_name(name) {
            return Err(Error::invalid(format!(
                "connection name `{name}` must be 1-64 letters, digits, `-` or `_`"
            )));
        }
        if self.file.connections.contains_key(name) && !replace {
            return Err(Error::invalid(format!(
                "a connection named `{name}` exists; pass --force to replace it"
            )));
        }
        // Two names that read the same password variable would share it.
        let var = password_var(name);
        if let Some((other, _)) = self
            .file
            .connections
            .iter()
            .find(|(n, _)| n.as_str() != name && password_var(n) == var)
        {
            return Err(Error::invalid(format!(
                "connection name `{name}` reads its password from {var}, like the saved `{other}`; pick another name"
            )));
        }
        self.file.connections.insert(name.to_string(), profile);
        self.save()
    }

    /// Removes profile `name` and writes the file.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when there is no such profile.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        if self.file.connections.remove(name).is_none() {
            return Err(Error::NotFound(format!(
                "no saved connection named `{name}`"
            )));
        }
        self.save()
    }

    /// Writes the file atomically, readable by its owner only.
    fn save(&self) -> Result<()> {
        let text = toml::to_string_pretty(&self.file)
            .map_err(|e| Error::Internal(format!("profiles do not serialize: {e}")))?;
        let text = format!("# qore saved connections. Passwords are never stored here.\n{text}");
        qore_core::files::write_atomic(&self.path, text.as_bytes())
    }
}

/// What `--db` named: a connection spec, and the profile it came from.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to connect, password included when one was found.
    pub spec: ConnectionSpec,
    /// The profile's name and settings, when `--db` named one.
    pub profile: Option<(String, Profile)>,
}

impl Target {
    /// The name the target's own files go by (its sandboxes, its virtual
    /// relations): the profile's name, else the URL (password hidden) as a
    /// file name.
    pub fn scope(&self) -> String {
        match &self.profile {
            Some((name, _)) => name.clone(),
            None => qore_core::files::safe_file_name(&self.spec.to_string()),
        }
    }

    /// Opens the target: a [`Database`](qore_core::Database) whose
    /// sessions carry the profile's environment label, read-only at the
    /// engine when the profile says so.
    ///
    /// # Error handling
    ///
    /// As [`crate::open`]; [`Error::NotSupported`] for SSH settings, which
    /// this build cannot use yet.
    pub async fn open(&self) -> Result<DatabaseRef> {
        let Some((name, profile)) = &self.profile else {
            return crate::open_spec(&self.spec).await;
        };
        if profile.ssh.is_some() {
            return Err(Error::NotSupported(format!(
                "`{name}` goes through SSH, which this build of qore cannot open yet"
            )));
        }
        let mut spec = self.spec.clone();
        if profile.read_only {
            spec.options.push(("read_only".into(), "true".into()));
        }
        let db = crate::open_spec(&spec).await?;
        Ok(std::sync::Arc::new(LabelledDatabase::new(db, profile.env)))
    }
}

/// For a `snapshot:NAME` target (`NAME` a snapshot's name or a path to its
/// file), the table the snapshot is loaded as: its name, or the file's stem.
pub fn snapshot_table(db: &str) -> Option<String> {
    let name = db.strip_prefix("snapshot:")?;
    Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.strip_suffix(".arrow").unwrap_or(s).to_string())
}

/// Resolves what a user typed for `--db`: a profile name (from `profiles`),
/// else a URL or a database file path; `None` is an in-memory DuckDB.
///
/// A server profile's password comes from its source; when that gives
/// none, `ask(name, spec)` is called (a terminal prompt, a GUI dialog) and
/// may answer `None` to connect without one.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an empty name, a bad URL, a bare path to a
/// file that does not exist, or a name that is neither saved nor a URL;
/// errors of `ask` as they are.
pub fn resolve(
    db: Option<&str>,
    profiles: &Profiles,
    ask: &mut dyn FnMut(&str, &ConnectionSpec) -> Result<Option<Secret>>,
) -> Result<Target> {
    let Some(db) = db else {
        return Ok(Target {
            spec: ConnectionSpec::parse("duckdb:")?,
            profile: None,
        });
    };
    if db.trim().is_empty() {
        return Err(Error::invalid(
            "--db is empty; give a URL, a file path or a saved connection name (or leave --db out for an in-memory DuckDB)",
        ));
    }
    // A saved result: an in-memory DuckDB with the snapshot as a table of
    // its name, so it can be queried and diffed like any database.
    if let Some(name) = db.strip_prefix("snapshot:") {
        let store = qore_core::snapshot::SnapshotStore::default_store()?;
        let path = store.path_of(name)?;
        if !path.exists() {
            return Err(Error::NotFound(format!("snapshot `{name}` ({})", path.display())));
        }
        let table = snapshot_table(db).unwrap_or_else(|| "snapshot".into());
        let mut spec = ConnectionSpec::parse("duckdb:")?;
        spec.options.push(("snapshot".into(), path.display().to_string()));
        spec.options.push(("snapshot_table".into(), table));
        return Ok(Target { spec, profile: None });
    }
    if valid_name(db)
        && let Some(profile) = profiles.get(db)
    {
        let mut spec = ConnectionSpec::parse(&profile.url)?;
        if !spec.engine.is_embedded() && spec.password.is_none() {
            let source = profile
                .password
                .clone()
                .unwrap_or_else(|| PasswordSource::Env(password_var(db)));
            spec.password = match source {
                PasswordSource::None => None,
                PasswordSource::Env(var) => match std::env::var(&var) {
                    Ok(pw) => Some(Secret::new(pw)),
                    Err(_) if spec.user.is_some() => ask(db, &spec)?,
                    Err(_) => None,
                },
                PasswordSource::Prompt => ask(db, &spec)?,
            };
        }
        return Ok(Target {
            spec,
            profile: Some((db.to_string(), profile.clone())),
        });
    }
    match ConnectionSpec::parse_lenient(db) {
        Ok(spec) => {
            // A bare path names an existing file; creating one takes an explicit URL.
            if !db.contains(':')
                && let Some(p) = &spec.path
                && !Path::new(p).exists()
            {
                return Err(Error::invalid(format!(
                    "no database file `{p}` (to create one, use the URL {}:{p})",
                    spec.engine.feature()
                )));
            }
            Ok(Target {
                spec,
                profile: None,
            })
        }
        Err(_) if valid_name(db) => Err(Error::invalid(format!(
            "`{db}` is neither a saved connection (see `qore conn ls`), a URL, nor a .duckdb/.db/.sqlite file path"
        ))),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_format_is_unchanged_and_new_keys_are_optional() {
        let old = "[connections.shop]\nurl = \"postgres://ann@h/shop\"\nenv = \"prod\"\n";
        let f: File = toml::from_str(old).unwrap_or_default();
        let p = &f.connections["shop"];
        assert_eq!(p.env, Environment::Prod);
        assert_eq!(p.password, None);
        assert!(!p.read_only && p.ssh.is_none());
        let again = toml::to_string_pretty(&f).unwrap_or_default();
        assert!(
            !again.contains("read_only") && !again.contains("password"),
            "{again}"
        );
        let new = "[connections.a]\nurl = \"mysql://u@h/d\"\nenv = \"staging\"\nread_only = true\n\
                   password = { env = \"A_PW\" }\n[connections.a.ssh]\nhost = \"bastion\"\nuser = \"ops\"\n";
        let f: File = toml::from_str(new).unwrap_or_default();
        let a = &f.connections["a"];
        assert_eq!(a.password, Some(PasswordSource::Env("A_PW".into())));
        assert!(a.read_only);
        assert_eq!(a.ssh.as_ref().map(|s| s.host.as_str()), Some("bastion"));
    }
}
