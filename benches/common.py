"""What the benchmark scripts share: run one command as its own process and
measure its wall time and peak RSS (ru_maxrss from wait4(2))."""
import os
import subprocess
import sys
import time


def sha256(path):
    """The file's SHA-256, hex, read in 1 MiB blocks."""
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def with_database(url, db):
    """`url` (a server URL) naming database `db` instead of its own."""
    base, _, query = url.partition("?")
    scheme, rest = base.split("://", 1)
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{db}" + (f"?{query}" if query else "")


def run(cmd, stdout=subprocess.DEVNULL, env=None):
    """Runs `cmd`; returns (seconds, peak RSS in MiB). Exits on failure."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"benchmark command failed ({code}): {' '.join(str(c) for c in cmd[:4])} ...\n{err}")
    return elapsed, usage.ru_maxrss / 1024.0


def run_pair(a, b, repeat, env_a=None, env_b=None):
    """Runs two commands alternately `repeat` times (so that both see the
    same machine state); returns ((median s, max RSS) of a, same of b)."""
    ta, ma, tb, mb = [], [], [], []
    for _ in range(repeat):
        t, m = run(a, env=env_a)
        ta.append(t)
        ma.append(m)
        t, m = run(b, env=env_b)
        tb.append(t)
        mb.append(m)
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return (med(ta), max(ma)), (med(tb), max(mb))


def pg_bench_table(qore, url, n):
    """Creates `bench` in PostgreSQL: `n` rows of bigint, bigint,
    numeric(12,2), text, timestamptz and a nullable double (10% NULL)."""
    run([qore, "query", "--db", url, "DROP TABLE IF EXISTS bench"])
    run([qore, "query", "--db", url, f"""
        CREATE TABLE bench AS SELECT g AS id, (g * 7919) % 1000003 AS qty,
          round(((g * 104729) % 10000000) / 100.0, 2)::numeric(12, 2) AS amount,
          'customer ' || (g % 50000) AS customer,
          timestamptz '2024-01-01 00:00+00' + (g % 31536000) * interval '1 second' AS at,
          CASE WHEN g % 10 = 0 THEN NULL ELSE (g % 97) * 1.5 END::float8 AS score
        FROM generate_series(1::int8, {n}) g"""])
    run([qore, "query", "--db", url, "VACUUM ANALYZE bench"])
