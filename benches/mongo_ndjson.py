#!/usr/bin/env python3
"""MongoDB documents to NDJSON: `qore query --format ndjson` (canonical
Extended JSON of each document) against pymongo + bson.json_util (canonical
mode), on the same collection, each its own process; rows/s and peak RSS.

    scripts/servers.sh run -- "$QORE_TOOLS/venv/bin/python" benches/mongo_ndjson.py [--docs 100000,1000000]
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run  # noqa: E402

import pymongo

REF = """
import sys, pymongo
from bson import json_util
c = pymongo.MongoClient(sys.argv[1])
out = sys.stdout
opts = json_util.CANONICAL_JSON_OPTIONS
for d in c.get_default_database()["bench"].find({"i": {"$lt": int(sys.argv[2])}}, batch_size=10000):
    out.write(json_util.dumps(d, json_options=opts))
    out.write("\\n")
"""




def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(target, "debug", "qore"))
    ap.add_argument("--docs", default="100000,1000000")
    args = ap.parse_args()
    sizes = [int(x) for x in args.docs.split(",")]
    url = os.environ["QORE_TEST_MONGODB_URL"]
    coll = pymongo.MongoClient(url).get_default_database()["bench"]
    coll.drop()
    n = max(sizes)
    print(f"inserting {n:,} documents ...", file=sys.stderr)
    batch = []
    for i in range(n):
        batch.append({"i": i, "name": f"user {i}", "score": i / 7.0, "tags": ["a", "b"][: i % 3],
                      "addr": {"city": "Oslo", "zip": i % 1000}, "active": i % 2 == 0})
        if len(batch) == 10000:
            coll.insert_many(batch)
            batch = []
    if batch:
        coll.insert_many(batch)
    coll.create_index("i")
    rows = []
    for size in sizes:
        q = '{"find": "bench", "filter": {"i": {"$lt": %d}}}' % size
        t_q, m_q = run([args.qore, "query", "--db", url, "--format", "ndjson", q])
        t_r, m_r = run([sys.executable, "-c", REF, url, str(size)])
        rows.append((size, t_q, m_q, t_r, m_r))
    print()
    print(f"{'docs':>10} {'qore docs/s':>12} {'pymongo docs/s':>15} {'ratio':>6} {'qore RSS':>9} {'pymongo RSS':>12}")
    for size, t_q, m_q, t_r, m_r in rows:
        print(f"{size:>10,} {size / t_q:>12,.0f} {size / t_r:>15,.0f} {t_r / t_q:>5.2f}x {m_q:>7.1f}MB {m_r:>10.1f}MB")


if __name__ == "__main__":
    main()
