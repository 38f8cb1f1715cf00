"""Reads exported Parquet and Arrow IPC files with pyarrow and checks that
they hold the same table; then has DuckDB (through qore) re-write the Parquet
file it reads, and checks that pyarrow sees the same rows again.

Usage: check_columnar.py QORE FILE.parquet FILE.arrow FILE.arrows"""
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

qore, parquet, arrow_file, arrow_stream = sys.argv[1:5]
t_pq = pq.read_table(parquet)
t_ipc = pa.ipc.open_file(arrow_file).read_all()
t_stream = pa.ipc.open_stream(arrow_stream).read_all()
assert t_pq.schema.equals(t_ipc.schema, check_metadata=False), (t_pq.schema, t_ipc.schema)
assert t_pq.equals(t_ipc), "parquet and arrow file differ"
assert t_ipc.equals(t_stream), "arrow file and arrow stream differ"

# DuckDB reads the Parquet file and writes its own copy.
copy = parquet + ".duckdb.parquet"
subprocess.run([qore, "query", "--db", "duckdb:", f"COPY (SELECT * FROM '{parquet}') TO '{copy}' (FORMAT parquet)"],
               check=True, capture_output=True)
t_duck = pq.read_table(copy)
assert t_duck.num_rows == t_pq.num_rows, (t_duck.num_rows, t_pq.num_rows)
assert t_duck.column_names == t_pq.column_names


def norm(v):
    # DuckDB may hand back timezone-aware values for timestamptz; compare instants.
    if hasattr(v, "isoformat"):
        return v.isoformat() if getattr(v, "tzinfo", None) is None else v.astimezone(__import__("datetime").timezone.utc).replace(tzinfo=None).isoformat()
    return v


rows_a = [[norm(x) for x in r.values()] for r in t_pq.to_pylist()]
rows_b = [[norm(x) for x in r.values()] for r in t_duck.to_pylist()]
assert rows_a == rows_b, "DuckDB read different rows than pyarrow"
print(json.dumps({"rows": t_pq.num_rows, "columns": t_pq.column_names,
                  "types": [str(f.type) for f in t_pq.schema],
                  "metadata": {f.name: {k.decode(): v.decode() for k, v in (f.metadata or {}).items()} for f in t_pq.schema}}))
