#!/usr/bin/env bash
# Sets everything up and runs every test: unit, property, integration (real
# SQLite and DuckDB files), the CLI's tests against the real binary, the
# examples, and the doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
echo "test: build output in $CARGO_TARGET_DIR" >&2
cargo build --workspace --all-targets --locked
cargo test --workspace --locked --doc
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast --lib --bins --tests
fi
