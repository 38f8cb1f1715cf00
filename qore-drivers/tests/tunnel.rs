//! SSH tunnels against real OpenSSH servers that each test starts on
//! loopback (its own host key, keys and known_hosts, so that killing one
//! touches no other test), to the database servers `scripts/servers.sh`
//! started.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{rows, server_url, text};
use qore_drivers::tunnel::{SshHop, SshOptions, Tunnel};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn keygen(path: &Path, passphrase: &str) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "qore-tunnel-test", "-N", passphrase, "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (openssh-client) must be installed: scripts/setup.sh installs it");
    assert!(ok.success());
}

/// An sshd of this test, with its own host key.
struct Sshd {
    dir: PathBuf,
    name: String,
    port: u16,
    child: Option<Child>,
}

impl Sshd {
    /// Starts sshd `name` in `dir`, letting in the keys of
    /// `dir/authorized_keys`.
    fn start(dir: &Path, name: &str) -> Sshd {
        keygen(&dir.join(format!("{name}_host_key")), "");
        let mut s = Sshd { dir: dir.to_path_buf(), name: name.to_string(), port: free_port(), child: None };
        s.restart();
        s
    }

    fn host_key_line(&self) -> String {
        let pubkey = std::fs::read_to_string(self.dir.join(format!("{}_host_key.pub", self.name))).unwrap();
        let mut f = pubkey.split_whitespace();
        format!("{} {}", f.next().unwrap(), f.next().unwrap())
    }

    fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen").arg("-lf").arg(self.dir.join(format!("{}_host_key.pub", self.name))).output().unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().nth(1).unwrap().to_string()
    }

    /// (Re)starts it on the same port.
    fn restart(&mut self) {
        let config = self.dir.join(format!("{}_sshd_config", self.name));
        let log = self.dir.join(format!("{}_sshd.log", self.name));
        std::fs::write(
            &config,
            format!(
                "Port {}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\n\
                 StrictModes no\nAllowTcpForwarding yes\nLogLevel VERBOSE\n",
                self.port,
                self.dir.join(format!("{}_host_key", self.name)).display(),
                self.dir.join(format!("{}_sshd.pid", self.name)).display(),
                self.dir.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        std::fs::create_dir_all("/run/sshd").ok();
        let _ = std::fs::remove_file(&log);
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("sshd (openssh-server) must be installed: scripts/setup.sh installs it");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("Server listening") {
            assert!(Instant::now() < deadline, "sshd did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL to the listener and every session process it forked (the
    /// one serving the tunnel among them), as a crash would.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            for pid in tree(c.id()) {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
            let _ = c.wait();
        }
    }

    /// Logins this sshd accepted since it was last started.
    fn logins(&self) -> usize {
        std::fs::read_to_string(self.dir.join(format!("{}_sshd.log", self.name))).unwrap_or_default().matches("Accepted publickey").count()
    }

    /// `sig` to the listener and its session processes.
    fn signal(&self, sig: &str) {
        for pid in tree(self.child.as_ref().unwrap().id()) {
            let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
        }
    }

    fn hop(&self) -> SshHop {
        SshHop { user: user(), host: "127.0.0.1".into(), port: self.port }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A stopped sshd would not die of SIGTERM.
            let _ = Command::new("kill").args(["-CONT", &self.child.as_ref().unwrap().id().to_string()]).status();
        }
        self.kill();
    }
}

/// `pid` and its descendants, from /proc.
fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if ppid == Some(parent) && !all.contains(&child) {
                all.push(child);
            }
        }
        i += 1;
    }
    all
}

/// A directory with a client key (plain and encrypted) that sshd lets in.
fn keys() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    keygen(&dir.path().join("client_key"), "");
    keygen(&dir.path().join("encrypted_key"), "correct horse");
    let mut auth = std::fs::read_to_string(dir.path().join("client_key.pub")).unwrap();
    auth.push_str(&std::fs::read_to_string(dir.path().join("encrypted_key.pub")).unwrap());
    std::fs::write(dir.path().join("authorized_keys"), auth).unwrap();
    dir
}

