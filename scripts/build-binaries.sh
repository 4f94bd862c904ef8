#!/usr/bin/env bash
# Builds Tiketi's binaries: `scripts/build-binaries.sh release` (the images' build step, see
# Dockerfile) or `scripts/build-binaries.sh dev` (what scripts/test.sh runs, with the same
# command in the dev profile). No database is needed: queries are checked at run time, so the
# build is offline by construction (SQLX_OFFLINE only makes that explicit).
set -euo pipefail
profile="${1:-release}"
case "$profile" in
  release) flag=--release ;;
  dev) flag= ;;
  *) echo "usage: $0 release|dev" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
SQLX_OFFLINE=true cargo build --locked $flag \
  --bin tiketi --bin tiketi-auth --bin tiketi-ticket --bin tiketi-payment --bin tiketi-stats
