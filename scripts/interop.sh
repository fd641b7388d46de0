#!/usr/bin/env bash
# Interoperability tests (node --test) against independent peers from npm, over BUILD/bin.
set -euo pipefail
cd "$(dirname "$0")/../tests/interop"
build="${1:-build}"
export SSO_BUILD_DIR="$(cd ../.. && pwd)/$build"
# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
status=0
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=interop.tap || status=$?
summary="$(grep -E '^# (pass|fail) ' interop.tap | tr '\n' ' ')"
rm -f interop.tap
p="$(echo "$summary" | grep -oE '# pass [0-9]+' | grep -oE '[0-9]+')"
f="$(echo "$summary" | grep -oE '# fail [0-9]+' | grep -oE '[0-9]+')"
echo "interop: ${p:-0} passed, ${f:-0} failed"
[ "$status" = 0 ] && [ "${f:-1}" = 0 ]
