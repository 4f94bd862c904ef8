#!/usr/bin/env bash
# Sets up what is missing (PostgreSQL, Redis, the database, demo data) and runs Tiketi on
# http://127.0.0.1:8080 (PORT overrides). Stop it with Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_build_tools
ensure_postgres
ensure_redis

export DATABASE_URL="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/tiketi}"
export BIND_ADDR="${BIND_ADDR:-127.0.0.1}"
export PORT="${PORT:-8080}"
export LOG_FORMAT="${LOG_FORMAT:-pretty}"

log "building tiketi (release)"
cargo build --release --locked --bin tiketi
log "migrating"
target/release/tiketi migrate
log "seeding demo data"
target/release/tiketi seed-demo
log "Tiketi is starting on http://$BIND_ADDR:$PORT"
exec target/release/tiketi serve
