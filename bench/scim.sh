#!/usr/bin/env bash
# SCIM benchmarks (issue 22; see bench/README.md): through the gateway with the real processes,
# 1. SCIM creates/s (POST /Users, Okta's body, distinct userNames) and filtered GETs/s
#    (GET /Users?filter=userName eq "<an existing one>", the names varied) at each concurrency,
#    with p50/p99 and the CPU per request of the gateway, the scim service and the directory;
# 2. complete SAML logins/s (as bench/login.sh measures them) alone, then while SCIM creates run
#    beside them, and the ratio of the two (target: the burst does not halve the login rate);
# 3. a group of GROUP_MEMBERS members: one PATCH that adds them all and one that removes them,
#    each timed, with the resident memory of the scim service and the directory before and after
#    (skipped, saying so, while /Groups answers 404).
# Numbers are printed, never asserted. Everything on 127.0.0.1, ephemeral ports.
#   bench/scim.sh [BUILD_DIR]
# Knobs (environment): CONCURRENCY="1 16"  N_CREATE=1000 N_GET=2000 (requests per concurrency)
#   WARMUP=50 (creates and GETs at c=1 first, not reported)
#   LOGIN_C=8 N_LOGIN=1000 BURST_C=16 ROUNDS=3 (section 2: rounds of logins alone, then beside
#   the burst; LOGINS=0 skips it; BURST_PERF=1: where the machine's CPU goes beside the last
#   burst, by command, with perf record -a)
#   GROUP_MEMBERS=10000 (section 3; 0 skips it)
#   TOKEN_INSTANCES=1 SAML_INSTANCES=1 TOKEN_CPUS=1 (as in bench/login.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}" bin="${1:-build}/bin"
CONCURRENCY="${CONCURRENCY:-1 16}" N_CREATE="${N_CREATE:-1000}" N_GET="${N_GET:-2000}" WARMUP="${WARMUP:-50}"
LOGINS="${LOGINS:-1}" LOGIN_C="${LOGIN_C:-8}" N_LOGIN="${N_LOGIN:-1000}" BURST_C="${BURST_C:-16}" ROUNDS="${ROUNDS:-3}"
GROUP_MEMBERS="${GROUP_MEMBERS:-10000}" BURST_PERF="${BURST_PERF:-0}"
TOKEN_INSTANCES="${TOKEN_INSTANCES:-1}" SAML_INSTANCES="${SAML_INSTANCES:-1}" TOKEN_CPUS="${TOKEN_CPUS-1}"
PY=/usr/bin/python3
for tool in cc openssl curl; do command -v $tool >/dev/null || { echo "bench: $tool is missing"; exit 2; }; done
$PY -c 'import xmlsec, lxml, requests' 2>/dev/null || { echo "bench: needs python3-xmlsec python3-lxml python3-requests (make deps)"; exit 2; }
. "$here/lib.sh"
bench_begin scim
echo "SCIM benchmarks: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

saml_begin
token_pinned=0
[ -n "$TOKEN_CPUS" ] && command -v taskset >/dev/null && token_pinned=1
start_broker
saml_setup --scim
scim_base="/scim/v2/$scim_dir" bearer="Bearer $scim_token"
echo "  ${#pids[@]} processes: ${services[*]}; token instances on CPU(s) ${TOKEN_CPUS:-any}; SCIM directory $scim_dir"

