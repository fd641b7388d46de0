#!/usr/bin/env bash
# `make test`: the source conventions (scripts/checksrc.py), unit self-tests, the integration
# tests against the real processes (on SQLite, then on a throw-away PostgreSQL, with the
# engine's own self-tests there), then unit and integration again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the fuzz corpora replayed.
# Ends with one "N passed, N failed" line totalling every step.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0 status=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
tally() { # STEP-NAME: reads the step's output in $log
  local line p f
  line="$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)"
  if [ -n "$line" ]; then
    p="$(echo "$line" | sed -E 's/.*(^|: )([0-9]+) passed.*/\2/')"; f="$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')"
  else # pytest: "12 passed, 1 failed, 2 skipped in 3.4s" or "12 passed in 3.4s"
    line="$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$log" | tail -n 1)"
    p="$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
    f="$(echo "$line" | grep -oE '[0-9]+ (failed|errors?)' | awk '{s += $1} END {print s + 0}')"
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}
step() { # NAME COMMAND...
  local name="$1"; shift
  echo "==== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  tally
  if [ "$rc" != 0 ]; then echo "==== $name FAILED (exit $rc)"; status=1; [ "$failed" = 0 ] && failed=1; fi
}
step "check (conventions)" scripts/checksrc.py
step "unit" scripts/unit.sh build
step "integration" scripts/integration.sh build
step "unit (PostgreSQL engine)" scripts/unit_pg.sh build
step "integration (PostgreSQL)" env SSO_TEST_PG=1 scripts/integration.sh build
step "interop" scripts/interop.sh build
step "fuzz corpora" scripts/fuzz.sh replay build-fuzz
if [ "${SSO_SKIP_SAN:-0}" != 1 ]; then
  step "build (ASan+UBSan)" make --no-print-directory SAN=1 build
  step "unit (ASan+UBSan)" env SSO_SAN=1 scripts/unit.sh build-asan
  step "integration (ASan+UBSan)" env SSO_SAN=1 scripts/integration.sh build-asan
fi
echo "$passed passed, $failed failed"
exit $status
