#!/usr/bin/env bash
# Recovery from faults under load (issue 23; see bench/README.md, "Back to full rate"): the
# integration test tests/integration/test_faults.py, run with each fault followed for
# SETTLE_SECONDS, on SQLite and on a throw-away PostgreSQL cluster. Per fault: the logins that
# failed, when logins succeeded again, the steady rate before it and when a half-second window
# of logins first reached 90% of that rate again. Printed, never asserted.
#   bench/faults.sh [BUILD_DIR]         SETTLE_SECONDS=10 PG=1 (0 skips PostgreSQL)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-build}" && pwd)"
SETTLE_SECONDS="${SETTLE_SECONDS:-10}" PG="${PG:-1}"
[ -x "$build/bin/sso-gateway" ] || { echo "bench: no build in $build (make build)"; exit 2; }
echo "fault recovery: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start, $(date -u '+%F %H:%M') UTC"
echo "  4 load threads of complete logins over two gateways; each fault followed ${SETTLE_SECONDS} s"
engines="0"
[ "$PG" = 1 ] && engines="0 1"
for pg in $engines; do
    [ "$pg" = 1 ] && echo "PostgreSQL (two directories):" || echo "SQLite (one directory):"
    out="$(cd "$here/.." && SSO_TEST_PG=$pg SSO_FAULT_SETTLE_S="$SETTLE_SECONDS" SSO_BUILD_DIR="$build" \
        /usr/bin/python3 -m pytest -s -q -p no:cacheprovider tests/integration/test_faults.py 2>&1)" \
        || { echo "$out" | tail -40; echo "bench: the fault run failed"; exit 1; }
    echo "$out" | grep -E '^(gateway|token|directory|database): ' | sed 's/^/  /'
done
