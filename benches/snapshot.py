#!/usr/bin/env python3
"""Snapshots, side by side in the same run: `qore snapshot save` (Arrow IPC,
zstd, content hash) against DuckDB's own `COPY ... TO (FORMAT parquet)` of
the same rows (the closest thing a database gives for "keep this result"),
each a process of its own, medians of alternating runs; then reading the
snapshot back (`qore snapshot export NAME -o /dev/null` as CSV) and its size
beside the same rows as gzipped CSV. Peak RSS from wait4: memory must stay
flat from 1M to 10M rows.

    benches/snapshot.py [--qore PATH] [--rows 1000000,10000000] [--repeat 3] [--dir DIR]
"""
import argparse
import gzip
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run, run_pair  # noqa: E402


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    work = args.dir or tempfile.mkdtemp(prefix="qore-bench-")
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(work, "data"))
    db = os.path.join(work, "snap.duckdb")
    url = f"duckdb:{db}"
    n_max = max(sizes)
    if not os.path.exists(db):
        run([args.qore, "query", "--db", url, f"""
            CREATE TABLE t AS SELECT
              range AS id,
              round(((range * 104729) % 10000000) / 100.0, 2)::DECIMAL(12,2) AS amount,
              'customer "' || (range % 50000) || '"' AS customer,
              TIMESTAMP '2024-01-01' + to_seconds(range % 31536000) AS at,
              CASE WHEN range % 10 = 0 THEN NULL ELSE (range % 97) * 1.5 END AS score
            FROM range({n_max})"""])
    print("| rows | tool | seconds | rows/s | peak RSS | file |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        sql = f"SELECT * FROM t WHERE id < {n}"
        parquet = os.path.join(work, f"ref_{n}.parquet")
        ours = [args.qore, "snapshot", "save", f"s{n}", "--force", "--db", url, sql]
        ref = [args.qore, "query", "--db", url, f"COPY ({sql}) TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)"]
        (tq, mq), (tr, mr) = run_pair(ours, ref, args.repeat, env_a=env, env_b=env)
        snap = os.path.join(work, "data", "qore", "snapshots", f"s{n}.arrow")
        size_q, size_r = os.path.getsize(snap), os.path.getsize(parquet)
        print(f"| {n:,} | `qore snapshot save` | {tq:.2f} | {n / tq:,.0f} | {mq:.1f} MiB | {size_q / 2**20:.1f} MiB |")
        print(f"| {n:,} | DuckDB `COPY TO parquet (zstd)` | {tr:.2f} | {n / tr:,.0f} | {mr:.1f} MiB | {size_r / 2**20:.1f} MiB |")
        t, m = run([args.qore, "snapshot", "export", f"s{n}", "-o", "-", "--format", "csv"], env=env)
        print(f"| {n:,} | `qore snapshot export` (read back, CSV) | {t:.2f} | {n / t:,.0f} | {m:.1f} MiB | |")
        csv = os.path.join(work, f"ref_{n}.csv")
        run([args.qore, "query", "--db", url, f"COPY ({sql}) TO '{csv}' (FORMAT csv)"])
        with open(csv, "rb") as f, gzip.open(csv + ".gz", "wb", compresslevel=6) as z:
            shutil.copyfileobj(f, z)
        gz = os.path.getsize(csv + ".gz")
        print(f"| {n:,} | (same rows as gzipped CSV) | | | | {gz / 2**20:.1f} MiB (snapshot {size_q / gz:.2f}×) |")
        os.remove(csv)
        os.remove(csv + ".gz")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
