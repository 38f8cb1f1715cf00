//! QoreDB's benchmarks. The side-by-side comparisons are scripts in this
//! directory (`query_csv.py`: `qore query --format csv` against DuckDB's own
//! `COPY ... TO`); they print rows/s and peak RSS for each tool in one run.
