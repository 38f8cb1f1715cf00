//! SSH options in a connection URL: `?ssh=user@host[:port]` plus
//! `ssh_key`, `ssh_jump`, `ssh_known_hosts`, `ssh_accept_new`, `ssh_agent`
//! (on/off, or the agent's socket),
//! `ssh_keepalive`, `ssh_keepalive_max`, `ssh_connect_timeout`, `ssh_config`
//! (the SSH config whose `Host` aliases apply; `~/.ssh/config` by default,
//! `none` for none). Secrets
//! never go in a URL: the key's passphrase comes from
//! `QORE_SSH_PASSPHRASE` or, when the key is encrypted and that is not set,
//! from the [`set_prompt`] hook (the CLI asks on the terminal); a password
//! (tried only when set) from `QORE_SSH_PASSWORD`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use qore_core::{ConnectionSpec, Engine, Error, HostPort, Result, Secret};

use super::config::{HostConfig, SshConfig};
use super::{SshHop, SshOptions, Tunnel};

/// Options qore reads here; the driver never sees them.
const KEYS: &[&str] = &[
    "ssh",
    "ssh_key",
    "ssh_jump",
    "ssh_known_hosts",
    "ssh_accept_new",
    "ssh_agent",
    "ssh_keepalive",
    "ssh_keepalive_max",
    "ssh_connect_timeout",
    "ssh_config",
];

/// Asks the user for a secret: gets what to ask for (`the passphrase of
/// the SSH key ~/.ssh/id_ed25519`), returns it or `None` to give up.
pub type Prompt = dyn Fn(&str) -> Option<Secret> + Send + Sync;

static PROMPT: OnceLock<Box<Prompt>> = OnceLock::new();

/// Passphrases given at the prompt, by key file, for this process: every
/// tunnel with the same key asks once.
static GIVEN: Mutex<Option<HashMap<PathBuf, Secret>>> = Mutex::new(None);

/// Installs the hook that asks for an encrypted key's passphrase when
/// `QORE_SSH_PASSPHRASE` is not set (the CLI: a terminal prompt; a GUI: a
/// dialog). The first hook installed stays.
pub fn set_prompt(prompt: impl Fn(&str) -> Option<Secret> + Send + Sync + 'static) {
    let _ = PROMPT.set(Box::new(prompt));
}

/// The passphrase of an encrypted key file that has none yet, from the
/// process's earlier answer or the prompt hook.
fn ask_passphrase(o: &mut SshOptions) {
    let Some(path) = o.key.clone() else {
        return;
    };
    if o.passphrase.is_some() {
        return;
    }
    let encrypted = matches!(
        russh::keys::load_secret_key(&path, None),
        Err(russh::keys::Error::KeyIsEncrypted)
    );
    if !encrypted {
        return;
    }
    if let Ok(given) = GIVEN.lock()
        && let Some(p) = given.as_ref().and_then(|m| m.get(&path))
    {
        o.passphrase = Some(p.clone());
        return;
    }
    let Some(prompt) = PROMPT.get() else {
        return;
    };
    if let Some(p) = prompt(&format!("the passphrase of the SSH key {}", path.display())) {
        if let Ok(mut given) = GIVEN.lock() {
            given.get_or_insert_with(HashMap::new).insert(path, p.clone());
        }
        o.passphrase = Some(p);
    }
}

/// The SSH options `spec` asks for, removed from it; `None` without `ssh=`.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for an `ssh_*` option without `ssh=`, a bad hop,
/// a number or flag that does not read, or a URL with several hosts.
pub fn take_ssh_options(spec: &mut ConnectionSpec) -> Result<Option<SshOptions>> {
    let mut found: Vec<(String, String)> = Vec::new();
    spec.options.retain(|(k, v)| {
        let ours = KEYS.iter().any(|o| k.eq_ignore_ascii_case(o));
        if ours {
            found.push((k.to_ascii_lowercase(), v.clone()));
        }
        !ours
    });
    if found.is_empty() {
        return Ok(None);
    }
    let get = |key: &str| found.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let Some(target) = get("ssh") else {
        return Err(Error::invalid("ssh_* options need ssh=user@host[:port] to say which SSH server to go through"));
    };
    // Without a user: the login name, as ssh does; jump hosts otherwise
    // take the target's. Host aliases of the SSH config fill in what the
    // URL leaves out (the URL's own values win).
    let login = ["USER", "LOGNAME"].iter().find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()));
    let config = match get("ssh_config") {
        Some(v) if v.eq_ignore_ascii_case("none") || v.eq_ignore_ascii_case("off") => SshConfig::default(),
        Some(path) => SshConfig::load(&expand_home(path))?,
        None => SshConfig::load_default()?,
    };
    let (hop, host_config) = configured_hop(target, &config, login.as_deref())?;
    let mut o = SshOptions::new(hop);
    let user = login.clone().or_else(|| Some(o.hop.user.clone()));
    if let Some(jumps) = get("ssh_jump").map(str::to_string).or_else(|| host_config.proxy_jump.clone()) {
        o.jumps = jumps
            .split(',')
            .filter(|j| !j.trim().is_empty())
            .map(|j| configured_hop(j.trim(), &config, user.as_deref()).map(|(h, _)| h))
            .collect::<Result<_>>()?;
    }
    if let Some(k) = get("ssh_key") {
        o.key = Some(expand_home(k));
    } else if let Some(k) = host_config.identity_files.iter().find(|f| f.exists()) {
        o.key = Some(k.clone());
    }
    if let Some(k) = &host_config.known_hosts {
        o.known_hosts = k.clone();
    }
    if let Some(k) = get("ssh_known_hosts") {
        o.known_hosts = expand_home(k);
    }
    if let Some(v) = get("ssh_accept_new") {
        o.accept_new = crate::parse_flag("ssh_accept_new", v)?;
    }
    if let Some(v) = get("ssh_agent") {
        // A socket path, or on/off (on: SSH_AUTH_SOCK's).
        o.agent = if v.contains('/') {
            Some(expand_home(v))
        } else if crate::parse_flag("ssh_agent", v)? {
            Some(std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from).ok_or_else(|| Error::invalid("ssh_agent=true, but SSH_AUTH_SOCK is not set"))?)
        } else {
            None
        };
    }
    let seconds = |key: &str, v: &str| -> Result<Duration> {
        v.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| Error::invalid(format!("{key}={v}: expected seconds, more than 0")))
    };
    if let Some(v) = get("ssh_keepalive") {
        o.keepalive = seconds("ssh_keepalive", v)?;
    }
    if let Some(v) = get("ssh_connect_timeout") {
        o.connect_timeout = seconds("ssh_connect_timeout", v)?;
    }
    if let Some(v) = get("ssh_keepalive_max") {
        o.keepalive_max = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| Error::invalid(format!("ssh_keepalive_max={v}: expected a count, at least 1")))?;
    }
    o.passphrase = std::env::var("QORE_SSH_PASSPHRASE").ok().map(Secret::new);
    o.password = std::env::var("QORE_SSH_PASSWORD").ok().map(Secret::new);
    if spec.hosts.len() > 1 {
        return Err(Error::invalid("an SSH tunnel goes to one host: this URL names several"));
    }
    Ok(Some(o))
}

