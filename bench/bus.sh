#!/usr/bin/env bash
# Bus benchmark: a no-op request through the gateway and the bus to a worker and back
# (/_ping/saml), side by side in the same run with the gateway answering the same kind of
# request itself (/_ping/gateway). wrk over keep-alive connections. Reports requests/s,
# p50/p99 latency for both, their ratio, the CPU time the gateway and the saml service spent
# per request (robust to other load on the machine, unlike req/s), and each service's resident
# memory at idle and after. With BUS_PERF=1 and a usable perf, also CPU time, system calls and
# context switches per request in each thread of both processes.
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

ticks() { # pid -> utime + stime in clock ticks, all threads
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
run() { # path -> "rps p50_us p99_us non2xx requests"
  wrk -t"$(( connections < 2 ? 1 : 2 ))" -c"$connections" -d"${duration}s" --latency "$url$1" 2>&1 | /usr/bin/python3 -c '
import re, sys
text = sys.stdin.read()
def us(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v); n = float(m.group(1))
    return n * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = us(re.search(r"\s50%\s+(\S+)", text).group(1)); p99 = us(re.search(r"\s99%\s+(\S+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
total = int(re.search(r"(\d+) requests in", text).group(1))
print(f"{rps:.0f} {p50:.0f} {p99:.0f} {non2xx.group(1) if non2xx else 0} {total}")'
}
measure() { # path var -> runs wrk on path; sets var to "rps p50 p99 non2xx requests gw_us saml_us",
            # the last two being each process's CPU time per request
  local g0 s0 g1 s1 perf_pids=() svc
  g0=$(ticks "${pids[gateway]}") s0=$(ticks "${pids[saml]}")
  if [ "${BUS_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    for svc in gateway saml; do
      perf stat -x, -e task-clock,raw_syscalls:sys_enter,context-switches --per-thread \
        -p "${pids[$svc]}" -o "$data/perf.$2.$svc" -- sleep "$duration" 2>/dev/null &
      perf_pids+=($!)
    done
  fi
  read -r rps p50 p99 err n < <(run "$1")
  [ ${#perf_pids[@]} -gt 0 ] && wait "${perf_pids[@]}" 2>/dev/null
  g1=$(ticks "${pids[gateway]}") s1=$(ticks "${pids[saml]}")
  local hz; hz=$(getconf CLK_TCK)
  local per=$(( n ? n : 1 ))
  printf -v "$2" '%s' "$rps $p50 $p99 $err $n $(( (g1 - g0) * 1000000 / hz / per )) $(( (s1 - s0) * 1000000 / hz / per ))"
  [ ${#perf_pids[@]} -gt 0 ] || return 0
  # perf -x, --per-thread lines: comm-tid,count,unit,event,...
  /usr/bin/python3 - "$n" "$1" "$data/perf.$2.gateway" "$data/perf.$2.saml" <<'PY' >>"$data/perf.report"
import collections, os, sys
n, label = max(int(sys.argv[1]), 1), sys.argv[2]
print(f"  {label}, per request: CPU us / syscalls / context switches, by thread")
for path in sys.argv[3:]:
    if not os.path.exists(path):
        continue
    counts = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
    for line in open(path):
        f = line.strip().split(",")
        if len(f) < 4 or not f[1].replace(".", "").isdigit():
            continue
        which = 0 if "task-clock" in f[3] else 1 if "syscalls" in f[3] else 2
        counts[f[0].rsplit("-", 1)[0]][which] += float(f[1]) * (1000 if which == 0 else 1)
    svc = path.rsplit(".", 1)[1]
    for thread, (us, sc, cs) in sorted(counts.items()):
        if sc / n >= 0.05:
            print(f"    {svc:<8} {thread:<14} {us / n:6.1f} {sc / n:6.2f} {cs / n:6.2f}")
PY
}
echo "bus benchmark: wrk -c$connections -d${duration}s, $(nproc) cores"
measure /_ping/gateway direct
measure /_ping/saml bus
read -r d_rps d_p50 d_p99 d_err d_n d_gw d_svc <<<"$direct"
read -r b_rps b_p50 b_p99 b_err b_n b_gw b_svc <<<"$bus"
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
echo "CPU per request (us): gateway ${d_gw} direct, ${b_gw} bus; saml ${b_svc} bus"
[ -s "$data/perf.report" ] && { echo "perf:"; cat "$data/perf.report"; }
echo "resident memory (KiB): service idle after"
for s in gateway directory token saml oidc; do printf '  %-10s %8s %8s\n' "$s" "${idle[$s]}" "$(rss "${pids[$s]}")"; done
