//! SSH tunnels (russh, no OpenSSL, no system `ssh`): a local port on
//! 127.0.0.1 that never changes for the life of the [`Tunnel`], each
//! database socket forwarded on its own `direct-tcpip` channel to the
//! remote host and port, through jump hosts when given.
//!
//! The host key of every hop is checked against `known_hosts` strictly: an
//! unknown key is refused with its `SHA256:` fingerprint in the error
//! unless accepting new hosts was asked for (then it is written to the
//! file), a changed or revoked key is always refused. Authentication tries
//! what was given, in order: the key file (OpenSSH or PEM; Ed25519, ECDSA,
//! RSA; a passphrase when it is encrypted), the agent (`SSH_AUTH_SOCK`),
//! then a password only when one was given explicitly.
//!
//! The session is kept alive with SSH keep-alives (every `keepalive`,
//! given up after `keepalive_max` unanswered) and TCP keep-alive. When it
//! dies (sshd restarted, network lost), a supervisor reconnects in the
//! background with backoff, and a database connection arriving meanwhile
//! waits for it (up to the connect timeout) on the same local port.
//! Messages name the hop that failed and never hold a password or key
//! material.

pub mod config;
pub mod known_hosts;
mod url;

pub use url::{Prompt, set_prompt, take_ssh_options, through_ssh};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use qore_core::{Error, Result, Secret};
use russh::client;
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use known_hosts::HostCheck;

/// One SSH server on the way: `user@host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHop {
    /// The login name.
    pub user: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// The SSH port (22 by default).
    pub port: u16,
}

impl SshHop {
    /// Reads `[user@]host[:port]` (`[::1]:2222` for IPv6); without a user,
    /// `default_user`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming what is wrong: no host, no user, a
    /// port that is not a number from 1 to 65535.
    pub fn parse(s: &str, default_user: Option<&str>) -> Result<SshHop> {
        let bad = |why: &str| Error::invalid(format!("SSH host `{s}`: {why} (expected [user@]host[:port])"));
        let (user, rest) = match s.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, s),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner.split_once(']').ok_or_else(|| bad("an unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("text after `]`")),
            };
            (h, port)
        } else {
            match rest.split_once(':') {
                Some((h, p)) if !p.contains(':') => (h, Some(p)),
                Some(_) => return Err(bad("an IPv6 address needs brackets: [addr]:port")),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => 22,
            Some(p) => p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        };
        let user = match user {
            Some("") => return Err(bad("an empty user")),
            Some(u) => u.to_string(),
            None => default_user.map(str::to_string).ok_or_else(|| bad("no user, and none known here"))?,
        };
        Ok(SshHop { user, host: host.to_string(), port })
    }

    /// `user@host:port` as known_hosts spells the host (`[h]:p` off port 22).
    pub fn display(&self) -> String {
        format!("{}@{}", self.user, known_hosts::host_entry(&self.host, self.port))
    }
}

/// How to reach and trust the SSH server(s) of a tunnel.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// The server that connects to the database.
    pub hop: SshHop,
    /// Jump hosts, first one first (`ProxyJump a,b`), each reached through
    /// the one before.
    pub jumps: Vec<SshHop>,
    /// A private key file (OpenSSH or PEM).
    pub key: Option<PathBuf>,
    /// The key file's passphrase, when it is encrypted.
    pub passphrase: Option<Secret>,
    /// The ssh-agent socket to ask for keys (after the key file);
    /// `SSH_AUTH_SOCK` by default, `None` not to ask one.
    pub agent: Option<PathBuf>,
    /// A password, tried last and only when given.
    pub password: Option<Secret>,
    /// The `known_hosts` file (`~/.ssh/known_hosts` by default).
    pub known_hosts: PathBuf,
    /// Accept and record a host that `known_hosts` does not list (never a
    /// changed key).
    pub accept_new: bool,
    /// SSH keep-alive interval.
    pub keepalive: Duration,
    /// Unanswered keep-alives before the session counts as dead.
    pub keepalive_max: usize,
    /// How long reaching and logging in to one hop may take.
    pub connect_timeout: Duration,
}

