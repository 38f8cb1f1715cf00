//! Keep-alive and transparent reconnect for server sessions: what the
//! PostgreSQL, MySQL/MariaDB and Redis drivers share.
//!
//! A session remembers when it was last used. Before a statement, a session
//! idle for longer than `keepalive_idle` is checked with a ping bounded by
//! `ping_timeout`; a session found dead (the ping failed, the server closed
//! the socket, an earlier statement broke the transport) is replaced by a
//! new connection with the same URL, and the settings the session made
//! through qore (`SET`, `USE`, `SELECT n`) are run again on it. Nothing of
//! the caller's statement had run, so this is invisible.
//!
//! A statement cut off by a broken connection is run again only when
//! [`qore_core::replay::replay_safe`] says it is a plain read and no
//! transaction is open; otherwise the caller gets
//! [`ErrorKind::ConnectionLost`](qore_core::ErrorKind::ConnectionLost).
//! Every replacement is logged (`tracing`, target `qore_drivers::keepalive`)
//! and counted ([`Connection::reconnects`](qore_core::Connection::reconnects)).
//!
//! URL options, for every server engine: `keepalive_idle` (seconds before
//! the ping, default 30; `0` pings before every statement, `off` never),
//! `ping_timeout` (seconds, default 5), `reconnect` (`on` by default; `off`
//! makes a broken session an error, as before).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qore_core::{ConnectionSpec, Engine, Error, ErrorKind, Result};

/// The URL options this module reads; drivers pass over them.
pub(crate) const OPTIONS: &[&str] = &["keepalive_idle", "ping_timeout", "reconnect"];

/// Whether `key` is one of [`OPTIONS`].
pub(crate) fn is_option(key: &str) -> bool {
    OPTIONS.iter().any(|o| o.eq_ignore_ascii_case(key))
}

/// The most session settings a session replays; older ones go first.
const MAX_SETTINGS: usize = 64;

/// How long the kernel may hold unacknowledged data (or unanswered
/// keep-alive probes) before it declares the peer gone: a half-open link is
/// found within this, not after the default ~15 minutes of retransmits.
pub(crate) const TCP_USER_TIMEOUT: Duration = Duration::from_secs(20);

/// When to check and replace sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Idle time after which the session is pinged before its next
    /// statement; `None`: never.
    pub idle: Option<Duration>,
    /// How long that ping may take.
    pub ping_timeout: Duration,
    /// Whether a dead session is replaced.
    pub reconnect: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            idle: Some(Duration::from_secs(30)),
            ping_timeout: Duration::from_secs(5),
            reconnect: true,
        }
    }
}

impl Policy {
    /// The policy a URL asks for.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a value that is not a number of seconds
    /// (or `off` / a flag where one is expected).
    pub fn from_spec(spec: &ConnectionSpec) -> Result<Policy> {
        let mut p = Policy::default();
        for (k, v) in &spec.options {
            let secs = || -> Result<Duration> {
                v.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        Error::invalid(format!("option `{k}` must be a number of seconds, not `{v}`"))
                    })
            };
            match k.to_ascii_lowercase().as_str() {
                "keepalive_idle" if v.eq_ignore_ascii_case("off") => p.idle = None,
                "keepalive_idle" => p.idle = Some(secs()?),
                "ping_timeout" => {
                    p.ping_timeout = secs()?;
                    if p.ping_timeout.is_zero() {
                        return Err(Error::invalid("option `ping_timeout` must be more than 0 seconds"));
                    }
                }
                "reconnect" => p.reconnect = crate::parse_flag(k, v)?,
                _ => {}
            }
        }
        Ok(p)
    }
}

/// One session's health: when it was used, whether it is known broken, how
/// often it was replaced, and what it set that a replacement must set too.
#[derive(Debug)]
pub(crate) struct Health {
    engine: Engine,
    pub(crate) policy: Policy,
    last_used: Mutex<Instant>,
    broken: AtomicBool,
    reconnects: AtomicU64,
    settings: Mutex<Vec<String>>,
}

