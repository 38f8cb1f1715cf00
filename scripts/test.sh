#!/usr/bin/env bash
# Sets everything up and runs every test: unit, property, integration (real
# SQLite and DuckDB files; real PostgreSQL, MariaDB and Redis servers started on
# loopback by scripts/servers.sh and the tests), the CLI's tests against the
# real binary, the examples, and the doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
# Property tests and fuzz loops draw from one seed, so that a CI run is
# reproducible; PROPTEST_RNG_SEED=random (or another number) explores further.
if [ "${PROPTEST_RNG_SEED:-}" = random ]; then unset PROPTEST_RNG_SEED; else export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261129}"; fi
echo "test: build output in $CARGO_TARGET_DIR" >&2
cargo build --workspace --all-targets --locked
cargo test --workspace --locked --doc
if cargo nextest --version >/dev/null 2>&1; then
  scripts/servers.sh run -- cargo nextest run --workspace --locked --no-fail-fast
else
  scripts/servers.sh run -- cargo test --workspace --locked --no-fail-fast --lib --bins --tests
fi
