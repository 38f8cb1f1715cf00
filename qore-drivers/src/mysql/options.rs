//! How to reach a MySQL/MariaDB server: what the URL asked for, before
//! any I/O. Shared by the TLS setup and the wire protocol, so that neither
//! depends on the other for it.

use std::path::PathBuf;
use std::time::Duration;

use qore_core::{ConnectionSpec, Error, Result};

/// How long a connection attempt may take unless `connect_timeout` says.
pub(super) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS wanted by the user (`ssl-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    /// The spelling of the URL option.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "disabled",
            SslMode::Preferred => "preferred",
            SslMode::Required => "required",
            SslMode::VerifyCa => "verify_ca",
            SslMode::VerifyIdentity => "verify_identity",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<SslMode> {
        Some(match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "disabled" | "disable" => SslMode::Disabled,
            "preferred" | "prefer" => SslMode::Preferred,
            "required" | "require" => SslMode::Required,
            "verify_ca" => SslMode::VerifyCa,
            "verify_identity" | "verify_full" => SslMode::VerifyIdentity,
            _ => return None,
        })
    }
}

/// Where and how to connect.
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) socket: Option<PathBuf>,
    pub(crate) user: String,
    pub(crate) password: Option<String>,
    pub(crate) database: Option<String>,
    pub(crate) ssl_mode: SslMode,
    pub(crate) ssl_ca: Option<PathBuf>,
    pub(crate) connect_timeout: Duration,
    /// The server's RSA public key (`server-public-key-path`), for the SHA-2
    /// plugins' full authentication over plain TCP.
    pub(crate) server_public_key: Option<PathBuf>,
    /// `get-server-public-key`: the key may be asked from the server
    /// (open to a man in the middle, hence off by default as in MySQL's
    /// own client).
    pub(crate) get_server_public_key: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Options")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .field("user", &self.user)
            .field("database", &self.database)
            .field("ssl_mode", &self.ssl_mode)
            .finish_non_exhaustive()
    }
}

/// What a `mysql://` URL asks for: where and how to connect, and the
/// session settings applied once connected.
#[derive(Clone)]
pub(super) struct Settings {
    pub(super) options: Options,
    pub(super) statement_timeout_ms: Option<u64>,
    pub(super) read_only: bool,
}

pub(super) fn options_from_spec(spec: &ConnectionSpec) -> Result<Settings> {
    let host = spec.hosts.first();
    let mut o = Options {
        host: host
            .map(|h| h.host.clone())
            .unwrap_or_else(|| "localhost".into()),
        port: host.and_then(|h| h.port).unwrap_or(3306),
        socket: None,
        user: spec.user.clone().unwrap_or_else(|| "root".into()),
        password: spec.password.as_ref().map(|p| p.expose().to_string()),
        database: spec.database.clone(),
        ssl_mode: SslMode::Preferred,
        ssl_ca: None,
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        server_public_key: None,
        get_server_public_key: false,
    };
    let mut statement_timeout_ms = None;
    let mut read_only = false;
    for (k, v) in &spec.options {
        let int = |what: &str| -> Result<u64> {
            v.parse().map_err(|_| {
                Error::invalid(format!("MySQL option `{k}` must be {what}, not `{v}`"))
            })
        };
        match k.to_ascii_lowercase().replace('-', "_").as_str() {
            "sslmode" | "ssl_mode" => {
                o.ssl_mode = SslMode::parse(v).ok_or_else(|| {
                    Error::invalid(format!(
                        "ssl-mode `{v}` is not one of disabled, preferred, required, verify_ca, verify_identity"
                    ))
                })?
            }
            "ssl_ca" | "sslrootcert" => o.ssl_ca = Some(v.into()),
            "connect_timeout" => o.connect_timeout = Duration::from_secs(int("seconds")?),
            "statement_timeout" => statement_timeout_ms = Some(int("milliseconds")?),
            "socket" => o.socket = Some(v.into()),
            "server_public_key_path" => o.server_public_key = Some(v.into()),
            "get_server_public_key" => o.get_server_public_key = crate::parse_flag(k, v)?,
            "read_only" | "readonly" => read_only = crate::parse_flag(k, v)?,
            other if crate::keepalive::is_option(other) => {}
            other => {
                return Err(Error::invalid(format!(
                    "unknown MySQL option `{other}` (known: ssl-mode, ssl-ca, connect_timeout, statement_timeout, socket, read_only, server-public-key-path, get-server-public-key, keepalive_idle, ping_timeout, reconnect)"
                )));
            }
        }
    }
    if o.ssl_ca.is_some() && matches!(o.ssl_mode, SslMode::Preferred) {
        // A CA given means the user wants the server checked against it.
        o.ssl_mode = SslMode::VerifyCa;
    }
    Ok(Settings {
        options: o,
        statement_timeout_ms,
        read_only,
    })
}
