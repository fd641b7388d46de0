#!/usr/bin/env bash
# Bus benchmark: a no-op request through the gateway and the bus to a worker and back
# (/_ping/saml), side by side in the same run with the gateway answering the same kind of
# request itself (/_ping/gateway). wrk over keep-alive connections. Reports requests/s,
# p50/p99 latency for both, their ratio, and each service's resident memory at idle and after.
#   bench/bus.sh [BUILD_DIR] [DURATION_S] [CONNECTIONS]
set -euo pipefail
build="${1:-build}" duration="${2:-10}" connections="${3:-32}"
bin="$build/bin"
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)"; exit 2; }
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(port) bus_port=$(port)
data="$(mktemp -d)"
export SSO_HTTP_ADDR="127.0.0.1:$http_port" SSO_BROKER_ENDPOINT="tcp://127.0.0.1:$bus_port" \
       SSO_PUBLIC_URL="http://127.0.0.1:$http_port" SSO_DATA_DIR="$data" SSO_ACCESS_LOG=0
declare -A pids
for s in gateway directory token saml oidc; do
  "$bin/sso-$s" >>"$data/$s.log" 2>&1 &
  pids[$s]=$!
done
trap 'kill ${pids[*]} 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
url="http://127.0.0.1:$http_port"
for _ in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo exited; }
declare -A idle
for s in "${!pids[@]}"; do idle[$s]=$(rss "${pids[$s]}"); done

run() { # path -> "rps p50_us p99_us"
  wrk -t"$(( connections < 2 ? 1 : 2 ))" -c"$connections" -d"${duration}s" --latency "$url$1" 2>&1 | /usr/bin/python3 -c '
import re, sys
text = sys.stdin.read()
def us(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v); n = float(m.group(1))
    return n * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = us(re.search(r"\s50%\s+(\S+)", text).group(1)); p99 = us(re.search(r"\s99%\s+(\S+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rps:.0f} {p50:.0f} {p99:.0f} {non2xx.group(1) if non2xx else 0}")'
}
echo "bus benchmark: wrk -c$connections -d${duration}s, $(nproc) cores"
read -r d_rps d_p50 d_p99 d_err < <(run /_ping/gateway)
read -r b_rps b_p50 b_p99 b_err < <(run /_ping/saml)
printf '%-28s %10s %10s %10s %8s\n' path "req/s" "p50 us" "p99 us" "non-2xx"
printf '%-28s %10s %10s %10s %8s\n' "direct  /_ping/gateway" "$d_rps" "$d_p50" "$d_p99" "$d_err"
printf '%-28s %10s %10s %10s %8s\n' "bus     /_ping/saml" "$b_rps" "$b_p50" "$b_p99" "$b_err"
/usr/bin/python3 - "$d_rps" "$b_rps" "$d_p50" "$b_p50" <<'PY'
import sys
d, b, dp, bp = map(float, sys.argv[1:])
ratio = b / d if d else 0
added = bp - dp
print(f"throughput ratio bus/direct: {ratio:.2f} (target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")
print(f"added p50 latency: {added:.0f} us (target < 100 us: {'met' if added < 100 else 'NOT met'})")
PY
echo "resident memory (KiB): service idle after"
for s in gateway directory token saml oidc; do printf '  %-10s %8s %8s\n' "$s" "${idle[$s]}" "$(rss "${pids[$s]}")"; done