scim_create() { "$driver" scim-create -p "$http_port" --scim "$scim_base" --auth "$bearer" "$@"; }
scim_get() { "$driver" scim-get -p "$http_port" --scim "$scim_base" --auth "$bearer" "$@"; }
hz=$(getconf CLK_TCK)
# The time every sso-* thread spent runnable but waiting for a CPU, in ns (/proc schedstat's
# second field, summed over the threads of each process).
rq_wait_ns() {
  local total=0 s
  for s in "${services[@]}"; do
    total=$(( total + $(cat /proc/"${pids[$s]}"/task/*/schedstat 2>/dev/null | awk '{w += $2} END {printf "%.0f", w}') ))
  done
  echo "$total"
}

# One row of a SCIM table from a driver line and the /proc readings around it: requests/s,
# p50/p99, errors, then the CPU µs per request of the gateway, the scim service, the directory
# and every sso-* process, and the CPU-seconds other processes used meanwhile.
scim_row() { # label line cpu_before cpu_after busy_before busy_after
  $PY - "$@" "$hz" <<'PY'
import re, sys
label, line, cb, ca, busy_b, busy_a, hz = sys.argv[1:8]
l = dict(re.findall(r"(\w+)=([\d.]+)", line))
b, a = [dict(kv.split("=") for kv in s.split()) for s in (cb, ca)]
ok, hz = max(int(l["ok"]), 1), int(hz)
us = {k: (int(a[k]) - int(b[k])) * 1e6 / hz / ok for k in a}
ours = sum(int(a[k]) - int(b[k]) for k in a)
others = max(0.0, (int(busy_a) - int(busy_b) - ours) / hz - float(l["cpu_ms"]) / 1000)
print(f"{label:<16} {int(l['ok']):>8} {float(l['rate']):>9.1f} {float(l['p50_us']) / 1000:>8.2f}"
      f" {float(l['p99_us']) / 1000:>8.2f} {l['errors']:>6}   {us['gateway']:>7.0f} {us['scim']:>6.0f}"
      f" {us['directory']:>9.0f} {sum(us.values()):>7.0f}   others {others:.1f} cpu-s")
PY
}
scim_header() {
  printf '%-16s %8s %9s %8s %8s %6s   %s\n' "" requests "req/s" "p50 ms" "p99 ms" errors \
    "CPU µs/request: gateway scim directory sso-*"
}

# ---- 1. creates and filtered GETs --------------------------------------------------------------
echo
echo "== 1. SCIM through the gateway: POST /Users (Okta's body) $N_CREATE, then GET /Users?filter=userName eq \"...\" $N_GET, per concurrency"
declare -A rss0
for s in gateway scim directory; do rss0[$s]=$(rss "${pids[$s]}"); done
# Warm-up, not reported: connections, statement caches, the first allocations.
scim_create -c 1 -n "$WARMUP" --prefix warm -o "$work/users-warm.tsv" >/dev/null
scim_get -c 1 -n "$WARMUP" -i "$work/users-warm.tsv" >/dev/null
scim_header
for c in $CONCURRENCY; do
  cpu_before=$(cpu_all) busy_before=$(busy_ticks)
  line=$(scim_create -c "$c" -n "$N_CREATE" --prefix "c$c" -o "$work/users-c$c.tsv")
  scim_row "create c=$c" "$line" "$cpu_before" "$(cpu_all)" "$busy_before" "$(busy_ticks)"
done
# Every name created so far, in a random order, so that consecutive GETs ask for unrelated users.
cat "$work"/users-*.tsv | shuf >"$work/names.tsv"
for c in $CONCURRENCY; do
  cpu_before=$(cpu_all) busy_before=$(busy_ticks)
  line=$(scim_get -c "$c" -n "$N_GET" -i "$work/names.tsv")
  scim_row "filter GET c=$c" "$line" "$cpu_before" "$(cpu_all)" "$busy_before" "$(busy_ticks)"
done
echo "  users in the directory: $(wc -l <"$work/names.tsv"); resident memory (KiB) before the warm-up -> now:" \
  "$(for s in gateway scim directory; do printf '%s %s -> %s  ' "$s" "${rss0[$s]}" "$(rss "${pids[$s]}")"; done)"

# ---- 2. logins beside a provisioning burst ------------------------------------------------------
echo
if [ "$LOGINS" = 1 ]; then
  echo "== 2. complete SAML logins at c=$LOGIN_C ($N_LOGIN a run, as bench/login.sh section 1), alone and beside SCIM creates at c=$BURST_C, $ROUNDS rounds"
  prepare_broker 10 1 "$work/signed.tsv"; login_broker 1 "$work/signed.tsv" >/dev/null # warm-up
  header
  # logins LABEL: one measured run (authorize timed, signing not, then ACS + token + userinfo
  # timed); its row, its rate in $rate, and in $cpu_line the cores each service used in the
  # ACS + token + userinfo phase (its CPU time over the phase's wall time: a process near 1.00
  # is a single-threaded limit), how busy the whole machine was (2.00 = both cores full), and
  # how many sso-* threads were, on average, runnable but waiting for a CPU (each bus hop of a
  # login waits there when the cores are contended).
  logins() {
    local before after busy_before busy_after wall
    prepare_broker "$N_LOGIN" "$LOGIN_C" "$work/signed.tsv"
    before=$(cpu_all) busy_before=$(busy_ticks) wall=$(date +%s%N) rq_before=$(rq_wait_ns)
    local perf_pid=""
    if [ "${2:-}" = profile ]; then
      perf record -a -F 999 -o "$work/perf.data" -- sleep 600 >/dev/null 2>&1 &
      perf_pid=$!
      sleep 0.2 # perf's start-up, not the phase's
    fi
    line=$(login_broker "$LOGIN_C" "$work/signed.tsv")
    after=$(cpu_all) busy_after=$(busy_ticks) wall=$(( $(date +%s%N) - wall )) rq_after=$(rq_wait_ns)
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
    row "$1" "$auth_line" "$line"
    rate=$(rate_of "$auth_line" "$line")
    cpu_line=$($PY -c 'import sys
b, a = [dict(kv.split("=") for kv in s.split()) for s in sys.argv[1:3]]
hz, wall = int(sys.argv[3]), int(sys.argv[4]) / 1e9
busy = (int(sys.argv[6]) - int(sys.argv[5])) / hz / wall
waiting = (int(sys.argv[8]) - int(sys.argv[7])) / 1e9 / wall
print("  ".join(f"{k} {(int(a[k]) - int(b[k])) / hz / wall:.2f}" for k in a)
      + f"  | machine {busy:.2f} | sso-* threads waiting for a CPU {waiting:.2f}")' \
      "$before" "$after" "$hz" "$wall" "$busy_before" "$busy_after" "$rq_before" "$rq_after")
  }
  # Rounds of a run alone then a run beside the burst, in turn: the machine's other load drifts
  # from second to second, so the pairs, not one run each, say what the burst takes.
  alone_rates="" beside_rates=""
  for round in $(seq 1 "$ROUNDS"); do
    logins "alone, round $round"
    alone_rates+=" $rate" cpu_alone=$cpu_line
    # The burst: creates at BURST_C until the logins are done (SIGTERM: the driver finishes the
    # requests under way and prints its line), started a moment before so that it runs at
    # speed. The driver itself in the background (not a function: its subshell would take the
    # signal), in pids so that an early exit stops it too.
    "$driver" scim-create -p "$http_port" --scim "$scim_base" --auth "$bearer" -c "$BURST_C" -n 10000000 \
      --prefix "burst$round" >"$work/burst.out" 2>"$work/burst.err" &
    pids[burst]=$!
    sleep 1
    profile=""
    [ "$BURST_PERF" = 1 ] && [ "$round" = "$ROUNDS" ] && command -v perf >/dev/null && profile=profile
    logins "beside, round $round" "$profile"
    beside_rates+=" $rate"
    kill -TERM "${pids[burst]}"
    wait "${pids[burst]}" || true
    unset 'pids[burst]'
    burst=$(cat "$work/burst.out")
    echo "    cores used in the ACS + token + userinfo phase, alone:  $cpu_alone"
    echo "                                          beside the burst: $cpu_line"
    echo "    the burst: $(kv ok "$burst") creates at $(kv rate "$burst")/s (p50 $(kv p50_us "$burst") µs," \
      "p99 $(kv p99_us "$burst") µs), errors $(kv errors "$burst"); the login driver's CPU beside it: $(kv cpu_ms "$line") ms"
  done
  if [ -s "$work/perf.data" ]; then
    echo "    where the machine's CPU went beside the last burst (perf record -a, share of samples by command):"
    perf report -i "$work/perf.data" --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -14 | sed 's/^/      /'
  fi
  $PY -c 'import statistics, sys
alone, beside = [list(map(float, s.split())) for s in sys.argv[1:3]]
per_round = ", ".join(f"{b / a:.2f}" for a, b in zip(alone, beside))
a, b = statistics.median(alone), statistics.median(beside)
r = b / a if a else 0
verdict = "met" if r >= 0.5 else "NOT met"
print(f"logins/s beside the burst / alone, medians of {len(alone)} rounds: {b:.1f} / {a:.1f} = {r:.2f}"
      f"  (target >= 0.5: {verdict}); per round: {per_round}")' "$alone_rates" "$beside_rates"
else
  echo "== 2. logins beside a burst skipped (LOGINS=0)"
fi

# ---- 3. a large group's membership in one PATCH -------------------------------------------------
echo
# scim_call METHOD PATH BODY_FILE OUT: one SCIM request with curl; prints "status seconds".
scim_call() {
  curl -s -o "$4" -w '%{http_code} %{time_total}' -X "$1" -H "Authorization: $bearer" -H 'Expect:' \
    -H 'Content-Type: application/scim+json' ${3:+--data-binary "@$3"} "$url$scim_base$2"
}
memory() { for s in scim directory; do printf '%s %s/%s  ' "$s" "$(rss "${pids[$s]}")" "$(hwm "${pids[$s]}")"; done; }
if [ "$GROUP_MEMBERS" -gt 0 ]; then
  echo "== 3. a group of $GROUP_MEMBERS members: one PATCH adds them, one removes them"
  printf '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Bench %s"}' \
    "$GROUP_MEMBERS" >"$work/group.json"
  answer=$(scim_call POST /Groups "$work/group.json" "$work/group.out") status=${answer%% *}
  if [ "$status" = 404 ]; then
    echo "  skipped: POST /Groups answers 404 (this build does not serve /Groups yet)"
  elif [ "$status" != 201 ]; then
    echo "  skipped: POST /Groups answered $status: $(head -c 400 "$work/group.out")"
  else
    group_id=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/group.out")
    line=$(scim_create -c 16 -n "$GROUP_MEMBERS" --prefix member -o "$work/members.tsv")
    echo "  $(kv ok "$line") member users created at c=16 ($(kv rate "$line")/s, errors $(kv errors "$line")); group $group_id"
    # RFC 7644 3.5.2.1's add with a members list, and a remove of the same values (the shape
    # Entra ID sends: op remove, path members, the values listed).
    $PY - "$work/members.tsv" "$work" <<'PY'
import json, sys
ids = [line.rstrip("\n").split("\t")[1] for line in open(sys.argv[1]) if line.strip()]
for op in ("add", "remove"):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": "members", "value": [{"value": i} for i in ids]}]}
    with open(f"{sys.argv[2]}/{op}.json", "w") as f:
        json.dump(body, f, separators=(",", ":"))
PY
    members() { # the group's member count as served
      scim_call GET "/Groups/$group_id?attributes=members" "" "$work/members.out" >/dev/null
      $PY -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("members", [])))' "$work/members.out" 2>/dev/null || echo "?"
    }
    printf '  %-22s %8s %7s %9s   %-38s %s\n' "" status seconds "members" "VmRSS/VmHWM KiB after" "CPU ms: gateway scim directory"
    printf '  %-22s %8s %7s %9s   %s\n' "before" "" "" "$(members)" "$(memory)"
    for op in add remove; do
      cpu_before=$(cpu_all)
      answer=$(scim_call PATCH "/Groups/$group_id" "$work/$op.json" "$work/$op.out")
      status=${answer%% *} seconds=${answer#* }
      cpu_after=$(cpu_all)
      cpu=$($PY -c 'import sys
b, a = [dict(kv.split("=") for kv in s.split()) for s in sys.argv[1:3]]
print("  ".join(f"{(int(a[k]) - int(b[k])) * 1000 / int(sys.argv[3]):.0f}" for k in ("gateway", "scim", "directory")))' \
        "$cpu_before" "$cpu_after" "$hz")
      printf '  %-22s %8s %7s %9s   %-38s %s\n' "PATCH $op ($(( $(stat -c %s "$work/$op.json") / 1024 )) KiB)" "$status" \
        "$seconds" "$(members)" "$(memory)" "$cpu"
      [ "${status:0:1}" = 2 ] || echo "    answer: $(head -c 400 "$work/$op.out")"
    done
  fi
else
  echo "== 3. the large group skipped (GROUP_MEMBERS=0)"
fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
