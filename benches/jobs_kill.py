#!/usr/bin/env python3
"""The long kill loop of export jobs (CI runs a 20,000-row version of it in
qore-jobs/tests/export.rs): a table of --rows rows (5M by default) on each
source — SQLite, DuckDB, and PostgreSQL and MariaDB when the servers run —
exported as CSV, NDJSON and Parquet by `qore job submit export --run`, the
process SIGKILLed at a random point --kills times per source, each time
resumed by `qore worker --until-idle`. Every resumed file's SHA-256 must
equal the uninterrupted job's. A resume reads only the rows after its
checkpoint, so what the killed process read past it (read twice) is at most
one page; the table shows where the resumes started.

    scripts/servers.sh run -- benches/jobs_kill.py [--rows 5000000] [--kills 20]
        [--sources sqlite,duckdb,postgres,mariadb] [--formats csv,ndjson,parquet]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run, sha256 as sha, with_database  # noqa: E402


def load(qore, env, db, engine, rows):
    """A table `big(id, customer, amount, note)`: text with commas, quotes
    and NULLs, decimals."""
    q = lambda sql: run([qore, "--yes", "query", "--db", db, sql], env=env)  # noqa: E731
    q("DROP TABLE IF EXISTS big")
    if engine == "postgres":
        q("CREATE TABLE big(id bigint PRIMARY KEY, customer text, amount numeric(14,2), note text)")
        q(f"""INSERT INTO big SELECT i, 'customer ' || (i % 50000), (i * 7919 % 1000003) / 100.0,
              CASE WHEN i % 10 = 0 THEN NULL ELSE 'note, "' || i || '"' END FROM generate_series(1::bigint, {rows}) i""")
    elif engine == "duckdb":
        q("CREATE TABLE big(id BIGINT PRIMARY KEY, customer VARCHAR, amount DECIMAL(14,2), note VARCHAR)")
        q(f"""INSERT INTO big SELECT i, 'customer ' || (i % 50000), (i * 7919 % 1000003) / 100.0,
              CASE WHEN i % 10 = 0 THEN NULL ELSE 'note, "' || i || '"' END FROM range(1, {rows} + 1) t(i)""")
    elif engine == "mariadb":
        q("CREATE TABLE big(id bigint PRIMARY KEY, customer text, amount decimal(14,2), note text)")
        # In slices: one statement of millions of rows strains the server's undo log.
        step = 500_000
        for lo in range(1, rows + 1, step):
            hi = min(rows, lo + step - 1)
            # MariaDB's Sequence engine: seq_1_to_N is a table of 1..N.
            q(f"""INSERT INTO big SELECT seq, CONCAT('customer ', seq % 50000), (seq * 7919 % 1000003) / 100.0,
                  CASE WHEN seq % 10 = 0 THEN NULL ELSE CONCAT('note, "', seq, '"') END FROM seq_{lo}_to_{hi}""")
    else:
        q("CREATE TABLE big(id INTEGER PRIMARY KEY, customer TEXT, amount REAL, note TEXT)")
        q(f"""INSERT INTO big WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows})
              SELECT i, 'customer ' || (i % 50000), (i * 7919 % 1000003) / 100.0,
              CASE WHEN i % 10 = 0 THEN NULL ELSE 'note, "' || i || '"' END FROM g""")


def show(qore, env, job_id):
    out = subprocess.run([qore, "job", "show", job_id], env=env, capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else None


def killed_and_resumed(qore, env, db, out, rows):
    """Starts the export, SIGKILLs it once a random share of the rows is
    checkpointed and a random few milliseconds later, resumes it; returns
    (sha, rows checkpointed at the kill, chunk rows, seconds in all)."""
    if os.path.exists(out):
        os.remove(out)
    target = random.uniform(0.05, 0.95) * rows
    start = time.monotonic()
    child = subprocess.Popen([qore, "job", "submit", "export", "--db", db, "-t", "big", "-o", out,
                              "--run", "--lease", "1", "-q"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    job_id = child.stdout.readline().decode().strip()
    while child.poll() is None:
        j = show(qore, env, job_id)
        if j and j["done"] >= target:
            time.sleep(random.uniform(0, 0.05))
            break
        time.sleep(0.005)
    child.kill()
    child.wait()
    j = show(qore, env, job_id)
    checkpointed = j["done"] if j and j["state"] == "running" else rows
    chunk = j["params"]["chunk_rows"] if j else 0
    if j and j["state"] == "running":
        time.sleep(1.1)  # the dead process's lease runs out
        run([qore, "worker", "--until-idle"], env=env)
    j = show(qore, env, job_id)
    if not j or j["state"] != "succeeded":
        sys.exit(f"job {job_id} did not succeed: {j}")
    return sha(out), checkpointed, chunk, time.monotonic() - start


def profile(qore, env, name, url):
    """A saved connection for `url` (a job's parameters hold no password):
    the password goes to the worker through QORE_PASSWORD_<NAME>."""
    run([qore, "conn", "add", name, url, "--force"], env=env)
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2] if "@" in url else ""
    if password:
        from urllib.parse import unquote
        env[f"QORE_PASSWORD_{name.upper().replace('-', '_')}"] = unquote(password)
    return name


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--kills", type=int, default=20, help="kills per source, shared by the formats")
    ap.add_argument("--sources", default="sqlite,duckdb,postgres,mariadb")
    ap.add_argument("--formats", default="csv,ndjson,parquet")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    random.seed(args.seed)
    tmp = tempfile.mkdtemp(prefix="qore-jobs-kill-")
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(tmp, "data"), XDG_CONFIG_HOME=os.path.join(tmp, "config"))
    formats = args.formats.split(",")
    failures = []
    try:
        print(f"{'source':<9} {'format':<8} {'kills':>5} {'identical':>9} {'resumed after rows':>21} {'page':>8} "
              f"{'uninterrupted s':>16} {'killed+resumed s (median)':>26}")
        for source in args.sources.split(","):
            if source == "sqlite":
                db = f"sqlite:{os.path.join(tmp, 'src.db')}"
            elif source == "duckdb":
                db = f"duckdb:{os.path.join(tmp, 'src.duckdb')}"
            elif source == "postgres":
                url = os.environ.get("QORE_TEST_POSTGRES_URL")
                if not url:
                    print("postgres: skipped (run through scripts/servers.sh)")
                    continue
                run(["psql", url, "-q", "-c", "DROP DATABASE IF EXISTS qore_kill_bench", "-c", "CREATE DATABASE qore_kill_bench"])
                db = profile(args.qore, env, "killpg", with_database(url, "qore_kill_bench"))
            elif source == "mariadb":
                url = os.environ.get("QORE_TEST_MYSQL_URL")
                if not url:
                    print("mariadb: skipped (run through scripts/servers.sh)")
                    continue
                db = profile(args.qore, env, "killmaria", url)
            else:
                sys.exit(f"unknown source {source}")
            load(args.qore, env, db, source, args.rows)
            for i, fmt in enumerate(formats):
                kills = args.kills // len(formats) + (1 if i < args.kills % len(formats) else 0)
                ref = os.path.join(tmp, f"ref.{fmt}")
                t_job, _ = run([args.qore, "job", "submit", "export", "--db", db, "-t", "big", "-o", ref, "--run", "-q"], env=env)
                want = sha(ref)
                os.remove(ref)
                same, starts, times, page = 0, [], [], 0
                for _ in range(kills):
                    got, checkpointed, chunk, took = killed_and_resumed(args.qore, env, db, os.path.join(tmp, f"out.{fmt}"), args.rows)
                    same += got == want
                    if checkpointed < args.rows:
                        starts.append(checkpointed)
                    page = chunk
                    times.append(took)
                times.sort()
                median = times[len(times) // 2] if times else 0
                span = f"{min(starts):,}-{max(starts):,}" if starts else "(ended first)"
                print(f"{source:<9} {fmt:<8} {kills:>5} {same:>5}/{kills:<3} {span:>21} {page:>8,} {t_job:>16.2f} {median:>26.2f}")
                if same != kills:
                    failures.append(f"{source} {fmt}")
            if source == "postgres":
                run(["psql", os.environ["QORE_TEST_POSTGRES_URL"], "-q", "-c", "DROP DATABASE qore_kill_bench"])
            elif source == "mariadb":
                run([args.qore, "--yes", "query", "--db", db, "DROP TABLE big"], env=env)
        if failures:
            sys.exit(f"resumed files differ from the uninterrupted ones: {failures}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