fn known_hosts(dir: &Path, servers: &[&Sshd]) -> PathBuf {
    let path = dir.join("known_hosts");
    let text: String = servers.iter().map(|s| format!("[127.0.0.1]:{} {}\n", s.port, s.host_key_line())).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn options(dir: &Path, sshd: &Sshd) -> SshOptions {
    let mut o = SshOptions::new(sshd.hop());
    o.key = Some(dir.join("client_key"));
    o.agent = None;
    o.known_hosts = known_hosts(dir, &[sshd]);
    o
}

/// The URL `var` names, with `extra` query options added.
fn url_with(var: &str, extra: &str) -> String {
    let url = server_url(var);
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{extra}")
}

/// A tunnel to the test PostgreSQL, and that database opened through it.
async fn postgres_through(o: SshOptions) -> (Tunnel, qore_core::DatabaseRef) {
    let pg = server_url("QORE_TEST_POSTGRES_URL");
    let port = pg.rsplit_once(':').unwrap().1.split('/').next().unwrap().parse::<u16>().unwrap();
    let t = Tunnel::open(o, "127.0.0.1", port).await.unwrap();
    let url = pg.replacen(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{}", t.local_addr().port()), 1);
    let db = qore_drivers::open(&url).await.unwrap();
    (t, db)
}

/// Waits until a new session of `db` answers a query, failing after
/// `limit` (`after` says what happened before).
async fn works_within(db: &qore_core::DatabaseRef, limit: Duration, after: &str) {
    let start = Instant::now();
    loop {
        let ok = async { qore_core::collect(db.session().await.ok()?.query("SELECT 2", &[]).await.ok()?).await.ok() }.await;
        if ok.is_some() {
            return;
        }
        assert!(start.elapsed() < limit, "no session within {limit:?} after {after}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn one(db: &qore_core::DatabaseRef, sql: &str) -> String {
    let c = db.session().await.unwrap();
    text(&rows(&*c, sql).await, 0, 0)
}

#[tokio::test]
async fn postgres_mariadb_and_mongodb_through_a_tunnel_from_the_url() {
    let dir = keys();
    let sshd = Sshd::start(dir.path(), "a");
    let kh = known_hosts(dir.path(), &[&sshd]);
    let ssh = format!("ssh={}@127.0.0.1:{}&ssh_key={}&ssh_known_hosts={}&ssh_agent=false", user(), sshd.port, dir.path().join("client_key").display(), kh.display());
    let pg = qore_drivers::open(&url_with("QORE_TEST_POSTGRES_URL", &ssh)).await.unwrap();
    // The server sees the connection coming from sshd, on loopback.
    assert_eq!(one(&pg, "SELECT 'through ' || coalesce(host(inet_client_addr()), 'socket')").await, "through 127.0.0.1");
    assert!(pg.target().contains("127.0.0.1"), "{}", pg.target());
    let my = qore_drivers::open(&url_with("QORE_TEST_MYSQL_URL", &ssh)).await.unwrap();
    assert_eq!(one(&my, "SELECT 6 * 7").await, "42");
    let mongo = qore_drivers::open(&url_with("QORE_TEST_MONGODB_URL", &ssh)).await.unwrap();
    let c = mongo.session().await.unwrap();
    // Listing the collections is a round trip to the server.
    c.catalog().unwrap().tables(None).await.unwrap();
    // Several sessions share the one local port.
    let (a, b) = (pg.session().await.unwrap(), pg.session().await.unwrap());
    assert_eq!(text(&rows(&*a, "SELECT 1").await, 0, 0), text(&rows(&*b, "SELECT 1").await, 0, 0));
}

#[tokio::test]
async fn unknown_changed_and_hashed_host_keys() {
    let dir = keys();
    let sshd = Sshd::start(dir.path(), "a");
    let mut o = options(dir.path(), &sshd);

    // Unknown: refused, with the fingerprint ssh-keygen prints.
    std::fs::write(&o.known_hosts, "").unwrap();
    let err = Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains(&sshd.fingerprint()), "{err}");
    assert!(err.contains("not in") && err.contains(&format!("[127.0.0.1]:{}", sshd.port)), "{err}");

    // Accepting a new host records it; then it is known.
    o.accept_new = true;
    Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap();
    assert!(std::fs::read_to_string(&o.known_hosts).unwrap().contains(&sshd.host_key_line()));
    o.accept_new = false;
    Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap();

    // Changed: another key recorded for it is refused, even when accepting
    // new hosts.
    let other = Sshd::start(dir.path(), "b");
    std::fs::write(&o.known_hosts, format!("[127.0.0.1]:{} {}\n", sshd.port, other.host_key_line())).unwrap();
    o.accept_new = true;
    let err = Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains("changed") && err.contains(&sshd.fingerprint()) && err.contains(&other.fingerprint()), "{err}");
    o.accept_new = false;

    // Hashed by ssh-keygen -H: still known.
    known_hosts(dir.path(), &[&sshd]);
    assert!(Command::new("ssh-keygen").arg("-H").arg("-f").arg(&o.known_hosts).stderr(Stdio::null()).status().unwrap().success());
    let hashed = std::fs::read_to_string(&o.known_hosts).unwrap();
    assert!(hashed.starts_with("|1|") && !hashed.contains("127.0.0.1"), "{hashed}");
    Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap();
}

#[tokio::test]
async fn keys_passphrases_agent_and_bad_input() {
    let dir = keys();
    let sshd = Sshd::start(dir.path(), "a");
    let mut o = options(dir.path(), &sshd);

    // An encrypted key: no passphrase, a wrong one, the right one.
    o.key = Some(dir.path().join("encrypted_key"));
    let err = Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains("encrypted"), "{err}");
    o.passphrase = Some(qore_core::Secret::new("wrong horse"));
    let err = Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains("wrong passphrase") && !err.contains("wrong horse"), "{err}");
    o.passphrase = Some(qore_core::Secret::new("correct horse"));
    Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap();

    // A key the server does not know: refused, naming the hop.
    keygen(&dir.path().join("stranger"), "");
    o.key = Some(dir.path().join("stranger"));
    o.passphrase = None;
    let err = Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap_err();
    assert_eq!(err.kind(), qore_core::ErrorKind::Authentication, "{err}");
    assert!(err.to_string().contains(&format!("@[127.0.0.1]:{}", sshd.port)), "{err}");

    // An unreadable key file, an unreachable host.
    o.key = Some(dir.path().join("no such key"));
    let err = Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains("no such key"), "{err}");
    let mut gone = options(dir.path(), &sshd);
    gone.hop.port = free_port();
    let err = Tunnel::open(gone, "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains("cannot reach SSH host"), "{err}");

    // The agent: empty, then holding the key.
    let sock = dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent").arg("-D").arg("-a").arg(&sock).stdout(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    o.key = None;
    o.agent = Some(sock.clone());
    let err = Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains("holds no key"), "{err}");
    let added = Command::new("ssh-add").arg(dir.path().join("client_key")).env("SSH_AUTH_SOCK", &sock).stderr(Stdio::null()).status().unwrap();
    assert!(added.success());
    Tunnel::open(o.clone(), "127.0.0.1", 5432).await.unwrap();
    let _ = agent.kill();
}

