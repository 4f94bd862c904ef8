#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test against a real PostgreSQL and Redis
# (installed and started when missing). Each test gets its own database and Redis key prefix.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_build_tools
ensure_postgres
ensure_redis
ensure_s3s_fs
# #[sqlx::test] creates one database per test on this server, tracked in this database.
ensure_database tiketi_test
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/tiketi_test}"
unset REDIS_URL REDIS_HOST REDIS_PORT REDIS_PASSWORD REDIS_KEY_PREFIX

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
log "cargo test"
cargo test --locked --workspace
