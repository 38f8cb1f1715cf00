#!/usr/bin/env python3
"""Share pages, side by side in the same run, on the same 100k rows x 10
columns (a DuckDB table): `qore share` (deflate + AES-256-GCM + the page)
against `qore export` of the plain HTML page (deflate + base64, no
encryption) and against CSV + gzip -6 (the size reference of the issue);
then the time from navigation to the first page of rows in headless
Chromium (offline, file://) for the share page (decrypt included) and for
the plain HTML page. Medians of alternating runs.

    benches/share.py [--qore PATH] [--rows 100000] [--repeat 5] [--dir DIR]

Needs scripts/setup.sh's chromium and playwright-core (QORE_TOOLS).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run, run_pair  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "..", "qore-cli", "tests", "support", "share_check.mjs")


def browse(link, tools):
    out = subprocess.run(["node", CHECK, link], capture_output=True, env=dict(os.environ, QORE_TOOLS=tools), check=True)
    page = json.loads(out.stdout)
    if not page["ready"] or page["rowsShown"] != 100:
        sys.exit(f"the page did not show its rows: {page}")
    # Navigation start to the first page drawn, as the page measured it.
    return page["pageMs"] / 1000.0


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    tools = os.environ.get("QORE_TOOLS", os.path.expanduser("~/.cache/qoredb/tools"))
    work = args.dir or tempfile.mkdtemp(prefix="qore-bench-")
    db = os.path.join(work, "share.duckdb")
    if os.path.exists(db):
        os.remove(db)
    run([args.qore, "query", "--db", "duckdb:" + db, f"""CREATE TABLE t AS SELECT
          range AS id,
          (range * 7919) % 1000003 AS qty,
          round(((range * 104729) % 10000000) / 100.0, 2)::DECIMAL(12,2) AS amount,
          'customer ' || (range % 50000) AS customer,
          'user' || ((range * 31) % 90000) || '@example.com' AS email,
          ['FR', 'DE', 'US', 'JP', 'BR', 'IN'][1 + range % 6] AS country,
          ['new', 'paid', 'shipped', 'cancelled'][1 + (range * 13) % 4] AS status,
          TIMESTAMP '2024-01-01' + to_seconds((range * 37) % 31536000) AS at,
          CASE WHEN range % 10 = 0 THEN NULL ELSE (range % 97) * 1.5 END AS score,
          md5(range::VARCHAR)[1:12] AS ref
        FROM range({args.rows})"""])
    share = os.path.join(work, "t.share.html")
    html = os.path.join(work, "t.html")
    csv = os.path.join(work, "t.csv")
    ours = [args.qore, "share", "--db", db, "--table", "t", "-o", share]
    plain = [args.qore, "export", "--db", db, "--table", "t", "-o", html, "-q"]
    (t_share, m_share), (t_html, m_html) = run_pair(ours, plain, args.repeat)
    # CSV then gzip -6 in the same process budget: export, then compress.
    gz_times = []
    for _ in range(args.repeat):
        start = time.monotonic()
        run([args.qore, "export", "--db", db, "--table", "t", "-o", csv, "-q"])
        with open(csv, "rb") as f, gzip.open(csv + ".gz", "wb", compresslevel=6) as g:
            g.write(f.read())
        gz_times.append(time.monotonic() - start)
    t_gz = sorted(gz_times)[len(gz_times) // 2]
    # The link the last share run printed is needed for the browser: run once more.
    link = subprocess.run(ours, capture_output=True, check=True).stdout.decode().strip()
    size = lambda p: os.path.getsize(p)  # noqa: E731
    s_share, s_html, s_gz, s_csv = size(share), size(html), size(csv + ".gz"), size(csv)
    open_share = sorted(browse(link, tools) for _ in range(args.repeat))[args.repeat // 2]
    open_html = sorted(browse("file://" + html, tools) for _ in range(args.repeat))[args.repeat // 2]

    mib = lambda b: f"{b / 1048576:.2f} MiB"  # noqa: E731
    print(f"{args.rows} rows x 10 columns, medians of {args.repeat}\n")
    print("| what | write s | peak RSS | file | vs CSV+gzip | first page in Chromium |")
    print("|---|---|---|---|---|---|")
    print(f"| qore share (AES-256-GCM) | {t_share:.3f} | {m_share:.1f} MiB | {mib(s_share)} | {s_share / s_gz:.2f}x | {open_share:.3f} s |")
    print(f"| qore export .html (plain) | {t_html:.3f} | {m_html:.1f} MiB | {mib(s_html)} | {s_html / s_gz:.2f}x | {open_html:.3f} s |")
    print(f"| qore export .csv + gzip -6 | {t_gz:.3f} | - | {mib(s_gz)} (CSV {mib(s_csv)}) | 1.00x | - |")


if __name__ == "__main__":
    main()
