#!/usr/bin/env bash
# The self-tests that need a real PostgreSQL: the engine (dir_db_pg: several directories
# migrating at once, binds, conflicts, a lost connection) and the code redemption raced by two
# directories (dir_codes), against a throw-away cluster (scripts/pg.sh) started and removed here.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dir="$(mktemp -d)"
trap 'scripts/pg.sh stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
url="$(scripts/pg.sh start "$dir" | tail -n 1)" || { echo "unit (PostgreSQL): 0 passed, 1 failed"; exit 1; }
SSO_TEST_DATABASE_URL="$url" "$build/bin/test-directory" dir_db_pg dir_codes
