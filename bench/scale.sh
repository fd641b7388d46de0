#!/usr/bin/env bash
# Scale-out benchmark (issue 23; see bench/README.md): what more instances give and what they
# cost, in one sitting on this machine, everything on 127.0.0.1 with ephemeral ports.
#   bench/scale.sh [BUILD_DIR]
# 1. The token endpoint alone (bench/login.sh's section 2) with 1, 2 and 3 token instances:
#    requests/s and the CPU µs per request of every process.
# 2. Complete SAML logins (bench/login.sh's section 1) with one gateway and with two (one driver
#    spreading its connections over both gateways, as a balancer does), on SQLite and, when the
#    build has the PostgreSQL engine, on a throw-away PostgreSQL cluster (scripts/pg.sh): logins/s
#    and the CPU ms per login of every service, PostgreSQL's server included.
# Then the cores a login costs, and so the logins/s a core serves. Numbers are printed, never
# asserted. Knobs (environment):
#   N_TOKEN=600 TOKEN_C=8 TOKEN_INSTANCES_LIST="1 2 3"   N_LOGIN=400 LOGIN_C=8 GATEWAYS_LIST="1 2"
#   TOKEN_CPUS="" (unpinned: taskset CPU list the token instances share, as in bench/login.sh)
#   PG=1 (0 skips PostgreSQL)  PG_DIRECTORIES_LIST="1 2" (directory instances, PostgreSQL only)  IDLE_SECONDS=3 (each login setup's CPU at rest, measured first)
#   PG_STATS=0 (1: the bench's cluster loads pg_stat_statements; per PostgreSQL setup, the
#   statements, transactions and server time per login, and the top statements by total time)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-build}/bin"
N_TOKEN="${N_TOKEN:-600}" TOKEN_C="${TOKEN_C:-8}" TOKEN_INSTANCES_LIST="${TOKEN_INSTANCES_LIST:-1 2 3}"
N_LOGIN="${N_LOGIN:-400}" LOGIN_C="${LOGIN_C:-8}" GATEWAYS_LIST="${GATEWAYS_LIST:-1 2}"
PG_DIRECTORIES_LIST="${PG_DIRECTORIES_LIST:-1 2}"
TOKEN_CPUS="${TOKEN_CPUS-}" PG="${PG:-1}" IDLE_SECONDS="${IDLE_SECONDS:-3}" PG_STATS="${PG_STATS:-0}"
SAML_INSTANCES=1
PY=/usr/bin/python3
for tool in cc openssl curl; do command -v $tool >/dev/null || { echo "bench: $tool is missing"; exit 2; }; done
$PY -c 'import xmlsec, lxml, requests' 2>/dev/null || { echo "bench: needs python3-xmlsec python3-lxml python3-requests (make deps)"; exit 2; }
. "$here/lib.sh"
bench_begin scale
pg_dir="$work/pg" pg_postmaster=""
pg_stop() { [ ! -e "$pg_dir/cluster" ] || "$here/../scripts/pg.sh" stop "$pg_dir" >/dev/null 2>&1 || true; }
trap 'bench_cleanup_all' EXIT
bench_cleanup_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pg_stop; bench_cleanup; }
token_pinned=0
[ -n "$TOKEN_CPUS" ] && command -v taskset >/dev/null && token_pinned=1
saml_begin
echo "scale benchmarks: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start, $(date -u '+%F %H:%M') UTC"
echo "  token instances on CPU(s) ${TOKEN_CPUS:-any}; one directory and one saml instance throughout"

# up NAME: a broker (GATEWAYS, TOKEN_INSTANCES from the caller) with its client and SAML
# connection, warmed by ten logins (the first makes the token's signing key; caches fill).
up() {
  start_broker
  saml_setup
  prepare_broker 10 1 "$work/signed.tsv"; login_broker 1 "$work/signed.tsv" >/dev/null
  echo "  $1: ${#pids[@]} processes (${services[*]})"
}

