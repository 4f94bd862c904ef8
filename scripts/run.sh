#!/usr/bin/env bash
# Sets up what is missing (PostgreSQL, Redis, the database, demo data) and runs Tiketi on
# http://127.0.0.1:8080 (PORT overrides). Stop it with Ctrl-C.
#
# Honoured: PORT, BIND_ADDR, DATABASE_URL (its database is created when missing),
# REDIS_KEY_PREFIX (two runs can share one Redis), QUEUE_THRESHOLD, QUEUE_PROCESSOR_INTERVAL,
# CARGO_TARGET_DIR, and every other setting the server reads (README.md, "Configuration").
# BUILD_PROFILE=dev builds the unoptimised binary (much quicker to build, slower to run);
# the default is release.
#
# LOAD_TEST=1 is the load-test profile: the server then raises the defaults of the limits a load
# script from one address runs into (sign-up and sign-in per address and per account, requests
# per address, waiting-room joins; see `load_test` in crates/core/src/config.rs), so
# `node queue-load-test.js --users 200 ...` can register, sign in and queue 200 fans from this
# machine. Never for production: refused here and by the server with APP_ENV=production.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

case "${LOAD_TEST:-0}" in
  0 | false | no | "") LOAD_TEST=0 ;;
  1 | true | yes) LOAD_TEST=1 ;;
  *) die "LOAD_TEST must be 1 or 0, not '$LOAD_TEST'" ;;
esac
if [ "$LOAD_TEST" = 1 ]; then
  case "${APP_ENV:-development}" in
    production | prod) die "LOAD_TEST=1 is refused with APP_ENV=production: it lifts the sign-up, sign-in and queue-join limits" ;;
  esac
  export LOAD_TEST=1
  log "LOAD_TEST=1: sign-up, sign-in and queue-join limits raised for load scripts (never use this in production)"
fi

ensure_build_tools
ensure_postgres
ensure_redis

export DATABASE_URL="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/tiketi}"
export BIND_ADDR="${BIND_ADDR:-127.0.0.1}"
export PORT="${PORT:-8080}"
export LOG_FORMAT="${LOG_FORMAT:-pretty}"

case "${BUILD_PROFILE:-release}" in
  release) profile_flag=(--release) profile_dir=release ;;
  dev | debug) profile_flag=() profile_dir=debug ;;
  *) die "BUILD_PROFILE must be release or dev, not '$BUILD_PROFILE'" ;;
esac
bin="${CARGO_TARGET_DIR:-$ROOT/target}/$profile_dir/tiketi"

log "building tiketi (${BUILD_PROFILE:-release})"
cargo build "${profile_flag[@]}" --locked --bin tiketi
log "migrating"
"$bin" migrate
log "seeding demo data"
"$bin" seed-demo
log "Tiketi is starting on http://$BIND_ADDR:$PORT"
exec "$bin" serve
