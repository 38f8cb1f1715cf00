//! What a `postgres://` URL asks for, before any I/O.

use std::time::Duration;

use qore_core::{ConnectionSpec, Error, Result};
use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// How long a connection attempt may take unless `connect_timeout` says.
pub(super) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The connect options, the connect timeout, and whether plain SELECTs
/// take the COPY path (`fetch`).
pub(super) fn options_from_spec(
    spec: &ConnectionSpec,
) -> Result<(PgConnectOptions, Duration, bool)> {
    let mut o = PgConnectOptions::new_without_pgpass();
    let host = spec.hosts.first();
    o = o
        .host(host.map(|h| h.host.as_str()).unwrap_or("localhost"))
        .port(host.and_then(|h| h.port).unwrap_or(5432))
        .application_name("qore");
    if let Some(u) = &spec.user {
        o = o.username(u);
    }
    if let Some(p) = &spec.password {
        o = o.password(p.expose());
    }
    if let Some(d) = &spec.database {
        o = o.database(d);
    }
    let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    let mut fetch_copy = true;
    let mut settings: Vec<(String, String)> = Vec::new();
    for (k, v) in &spec.options {
        let int = |what: &str| -> Result<u64> {
            v.parse().map_err(|_| {
                Error::invalid(format!("PostgreSQL option `{k}` must be {what}, not `{v}`"))
            })
        };
        match k.to_ascii_lowercase().as_str() {
            "sslmode" => {
                o = o.ssl_mode(v.parse::<PgSslMode>().map_err(|_| {
                    Error::invalid(format!(
                        "sslmode `{v}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ))
                })?)
            }
            "sslrootcert" => o = o.ssl_root_cert(v.as_str()),
            "connect_timeout" => connect_timeout = Duration::from_secs(int("seconds")?),
            "statement_timeout" => settings.push(("statement_timeout".into(), int("milliseconds")?.to_string())),
            "application_name" => o = o.application_name(v),
            "fetch" => {
                fetch_copy = match v.as_str() {
                    "copy" => true,
                    "rows" => false,
                    _ => return Err(Error::invalid(format!("fetch must be `copy` or `rows`, not `{v}`"))),
                }
            }
            "search_path" | "timezone" | "lock_timeout" | "idle_in_transaction_session_timeout" => {
                settings.push((k.to_ascii_lowercase(), v.clone()))
            }
            // The server refuses writes (SQLSTATE 25006) unless a
            // transaction asks for READ WRITE itself.
            "read_only" | "readonly" => {
                if crate::parse_flag(k, v)? {
                    settings.push(("default_transaction_read_only".into(), "on".into()));
                }
            }
            other if crate::keepalive::is_option(other) => {}
            other => {
                return Err(Error::invalid(format!(
                    "unknown PostgreSQL option `{other}` (known: sslmode, sslrootcert, connect_timeout, \
                     statement_timeout, application_name, search_path, timezone, lock_timeout, fetch, read_only, \
                     keepalive_idle, ping_timeout, reconnect)"
                )));
            }
        }
    }
    if !settings.is_empty() {
        o = o.options(settings);
    }
    Ok((o, connect_timeout, fetch_copy))
}
