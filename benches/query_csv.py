#!/usr/bin/env python3
"""Side-by-side benchmark: `qore query --format csv` of a generated DuckDB table
against DuckDB's own `COPY ... TO` of the same rows, in the same run.

Prints rows/s and peak RSS at 1M and 10M rows. Usage:

    benches/query_csv.py [--qore PATH] [--rows 1000000,10000000] [--dir DIR]

The qore binary defaults to the one scripts/build.sh builds. Peak RSS is the
child's ru_maxrss from wait4(2), so each number belongs to one process.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run  # noqa: E402




def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    work = args.dir or tempfile.mkdtemp(prefix="qore-bench-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "bench.duckdb")
    url = f"duckdb:{db}"
    if not os.path.exists(db):
        n = max(sizes)
        print(f"generating {n:,} rows in {db} ...", file=sys.stderr)
        run([args.qore, "query", "--db", url, f"""
            CREATE TABLE t AS SELECT
              range AS id,
              (range * 7919) % 1000003 AS qty,
              round(((range * 104729) % 10000000) / 100.0, 2)::DECIMAL(12,2) AS amount,
              'customer ' || (range % 50000) AS customer,
              TIMESTAMP '2024-01-01' + to_seconds(range % 31536000) AS at,
              CASE WHEN range % 10 = 0 THEN NULL ELSE (range % 97) * 1.5 END AS score
            FROM range({n})"""])
    gen = ("SELECT range AS id, (range * 7919) % 1000003 AS qty, "
           "'customer ' || (range % 50000) AS customer, range * 1.5 AS score FROM range({n})")
    sources = [
        ("table", url, "SELECT * FROM t WHERE id < {n}"),
        ("table, memory_limit=64MB", url + "?memory_limit=64MB", "SELECT * FROM t WHERE id < {n}"),
        ("range() (no storage)", "duckdb:", gen),
    ]
    print(f"{'rows':>12} {'source':<26} {'tool':<24} {'seconds':>8} {'rows/s':>12} {'peak RSS MiB':>13}")
    results = {}
    for label, src_url, template in sources:
        for n in sizes:
            sql = template.format(n=n)
            for tool, cmd in [
                ("qore query --format csv", [args.qore, "query", "--db", src_url, "--format", "csv", sql]),
                ("DuckDB COPY ... TO csv", [args.qore, "query", "--db", src_url,
                                            f"COPY ({sql}) TO '/dev/stdout' (FORMAT csv, HEADER)"]),
            ]:
                t, rss = run(cmd)
                results[(label, n, tool)] = (t, rss)
                print(f"{n:>12,} {label:<26} {tool:<24} {t:>8.2f} {n / t:>12,.0f} {rss:>13.1f}")
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        for label, _, _ in sources:
            r_lo = results[(label, lo, "qore query --format csv")][1]
            r_hi = results[(label, hi, "qore query --format csv")][1]
            print(f"qore peak RSS, {label}: {r_lo:.1f} MiB at {lo:,} -> {r_hi:.1f} MiB at {hi:,} ({(r_hi / r_lo - 1) * 100:+.1f}%)")
            for n in sizes:
                q = results[(label, n, "qore query --format csv")][0]
                c = results[(label, n, "DuckDB COPY ... TO csv")][0]
                print(f"  speed qore / COPY at {n:,} rows: {c / q:.2f}x")


if __name__ == "__main__":
    main()
