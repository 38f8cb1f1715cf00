# Sourced by the project's scripts: where build output lives.
# The target dir sits outside the clone so that CI runs and later checkouts
# reuse it: a clean build of the dependencies (DuckDB's C++ most of all) takes
# about 20 minutes on 2 cores, a rebuild of the qore crates seconds.
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  if [ -d /work ] && [ -w /work ]; then
    export CARGO_TARGET_DIR=/work/target
  else
    export CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/qoredb/target"
  fi
fi
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
QORE="$CARGO_TARGET_DIR/debug/qore"
# Test helpers installed by setup.sh (pyarrow venv, playwright-core).
export QORE_TOOLS="${QORE_TOOLS:-$HOME/.cache/qoredb/tools}"

