#!/usr/bin/env python3
"""The result stream's wrapper (ObservedStream, under the whole interceptor
chain) against the raw session, exporting the same PostgreSQL query to CSV
in alternating processes: the files must be byte for byte the same, and
the peak RSS and time side by side show what observing costs.

    scripts/servers.sh run -- python3 benches/export_observed.py [--rows 10000000] [--repeat 3]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import pg_bench_table, run, sha256  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--bin", default=os.path.join(target, "debug", "export_observed"))
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    url = os.environ["QORE_TEST_POSTGRES_URL"]
    pg_bench_table(args.qore, url, args.rows)
    query = "SELECT * FROM bench ORDER BY id"
    results = {"raw": [], "chain": []}
    with tempfile.TemporaryDirectory() as tmp:
        digests = {}
        for _ in range(args.repeat):
            for mode in ("raw", "chain"):
                out = os.path.join(tmp, f"{mode}.csv")
                seconds, rss = run([args.bin, url, query, out, mode])
                results[mode].append((seconds, rss))
                digests.setdefault(mode, set()).add(sha256(out))
        same = digests["raw"] == digests["chain"] and len(digests["raw"]) == 1
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    print(f"{args.rows:,} rows to CSV, {args.repeat} runs each, alternating\n")
    print("| session | median s | rows/s | peak RSS |")
    print("|---|---:|---:|---:|")
    for mode in ("raw", "chain"):
        s = med([r[0] for r in results[mode]])
        m = max(r[1] for r in results[mode])
        print(f"| {mode} | {s:.2f} | {args.rows / s:,.0f} | {m:.1f} MiB |")
    print(f"\nfiles byte for byte the same: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
