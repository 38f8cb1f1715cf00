//! `--db` for the CLI: the library's profile resolution, with a terminal
//! prompt for a password the profile's source does not give.

use anyhow::{Context, Result};
use qore_core::{ConnectionRef, ConnectionSpec, Secret};
use qore_drivers::profiles::{self, Profiles, Target};

/// Resolves `--db` (a saved name, a URL, a file path; none: in-memory DuckDB).
pub fn resolve(db: Option<&str>) -> Result<Target> {
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

/// Opens one session of `--db`.
pub async fn open(db: Option<&str>) -> Result<(ConnectionRef, Target)> {
    let target = resolve(db)?;
    let conn = async { target.open().await?.session().await }
        .await
        .with_context(|| format!("cannot open {}", target.spec))?;
    Ok((conn, target))
}

/// The engine `--db` names, without opening anything or asking for a
/// password.
pub fn engine_of(db: Option<&str>) -> Result<qore_core::Engine> {
    let store = match db {
        Some(name) if profiles::valid_name(name) => Profiles::load()?,
        _ => Profiles::empty(),
    };
    let mut no_prompt =
        |_: &str, _: &ConnectionSpec| -> qore_core::Result<Option<Secret>> { Ok(None) };
    Ok(profiles::resolve(db, &store, &mut no_prompt)?.spec.engine)
}
