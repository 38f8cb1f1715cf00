//! Testing a connection the way a "Test connection" button does: open it
//! (through its SSH tunnel, if any), time each step, ping it a few times,
//! and ask the server about itself.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "duckdb")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let spec = qore_core::ConnectionSpec::parse("duckdb:").unwrap();
//! let p = qore_drivers::probe::probe(&spec, 3).await.unwrap();
//! assert_eq!(p.pings.len(), 3);
//! assert!(p.info.server_version.is_some());
//! assert!(p.tunnel.is_none());
//! # });
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use qore_core::{ConnectionSpec, Engine, Result, SessionInfo};

/// What [`probe`] found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Probe {
    /// The engine.
    pub engine: Engine,
    /// The target, without its password.
    pub target: String,
    /// The SSH tunnel, when the URL asks for one.
    pub tunnel: Option<TunnelProbe>,
    /// Opening the session (after the tunnel): TCP, TLS, authentication,
    /// the session's set-up.
    pub connect: Duration,
    /// Round trips of the engine's ping, in order.
    pub pings: Vec<Duration>,
    /// What the server says about itself and this session.
    pub info: SessionInfo,
}

/// The tunnel part of a [`Probe`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TunnelProbe {
    /// The SSH hops, jump hosts first, as `user@host[:port]`.
    pub hops: Vec<String>,
    /// The tunnel's local end, which the database connection used.
    pub local: SocketAddr,
    /// Opening the tunnel: every hop's handshake, host-key check and login.
    pub opened: Duration,
}

impl Probe {
    /// The median ping, if any.
    pub fn median_ping(&self) -> Option<Duration> {
        let mut p = self.pings.clone();
        p.sort();
        p.get(p.len() / 2).copied()
    }
}

/// Opens `spec` once, pings it `pings` times, asks its
/// [`session_info`](qore_core::Connection::session_info), and closes it.
///
/// # Error handling
///
/// The first step's error, with what failed put before it (`SSH tunnel:`,
/// `connecting:`, `ping:`), of its own kind (a refused host key is
/// [`Error::Connect`](qore_core::Error::Connect), a wrong password
/// [`Error::Auth`](qore_core::Error::Auth)).
pub async fn probe(spec: &ConnectionSpec, pings: usize) -> Result<Probe> {
    let target = spec.to_string();
    let mut plain = spec.clone();
    let hops = crate::tunnel::take_ssh_options(&mut plain)?
        .map(|o| o.jumps.iter().chain([&o.hop]).map(|h| h.display()).collect::<Vec<_>>());
    let started = Instant::now();
    let (tunnelled, tunnel) = crate::tunnel::through_ssh(spec)
        .await
        .map_err(|e| e.context("SSH tunnel"))?;
    let tunnel = tunnel.map(|t| {
        let probe = TunnelProbe {
            hops: hops.unwrap_or_default(),
            local: t.local_addr(),
            opened: started.elapsed(),
        };
        (t, probe)
    });
    let started = Instant::now();
    let conn = crate::connect_engine(&tunnelled)
        .await
        .map_err(|e| e.context("connecting"))?;
    let connect = started.elapsed();
    let mut times = Vec::with_capacity(pings);
    for _ in 0..pings {
        let t = Instant::now();
        conn.ping().await.map_err(|e| e.context("ping"))?;
        times.push(t.elapsed());
    }
    let info = conn.session_info().await.map_err(|e| e.context("session info"))?;
    crate::note("closing a probed connection", conn.close().await);
    drop(conn);
    Ok(Probe {
        engine: spec.engine,
        target,
        tunnel: tunnel.map(|(_t, p)| p),
        connect,
        pings: times,
        info,
    })
}
