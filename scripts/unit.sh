#!/usr/bin/env bash
# Runs every module self-test binary in BUILD/bin (test-*) and prints one summary line.
set -uo pipefail
build="${1:-build}"
passed=0 failed=0 status=0
# Module self-tests: the test-* runners, plus the tools' hidden self-test commands.
tests=("$build"/bin/test-* "$build/bin/ssoctl selftest" "$build/bin/sso-supervisor --selftest")
for t in "${tests[@]}"; do
  name="$(basename "${t%% *}")"
  echo "== $name"
  out="$($t 2>"$build/$name.log")"; rc=$?
  echo "$out" | grep -v ' passed, .* failed$'
  line="$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)"
  if [ -z "$line" ]; then echo "$name: no summary (exit $rc)"; tail -n 20 "$build/$name.log"; failed=$((failed + 1)); status=1; continue; fi
  p="${line%% passed*}"; f="${line#*, }"; f="${f%% failed*}"
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" != 0 ]; then status=1; tail -n 20 "$build/$name.log"; fi
done
echo "unit: $passed passed, $failed failed"
exit $status
