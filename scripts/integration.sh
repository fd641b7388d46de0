#!/usr/bin/env bash
# Integration tests: pytest over tests/integration against the binaries in BUILD/bin.
# With SSO_SAN=1 the binaries are the sanitizer build: every process writes its ASan/UBSan
# reports to a log dir, and any report fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
export SSO_BUILD_DIR="$PWD/$build"
san_dir=""
if [ "${SSO_SAN:-0}" = 1 ]; then
  san_dir="$(mktemp -d)"
  export ASAN_OPTIONS="log_path=$san_dir/asan:detect_leaks=1:abort_on_error=1:symbolize=1"
  export UBSAN_OPTIONS="log_path=$san_dir/ubsan:print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
fi
# Two workers (pytest-xdist): every test starts its own processes on ephemeral ports with its
# own data dir, and most of a test's time is spent waiting on them, so two run side by side
# in about half the time. A file's tests stay on one worker, in their order (--dist loadfile):
# its module fixtures (one broker per file) and a test that reads what the others left hold.
# SSO_TEST_JOBS=1 runs them one at a time.
/usr/bin/python3 -m pytest -q -p no:cacheprovider -n "${SSO_TEST_JOBS:-2}" --dist loadfile \
  tests/integration "${@:2}"
status=$?
if [ -n "$san_dir" ]; then
  if compgen -G "$san_dir/*" >/dev/null; then
    echo "integration: sanitizer reports:"
    for f in "$san_dir"/*; do echo "--- $f"; head -n 60 "$f"; done
    status=1
  else
    echo "integration: no sanitizer report"
  fi
  rm -rf "$san_dir"
fi
exit $status