/// `spec` with its SSH options applied: the tunnel opened to the URL's
/// host and port (as the SSH server resolves them), and the spec to
/// connect to instead (127.0.0.1 and the tunnel's port). Without `ssh=`,
/// the spec unchanged and no tunnel.
///
/// # Error handling
///
/// As [`take_ssh_options`] and [`Tunnel::open`]; [`Error::NotSupported`]
/// for an embedded engine.
pub async fn through_ssh(spec: &ConnectionSpec) -> Result<(ConnectionSpec, Option<Tunnel>)> {
    let mut spec = spec.clone();
    let Some(mut options) = take_ssh_options(&mut spec)? else {
        return Ok((spec, None));
    };
    ask_passphrase(&mut options);
    let port = match spec.engine {
        Engine::Postgres => 5432,
        Engine::MySql => 3306,
        Engine::Redis => 6379,
        Engine::MongoDb => 27017,
        other => return Err(Error::NotSupported(format!("{other} is a local file: there is nothing to tunnel to"))),
    };
    let remote = spec.hosts.first().cloned().unwrap_or(HostPort { host: "127.0.0.1".into(), port: None });
    let tunnel = Tunnel::open(options, &remote.host, remote.port.unwrap_or(port)).await?;
    spec.hosts = vec![HostPort { host: "127.0.0.1".into(), port: Some(tunnel.local_addr().port()) }];
    Ok((spec, Some(tunnel)))
}

/// `[user@]host[:port]` with what the SSH config says of `host` filled in:
/// its `HostName`, and its `User` and `Port` where the text gives none.
fn configured_hop(text: &str, config: &SshConfig, login: Option<&str>) -> Result<(SshHop, HostConfig)> {
    let parsed = SshHop::parse(text, Some(login.unwrap_or("")))?;
    let c = config.host(&parsed.host);
    let rest = text.rsplit_once('@').map_or(text, |(_, r)| r);
    let explicit_port = if rest.starts_with('[') { rest.contains("]:") } else { rest.contains(':') };
    let user = match text.rsplit_once('@') {
        Some((u, _)) => u.to_string(),
        None => c.user.clone().or_else(|| login.map(str::to_string)).unwrap_or_default(),
    };
    if user.is_empty() {
        // SshHop::parse's own message for a missing user.
        return Ok((SshHop::parse(text, None)?, c));
    }
    let hop = SshHop {
        user,
        host: c.host_name.clone().unwrap_or(parsed.host),
        port: if explicit_port { parsed.port } else { c.port.unwrap_or(parsed.port) },
    };
    Ok((hop, c))
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_options_are_taken_out_of_the_url() {
        let mut spec = ConnectionSpec::parse("postgres://u@db.internal:6543/app?ssh=deploy@bastion:2222&ssh_key=/k&sslmode=disable&ssh_jump=a@j1,j2:23&ssh_keepalive=2.5&ssh_accept_new=true").unwrap();
        let o = take_ssh_options(&mut spec).unwrap().unwrap();
        assert_eq!(spec.options, vec![("sslmode".to_string(), "disable".to_string())]);
        assert_eq!((o.hop.user.as_str(), o.hop.host.as_str(), o.hop.port), ("deploy", "bastion", 2222));
        assert_eq!(o.key.as_deref(), Some(std::path::Path::new("/k")));
        assert_eq!(o.jumps.iter().map(|j| (j.host.as_str(), j.port)).collect::<Vec<_>>(), vec![("j1", 22), ("j2", 23)]);
        assert_eq!(o.keepalive, Duration::from_millis(2500));
        assert!(o.accept_new);

        let mut plain = ConnectionSpec::parse("postgres://u@h/db?sslmode=disable").unwrap();
        assert!(take_ssh_options(&mut plain).unwrap().is_none());
        for bad in ["postgres://u@h/db?ssh_key=/k", "postgres://u@h/db?ssh=@h", "postgres://u@h/db?ssh=u@h&ssh_keepalive=0", "postgres://u@h/db?ssh=u@h&ssh_accept_new=maybe"] {
            let mut s = ConnectionSpec::parse(bad).unwrap();
            assert!(take_ssh_options(&mut s).is_err(), "{bad}");
        }
    }
}
