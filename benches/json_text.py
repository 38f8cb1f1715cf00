#!/usr/bin/env python3
"""Side-by-side benchmark: `qore query --format ndjson` (qore's own JSON
encoder: exact numbers, NaN as strings, JSON text embedded) against DuckDB's
own `COPY ... TO (FORMAT json)` of the same rows, in the same run; each a
process of its own, medians of alternating runs.

    benches/json_text.py [--qore PATH] [--rows 1000000] [--repeat 3] [--dir DIR]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run, run_pair  # noqa: E402


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--rows", default="1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    work = args.dir or tempfile.mkdtemp(prefix="qore-bench-")
    db = os.path.join(work, "json.duckdb")
    url = f"duckdb:{db}"
    n_max = max(sizes)
    if not os.path.exists(db):
        run([args.qore, "query", "--db", url, f"""
            CREATE TABLE t AS SELECT
              range AS id,
              round(((range * 104729) % 10000000) / 100.0, 2)::DECIMAL(12,2) AS amount,
              'customer "' || (range % 50000) || '"' AS customer,
              TIMESTAMP '2024-01-01' + to_seconds(range % 31536000) AS at,
              CASE WHEN range % 10 = 0 THEN NULL ELSE (range % 97) * 1.5 END AS score,
              [range % 7, range % 11] AS tags
            FROM range({n_max})"""])
    print(f"{'rows':>10} {'tool':<34} {'seconds':>8} {'rows/s':>12} {'peak RSS MiB':>13}")
    for n in sizes:
        sql = f"SELECT * FROM t WHERE id < {n}"
        ours = [args.qore, "query", "--db", url, "--format", "ndjson", sql]
        ref = [args.qore, "query", "--db", url, f"COPY ({sql}) TO '/dev/stdout' (FORMAT json)"]
        (tq, mq), (tr, mr) = run_pair(ours, ref, args.repeat)
        print(f"{n:>10,} {'qore query --format ndjson':<34} {tq:>8.2f} {n / tq:>12,.0f} {mq:>13.1f}")
        print(f"{n:>10,} {'DuckDB COPY ... TO (FORMAT json)':<34} {tr:>8.2f} {n / tr:>12,.0f} {mr:>13.1f}")
        print(f"  speed qore / DuckDB COPY at {n:,} rows: {tr / tq:.2f}x")


if __name__ == "__main__":
    main()
