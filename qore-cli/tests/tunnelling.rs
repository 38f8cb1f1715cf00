//! `--ssh` on the command line and in saved connections, through the
//! OpenSSH server `scripts/servers.sh` starts, to its PostgreSQL.

use crate::util::Qore;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the tests through scripts/servers.sh"))
}

#[test]
fn ssh_flags_reach_postgres_and_are_saved_with_a_connection() {
    let q = Qore::new();
    let url = env("QORE_TEST_POSTGRES_URL");
    let ssh = format!("{}@{}:{}", env("QORE_TEST_SSH_USER"), env("QORE_TEST_SSH_HOST"), env("QORE_TEST_SSH_PORT"));
    let (key, known) = (env("QORE_TEST_SSH_KEY"), env("QORE_TEST_SSH_KNOWN_HOSTS"));
    let flags = ["--ssh", ssh.as_str(), "--ssh-key", key.as_str(), "--ssh-known-hosts", known.as_str()];
    let sql = "SELECT 'via ' || host(inet_client_addr()) AS how";

    let mut args = vec!["query", "--db", url.as_str(), "--format", "csv", sql];
    args.extend(flags);
    assert_eq!(q.ok(&args), "how\nvia 127.0.0.1\n");

    // Saved with the connection: later commands need no flag.
    let mut add = vec!["conn", "add", "pg-ssh", url.as_str()];
    add.extend(flags);
    q.ok(&add);
    let listed = q.ok(&["conn", "ls", "--format", "csv"]);
    assert!(listed.contains("?ssh=") && listed.contains("&ssh_key=") && listed.contains("&ssh_known_hosts="), "{listed}");
    let password = url.split_once("://").unwrap().1.split_once('@').unwrap().0.split_once(':').unwrap().1.to_string();
    let out = q.run_env(&["query", "--db", "pg-ssh", "--format", "csv", sql], "QORE_PASSWORD_PG_SSH", &password);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "how\nvia 127.0.0.1\n", "{}", String::from_utf8_lossy(&out.stderr));

    // Bad input is named: an unknown host key (empty known_hosts), a key
    // option without --ssh, a tunnel to a file.
    let empty = q.path("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = q.outcome(&["query", "--db", &url, "SELECT 1", "--ssh", &ssh, "--ssh-key", &key, "--ssh-known-hosts", empty.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is not in") && err.contains("SHA256:"), "{err}");
    let (code, _, err) = q.outcome(&["query", "--db", &url, "SELECT 1", "--ssh-key", &key]);
    assert_eq!(code, 2);
    assert!(err.contains("need ssh="), "{err}");
    let (code, _, err) = q.outcome(&["query", "--db", "sqlite::memory:", "SELECT 1", "--ssh", &ssh]);
    assert_eq!(code, 2);
    assert!(err.contains("nothing to tunnel"), "{err}");
}

/// `qore conn test`: every step of a saved connection through the tunnel
/// (hops, local end, times, ping, TLS, version), and a plain file; a
/// refused connection exits 2 naming the step.
#[test]
fn conn_test_reports_each_step() {
    let q = Qore::new();
    let url = env("QORE_TEST_POSTGRES_URL");
    let ssh = format!("{}@{}:{}", env("QORE_TEST_SSH_USER"), env("QORE_TEST_SSH_HOST"), env("QORE_TEST_SSH_PORT"));
    let (key, known) = (env("QORE_TEST_SSH_KEY"), env("QORE_TEST_SSH_KNOWN_HOSTS"));
    let out = q.ok(&["conn", "test", &url, "--pings", "3", "--format", "csv", "--ssh", &ssh, "--ssh-key", &key, "--ssh-known-hosts", &known]);
    let row = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name},")))
            .unwrap_or_else(|| panic!("no `{name}` in {out}"))
            .to_string()
    };
    assert_eq!(row("engine"), "PostgreSQL");
    let hop = format!("{}@[{}]:{}", env("QORE_TEST_SSH_USER"), env("QORE_TEST_SSH_HOST"), env("QORE_TEST_SSH_PORT"));
    assert_eq!(row("tunnel"), hop, "{out}");
    assert!(row("tunnel local end").starts_with("127.0.0.1:"), "{out}");
    assert!(row("ping").contains("median of 3"), "{out}");
    assert_eq!(row("tls"), "none");
    assert!(row("server version").starts_with("15"), "{out}");
    assert!(row("session id").parse::<u32>().is_ok(), "{out}");

    q.ok(&["demo", "shop.db"]);
    let file = format!("sqlite:{}", q.path("shop.db").display());
    let out = q.ok(&["conn", "test", &file, "--format", "csv"]);
    assert!(out.contains("engine,SQLite") && out.contains("server version,3."), "{out}");
    assert!(!out.contains("tunnel"), "{out}");

    let (code, _, err) = q.outcome(&["conn", "test", "postgres://nobody@127.0.0.1:1/x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("connecting"), "{err}");
}
