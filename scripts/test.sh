#!/usr/bin/env bash
# `make test`: unit self-tests, integration tests against the real processes, then the same
# under AddressSanitizer + UndefinedBehaviorSanitizer. Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
scripts/unit.sh build || status=1
exit $status