impl SshOptions {
    /// Options for `hop` with the defaults: `~/.ssh/known_hosts` checked
    /// strictly, the agent when `SSH_AUTH_SOCK` is set, keep-alive every 5 s
    /// given up after 3, 10 s to connect.
    pub fn new(hop: SshHop) -> SshOptions {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        SshOptions {
            hop,
            jumps: Vec::new(),
            key: None,
            passphrase: None,
            agent: std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from),
            password: None,
            known_hosts: home.join(".ssh").join("known_hosts"),
            accept_new: false,
            keepalive: Duration::from_secs(5),
            keepalive_max: 3,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A live SSH tunnel to one remote address. Dropping it closes the local
/// port, the sessions and every forwarded connection.
pub struct Tunnel {
    local: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("local", &self.local)
            .field("via", &self.shared.options.hop.display())
            .field("remote", &format!("{}:{}", self.shared.remote.0, self.shared.remote.1))
            .finish()
    }
}

struct Shared {
    options: SshOptions,
    remote: (String, u16),
    session: Mutex<Option<Arc<Session>>>,
    reconnects: AtomicU64,
    forwarded: AtomicU64,
}

/// The handles of every hop; the last one forwards. Earlier ones are kept
/// because the later sessions run over their channels.
struct Session {
    hops: Vec<client::Handle<Client>>,
}

impl Session {
    fn is_closed(&self) -> bool {
        self.hops.iter().any(client::Handle::is_closed)
    }

    fn last(&self) -> &client::Handle<Client> {
        // Never empty: connect() pushes one handle per hop, and there is
        // always the target hop.
        &self.hops[self.hops.len() - 1]
    }
}

impl Tunnel {
    /// Logs in through every hop (so a wrong key or an unknown host fails
    /// here, not at the first query), then listens on 127.0.0.1 on a port
    /// of its own and forwards each connection to `remote_host`:`remote_port`
    /// as the last hop sees it.
    ///
    /// # Error handling
    ///
    /// [`Error::Connect`] naming the hop that could not be reached or whose
    /// host key is unknown, changed or revoked (with its fingerprint);
    /// [`Error::Auth`] naming the hop that refused every way of logging in;
    /// [`Error::InvalidInput`] for an unreadable key or a wrong passphrase.
    pub async fn open(options: SshOptions, remote_host: &str, remote_port: u16) -> Result<Tunnel> {
        let first = connect(&options).await?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::io("cannot listen on 127.0.0.1 for the SSH tunnel", e))?;
        let local = listener.local_addr().map_err(|e| Error::io("the SSH tunnel's local port", e))?;
        let shared = Arc::new(Shared {
            options,
            remote: (remote_host.to_string(), remote_port),
            session: Mutex::new(Some(Arc::new(first))),
            reconnects: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
        });
        // Both aborted through their handles when the tunnel drops.
        #[allow(clippy::disallowed_methods)]
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        #[allow(clippy::disallowed_methods)]
        let supervise = tokio::spawn(supervise(shared.clone()));
        Ok(Tunnel { local, shared, tasks: vec![accept.abort_handle(), supervise.abort_handle()] })
    }

    /// The local address to connect to instead of the remote one.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// How many times the SSH session was re-established.
    pub fn reconnects(&self) -> u64 {
        self.shared.reconnects.load(Ordering::Relaxed)
    }

    /// Whether an SSH session is up now (false from when keep-alives went
    /// unanswered or the server closed it, until the reconnection): for a
    /// status indicator.
    pub async fn connected(&self) -> bool {
        self.shared.session.lock().await.as_ref().is_some_and(|s| !s.is_closed())
    }

    /// How many connections were forwarded.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((socket, from)) = listener.accept().await else {
            // Out of descriptors or the like: try again shortly rather than
            // closing the port the database connections know.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let shared = shared.clone();
        // One per database socket: it ends when either side closes, which
        // the database client does when it drops its connection.
        #[allow(clippy::disallowed_methods)]
        tokio::spawn(async move {
            if let Ok(channel) = open_channel(&shared, from).await {
                shared.forwarded.fetch_add(1, Ordering::Relaxed);
                let mut socket = socket;
                let mut stream = channel.into_stream();
                // Either side closing ends both; errors are the peer's
                // business (the database client sees its socket close).
                // Buffers of a full SSH packet: copy's 8 KiB default would
                // send four times the packets (and MACs) for the same rows.
                let _ = tokio::io::copy_bidirectional_with_sizes(&mut socket, &mut stream, COPY_BUFFER, COPY_BUFFER).await;
            }
            // Without a channel the socket is dropped: the database client
            // gets a closed connection and its driver reports it.
        });
    }
}

