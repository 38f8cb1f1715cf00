#!/usr/bin/env python3
"""Side-by-side export benchmark on the project's PostgreSQL server, in one run:

- `qore export -o x.csv` against `psql -c "\\copy (SELECT ...) to stdout csv"`;
- `qore export -o x.parquet` against ADBC (adbc-driver-postgresql: fetch to
  pyarrow, write Parquet) and ConnectorX (read_sql(..., return_type="arrow"),
  write Parquet), all zstd;
- peak RSS of `qore export` for every format at each size.

    scripts/servers.sh run -- "$QORE_TOOLS/venv/bin/python" benches/export.py [--rows 1000000,10000000]

(setup.sh makes the venv; `pip install adbc-driver-postgresql connectorx`
into it for the two Python references.) Each command is its own process;
peak RSS is ru_maxrss from wait4(2).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import pg_bench_table, run  # noqa: E402

ADBC = """
import sys, adbc_driver_postgresql.dbapi as d, pyarrow.parquet as pq
with d.connect(sys.argv[1]) as c, c.cursor() as cur:
    cur.execute(sys.argv[2]); t = cur.fetch_arrow_table()
pq.write_table(t, sys.argv[3], compression="zstd")
"""
CX = """
import sys, connectorx as cx, pyarrow.parquet as pq
t = cx.read_sql(sys.argv[1], sys.argv[2], return_type="arrow")
pq.write_table(t, sys.argv[3], compression="zstd")
"""




def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--formats", default="csv,tsv,json,ndjson,parquet,arrow,arrows,sql,html")
    ap.add_argument("--html-max", type=int, default=1000000, help="largest size exported as HTML")
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    url = os.environ["QORE_TEST_POSTGRES_URL"]
    n = max(sizes)
    print(f"generating {n:,} rows ...", file=sys.stderr)
    pg_bench_table(args.qore, url, n)
    work = tempfile.mkdtemp(prefix="qore-export-bench-")
    py = sys.executable
    speed, memory = [], []
    for size in sizes:
        sql = f"SELECT * FROM bench WHERE id <= {size}"
        out = os.path.join(work, "x")
        t_q, m_q = run([args.qore, "export", "--db", url, "-q", "-o", out + ".csv", sql])
        t_p, m_p = run(["psql", url, "-X", "-q", "-c", f"\\copy ({sql}) to stdout csv header"])
        speed.append(("CSV", size, "psql \\copy csv", t_q, m_q, t_p, m_p))
        t_q, m_q = run([args.qore, "export", "--db", url, "-q", "-o", out + ".parquet", sql])
        for name, code in (("ADBC", ADBC), ("ConnectorX", CX)):
            try:
                t_r, m_r = run([py, "-c", code, url, sql, out + "." + name + ".parquet"])
                speed.append(("Parquet", size, name, t_q, m_q, t_r, m_r))
            except SystemExit as e:
                print(f"{name} failed: {e}", file=sys.stderr)
        for fmt in args.formats.split(","):
            if fmt == "html" and size > args.html_max:
                continue
            extra = ["--sql-table", "bench_copy"] if fmt == "sql" else []
            t, m = run([args.qore, "export", "--db", url, "-q", "-o", f"{out}.{fmt}", *extra, sql])
            memory.append((fmt, size, t, m, os.path.getsize(f"{out}.{fmt}")))
            os.remove(f"{out}.{fmt}")
    print()
    print(f"{'format':<8} {'rows':>11}  {'reference':<16} {'qore rows/s':>12} {'ref rows/s':>12} {'ratio':>6}  {'qore RSS':>9} {'ref RSS':>9}")
    for fmt, size, ref, t_q, m_q, t_r, m_r in speed:
        print(f"{fmt:<8} {size:>11,}  {ref:<16} {size / t_q:>12,.0f} {size / t_r:>12,.0f} {t_r / t_q:>5.2f}x  {m_q:>7.1f}MB {m_r:>7.1f}MB")
    print()
    print(f"{'format':<8} {'rows':>11} {'seconds':>8} {'rows/s':>11} {'peak RSS':>9} {'file':>10}")
    for fmt, size, t, m, b in memory:
        print(f"{fmt:<8} {size:>11,} {t:>8.2f} {size / t:>11,.0f} {m:>7.1f}MB {b / 1048576:>8.1f}MB")


if __name__ == "__main__":
    main()
