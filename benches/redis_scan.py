#!/usr/bin/env python3
"""Side-by-side benchmark: browsing a Redis key space of 1M keys with
`qore ls --format csv` (SCAN pages plus TYPE, PTTL, MEMORY USAGE, OBJECT
ENCODING and length per key) against `redis-cli --scan` (key names only), in
one run against a throwaway redis-server. Prints keys/s and peak RSS.

    benches/redis_scan.py [--qore PATH] [--keys 1000000]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--keys", type=int, default=1_000_000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="qore-redis-bench-")
    port, pw = free_port(), "bench-pw"
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--requirepass", pw,
         "--save", "", "--appendonly", "no", "--dir", work],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("redis-server did not start")
                time.sleep(0.05)
        url = f"redis://:{pw}@127.0.0.1:{port}/0"
        lua = (f"for i = 1, {args.keys} do redis.call('SET', 'user:' .. i, i) end; "
               f"for i = 1, {args.keys // 10} do redis.call('HSET', 'h:' .. i, 'f', i) end")
        run([args.qore, "query", "--db", url, f'EVAL "{lua}" 0'])
        total = args.keys + args.keys // 10
        print(f"{'keys':>10} {'tool':<44} {'seconds':>8} {'keys/s':>12} {'peak RSS MiB':>13}")
        t, rss = run([args.qore, "ls", "--db", url, "--format", "csv"])
        print(f"{total:>10,} {'qore ls --format csv (6 facts per key)':<44} {t:>8.2f} {total / t:>12,.0f} {rss:>13.1f}")
        t2, rss2 = run(["redis-cli", "-p", str(port), "-a", pw, "--no-auth-warning", "--scan"])
        print(f"{total:>10,} {'redis-cli --scan (names only)':<44} {t2:>8.2f} {total / t2:>12,.0f} {rss2:>13.1f}")
        t3, rss3 = run([args.qore, "ls", "--db", url, "--type", "hash", "--format", "csv"])
        print(f"{args.keys // 10:>10,} {'qore ls --type hash --format csv':<44} {t3:>8.2f} {args.keys // 10 / t3:>12,.0f} {rss3:>13.1f}")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
