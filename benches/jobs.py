#!/usr/bin/env python3
"""Background jobs, measured on the project's servers:

1. No-op job throughput and claim latency of the two job stores
   (benches/jobs.rs): SQLite with one and two workers, PostgreSQL with two
   and four, side by side with graphile-worker's published figures
   (https://worker.graphile.org/docs/performance: ~183,000 jobs/s and
   4.16 ms average add-to-start latency, 24 concurrent jobs per worker,
   batching on, a big machine).
2. Resume overhead of an export job, per format (CSV, NDJSON, Parquet,
   Arrow, HTML, SQL): a 1M-row SQLite table as `qore export` (one scan), as
   an uninterrupted job (keyset pages and a checkpoint per page), and as a
   job killed with SIGKILL half-way and resumed by `qore worker` (both
   processes' time added); the resumed file's SHA-256 must equal the
   uninterrupted one's.

    scripts/servers.sh run -- benches/jobs.py [--jobs 10000] [--rows 1000000] [--formats csv,arrow]

Goals: SQLite >= 1,000 jobs/s; PostgreSQL >= 2,000 jobs/s with 2 workers.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run, sha256, with_database  # noqa: E402


def sha(path, fmt="csv"):
    """The file's SHA-256; an HTML page's export time (its job's submission)
    is left out, since the two runs compared are two jobs."""
    if fmt != "html":
        return sha256(path)
    with open(path, "rb") as f:
        data = re.sub(rb'"exported_at":"[^"]*"', b'"exported_at":""', f.read())
    return hashlib.sha256(data).hexdigest()


def throughput(bench, store, jobs, workers, concurrency):
    out = subprocess.run([bench, store, str(jobs), str(workers), str(concurrency)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def resume_overhead(qore, env, tmp, src, rows, fmt):
    """`qore export`, an uninterrupted job, and a job SIGKILLed half-way and
    resumed by `qore worker` (both processes' time added), all to `fmt`."""
    t_plain, _ = run([qore, "export", "--db", src, "-t", "big", "-o", os.path.join(tmp, f"plain.{fmt}"), "-q"], env=env)
    t_job, _ = run([qore, "job", "submit", "export", "--db", src, "-t", "big",
                    "-o", os.path.join(tmp, f"job.{fmt}"), "--run", "-q"], env=env)
    want = sha(os.path.join(tmp, f"job.{fmt}"), fmt)
    start = time.monotonic()
    child = subprocess.Popen([qore, "job", "submit", "export", "--db", src, "-t", "big",
                              "-o", os.path.join(tmp, f"resumed.{fmt}"), "--run", "--lease", "1", "-q"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    job_id = child.stdout.readline().decode().strip()
    while True:
        show = subprocess.run([qore, "job", "show", job_id], env=env, capture_output=True, text=True)
        done = json.loads(show.stdout)["done"] if show.returncode == 0 else 0
        if done >= rows // 2:
            break
        time.sleep(0.01)
    child.kill()
    child.wait()
    t_first = time.monotonic() - start
    time.sleep(1.1)  # the dead worker's lease runs out
    t_resume, _ = run([qore, "worker", "--until-idle"], env=env)
    same = sha(os.path.join(tmp, f"resumed.{fmt}"), fmt) == want
    return {"plain": t_plain, "job": t_job, "killed": t_first + t_resume, "same": same}


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--bench", default=os.path.join(target, "debug", "jobs"))
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--concurrency", type=int, default=16, help="jobs each worker runs at once")
    ap.add_argument("--formats", default="csv,ndjson,parquet,arrow,html,sql",
                    help="export formats whose resume overhead is measured")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="qore-jobs-bench-")
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(tmp, "data"), XDG_CONFIG_HOME=os.path.join(tmp, "config"))
    try:
        rows = []
        for workers in (1, 2):
            rows.append(throughput(args.bench, os.path.join(tmp, f"jobs{workers}.db"), args.jobs, workers, args.concurrency))
        url = os.environ.get("QORE_TEST_POSTGRES_URL")
        if url:
            for workers in (2, 4):
                db = f"qore_jobs_bench{workers}"
                run(["psql", url, "-q", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}"])
                rows.append(throughput(args.bench, with_database(url, db), args.jobs, workers, args.concurrency))
                run(["psql", url, "-q", "-c", f"DROP DATABASE {db}"])
        print(f"\nno-op jobs: {args.jobs:,} submitted, then run to the end by qore_jobs::Worker "
              f"({args.concurrency} at a time per worker; claim latency: one claim at a time on an idle store)")
        print(f"{'store':<12} {'workers':>7} {'submit/s':>10} {'jobs/s':>10} {'claim p50 ms':>13} {'claim p99 ms':>13}")
        for r in rows:
            print(f"{r['store']:<12} {r['workers']:>7} {r['submit_per_s']:>10,} {r['jobs_per_s']:>10,} "
                  f"{r['claim_ms_p50']:>13.3f} {r['claim_ms_p99']:>13.3f}")
        print(f"{'graphile-worker (published)':<30} ~183,000 jobs/s, 4.16 ms add-to-start (24 concurrent, batched, big machine)")

        # Resume overhead.
        src = os.path.join(tmp, "src.db")
        run([args.qore, "query", "--db", f"sqlite:{src}",
             "CREATE TABLE big(id INTEGER PRIMARY KEY, customer TEXT, amount REAL, note TEXT)"])
        run([args.qore, "query", "--db", f"sqlite:{src}", f"""
             INSERT INTO big WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {args.rows})
             SELECT i, 'customer ' || (i % 50000), (i * 7919 % 1000003) / 100.0,
                    CASE WHEN i % 10 = 0 THEN NULL ELSE 'note, "' || i || '"' END FROM g"""])
        print(f"\n{args.rows:,}-row SQLite table, export job resume overhead")
        print(f"{'format':<8} {'qore export s':>14} {'job s':>7} {'killed+resumed s':>17} {'overhead':>9} {'identical':>10}")
        failed = []
        for fmt in args.formats.split(","):
            r = resume_overhead(args.qore, env, tmp, src, args.rows, fmt)
            print(f"{fmt:<8} {r['plain']:14.2f} {r['job']:7.2f} {r['killed']:17.2f} {r['killed'] / r['job']:8.2f}x {str(r['same']):>10}")
            if not r["same"]:
                failed.append(fmt)
        if failed:
            sys.exit(f"the resumed file differs from the uninterrupted one: {failed}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
