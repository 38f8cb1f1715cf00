#!/usr/bin/env python3
"""The safety net's corpus (qore-safety/tests/corpus.txt) scored side by
side: qore's classifier (`qore check`) and pgcli's `is_destructive`, the
guard pgcli runs before every statement.

pgcli is PostgreSQL's client, so both are scored on the corpus lines that
name PostgreSQL (`pg` or `all`), with pgcli's two settings: its default
(`destructive_warning = drop, shutdown, delete, truncate, alter, update,
unconditional_update`: every UPDATE and DELETE warns) and `moderate`
(`update` left out: only an UPDATE without a WHERE warns). Prints one
markdown table: destructive statements caught, safe ones alarmed.

    "$QORE_TOOLS/venv/bin/python" benches/pgcli_destructive.py [--qore PATH]

Installs pgcli 4.7.1 from PyPI into the running venv when it is missing.
"""
import argparse
import json
import os
import subprocess
import sys

PGCLI = "pgcli==4.7.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pgcli_guard():
    try:
        from pgcli.packages import parseutils
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", PGCLI], check=True)
        from pgcli.packages import parseutils
    return parseutils


def corpus():
    """(expected destructive?, statement) for every line naming PostgreSQL."""
    out = []
    with open(os.path.join(ROOT, "qore-safety", "tests", "corpus.txt")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            mark, engines, sql = line.split(" ", 2)
            if engines != "all" and "pg" not in engines.split(","):
                continue
            sql = sql.replace("\\n", "\n").replace("\\t", "\t")
            out.append((mark in ("D", "U"), sql))
    return out


def qore_says_destructive(qore, sql):
    p = subprocess.run(
        [qore, "check", "--engine", "postgres"],
        input=sql,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        sys.exit(f"qore check failed on {sql!r}: {p.stderr}")
    return json.loads(p.stdout)["verdict"] == "destructive"


def score(cases, judge):
    caught = sum(1 for d, s in cases if d and judge(s))
    alarms = sum(1 for d, s in cases if not d and judge(s))
    missed = [s for d, s in cases if d and not judge(s)]
    false = [s for d, s in cases if not d and judge(s)]
    return caught, alarms, missed, false


def main():
    ap = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--show", action="store_true", help="list every miss and false alarm")
    args = ap.parse_args()
    parseutils = pgcli_guard()
    cases = corpus()
    destructive = sum(1 for d, _ in cases if d)
    safe = len(cases) - destructive
    judges = [
        ("qore check (--engine postgres)", lambda s: qore_says_destructive(args.qore, s)),
        (
            "pgcli 4.7.1 is_destructive, default",
            lambda s: parseutils.is_destructive(s, parseutils.ALL_KEYWORDS),
        ),
        (
            "pgcli 4.7.1 is_destructive, moderate",
            lambda s: parseutils.is_destructive(s, parseutils.BASE_KEYWORDS),
        ),
    ]
    print(f"PostgreSQL lines of the corpus: {destructive} destructive, {safe} safe\n")
    print("| guard | destructive caught | safe statements alarmed |")
    print("|---|---:|---:|")
    details = []
    for name, judge in judges:
        caught, alarms, missed, false = score(cases, judge)
        print(
            f"| {name} | {caught}/{destructive} ({100 * caught / destructive:.0f}%) "
            f"| {alarms}/{safe} ({100 * alarms / safe:.0f}%) |"
        )
        details.append((name, missed, false))
    if args.show:
        for name, missed, false in details:
            print(f"\n{name}\n  missed:")
            for s in missed:
                print(f"    {s!r}")
            print("  false alarms:")
            for s in false:
                print(f"    {s!r}")


if __name__ == "__main__":
    main()
