#!/usr/bin/env python3
"""`qore erd` on generated PostgreSQL schemas (N tables, 1.5 N foreign keys,
in clusters of 50 with links across), side by side with dagre and elkjs
(npm, layered) laying out the same graph, with the same box sizes, in node,
in the same run.

For each size prints: qore's layout time and whole command time (catalog,
layout, SVG), the statements `qore erd` ran on the server (pg_stat_statements),
box overlaps and relation crossings of all three drawings (counted by one
function, benches/erd/compare.mjs), whether two runs wrote identical bytes;
then, for the largest size, the HTML page in headless Chromium: ready time,
p95 draw time per frame during a scripted zoom and pan, search time.

    scripts/servers.sh run -- python3 benches/erd.py [--qore PATH] [--tables 100,300,1000]

Installs @dagrejs/dagre and elkjs into $QORE_TOOLS/node-erd when missing.
Creates (and drops) the database qore_erd_bench.
"""
import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.environ.get("QORE_TOOLS", os.path.expanduser("~/.cache/qoredb/tools"))
NODE = os.path.join(TOOLS, "node-erd")
DB = "qore_erd_bench"


def ensure_node_packages():
    if not os.path.isdir(os.path.join(NODE, "node_modules", "elkjs")):
        os.makedirs(NODE, exist_ok=True)
        subprocess.check_call(["npm", "install", "--silent", "--no-audit", "--no-fund", "@dagrejs/dagre@1", "elkjs@0.9"], cwd=NODE)


def q(qore, url, sql):
    subprocess.run([qore, "query", "--db", url], input=sql.encode(), check=True, stdout=subprocess.DEVNULL)


def scalar(qore, url, sql):
    out = subprocess.run([qore, "query", "--db", url, "--format", "csv", sql], check=True, capture_output=True).stdout.decode()
    return out.splitlines()[1]