#[tokio::test]
async fn through_a_jump_host() {
    let dir = keys();
    let jump = Sshd::start(dir.path(), "jump");
    let target = Sshd::start(dir.path(), "target");
    let mut o = options(dir.path(), &target);
    o.jumps = vec![jump.hop()];
    o.known_hosts = known_hosts(dir.path(), &[&jump, &target]);
    let (t, db) = postgres_through(o.clone()).await;
    assert_eq!(one(&db, "SELECT 'jumped'").await, "jumped");
    assert_eq!(t.forwarded(), 1);
    // The target's log shows the login came from the jump host's forward.
    let log = std::fs::read_to_string(dir.path().join("target_sshd.log")).unwrap();
    assert!(log.contains("Accepted publickey"), "{log}");

    // A jump host whose key is unknown is named as the hop that failed.
    o.known_hosts = known_hosts(dir.path(), &[&target]);
    let err = Tunnel::open(o, "127.0.0.1", 5432).await.unwrap_err().to_string();
    assert!(err.contains(&format!("[127.0.0.1]:{}", jump.port)) && err.contains("not in"), "{err}");
}

#[tokio::test]
async fn a_killed_sshd_is_reconnected_on_the_same_local_port() {
    let dir = keys();
    let mut sshd = Sshd::start(dir.path(), "a");
    let mut o = options(dir.path(), &sshd);
    o.keepalive = Duration::from_secs(1);
    o.keepalive_max = 2;
    let ssh = format!(
        "ssh={}@127.0.0.1:{}&ssh_key={}&ssh_known_hosts={}&ssh_agent=false&ssh_keepalive=1&ssh_keepalive_max=2",
        user(),
        sshd.port,
        dir.path().join("client_key").display(),
        o.known_hosts.display()
    );
    let db = qore_drivers::open(&url_with("QORE_TEST_POSTGRES_URL", &ssh)).await.unwrap();
    let local = db.target();
    assert_eq!(one(&db, "SELECT 1").await, "1");

    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let mut before = None;
    for round in 0..5 {
        sshd.kill();
        std::thread::sleep(Duration::from_millis(200));
        sshd.restart();
        // The next session through the same port works within 2 s.
        works_within(&db, Duration::from_secs(2), &format!("round {round}: sshd back")).await;
        assert_eq!(db.target(), local);
        assert_eq!(sshd.logins(), 1, "round {round}: the tunnel logged in again once");
        if round == 1 {
            before = Some(fds());
        }
    }
    // No descriptor leaks across drop/restore cycles (a little slack for
    // the runtime's own).
    let after = fds();
    assert!(after <= before.unwrap() + 4, "descriptors grew from {before:?} to {after}");
}

