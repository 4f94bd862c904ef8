#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test against a real PostgreSQL and Redis
# (installed and started when missing). Each test gets its own database and Redis key prefix.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_build_tools
ensure_postgres
ensure_postgres_server_programs
ensure_redis
ensure_haproxy
ensure_test_clients
ensure_browser_tests
ensure_k8s_tools
ensure_s3s_fs
# Each test copies a migrated template into a database of its own on this server; DATABASE_URL
# names the server (and a database the harness connects to for that).
ensure_database tiketi_test
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/tiketi_test}"
unset REDIS_URL REDIS_HOST REDIS_PORT REDIS_PASSWORD REDIS_KEY_PREFIX

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
log "kubernetes manifests"
scripts/check-k8s.sh
log "build the binaries (the images' build step, dev profile)"
scripts/build-binaries.sh dev
log "cargo test"
cargo test --locked --workspace --no-fail-fast
