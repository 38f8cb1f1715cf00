#!/usr/bin/env python3
"""Global search on every SQL engine, side by side with phpMyAdmin's method
in the same run (benches/search.rs does the timing; this script builds it,
makes one generated database per engine and prints one table).

The database: 200 tables × 10,000 rows (2M rows: id, three text columns, a
number), `zanzibar😀` planted in every tenth table. Each engine is searched
for the planted needle and for `zanzibar` (a needle with no caseless part,
so every cell is folded), case-insensitive and case-sensitive; the
baseline is phpMyAdmin's: one table after another on one session, a
`COUNT(*)` with the OR of the engine's LIKE, then the SELECT where the
count is not zero.

    scripts/servers.sh run -- benches/search.py [--tables 200] [--rows 10000] [--repeat 3] [--engines sqlite,duckdb,postgres,mysql]
    benches/search.py --instructions [--engines sqlite]

`--instructions` counts the instructions each side executes (valgrind's
cachegrind, one round of both cases, less the cost of opening the
database), for SQLite: on a shared machine the times of the
same work vary 2x from run to run, the instruction counts do not.

The servers come from QORE_TEST_POSTGRES_URL and QORE_TEST_MYSQL_URL (set
by scripts/servers.sh); an engine without its URL is left out and said so.
Goals: total <= 0.6x the baseline, first hit <= 300 ms, cancel <= 200 ms.
"""
import argparse
import os
import subprocess
import sys
import tempfile

NEEDLES = ["zanzibar😀", "zanzibar"]


def build():
    """The bench binary, built by cargo into the project's target dir."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["cargo", "build", "-q", "-p", "qore-benches", "--bin", "search"], cwd=root, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(root, "target")
    return os.path.join(target, "debug", "search")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", type=int, default=200)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", default="sqlite,duckdb,postgres,mysql")
    ap.add_argument("--instructions", action="store_true", help="count instructions under cachegrind instead of timing")
    args = ap.parse_args()
    bench = build()
    if args.instructions:
        return instructions(bench, args)
    tmp = tempfile.mkdtemp(prefix="qore-search-bench-")
    urls = {
        "sqlite": f"sqlite:{tmp}/search.sqlite",
        "duckdb": f"duckdb:{tmp}/search.duckdb",
        "postgres": os.environ.get("QORE_TEST_POSTGRES_URL"),
        "mysql": os.environ.get("QORE_TEST_MYSQL_URL"),
    }
    for engine in args.engines.split(","):
        url = urls.get(engine)
        if not url:
            print(f"{engine}: no server URL (run under scripts/servers.sh run --); left out\n")
            continue
        for i, needle in enumerate(NEEDLES):
            last = i == len(NEEDLES) - 1
            cmd = [bench, url, str(args.tables), str(args.rows), str(args.repeat), "--needle", needle]
            # Made once per engine, dropped after its last needle.
            cmd += (["--reuse"] if i > 0 else []) + ([] if last else ["--keep"])
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            print(out.stdout)
    subprocess.run(["rm", "-rf", tmp], check=False)


def instructions(bench, args):
    """Instructions per side (both cases, one round), made under valgrind's
    cachegrind; installs valgrind from Debian when it is missing."""
    import re
    import shutil
    if not shutil.which("valgrind"):
        subprocess.run(["apt-get", "install", "-y", "-q", "valgrind"], check=True)
    tmp = tempfile.mkdtemp(prefix="qore-search-bench-")
    for engine in args.engines.split(","):
        if engine != "sqlite":
            print(f"{engine}: instructions are counted on SQLite only (a server's work is in another process, DuckDB's in its own thread pool); left out\n")
            continue
        url = f"{engine}:{tmp}/search.{engine}"
        subprocess.run([bench, url, str(args.tables), str(args.rows), "1", "--keep", "--only", "none"], check=True, capture_output=True)
        print(f"{engine}: {args.tables} tables x {args.rows} rows, instructions of one round of both cases (cachegrind)")
        print("| needle | phpMyAdmin's | qore search | ratio |")
        print("|---|---|---|---|")
        for needle in NEEDLES:
            counts = {}
            for side in ["none", "baseline", "qore"]:
                out = subprocess.run(
                    ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                     bench, url, str(args.tables), str(args.rows), "1", "--reuse", "--keep", "--only", side, "--needle", needle],
                    check=True, capture_output=True, text=True)
                m = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
                counts[side] = int(m.group(1).replace(",", ""))
            base, ours = counts["baseline"] - counts["none"], counts["qore"] - counts["none"]
            print(f"| {needle} | {base / 1e9:.2f} G | {ours / 1e9:.2f} G | {ours / base:.2f} |")
        print()
    subprocess.run(["rm", "-rf", tmp], check=False)


if __name__ == "__main__":
    sys.exit(main())
