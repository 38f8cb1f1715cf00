#!/usr/bin/env python3
"""Side-by-side benchmark on real servers: `qore query --format csv` against
`psql -c "\\copy (SELECT ...) to stdout csv"` on PostgreSQL, and against
`mariadb --batch` on MariaDB, on the same generated table (mixed int, numeric,
text, timestamp and nullable columns), in one run.

Run it with the project's servers up:

    scripts/servers.sh run -- benches/sql_servers.py [--rows 1000000,10000000]

Prints rows/s (the median of --repeat runs, 3 by default, the two tools
alternating), the ratio qore/reference, and each process's peak RSS
(ru_maxrss from wait4(2), the largest of the runs).
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import pg_bench_table, run, run_pair  # noqa: E402
import urllib.parse




def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--only", default="postgres,mysql")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (the median is shown)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    n = max(sizes)
    results = []

    if "postgres" in args.only:
        url = os.environ["QORE_TEST_POSTGRES_URL"]
        print(f"PostgreSQL: generating {n:,} rows ...", file=sys.stderr)
        pg_bench_table(args.qore, url, n)
        for size in sizes:
            sql = f"SELECT * FROM bench WHERE id <= {size}"
            (t_q, m_q), (t_p, m_p) = run_pair(
                [args.qore, "query", "--db", url, "--format", "csv", sql],
                ["psql", url, "-X", "-q", "-c", f"\\copy ({sql}) to stdout csv header"], args.repeat)
            results.append(("PostgreSQL", size, "psql \\copy csv", t_q, m_q, t_p, m_p))

    if "mysql" in args.only:
        url = os.environ["QORE_TEST_MYSQL_URL"]
        p = urllib.parse.urlparse(url)
        print(f"MariaDB: generating {n:,} rows ...", file=sys.stderr)
        run([args.qore, "query", "--db", url, "DROP TABLE IF EXISTS bench"])
        run([args.qore, "query", "--db", url, f"""
            CREATE TABLE bench ENGINE=InnoDB AS SELECT seq AS id, (seq * 7919) % 1000003 AS qty,
              CAST(((seq * 104729) % 10000000) / 100.0 AS DECIMAL(12, 2)) AS amount,
              CONCAT('customer ', seq % 50000) AS customer,
              TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (seq % 31536000) SECOND AS at,
              CASE WHEN seq % 10 = 0 THEN NULL ELSE (seq % 97) * 1.5 END AS score
            FROM seq_1_to_{n}"""])
        env = dict(os.environ, MYSQL_PWD=urllib.parse.unquote(p.password or ""))
        # Both clients use TLS when the server offers it (scripts/servers.sh
        # gives MariaDB a certificate); the plain rows turn it off on both.
        for size in sizes:
            sql = f"SELECT * FROM bench WHERE id <= {size}"
            for label, qore_url, extra in (("MariaDB TLS", url, []),
                                           ("MariaDB", url + "?ssl-mode=disabled", ["--skip-ssl"])):
                (t_q, m_q), (t_m, m_m) = run_pair(
                    [args.qore, "query", "--db", qore_url, "--format", "csv", sql],
                    ["mariadb", "--no-defaults", *extra, "-h", p.hostname, "-P", str(p.port),
                     "-u", p.username, "--batch", "--quick", p.path.lstrip("/"), "-e", sql],
                    args.repeat, env_b=env)
                results.append((label, size, "mariadb --batch --quick", t_q, m_q, t_m, m_m))

    print()
    print(f"{'engine':<12} {'rows':>11}  {'reference':<24} {'qore rows/s':>12} {'ref rows/s':>12} {'ratio':>6}  {'qore RSS':>9} {'ref RSS':>9}")
    for eng, size, ref, t_q, m_q, t_r, m_r in results:
        print(f"{eng:<12} {size:>11,}  {ref:<24} {size / t_q:>12,.0f} {size / t_r:>12,.0f} {t_r / t_q:>5.2f}x  "
              f"{m_q:>7.1f}MB {m_r:>7.1f}MB")


if __name__ == "__main__":
    main()