#[tokio::test]
async fn a_half_open_link_is_noticed_by_the_keepalives() {
    let dir = keys();
    let sshd = Sshd::start(dir.path(), "a");
    let mut o = options(dir.path(), &sshd);
    o.keepalive = Duration::from_secs(1);
    o.keepalive_max = 2;
    o.connect_timeout = Duration::from_secs(3);
    let (t, db) = postgres_through(o).await;
    assert_eq!(one(&db, "SELECT 1").await, "1");
    assert!(t.connected().await);

    // Stopped, sshd answers nothing while the TCP link stays up.
    sshd.signal("-STOP");
    let stopped = Instant::now();
    while t.connected().await {
        assert!(stopped.elapsed() < Duration::from_secs(20), "a stopped sshd went unnoticed for 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let noticed = stopped.elapsed();
    sshd.signal("-CONT");
    works_within(&db, Duration::from_secs(20), "SIGCONT").await;
    assert!(t.reconnects() >= 1 && noticed < Duration::from_secs(20), "noticed after {noticed:?}, {} reconnects", t.reconnects());
}

/// The same session (not a new one) goes on after sshd is killed and
/// restarted: its dead connection is replaced through the same local port.
/// A write transaction cut by the kill fails with ConnectionLost within
/// 20 s, and its rows are not on the server (nothing replayed).
#[tokio::test]
async fn a_session_survives_sshd_kills_and_a_cut_transaction_is_not_replayed() {
    let dir = keys();
    let mut sshd = Sshd::start(dir.path(), "a");
    let kh = known_hosts(dir.path(), &[&sshd]);
    let ssh = format!(
        "ssh={}@127.0.0.1:{}&ssh_key={}&ssh_known_hosts={}&ssh_agent=false&ssh_keepalive=1&ssh_keepalive_max=2",
        user(),
        sshd.port,
        dir.path().join("client_key").display(),
        kh.display()
    );
    let db = qore_drivers::open(&url_with("QORE_TEST_POSTGRES_URL", &ssh)).await.unwrap();
    let s = db.session().await.unwrap();
    let direct = qore_drivers::connect(&server_url("QORE_TEST_POSTGRES_URL")).await.unwrap();
    direct.execute("DROP TABLE IF EXISTS public.t_tunnel_tx", &[]).await.unwrap();
    direct.execute("CREATE TABLE public.t_tunnel_tx (n int)", &[]).await.unwrap();
    s.execute("SET application_name = 'qore-tunnel-test'", &[]).await.unwrap();

    for round in 0..3 {
        sshd.kill();
        std::thread::sleep(Duration::from_millis(200));
        sshd.restart();
        let start = Instant::now();
        let name = loop {
            match qore_core::collect(match s.query("SELECT current_setting('application_name')", &[]).await {
                Ok(q) => q,
                Err(e) => {
                    assert!(start.elapsed() < Duration::from_secs(5), "round {round}: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            })
            .await
            {
                Ok(b) => break text(&b[0], 0, 0),
                Err(e) => assert!(start.elapsed() < Duration::from_secs(5), "round {round}: {e}"),
            }
        };
        assert_eq!(name, "qore-tunnel-test", "round {round}: the session's setting is restored");
    }
    assert!(s.reconnects() >= 3, "{} reconnects", s.reconnects());

    let tx = s.begin().await.unwrap();
    tx.execute("INSERT INTO public.t_tunnel_tx VALUES (1)", &[]).await.unwrap();
    sshd.kill();
    let cut = Instant::now();
    let e = tx.execute("INSERT INTO public.t_tunnel_tx VALUES (2)", &[]).await.unwrap_err();
    assert!(cut.elapsed() < Duration::from_secs(20), "the cut was noticed after {:?}", cut.elapsed());
    assert_eq!(e.kind(), qore_core::ErrorKind::ConnectionLost, "{e}");
    drop(tx);
    sshd.restart();
    let b = rows(&*direct, "SELECT count(*) FROM public.t_tunnel_tx").await;
    assert_eq!(text(&b, 0, 0), "0", "nothing of the cut transaction is on the server");
    direct.execute("DROP TABLE public.t_tunnel_tx", &[]).await.unwrap();
}

/// Redis through a tunnel from the URL, with a server of the test's own.
#[tokio::test]
async fn redis_through_a_tunnel() {
    let dir = keys();
    let sshd = Sshd::start(dir.path(), "a");
    let kh = known_hosts(dir.path(), &[&sshd]);
    let port = free_port();
    let mut redis = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (scripts/setup.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!(
        "redis://127.0.0.1:{port}/0?ssh={}@127.0.0.1:{}&ssh_key={}&ssh_known_hosts={}&ssh_agent=false",
        user(),
        sshd.port,
        dir.path().join("client_key").display(),
        kh.display()
    );
    let db = qore_drivers::open(&url).await.unwrap();
    let c = db.session().await.unwrap();
    c.execute("SET via tunnel", &[]).await.unwrap();
    assert_eq!(text(&rows(&*c, "GET via").await, 0, 0), "tunnel");
    // The server saw the client on loopback, from sshd, not on its own port.
    let list = text(&rows(&*c, "CLIENT LIST").await, 0, 0);
    assert!(list.contains("addr=127.0.0.1:"), "{list}");
    let _ = redis.kill();
    let _ = redis.wait();
}

#[tokio::test]
async fn ssh_config_aliases_with_a_jump_host() {
    // `ssh=target-alias` names a Host block of the SSH config: its
    // HostName, User, Port, IdentityFile, ProxyJump (itself an alias) and
    // UserKnownHostsFile are used; the URL's own values win.
    let dir = keys();
    let jump = Sshd::start(dir.path(), "cjump");
    let target = Sshd::start(dir.path(), "ctarget");
    let kh = known_hosts(dir.path(), &[&jump, &target]);
    let config = dir.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host the-db\n  HostName 127.0.0.1\n  Port {}\n  ProxyJump the-bastion\n\n\
             Host the-bastion\n  HostName 127.0.0.1\n  Port {}\n\n\
             Host *\n  User {}\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
            target.port,
            jump.port,
            user(),
            dir.path().join("client_key").display(),
            kh.display()
        ),
    )
    .unwrap();
    let ssh = format!("ssh=the-db&ssh_config={}&ssh_agent=false", config.display());
    let pg = qore_drivers::open(&url_with("QORE_TEST_POSTGRES_URL", &ssh)).await.unwrap();
    assert_eq!(one(&pg, "SELECT 'aliased'").await, "aliased");
    let log = std::fs::read_to_string(dir.path().join("ctarget_sshd.log")).unwrap();
    assert!(log.contains("Accepted publickey"), "{log}");
    let log = std::fs::read_to_string(dir.path().join("cjump_sshd.log")).unwrap();
    assert!(log.contains("Accepted publickey"), "the jump host from ProxyJump was used: {log}");
    // An explicit port beats the config's: the wrong one is refused.
    let ssh = format!("ssh=the-db:1&ssh_config={}&ssh_agent=false", config.display());
    let err = qore_drivers::open(&url_with("QORE_TEST_POSTGRES_URL", &ssh)).await.unwrap_err().to_string();
    assert!(err.contains("127.0.0.1") && err.contains(":1"), "{err}");
    // ssh_config=none ignores the aliases: the-db is not a host name.
    let ssh = format!("ssh={}@the-db&ssh_config=none&ssh_agent=false&ssh_connect_timeout=3", user());
    assert!(qore_drivers::open(&url_with("QORE_TEST_POSTGRES_URL", &ssh)).await.is_err());
}
