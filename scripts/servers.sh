#!/usr/bin/env bash
# Starts throwaway PostgreSQL 15, MariaDB and SecantusDB (the MongoDB wire
# protocol) servers on loopback (free ports, a temp dir, password auth), runs a
# command with their URLs exported, then stops them by PID and removes their
# data.
#
#   scripts/servers.sh run -- cargo nextest run --workspace
#   scripts/servers.sh run -- bash        # a shell with the servers up
#
# Exported: QORE_TEST_POSTGRES_URL, QORE_TEST_MYSQL_URL (+ QORE_TEST_MYSQL_TLS_CA), QORE_TEST_MONGODB_URL,
# QORE_TEST_SSH_* (an OpenSSH server: HOST PORT USER KEY KNOWN_HOSTS LOG) and
# QORE_TEST_HTTP_* (nginx: URL ROOT LOG; /share/ takes WebDAV PUT, /ro/ refuses
# it, and ROOT/sftp is served at URL/sftp/)
# (already set ones are kept, and that server is not started: point them at a
# real MySQL 8 or mongod, say). Redis tests start their own servers per test.
set -euo pipefail
[ "${1:-}" = run ] || { echo "usage: $0 run -- COMMAND..." >&2; exit 2; }
shift
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 run -- COMMAND..." >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { echo "servers: $*" >&2; }

root=$(mktemp -d /tmp/qore-servers.XXXXXX)
chmod 755 "$root"
pw=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
pids=()

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$root"
  exit $status
}
trap cleanup EXIT INT TERM

wait_for() { # what, tries, command...
  local what=$1 tries=$2; shift 2
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "$what did not start"; return 1
}

