#!/usr/bin/env python3
"""`qore diff` side by side with reladiff 0.6.0 (PyPI) in the same run, on
PostgreSQL<->PostgreSQL and PostgreSQL<->MariaDB tables (bigint key,
integer, numeric(12,2), double, timestamp, mixed-case varchar with `-`,
nullable text), in three scenarios: (a) identical, (b) 1,000 scattered
changes (400 updated, 300 inserted, 300 deleted), (c) 10% of rows changed.

Prints one markdown table: wall time (the best of --repeat runs, the two
tools alternating, in (a) and (b); one run in (c)) and peak RSS of both
tools, the differences each found (they must agree), and qore's algorithm.

    scripts/servers.sh run -- "$QORE_TOOLS/venv/bin/python" benches/diff.py \
        [--qore PATH] [--rows 1000000,10000000] [--pairs pg-pg,pg-mariadb]

Installs reladiff 0.6.0 with its PostgreSQL and MySQL drivers into the
running Python when it is missing. Neither tool writes to the servers
during a diff (qore's bisection only reads: GROUP BY checksums).
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELADIFF = ["reladiff==0.6.0", "psycopg2-binary", "mysql-connector-python"]
COLUMNS = ["i", "n", "f", "ts", "s", "t"]


def ensure_reladiff():
    try:
        import reladiff  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *RELADIFF])


def peak_rss(cmd, ok=(0,)):
    """Wall time and peak RSS of `cmd` (stdout counted, not kept)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    for line in proc.stdout:
        lines.append(line)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(f"failed ({code}): {' '.join(cmd[:6])}\n{proc.stderr.read().decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024.0, b"".join(lines).decode(errors="replace"), proc.stderr.read().decode(errors="replace")


def q(qore, url, sql):
    subprocess.run([qore, "query", "--db", url, sql], check=True, stdout=subprocess.DEVNULL)


PG_ROWS = """SELECT g AS id, ((g * 7919) % 1000003)::int AS i,
  (((g * 104729) % 10000000) / 100.0)::numeric(12,2) AS n, ((g % 97) * 1.5)::float8 AS f,
  timestamp '2024-01-01' + (g % 31536000) * interval '1 second' AS ts,
  (CASE g % 3 WHEN 0 THEN 'Ab' WHEN 1 THEN 'aB' ELSE 'AB' END) || '-' || (g % 50000) AS s,
  CASE WHEN g % 10 = 0 THEN NULL ELSE 'note ' || (g % 1000) END AS t
  FROM generate_series(1::int8, {n}) g"""

MY_ROWS = """SELECT seq AS id, (seq * 7919) % 1000003 AS i,
  CAST(((seq * 104729) % 10000000) / 100.0 AS DECIMAL(12,2)) AS n, (seq % 97) * 1.5e0 AS f,
  TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (seq % 31536000) SECOND AS ts,
  CONCAT(CASE seq % 3 WHEN 0 THEN 'Ab' WHEN 1 THEN 'aB' ELSE 'AB' END, '-', seq % 50000) AS s,
  CASE WHEN seq % 10 = 0 THEN NULL ELSE CONCAT('note ', seq % 1000) END AS t
  FROM seq_1_to_{n}"""


def load(qore, engine, url, table, n):
    if engine == "pg":
        q(qore, url, f"DROP TABLE IF EXISTS {table}")
        q(qore, url, f"CREATE TABLE {table} (id bigint PRIMARY KEY, i integer, n numeric(12,2), f double precision, ts timestamp, s varchar(40), t text)")
        q(qore, url, f"INSERT INTO {table} {PG_ROWS.format(n=n)}")
        q(qore, url, f"VACUUM ANALYZE {table}")
    else:
        q(qore, url, f"DROP TABLE IF EXISTS {table}")
        q(qore, url, f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, i INT, n DECIMAL(12,2), f DOUBLE, ts DATETIME, s VARCHAR(40), t TEXT)")
        step = 500_000
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            q(qore, url, f"INSERT INTO {table} SELECT * FROM ({MY_ROWS.format(n=hi)}) x WHERE id > {lo}")


def scatter(qore, engine, url, table, n, scenario):
    """Changes the right table: (b) 400/300/300 scattered, (c) 10% updated."""
    mod = "MOD(id, {m})" if engine == "my" else "id % {m}"
    if scenario == "b":
        step = max(1, n // 1000)
        q(qore, url, f"UPDATE {table} SET i = i + 1 WHERE {mod.format(m=step * 5 // 2)} = 1 AND id <= {n}")  # ~400
        q(qore, url, f"DELETE FROM {table} WHERE {mod.format(m=step * 10 // 3)} = 2")  # ~300
        ins = ", ".join(f"({n + k}, 1, 1.00, 1.5, '2024-01-01 00:00:00', 'New-{k}', NULL)" for k in range(1, 301))
        q(qore, url, f"INSERT INTO {table} VALUES {ins}")
    elif scenario == "c":
        q(qore, url, f"UPDATE {table} SET s = CONCAT(s, 'x') WHERE {mod.format(m=10)} = 3" if engine == "my"
          else f"UPDATE {table} SET s = s || 'x' WHERE id % 10 = 3")
    # Both tools then read a settled table (hint bits set, statistics fresh).
    q(qore, url, f"ANALYZE TABLE {table}" if engine == "my" else f"VACUUM ANALYZE {table}")


def reladiff_counts(out):
    minus = set()
    plus = set()
    for line in out.splitlines():
        m = re.match(r"^([+-]) \(?'?(\d+)", line)
        if m:
            (plus if m.group(1) == "+" else minus).add(m.group(2))
    return len(minus - plus), len(plus - minus), len(plus & minus)


def qore_counts(summary):
    m = re.search(r"(\d+) equal, (\d+) changed, (\d+) added \(right only\), (\d+) removed", summary)
    return (int(m.group(4)), int(m.group(3)), int(m.group(2))) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "qore"))
    ap.add_argument("--rows", default="1000000")
    ap.add_argument("--pairs", default="pg-pg,pg-mariadb")
    ap.add_argument("--scenarios", default="a,b,c")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each tool in (a) and (b), alternating; the best is reported")
    ap.add_argument("--no-reladiff", action="store_true", help="qore only (reladiff's 10M-row scenario c takes half an hour)")
    a = ap.parse_args()
    ensure_reladiff()
    pg = os.environ["QORE_TEST_POSTGRES_URL"]
    my = os.environ["QORE_TEST_MYSQL_URL"]
    rl = lambda u: u.replace("postgres://", "postgresql://", 1)  # noqa: E731
    print("| pair | rows | scenario | qore s | reladiff s | ratio | qore RSS MiB | reladiff RSS MiB | removed/added/changed (qore) | (reladiff) | qore algorithm |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(x) for x in a.rows.split(",")]:
        for pair in a.pairs.split(","):
            right_engine, right_url = ("pg", pg) if pair == "pg-pg" else ("my", my)
            load(a.qore, "pg", pg, "bench_l", n)
            for scenario in a.scenarios.split(","):
                load(a.qore, right_engine, right_url, "bench_r", n)
                scatter(a.qore, right_engine, right_url, "bench_r", n, scenario)
                cols = sum((["-c", c] for c in COLUMNS), [])
                qcmd = [a.qore, "diff", "--left", pg, "--right", right_url, "--table", "bench_l",
                        "--right-table", "bench_r", "--key", "id", "--format", "summary"]
                rcmd = [sys.executable, "-m", "reladiff", rl(pg), "bench_l", rl(right_url), "bench_r", "-k", "id", *cols]
                qruns, rruns = [], []
                # reladiff's (c) takes minutes: one run of each there.
                for _ in range(a.repeat if scenario in ("a", "b") else 1):
                    qruns.append(peak_rss(qcmd, ok=(0, 1)))
                    if not a.no_reladiff:
                        rruns.append(peak_rss(rcmd, ok=(0, 1)))
                qt, qm, qsum, _ = min(qruns)
                qm = max(r[1] for r in qruns)
                if rruns:
                    rt, rm, rout, _ = min(rruns)
                    rm = max(r[1] for r in rruns)
                else:
                    rt, rm, rout = float("nan"), float("nan"), ""
                algo = re.search(r"^(\S+) in [\d.]+ s", qsum, re.M)
                print(f"| {pair} | {n:,} | {scenario} | {qt:.2f} | {rt:.2f} | {qt / rt:.2f} | {qm:.0f} | {rm:.0f} | "
                      f"{qore_counts(qsum)} | {reladiff_counts(rout)} | {algo.group(1) if algo else '?'} |", flush=True)


if __name__ == "__main__":
    main()