impl Health {
    pub(crate) fn new(engine: Engine, policy: Policy) -> Self {
        Health {
            engine,
            policy,
            last_used: Mutex::new(Instant::now()),
            broken: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            settings: Mutex::new(Vec::new()),
        }
    }

    /// Notes a use of the session now; says whether it had been idle past
    /// the policy's threshold (so it should be pinged first).
    pub(crate) fn touch(&self) -> bool {
        let now = Instant::now();
        let Ok(mut last) = self.last_used.lock() else {
            return true;
        };
        let idle = now.duration_since(*last);
        *last = now;
        self.policy.idle.is_some_and(|limit| idle >= limit)
    }

    /// Notes the outcome of a call: an error that says the transport broke
    /// marks the session for replacement before its next statement.
    pub(crate) fn note<T>(&self, r: &Result<T>) {
        if let Err(e) = r
            && breaks(e)
        {
            self.broken.store(true, Ordering::Release);
        }
    }

    /// Marks the transport broken: the next call replaces it.
    pub(crate) fn mark_broken(&self) {
        self.broken.store(true, Ordering::Release);
    }

    /// Whether an earlier call found the transport broken.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// Whether this session replaces itself when broken.
    pub(crate) fn reconnects_enabled(&self) -> bool {
        self.policy.reconnect
    }

    /// How many times the session was replaced.
    pub(crate) fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// Counts and logs a replacement that succeeded.
    pub(crate) fn replaced(&self, why: &Error, started: Instant) {
        self.broken.store(false, Ordering::Release);
        let n = self.reconnects.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(
            target: "qore_drivers::keepalive",
            engine = self.engine.name(),
            reconnects = n,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            cause = %why,
            "replaced a broken session"
        );
    }

    /// Records a statement that changed the session, to run again on a
    /// replacement. The same text twice is kept once, at its latest place.
    pub(crate) fn record(&self, sql: &str) {
        let sql = sql.trim().trim_end_matches(';').trim();
        if let Ok(mut s) = self.settings.lock() {
            s.retain(|x| x != sql);
            if s.len() == MAX_SETTINGS {
                s.remove(0);
            }
            s.push(sql.to_string());
        }
    }

    /// The statements to run on a replacement, in order.
    pub(crate) fn settings(&self) -> Vec<String> {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Whether a session of `engine` records `sql` to run it again on a
/// replacement ([`qore_core::replay::changes_session`]); a quick look at
/// the first word first, since this runs for every statement.
pub(crate) fn records(engine: Engine, sql: &str) -> bool {
    let first = sql.trim_start().get(..5).unwrap_or("").to_ascii_uppercase();
    (first.starts_with("SET") || first.starts_with("RESET") || first.starts_with("USE"))
        && qore_core::replay::changes_session(sql, qore_core::sql::Flavor::of(engine))
}

/// Whether `e` means the connection itself is gone (rather than the
/// statement failing on a working connection).
pub(crate) fn breaks(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Connection | ErrorKind::ConnectionLost)
        && !matches!(e, Error::Connect { message, .. } if message.contains("is closed"))
}

/// `e`, a transport failure while `what` ran inside a transaction or as a
/// statement that is not replayed, as [`Error::ConnectionLost`]; other
/// errors unchanged.
pub(crate) fn lost(e: Error, what: &str) -> Error {
    if e.kind() == ErrorKind::Connection && breaks(&e) {
        let cause = match &e {
            Error::Connect {
                message,
                source: Some(s),
            } => format!("{message} ({s})"),
            Error::Connect { message, .. } => message.clone(),
            other => other.to_string(),
        };
        Error::connection_lost(what, cause)
    } else {
        e
    }
}

/// A short name for a statement in an error message: its first words.
pub(crate) fn describe(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(4).collect();
    let mut s = words.join(" ");
    if s.chars().count() > 40 {
        s = s.chars().take(40).collect::<String>() + "...";
    } else if sql.split_whitespace().nth(4).is_some() {
        s.push_str(" ...");
    }
    format!("the statement `{s}`")
}

/// Runs `ping` within the policy's timeout; `Ok` when it answered.
pub(crate) async fn ping_within<F>(timeout: Duration, ping: F) -> Result<()>
where
    F: std::future::Future<Output = Result<()>>,
{
    match tokio::time::timeout(timeout, ping).await {
        Ok(r) => r,
        Err(_) => Err(Error::Connect {
            message: format!(
                "the server did not answer a ping within {:.1} s (raise it with ?ping_timeout=S)",
                timeout.as_secs_f64()
            ),
            source: None,
        }),
    }
}

/// Sets TCP keep-alive probes and `TCP_USER_TIMEOUT` on a server socket, so
/// that a link that stops answering is found by the kernel in seconds.
pub(crate) fn tune_socket(s: &tokio::net::TcpStream) -> std::io::Result<()> {
    let s = socket2::SockRef::from(s);
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(10))
        .with_interval(Duration::from_secs(5));
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
    let ka = ka.with_retries(3);
    s.set_tcp_keepalive(&ka)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    s.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(url: &str) -> Result<Policy> {
        Policy::from_spec(&ConnectionSpec::parse(url).unwrap())
    }

