#!/usr/bin/env python3
"""SSH tunnels side by side, on the project's servers: a 1M-row CSV export of
PostgreSQL through qore's own tunnel (`--ssh`) against the same export
through OpenSSH's `ssh -N -L` port forward to the same sshd, in one run
(the two alternate; the median of --repeat runs is shown); then the reconnect
time distribution of a session through the tunnel over --kills kills of the
sshd session process (benches/tunnel_reconnect.rs).

    scripts/servers.sh run -- benches/tunnel.py [--rows 1000000] [--kills 20]

The goal: qore's tunnel at least 0.8x the throughput of `ssh -L`.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import pg_bench_table, run, run_pair  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--reconnect", default=os.path.join(target, "debug", "tunnel_reconnect"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kills", type=int, default=20)
    args = ap.parse_args()
    env = os.environ
    url = env["QORE_TEST_POSTGRES_URL"]
    user, host, port = env["QORE_TEST_SSH_USER"], env["QORE_TEST_SSH_HOST"], env["QORE_TEST_SSH_PORT"]
    key, known = env["QORE_TEST_SSH_KEY"], env["QORE_TEST_SSH_KNOWN_HOSTS"]

    print(f"PostgreSQL: generating {args.rows:,} rows ...", file=sys.stderr)
    pg_bench_table(args.qore, url, args.rows)
    sql = "SELECT * FROM bench"

    # OpenSSH's forward: a local port to the database's host:port, through
    # the same sshd, the same key and known_hosts.
    rest = url.split("://", 1)[1]
    creds, where = rest.rsplit("@", 1)
    db_hostport, db_path = where.split("/", 1)
    db_host, db_port = db_hostport.rsplit(":", 1)
    local = free_port()
    ssh = subprocess.Popen(
        ["ssh", "-N", "-L", f"127.0.0.1:{local}:{db_host}:{db_port}", "-p", port, "-i", key,
         "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
         "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", f"{user}@{host}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", local), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or ssh.poll() is not None:
                    sys.exit("ssh -L did not start: " + ssh.stderr.read().decode(errors="replace"))
                time.sleep(0.05)
        via_openssh = f"postgres://{creds}@127.0.0.1:{local}/{db_path}"
        ours = [args.qore, "query", "--db", url, "--format", "csv", sql,
                "--ssh", f"{user}@{host}:{port}", "--ssh-key", key, "--ssh-known-hosts", known]
        theirs = [args.qore, "query", "--db", via_openssh, "--format", "csv", sql]
        (t_q, m_q), (t_o, m_o) = run_pair(ours, theirs, args.repeat)
    finally:
        ssh.terminate()
        ssh.wait()

    print(f"\n{args.rows:,}-row CSV export of PostgreSQL through an SSH tunnel (median of {args.repeat})")
    print(f"{'path':<28} {'s':>7} {'rows/s':>12} {'RSS MiB':>8}")
    print(f"{'qore --ssh (russh)':<28} {t_q:7.2f} {args.rows / t_q:12,.0f} {m_q:8.0f}")
    print(f"{'ssh -L (OpenSSH) + qore':<28} {t_o:7.2f} {args.rows / t_o:12,.0f} {m_o:8.0f}")
    print(f"throughput ratio qore/ssh -L: {t_o / t_q:.2f}x (goal >= 0.8x)")

    if args.kills > 0:
        out = subprocess.run([args.reconnect, str(args.kills)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"\nreconnect after killing the tunnel's sshd session, {r['kills']} kills: "
              f"min {r['min_ms']} ms, p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, max {r['max_ms']} ms "
              f"(session replaced {r['session_reconnects']} times)")
        print(f"open descriptors {r['fds_before']} -> {r['fds_after']}, "
              f"live tokio tasks {r['tasks_before']} -> {r['tasks_after']} "
              f"(leak check; --kills 100 for the long loop)")


if __name__ == "__main__":
    main()