if [ -z "${QORE_TEST_POSTGRES_URL:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgport=$(free_port)
  mkdir -m 700 "$root/pg"
  chown postgres:postgres "$root/pg"
  echo "$pw" > "$root/pgpw"; chown postgres "$root/pgpw"
  runuser -u postgres -- "$pgbin/initdb" -D "$root/pg" -U postgres --pwfile="$root/pgpw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$root/pg-init.log" 2>&1 \
    || { cat "$root/pg-init.log" >&2; exit 1; }
  setpriv --reuid=postgres --regid=postgres --init-groups -- "$pgbin/postgres" -D "$root/pg" \
    -c listen_addresses=127.0.0.1 -p "$pgport" -c unix_socket_directories="$root/pg" -c fsync=off \
    -c max_connections=200 -c shared_preload_libraries=pg_stat_statements \
    -c pg_stat_statements.track=all >"$root/pg.log" 2>&1 &
  pids+=($!)
  wait_for PostgreSQL 100 "$pgbin/pg_isready" -h 127.0.0.1 -p "$pgport" || { cat "$root/pg.log" >&2; exit 1; }
  psql -q -h "$root/pg" -p "$pgport" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE qore LOGIN CREATEDB CREATEROLE PASSWORD '$pw'" -c "CREATE DATABASE qore_test OWNER qore" \
    -c "GRANT pg_read_all_stats TO qore" \
    -c "CREATE ROLE qore_super LOGIN SUPERUSER PASSWORD '$pw'" >/dev/null
  # What the server ran (every database's statements, read from the
  # postgres database so that qore_test's catalog stays as the tests made
  # it), for the tests that prove a refused statement never reached it.
  psql -q -h "$root/pg" -p "$pgport" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION pg_stat_statements" >/dev/null
  export QORE_TEST_POSTGRES_URL="postgres://qore:$pw@127.0.0.1:$pgport/qore_test"
  # A superuser, for what only one may do (event triggers), in databases
  # the tests make for it.
  export QORE_TEST_POSTGRES_SUPER_URL="postgres://qore_super:$pw@127.0.0.1:$pgport/qore_test"
  log "PostgreSQL on 127.0.0.1:$pgport"
fi

if [ -z "${QORE_TEST_MYSQL_URL:-}" ]; then
  myport=$(free_port)
  mkdir "$root/my"
  mariadb-install-db --no-defaults --user=root --datadir="$root/my" \
    --auth-root-authentication-method=socket --skip-test-db >"$root/my-init.log" 2>&1 \
    || { cat "$root/my-init.log" >&2; exit 1; }
  # A private CA and a server certificate for 127.0.0.1, so that the TLS
  # path (ssl-mode, ssl-ca) is tested against the real server.
  mkdir "$root/tls"
  (
    cd "$root/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
      -out ca.pem -days 2 -subj "/CN=qore test CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
      -out server.csr -subj "/CN=127.0.0.1"
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
      -days 2 -extfile ext.cnf
  ) >"$root/tls.log" 2>&1 || { cat "$root/tls.log" >&2; exit 1; }
  mariadbd --no-defaults --user=root --datadir="$root/my" --bind-address=127.0.0.1 --port="$myport" \
    --ssl-ca="$root/tls/ca.pem" --ssl-cert="$root/tls/server.pem" --ssl-key="$root/tls/server.key" \
    --socket="$root/my/sock" --pid-file="$root/my/pid" --log-error="$root/my/err.log" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci --event-scheduler=ON \
    --max-connections=300 --innodb-flush-log-at-trx-commit=0 --max-allowed-packet=64M >/dev/null 2>&1 &
  pids+=($!)
  wait_for MariaDB 150 mariadb-admin --no-defaults --socket="$root/my/sock" -uroot ping \
    || { cat "$root/my/err.log" >&2; exit 1; }
  mariadb --no-defaults --socket="$root/my/sock" -uroot -e "
    CREATE DATABASE qore_test;
    CREATE USER 'qore'@'127.0.0.1' IDENTIFIED BY '$pw';
    GRANT ALL PRIVILEGES ON *.* TO 'qore'@'127.0.0.1' WITH GRANT OPTION;"
  export QORE_TEST_MYSQL_URL="mysql://qore:$pw@127.0.0.1:$myport/qore_test"
  export QORE_TEST_MYSQL_TLS_CA="$root/tls/ca.pem"
  log "MariaDB on 127.0.0.1:$myport"
fi

if [ -z "${QORE_TEST_MONGODB_URL:-}" ]; then
  tools="${QORE_TOOLS:-$HOME/.cache/qoredb/tools}"
  [ -x "$tools/venv/bin/secantusd-py" ] || { log "SecantusDB missing: run scripts/setup.sh"; exit 1; }
  moport=$(free_port)
  mkdir "$root/mongo"
  start_mongo() {
    "$tools/venv/bin/secantusd-py" --host 127.0.0.1 --port "$moport" --storage-path "$root/mongo/data" \
      --log-level WARNING "$@" >>"$root/mongo/log" 2>&1 &
    mongo_pid=$!
    wait_for SecantusDB 200 python3 -c "import socket; socket.create_connection(('127.0.0.1', $moport), 1)" \
      || { cat "$root/mongo/log" >&2; exit 1; }
  }
  # Users are made without auth, then the server restarts with --auth.
  start_mongo
  "$tools/venv/bin/python" - "$moport" "$pw" <<'PY'
import sys, pymongo
c = pymongo.MongoClient("127.0.0.1", int(sys.argv[1]), serverSelectionTimeoutMS=10000)
c.admin.command("createUser", "qore", pwd=sys.argv[2], roles=["root"])
PY
  kill "$mongo_pid"; wait "$mongo_pid" 2>/dev/null || true
  start_mongo --auth
  pids+=("$mongo_pid")
  export QORE_TEST_MONGODB_URL="mongodb://qore:$pw@127.0.0.1:$moport/qore_test?authSource=admin"
  log "SecantusDB (MongoDB protocol) on 127.0.0.1:$moport"
fi

if [ -z "${QORE_TEST_SSH_PORT:-}" ] && [ -x /usr/sbin/sshd ]; then
  sshport=$(free_port)
  mkdir -m 700 "$root/ssh"
  mkdir -p -m 0755 /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$root/ssh/host_key" -C qore-test-host
  ssh-keygen -q -t ed25519 -N '' -f "$root/ssh/client_key" -C qore-test-client
  cp "$root/ssh/client_key.pub" "$root/ssh/authorized_keys"
  echo "[127.0.0.1]:$sshport $(cut -d' ' -f1,2 "$root/ssh/host_key.pub")" > "$root/ssh/known_hosts"
  cat > "$root/ssh/sshd_config" <<CONF
Port $sshport
ListenAddress 127.0.0.1
HostKey $root/ssh/host_key
PidFile $root/ssh/sshd.pid
AuthorizedKeysFile $root/ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowTcpForwarding yes
LogLevel VERBOSE
Subsystem sftp internal-sftp -l VERBOSE
CONF
  /usr/sbin/sshd -D -e -f "$root/ssh/sshd_config" 2>"$root/ssh/sshd.log" &
  pids+=($!)
  wait_for OpenSSH 100 grep -q "Server listening" "$root/ssh/sshd.log" || { cat "$root/ssh/sshd.log" >&2; exit 1; }
  export QORE_TEST_SSH_HOST=127.0.0.1 QORE_TEST_SSH_PORT=$sshport QORE_TEST_SSH_USER=$(id -un)
  export QORE_TEST_SSH_KEY="$root/ssh/client_key" QORE_TEST_SSH_KNOWN_HOSTS="$root/ssh/known_hosts"
  export QORE_TEST_SSH_LOG="$root/ssh/sshd.log"
  log "OpenSSH on 127.0.0.1:$sshport"
fi

if [ -z "${QORE_TEST_HTTP_URL:-}" ] && [ -x /usr/sbin/nginx ]; then
  httpport=$(free_port)
  mkdir -p "$root/nginx/www/share" "$root/nginx/www/ro" "$root/nginx/www/sftp" "$root/nginx/tmp"
  worker=$(id -un www-data 2>/dev/null || id -un)
  chown -R "$worker" "$root/nginx/www/share" "$root/nginx/tmp"
  chmod 755 "$root/nginx" "$root/nginx/www" "$root/nginx/www/sftp"
  cat > "$root/nginx/nginx.conf" <<CONF
daemon off; user $worker; pid $root/nginx/nginx.pid; error_log $root/nginx/error.log; worker_processes 1;
events {}
http {
  access_log $root/nginx/access.log;
  client_body_temp_path $root/nginx/tmp;
  types { text/html html; }
  server {
    listen 127.0.0.1:$httpport;
    root $root/nginx/www;
    location /share/ { dav_methods PUT DELETE MKCOL; create_full_put_path on; dav_access user:rw group:r all:r; client_max_body_size 100m; }
    location /ro/ { limit_except GET { deny all; } }
  }
}
CONF
  /usr/sbin/nginx -c "$root/nginx/nginx.conf" 2>"$root/nginx/start.log" &
  pids+=($!)
  wait_for nginx 100 python3 -c "import socket; socket.create_connection(('127.0.0.1', $httpport), 1)" \
    || { cat "$root/nginx/start.log" "$root/nginx/error.log" >&2; exit 1; }
  export QORE_TEST_HTTP_URL="http://127.0.0.1:$httpport" QORE_TEST_HTTP_ROOT="$root/nginx/www"
  export QORE_TEST_HTTP_LOG="$root/nginx/access.log"
  log "nginx (WebDAV) on 127.0.0.1:$httpport"
fi

set +e
"$@"
status=$?
set -e
exit $status