def schema_sql(schema, n, seed=11):
    """N tables in clusters of 50: each references one earlier table of its
    cluster (the first of a cluster, one anywhere before), every other one
    also a table anywhere: 1.5 N foreign keys."""
    rnd = random.Random(seed)
    tables, fks = [], []
    for i in range(n):
        cols = ["id bigint PRIMARY KEY"]
        base = (i // 50) * 50
        refs = []
        if i > base:
            refs.append(rnd.randrange(base, i))
        elif i > 0:
            refs.append(rnd.randrange(0, i))
        if i % 2 == 1:
            refs.append(rnd.randrange(0, n))
        for k, r in enumerate(refs):
            cols.append(f"ref{k}_id bigint")
            fks.append(f"ALTER TABLE {schema}.t{i:04d} ADD FOREIGN KEY (ref{k}_id) REFERENCES {schema}.t{r:04d}(id);")
        for k in range(rnd.randrange(2, 9)):
            cols.append(f"{rnd.choice(['name', 'note', 'amount', 'created_at', 'status', 'code'])}_{k} "
                        f"{rnd.choice(['text', 'numeric(12,2)', 'timestamptz', 'integer', 'varchar(40)'])}")
        tables.append(f"CREATE TABLE {schema}.t{i:04d} ({', '.join(cols)});")
    return "\n".join([f"DROP SCHEMA IF EXISTS {schema} CASCADE;", f"CREATE SCHEMA {schema};", *tables, *fks])


def statements(qore, observer):
    return int(scalar(qore, observer, f"SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{DB}'"))


def run_erd(qore, url, schema, fmt, path, *extra):
    start = time.monotonic()
    p = subprocess.run([qore, "erd", "--db", url, schema, "--format", fmt, "-o", path, *extra], capture_output=True)
    wall = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(p.stderr.decode())
    m = re.search(r"catalog (\d+) ms, layout (\d+) ms, render (\d+) ms", p.stderr.decode())
    layout = float(m.group(2)) if m else float("nan")
    return wall, layout, p.stderr.decode().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "qore"))
    ap.add_argument("--tables", default="100,300,1000")
    a = ap.parse_args()
    url = os.environ["QORE_TEST_POSTGRES_URL"]
    base = url.rsplit("/", 1)[0]
    observer = f"{base}/postgres"
    bench = f"{base}/{DB}"
    ensure_node_packages()
    q(a.qore, observer, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    q(a.qore, observer, f"CREATE DATABASE {DB}")
    rows = []
    tmp = tempfile.mkdtemp(prefix="qore-erd-bench-")
    sizes = [int(x) for x in a.tables.split(",")]
    try:
        for n in sizes:
            schema = f"s{n}"
            q(a.qore, bench, schema_sql(schema, n))
            q(a.qore, bench, "ANALYZE")
            # Layout time: the best of three; statements counted on one run.
            before = statements(a.qore, observer)
            wall, layout, _ = run_erd(a.qore, bench, schema, "svg", os.path.join(tmp, "a.svg"))
            stmts = statements(a.qore, observer) - before
            walls, layouts = [wall], [layout]
            for _ in range(2):
                w, l, _ = run_erd(a.qore, bench, schema, "svg", os.path.join(tmp, "b.svg"))
                walls.append(w)
                layouts.append(l)
            same = hashlib.sha256(open(os.path.join(tmp, "a.svg"), "rb").read()).hexdigest() == \
                hashlib.sha256(open(os.path.join(tmp, "b.svg"), "rb").read()).hexdigest()
            run_erd(a.qore, bench, schema, "json", os.path.join(tmp, "d.json"))
            env = dict(os.environ, ERD_NODE_MODULES=os.path.join(NODE, "node_modules"))
            cmp = json.loads(subprocess.run(["node", os.path.join(ROOT, "benches", "erd", "compare.mjs"), os.path.join(tmp, "d.json")],
                                            check=True, capture_output=True, env=env).stdout)
            # Relations attached to the boxes, as dagre and elkjs attach them.
            run_erd(a.qore, bench, schema, "json", os.path.join(tmp, "n.json"), "--columns", "none")
            boxed = json.loads(subprocess.run(["node", os.path.join(ROOT, "benches", "erd", "compare.mjs"), os.path.join(tmp, "n.json")],
                                              check=True, capture_output=True, env=env).stdout)
            rows.append((n, cmp, min(layouts), min(walls), stmts, same, boxed))
        n = sizes[-1]
        html = os.path.join(tmp, "d.html")
        run_erd(a.qore, bench, f"s{n}", "html", html)
        page = json.loads(subprocess.run(["node", os.path.join(ROOT, "qore-cli", "tests", "support", "erd_check.mjs"), html, f"s{n}.t0007", "t0500"],
                                         check=True, capture_output=True, env=dict(os.environ, QORE_TOOLS=TOOLS)).stdout)
    finally:
        q(a.qore, observer, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    print("| tables | relations | qore layout | dagre layout | elkjs layout | qore whole command (SVG) | statements | crossings qore (on columns) / dagre / elkjs | crossings qore on boxes (`--columns none`) / dagre | overlaps qore / dagre / elkjs | same bytes twice |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, c, lay, wall, stmts, same, boxed in rows:
        print(f"| {n} | {c['relations']} | {lay:.0f} ms | {c['dagre']['ms']:.0f} ms | {c['elkjs']['ms']:.0f} ms | {wall:.2f} s | {stmts} | "
              f"{c['qore']['crossings']} / {c['dagre']['crossings']} / {c['elkjs']['crossings']} | "
              f"{boxed['qore']['crossings']} / {boxed['dagre']['crossings']} | "
              f"{c['qore']['overlaps']} / {c['dagre']['overlaps']} / {c['elkjs']['overlaps']} | {'yes' if same else 'NO'} |")
    print()
    print(f"HTML page, {page['tables']} tables, headless Chromium: ready {page['readyMs']:.0f} ms, "
          f"p95 draw per frame {page['p95FrameMs']:.1f} ms over {page['frames']} frames of zoom and pan, "
          f"search {page['search']['ms']:.1f} ms, panel opened: {page.get('panelOpen')}, network requests: {len(page['requests'])}")


if __name__ == "__main__":
    main()