# ---- 1. the token endpoint alone --------------------------------------------------------------
echo
echo "== 1. POST /oauth/token alone (fresh codes), $N_TOKEN requests at concurrency $TOKEN_C, one gateway, SQLite"
: >"$work/token.tsv"
for k in $TOKEN_INSTANCES_LIST; do
  GATEWAYS=1 TOKEN_INSTANCES=$k up "token x$k"
  fresh_codes "$N_TOKEN" "$TOKEN_C" "$work/codes.txt"
  before=$(cpu_all) busy_before=$(busy_ticks)
  line=$(token_run "$TOKEN_C" "$work/codes.txt")
  after=$(cpu_all) busy_after=$(busy_ticks)
  ok=$(kv ok "$line")
  per=$(cpu_per "$before" "$after" "$ok")
  other=$(( (busy_after - busy_before) - $($PY -c 'import sys; b, a = [dict(kv.split("=") for kv in s.split()) for s in sys.argv[1:3]]; print(sum(int(a[k]) - int(b[k]) for k in a))' "$before" "$after") ))
  printf '  token x%s: %s req/s  p50 %s ms  p99 %s ms  errors %s\n' "$k" "$(kv rate "$line")" \
    "$($PY -c "print(round($(kv p50_us "$line")/1000, 1))")" "$($PY -c "print(round($(kv p99_us "$line")/1000, 1))")" "$(kv errors "$line")"
  echo "    CPU µs per request: $per   | other processes: $($PY -c "print(round($other / $(getconf CLK_TCK), 1))") cpu-s"
  printf '%s\t%s\t%s\t%s\n' "$k" "$(kv rate "$line")" "$(kv errors "$line")" "$per" >>"$work/token.tsv"
  stop_broker
done

# ---- 2. complete logins: gateways x store -------------------------------------------------------
pg_ok=0 pg_why="" pg_server=""
if [ "$PG" != 1 ]; then pg_why="PG=0"
elif ! "$bin/sso-directory" --help 2>&1 | grep -q SSO_DATABASE_URL; then pg_why="this build's directory has no PostgreSQL engine (SSO_DATABASE_URL)"
elif [ ! -x "$here/../scripts/pg.sh" ]; then pg_why="no scripts/pg.sh"
elif ! command -v psql >/dev/null; then pg_why="no psql (scripts/deps.sh installs postgresql)"
elif ! pg_url=$("$here/../scripts/pg.sh" start "$pg_dir" 2>"$work/pg.err"); then pg_why="the cluster did not start: $(tail -c 300 "$work/pg.err")"
else
  pg_ok=1
  if [ "$PG_STATS" = 1 ]; then
    # The bench's own cluster only: the product never needs the extension.
    psql -q "$pg_url" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    "$here/../scripts/pg.sh" restart "$pg_dir"
    psql -q "$pg_url" -c "CREATE EXTENSION pg_stat_statements" \
      -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf()" >/dev/null
  fi
  pg_server=$(head -1 "$(cat "$pg_dir/cluster")/data/postmaster.pid")
