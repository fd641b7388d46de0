#!/usr/bin/env bash
# Runs every module self-test binary in BUILD/bin (test-*) and prints one summary line.
set -uo pipefail
build="${1:-build}"
passed=0 failed=0 status=0 firsts=()
# Module self-tests: the test-* runners, plus the tools' hidden self-test commands.
tests=("$build"/bin/test-* "$build/bin/ssoctl selftest" "$build/bin/sso-supervisor --selftest")
for t in "${tests[@]}"; do
  name="$(basename "${t%% *}")"
  echo "== $name"
  # A runner that hangs (a bus test waiting on a peer that never comes) fails here with its
  # log, within 15 minutes (ASan's slowest takes under 3), instead of stalling the whole run.
  out="$(timeout -k 10 900 $t 2>"$build/$name.log")"; rc=$?
  [ "$rc" = 124 ] && echo "$name: timed out after 900 s"
  echo "$out" | grep -v ' passed, .* failed$'
  line="$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)"
  if [ -z "$line" ]; then echo "$name: no summary (exit $rc)"; tail -n 20 "$build/$name.log"; failed=$((failed + 1)); status=1; continue; fi
  p="${line%% passed*}"; f="${line#*, }"; f="${f%% failed*}"
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" != 0 ]; then status=1; tail -n 20 "$build/$name.log"; fi
  first="$(echo "$out" | sed -nE 's/^(ok  |FAIL) ([a-z0-9_]+)_test$/\2/p' | head -n 1)"
  [ -n "$first" ] && firsts+=("$t|$first")
done
# One module alone (`test-directory dir_codes`): its self-test runs and no other, -v too; an
# unknown name is an error (exit 2) that lists the modules.
echo "== one module alone"
expect() { # WHAT CONDITION...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); else echo "FAIL $what"; failed=$((failed + 1)); status=1; fi
}
for entry in "${firsts[@]}"; do
  t="${entry%%|*}"; module="${entry#*|}"
  vs=("" "-v"); [ "${t%% *}" = "${t}" ] || vs=("") # the tools' selftest commands take no -v
  for v in "${vs[@]}"; do
    ran="$($t $v "$module" 2>/dev/null | grep -E '^(ok  |FAIL) ')"; rc=$?
    expect "$t $v $module runs ${module}_test alone" test "$ran" = "ok   ${module}_test"
  done
  err="$($t no_such_module 2>&1 >/dev/null)"; rc=$?
  expect "$t no_such_module is refused with the list" test "$rc" = 2 -a -n "$(echo "$err" | grep -w "$module")"
done
echo "one module alone: ${#firsts[@]} runners"
# Test kits and fakes stay out of the service binaries (the Makefile links them into test-*
# only): no function a kit defines may be in sso-<service>.
for kit in "$build"/obj/services/*/{,*/}*_{testkit,fake}.o; do
  [ -e "$kit" ] || continue
  svc="${kit#"$build"/obj/services/}"; svc="${svc%%/*}"
  leaked="$(comm -12 <(nm --defined-only -g "$kit" | awk '$2 == "T" {print $3}' | sort -u) \
                     <(nm --defined-only "$build/bin/sso-$svc" | awk '{print $3}' | sort -u))"
  if [ -n "$leaked" ]; then
    echo "FAIL sso-$svc links test code from $(basename "$kit"): $(echo $leaked | head -c 200)"
    failed=$((failed + 1)); status=1
  else
    passed=$((passed + 1))
  fi
done
# The generator of the directory's compiled-in migrations refuses bad files and escapes right.
if scripts/gen_migrations.py --self-test; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
# The generator of compiled-in text files (the management API's OpenAPI document), likewise.
if scripts/gen_text.py --self-test; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "unit: $passed passed, $failed failed"
exit $status