    #[test]
    fn options() {
        assert_eq!(policy("postgres://h/d").unwrap(), Policy::default());
        let p = policy("postgres://h/d?keepalive_idle=0&ping_timeout=1.5&reconnect=off").unwrap();
        assert_eq!(p.idle, Some(Duration::ZERO));
        assert_eq!(p.ping_timeout, Duration::from_millis(1500));
        assert!(!p.reconnect);
        assert_eq!(policy("redis://h?keepalive_idle=off").unwrap().idle, None);
        for bad in ["keepalive_idle=-1", "ping_timeout=0", "ping_timeout=x", "reconnect=maybe"] {
            let e = policy(&format!("postgres://h/d?{bad}")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
        }
    }

    #[test]
    fn settings_are_kept_once_in_order() {
        let h = Health::new(Engine::Postgres, Policy::default());
        h.record("SET a = 1");
        h.record("SET b = 2;");
        h.record("SET a = 1");
        assert_eq!(h.settings(), ["SET b = 2", "SET a = 1"]);
        for i in 0..100 {
            h.record(&format!("SET x{i} = 1"));
        }
        assert_eq!(h.settings().len(), MAX_SETTINGS);
        assert_eq!(h.settings().last().unwrap(), "SET x99 = 1");
    }

    #[test]
    fn idle_threshold() {
        let mut p = Policy::default();
        p.idle = Some(Duration::ZERO);
        assert!(Health::new(Engine::MySql, p.clone()).touch());
        p.idle = None;
        assert!(!Health::new(Engine::MySql, p).touch());
        assert!(!Health::new(Engine::MySql, Policy::default()).touch());
    }

    #[test]
    fn broken_transport_becomes_connection_lost() {
        let e = lost(Error::connect("reset", "by peer"), "the statement `UPDATE t`");
        assert_eq!(e.kind(), ErrorKind::ConnectionLost);
        assert!(e.to_string().contains("UPDATE t"), "{e}");
        let closed = Error::Connect { message: "the PostgreSQL connection is closed".into(), source: None };
        assert_eq!(lost(closed, "x").kind(), ErrorKind::Connection);
        let syntax = Error::query_kind(ErrorKind::Syntax, "bad", None);
        assert_eq!(lost(syntax, "x").kind(), ErrorKind::Syntax);
        assert_eq!(describe("UPDATE  t SET a = 1 WHERE b"), "the statement `UPDATE t SET a ...`");
    }
}