/// A channel to the remote address on a live session, reconnecting when
/// the session is dead, within the connect timeout.
async fn open_channel(shared: &Shared, from: SocketAddr) -> Result<russh::Channel<client::Msg>> {
    let deadline = tokio::time::Instant::now() + shared.options.connect_timeout;
    loop {
        let session = live_session(shared).await;
        if let Ok(session) = &session {
            let (host, port) = &shared.remote;
            match session.last().channel_open_direct_tcpip(host.as_str(), u32::from(*port), from.ip().to_string(), u32::from(from.port())).await {
                Ok(c) => return Ok(c),
                Err(e) if !session.is_closed() => {
                    // The server refused this forward (port closed there,
                    // forwarding not allowed): not the session's fault.
                    return Err(Error::connect(format!("SSH host {} could not open {host}:{port}", shared.options.hop.display()), e));
                }
                Err(_) => {}
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(session.err().unwrap_or_else(|| Error::Timeout("the SSH session kept dying".into())));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The current session, or a new one when it is closed.
async fn live_session(shared: &Shared) -> Result<Arc<Session>> {
    let mut slot = shared.session.lock().await;
    if let Some(s) = slot.as_ref().filter(|s| !s.is_closed()) {
        return Ok(s.clone());
    }
    *slot = None;
    let s = Arc::new(connect(&shared.options).await?);
    shared.reconnects.fetch_add(1, Ordering::Relaxed);
    *slot = Some(s.clone());
    Ok(s)
}

/// Re-establishes a dead session in the background, so that the next
/// database connection finds one ready: backoff from 100 ms to 5 s.
async fn supervise(shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let dead = shared.session.lock().await.as_ref().is_none_or(|s| s.is_closed());
        if dead {
            match live_session(&shared).await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The russh event handler of one hop: checks the host key.
struct Client {
    hop: SshHop,
    known_hosts: PathBuf,
    accept_new: bool,
    verdict: Arc<std::sync::Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> std::result::Result<bool, Self::Error> {
        let key: PublicKey = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(c) => {
                self.refuse(format!("offers a host certificate ({}); only host keys listed in known_hosts are accepted", known_hosts::fingerprint(&PublicKey::from(c.public_key().clone()))));
                return Ok(false);
            }
        };
        let print = known_hosts::fingerprint(&key);
        let file = self.known_hosts.display().to_string();
        match known_hosts::check_file(&self.known_hosts, &self.hop.host, self.hop.port, &key) {
            Ok(HostCheck::Known) => Ok(true),
            Ok(HostCheck::Unknown) if self.accept_new => match known_hosts::learn(&self.known_hosts, &self.hop.host, self.hop.port, &key) {
                Ok(()) => Ok(true),
                Err(e) => {
                    self.refuse(format!("is new, and recording its key {print} failed: {e}"));
                    Ok(false)
                }
            },
            Ok(HostCheck::Unknown) => {
                self.refuse(format!(
                    "is not in {file}: its host key is {print}. Check that fingerprint with the server's administrator, then accept it (--ssh-accept-new) or add it to the file"
                ));
                Ok(false)
            }
            Ok(HostCheck::Changed { line, recorded }) => {
                self.refuse(format!(
                    "offers host key {print}, but {file} line {line} records {recorded} for it: the key changed or someone is in the middle. Refused"
                ));
                Ok(false)
            }
            Ok(HostCheck::Revoked { line }) => {
                self.refuse(format!("offers host key {print}, revoked in {file} line {line}. Refused"));
                Ok(false)
            }
            Err(e) => {
                self.refuse(e.to_string());
                Ok(false)
            }
        }
    }
}

impl Client {
    fn refuse(&self, why: String) {
        if let Ok(mut v) = self.verdict.lock() {
            *v = Some(why);
        }
    }
}

/// Logs in through every hop in turn.
async fn connect(o: &SshOptions) -> Result<Session> {
    let mut hops: Vec<client::Handle<Client>> = Vec::new();
    for hop in o.jumps.iter().chain(std::iter::once(&o.hop)) {
        let handle = tokio::time::timeout(o.connect_timeout, connect_hop(o, hop, hops.last()))
            .await
            .map_err(|_| Error::Timeout(format!("SSH host {} did not answer within {:?}", hop.display(), o.connect_timeout)))??;
        hops.push(handle);
    }
    Ok(Session { hops })
}

/// AES-GCM first: with AES-NI (ring uses it where the CPU has it) it
/// costs a fraction of ChaCha20-Poly1305 per byte, and the tunnel's crypto
/// runs on the same cores as the query it carries; the others stay for
/// servers without it.
const CIPHERS: &[russh::cipher::Name] = &[
    russh::cipher::AES_256_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_192_CTR,
    russh::cipher::AES_128_CTR,
];

/// Bytes copied at a time between a database socket and its channel.
const COPY_BUFFER: usize = 32 << 10;

async fn connect_hop(o: &SshOptions, hop: &SshHop, via: Option<&client::Handle<Client>>) -> Result<client::Handle<Client>> {
    let verdict = Arc::new(std::sync::Mutex::new(None));
    let handler = Client { hop: hop.clone(), known_hosts: o.known_hosts.clone(), accept_new: o.accept_new, verdict: verdict.clone() };
    let config = Arc::new(client::Config {
        keepalive_interval: Some(o.keepalive),
        keepalive_max: o.keepalive_max,
        nodelay: true,
        preferred: russh::Preferred { cipher: std::borrow::Cow::Borrowed(CIPHERS), ..Default::default() },
        ..Default::default()
    });
    let name = hop.display();
    let connected = match via {
        None => {
            let socket = tokio::net::TcpStream::connect((hop.host.as_str(), hop.port))
                .await
                .map_err(|e| Error::connect(format!("cannot reach SSH host {name}"), e))?;
            keepalive_socket(&socket);
            let _ = socket.set_nodelay(true);
            client::connect_stream(config, socket, handler).await
        }
        Some(prev) => {
            let channel = prev
                .channel_open_direct_tcpip(hop.host.as_str(), u32::from(hop.port), "127.0.0.1", 0)
                .await
                .map_err(|e| Error::connect(format!("the jump host could not reach SSH host {name}"), e))?;
            client::connect_stream(config, channel.into_stream(), handler).await
        }
    };
    let mut handle = match connected {
        Ok(h) => h,
        Err(e) => {
            let why = verdict.lock().ok().and_then(|mut v| v.take());
            return Err(match why {
                Some(why) => Error::Connect { message: format!("SSH host {name} {why}"), source: None },
                None => Error::connect(format!("SSH with {name} failed"), e),
            });
        }
    };
    authenticate(o, hop, &mut handle).await?;
    Ok(handle)
}

/// TCP keep-alive on the SSH socket, so that a dead peer is noticed by the
/// kernel too (SSH keep-alives notice it first).
fn keepalive_socket(socket: &tokio::net::TcpStream) {
    let sock = socket2::SockRef::from(socket);
    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(10)).with_interval(Duration::from_secs(5));
    let _ = sock.set_tcp_keepalive(&ka);
}

/// The key file, then the agent, then a password: the first the server
/// accepts. Only the hop's name and the methods tried are in the error.
async fn authenticate(o: &SshOptions, hop: &SshHop, handle: &mut client::Handle<Client>) -> Result<()> {
    let name = hop.display();
    let mut tried = Vec::new();
    let auth_err = |e: russh::Error| Error::connect(format!("SSH host {name} broke off the login"), e);
    if let Some(path) = &o.key {
        let key = russh::keys::load_secret_key(path, o.passphrase.as_ref().map(Secret::expose)).map_err(|e| key_error(path, o.passphrase.is_some(), e))?;
        let hash = handle.best_supported_rsa_hash().await.map_err(auth_err)?.flatten();
        let r = handle.authenticate_publickey(hop.user.as_str(), PrivateKeyWithHashAlg::new(Arc::new(key), hash)).await.map_err(auth_err)?;
        if r.success() {
            return Ok(());
        }
        tried.push(format!("the key {}", path.display()));
    }
    if let Some(socket) = &o.agent {
        match russh::keys::agent::client::AgentClient::connect_uds(socket).await {
            Ok(mut agent) => {
                let ids = agent.request_identities().await.unwrap_or_default();
                let keys: Vec<PublicKey> = ids
                    .into_iter()
                    .filter_map(|i| match i {
                        russh::keys::agent::AgentIdentity::PublicKey { key, .. } => Some(key),
                        _ => None,
                    })
                    .collect();
                if keys.is_empty() {
                    tried.push("the agent (it holds no key)".into());
                }
                let hash = handle.best_supported_rsa_hash().await.map_err(auth_err)?.flatten();
                for key in keys {
                    let r = handle
                        .authenticate_publickey_with(hop.user.as_str(), key, hash, &mut agent)
                        .await
                        .map_err(|e| Error::connect(format!("the SSH agent failed while logging in to {name}"), e))?;
                    if r.success() {
                        return Ok(());
                    }
                }
                if !tried.iter().any(|t| t.starts_with("the agent")) {
                    tried.push("the agent's keys".into());
                }
            }
            Err(e) => tried.push(format!("the agent at {} (unreachable: {e})", socket.display())),
        }
    }
    if let Some(pw) = &o.password {
        let r = handle.authenticate_password(hop.user.as_str(), pw.expose()).await.map_err(auth_err)?;
        if r.success() {
            return Ok(());
        }
        tried.push("the password".into());
    }
    if tried.is_empty() {
        return Err(Error::Auth(format!("SSH host {name}: no way to log in was given (a key, the agent, or a password)")));
    }
    Err(Error::Auth(format!("SSH host {name} refused {}", tried.join(", "))))
}

/// A key file that cannot be used, in words (never its content).
fn key_error(path: &std::path::Path, had_passphrase: bool, e: russh::keys::Error) -> Error {
    let file = path.display();
    match e {
        russh::keys::Error::KeyIsEncrypted if !had_passphrase => {
            Error::invalid(format!("the SSH key {file} is encrypted: give its passphrase (QORE_SSH_PASSPHRASE or the prompt)"))
        }
        russh::keys::Error::KeyIsEncrypted => Error::invalid(format!("wrong passphrase for the SSH key {file}")),
        russh::keys::Error::IO(io) => Error::io(format!("cannot read the SSH key {file}"), io),
        other => {
            // ssh-key reports a wrong passphrase as a decryption or padding
            // failure.
            let text = other.to_string();
            if had_passphrase && (text.contains("crypt") || text.contains("padding") || text.contains("Crypto")) {
                Error::invalid(format!("wrong passphrase for the SSH key {file}"))
            } else {
                Error::invalid(format!("the SSH key {file} cannot be read: {text}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hops_are_read_with_their_defaults() {
        let h = SshHop::parse("deploy@db.example.com:2222", None).unwrap();
        assert_eq!((h.user.as_str(), h.host.as_str(), h.port), ("deploy", "db.example.com", 2222));
        let h = SshHop::parse("bastion", Some("me")).unwrap();
        assert_eq!((h.user.as_str(), h.host.as_str(), h.port), ("me", "bastion", 22));
        let h = SshHop::parse("u@[::1]:2200", None).unwrap();
        assert_eq!((h.host.as_str(), h.port), ("::1", 2200));
        for bad in ["u@", "@h", "u@h:0", "u@h:x", "u@::1", "u@[::1", "u@[::1]x", "h"] {
            assert!(SshHop::parse(bad, None).is_err(), "{bad}");
        }
    }

    proptest! {
        /// What display() writes, parse() reads back.
        #[test]
        fn hops_round_trip(user in "[a-z_][a-z0-9_.-]{0,10}", host in "[a-z0-9][a-z0-9.-]{0,20}", port in 1u16..) {
            let hop = SshHop { user, host, port };
            let text = format!("{}@{}:{}", hop.user, hop.host, hop.port);
            prop_assert_eq!(SshHop::parse(&text, None).unwrap(), hop);
        }
    }
}