fi
# pg_stats_reset / pg_stats_report LOGINS: the statements of the setup's database (PG_STATS=1).
pg_stats_reset() {
  [ "$PG_STATS" = 1 ] || return 0
  psql -qAt "$pg_url" -c "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset()" >/dev/null
  psql -qAt "$SSO_DATABASE_URL" -c "SELECT pg_stat_reset()" >/dev/null
}
pg_stats_report() {
  [ "$PG_STATS" = 1 ] || return 0
  local where="dbid = (SELECT oid FROM pg_database WHERE datname = current_setting('sso.db'))"
  PGOPTIONS="-c sso.db=${SSO_DATABASE_URL##*/}" psql -qAt -F' ' "$pg_url" -c "
    SELECT '    PostgreSQL per login: ' || round(sum(calls) / $1, 1) || ' statements, '
           || round((SELECT xact_commit + xact_rollback FROM pg_stat_database
                     WHERE datname = current_setting('sso.db')) / $1.0, 1) || ' transactions, '
           || round(sum(total_exec_time + total_plan_time)::numeric / $1, 3) || ' ms executing and '
           || round(sum(total_plan_time)::numeric / $1, 3) || ' ms of it planning'
    FROM pg_stat_statements WHERE $where;
    SELECT '      ' || lpad(round(calls / $1.0, 2)::text, 6) || ' x '
           || lpad(round((total_exec_time + total_plan_time)::numeric / $1, 4)::text, 7) || ' ms  '
           || left(regexp_replace(query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements WHERE $where
    ORDER BY total_exec_time + total_plan_time DESC LIMIT ${PG_STATS_TOP:-15};"
}
stores="sqlite"
if [ "$pg_ok" = 1 ]; then stores+=" postgresql"; else echo; echo "PostgreSQL: not available ($pg_why): its runs are skipped"; fi

echo
echo "== 2. complete logins (authorize -> ACS with a pre-signed response -> token -> userinfo), $N_LOGIN at concurrency $LOGIN_C"
echo "   with several gateways one driver spreads its $LOGIN_C connections over them evenly"
: >"$work/figures" ; : >"$work/setups.tsv"
db=0
for store in $stores; do
  directories_list=1
  [ "$store" != postgresql ] || directories_list=$PG_DIRECTORIES_LIST
  for d in $directories_list; do
  for g in $GATEWAYS_LIST; do
    name="$g gateway$([ "$g" = 1 ] || echo s),$([ "$d" = 1 ] || echo " $d directories,") $store"
    if [ "$store" = postgresql ]; then
      db=$((db + 1))
      psql -q "$pg_url" -c "CREATE DATABASE bench_$db" >/dev/null # a fresh store per setup
      export SSO_DATABASE_URL="${pg_url%/*}/bench_$db"
    else
      unset SSO_DATABASE_URL
    fi
    # cpu_all counts the PostgreSQL server's CPU (as "postgres") in its runs only.
    pg_postmaster=""
    [ "$store" != postgresql ] || pg_postmaster=$pg_server
    GATEWAYS=$g TOKEN_INSTANCES=1 DIRECTORY_INSTANCES=$d up "$name"
    # At rest: what the setup costs with no request (heartbeats, timers), per second.
    idle_before=$(cpu_all); sleep "$IDLE_SECONDS"; idle_after=$(cpu_all)
    echo "    at rest, CPU µs per second: $(cpu_per "$idle_before" "$idle_after" "$IDLE_SECONDS")"
    # The timed phases' CPU (authorize, then ACS + token + userinfo), without the signing
    # between them, which the IdP does.
    echo
    header
    [ "$store" != postgresql ] || pg_stats_reset
    metrics_to "$work/metrics.before"; cpu_a0=$(cpu_all)
    authorize_broker "$N_LOGIN" "$LOGIN_C"
    cpu_a1=$(cpu_all)
    sign_broker "$work/signed.tsv"
    cpu_b0=$(cpu_all); busy_before=$(busy_ticks)
    line=$(login_broker "$LOGIN_C" "$work/signed.tsv")
    cpu_b1=$(cpu_all); busy_after=$(busy_ticks)
    metrics_to "$work/metrics.after"
    row "$name" "$auth_line" "$line"
    per_login "$work/metrics.before" "$work/metrics.after" "$cpu_a0" "$(cpu_spans "$cpu_a0" "$cpu_a1" "$cpu_b0" "$cpu_b1")" \
      "$(kv ok "$line")" "$db$g"
    [ "$store" != postgresql ] || { sleep 2; pg_stats_report "$(kv ok "$line")"; }
    printf '%s\t%s\t%s\t%s\n' "$name" "$(rate_of "$auth_line" "$line")" "$(tail -1 "$work/figures")" \
      "$(( $(kv errors "$auth_line") + $(kv errors "$line") ))" >>"$work/setups.tsv"
    echo "    the machine was busy $($PY -c "print(round(($busy_after - $busy_before) / $(getconf CLK_TCK) / $(kv seconds "$line"), 2))") cores during the ACS + token + userinfo phase ($(nproc) in all)"
    stop_broker
  done
  done
done

# ---- summary ---------------------------------------------------------------------------------------
echo
echo "== summary"
$PY - "$work/token.tsv" "$work/setups.tsv" <<'PY'
import re, sys
print("token endpoint alone: instances, req/s, CPU µs per request of each process")
for line in open(sys.argv[1]):
    k, rate, errors, per = line.rstrip("\n").split("\t")
    print(f"  {k:>2}  {float(rate):8.1f}/s  errors {errors}  {per}")
print("complete logins: logins/s; CPU ms per login (its timed phases: authorize, ACS, token, userinfo) per service;")
print("the sum; and logins/s one fully busy core serves = 1000 / that sum")
for line in open(sys.argv[2]):
    name, rate, fig, errors = line.rstrip("\n").split("\t")
    got = dict(re.findall(r"(\w+)=([\d.]+)", fig))
    cpu = {k[4:]: float(v) for k, v in got.items() if k.startswith("cpu_") and k != "cpu_ms"}
    total = sum(cpu.values())
    print(f"  {name:<24} {float(rate):7.1f}/s  errors {errors}  " + "  ".join(f"{k} {v:.2f}" for k, v in cpu.items())
          + f"  = {total:.2f} ms  -> {1000 / total if total else 0:.0f} logins/s per core")
PY
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
