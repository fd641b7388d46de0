# Shared by bench/login.sh, bench/oidc.sh, bench/scim.sh and bench/scale.sh (sourced, never
# run): the broker's processes on ephemeral loopback ports with a fresh data directory, what
# the scripts read off them (/proc CPU ticks and memory, the gateway's /metrics), and the complete SAML login of
# bench/login.sh (saml_begin, saml_setup, prepare_broker, login_broker, row). Expects PY, here
# and bin; start_broker also TOKEN_INSTANCES, SAML_INSTANCES, DIRECTORY_INSTANCES (default 1),
# TOKEN_CPUS and token_pinned (1 =
# pin the token instances to TOKEN_CPUS), and GATEWAYS (default 1) and, for the directory on
# PostgreSQL, SSO_DATABASE_URL when the caller exports it.

# bench_begin NAME: a build to run, a fresh work directory (removed at exit, with every process
# in pids and the peer's or IdP's, peer_pid / idp_pid, killed), and the driver built into it.
bench_begin() {
  [ -x "$bin/sso-gateway" ] || { echo "bench: build first (make build)"; exit 2; }
  work="$(mktemp -d "/tmp/sso-$1-bench.XXXXXX")"
  declare -gA pids=()
  trap bench_cleanup EXIT
  cc -std=c11 -O2 -Wall -Wextra -pthread -o "$work/driver" "$here/login_driver.c"
  driver="$work/driver"
}
bench_cleanup() {
  for p in "${pids[@]}" ${peer_pid:-} ${idp_pid:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; } # kv NAME "driver output line"

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo exited; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo exited; } # peak RSS
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# The CPU ticks of every process, and with pg_postmaster set (bench/scale.sh) those of the
# PostgreSQL server and its backends, as "postgres".
cpu_all() {
  for s in "${services[@]}"; do printf '%s=%s ' "$s" "$(cpu_ticks "${pids[$s]}")"; done
  [ -z "${pg_postmaster:-}" ] || printf 'postgres=%s ' "$(tree_ticks "$pg_postmaster")"
}
# tree_ticks PID: the CPU ticks of PID and its live children (a server and its backends).
tree_ticks() {
  $PY - "$1" <<'PY'
import os, sys
root, total = sys.argv[1], 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
    except OSError:
        continue
    if pid == root or fields[1] == root:  # fields after the name: state, ppid, ...
        total += int(fields[11]) + int(fields[12])
print(total)
PY
}
busy_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }

# The gateway's /metrics (the bus requests the broker routed, the directory's write
# transactions), kept in a file per snapshot; with several gateways, every gateway's in one file
# (per_login sums the bus requests; the directory's counts are its totals, reported by each).
metrics_to() { for p in "${gw_ports[@]}"; do curl -s "http://127.0.0.1:$p/metrics"; done >"$1"; }
# per_login BEFORE AFTER CPU_BEFORE CPU_AFTER LOGINS C: what the logins between two snapshots
# cost each: bus round trips by service and in all, directory write transactions, and the
# CPU of every sso-* process over the whole login. Appends "c=C trips=..
# writes=.. cpu_ms=.. cpu_SERVICE=.." to $work/figures.
per_login() {
  $PY - "$@" "$(getconf CLK_TCK)" "$work/figures" <<'PY'
import re, sys
before, after, cb, ca, logins, c, hz, figures = sys.argv[1:9]
def read(path):
    trips, writes, batched = {}, 0, 0
    for line in open(path):
        m = re.match(r'sso_bus_requests_total\{service="([^"]*)",caller="[^"]*",rpc="[^"]*"\} (\d+)', line)
        if m:
            trips[m.group(1)] = trips.get(m.group(1), 0) + int(m.group(2))
        m = re.match(r"sso_directory_(write_transactions|batched_requests)_total (\d+)", line)
        if m and m.group(1) == "write_transactions":
            writes = max(writes, int(m.group(2)))
        elif m:
            batched = max(batched, int(m.group(2)))
    return trips, writes, batched
(t0, w0, b0), (t1, w1, b1) = read(before), read(after)
n = max(int(logins), 1)
by = {k: (v - t0.get(k, 0)) / n for k, v in t1.items() if v != t0.get(k, 0)}
b, a = [dict(kv.split("=") for kv in s.split()) for s in (cb, ca)]
cpu_ms = sum(int(a[k]) - int(b[k]) for k in a) * 1000 / int(hz) / n
per_service = {}  # instances summed per service: token, token2, ... -> token
for k in a:
    base = re.sub(r"\d+$", "", k)
    per_service[base] = per_service.get(base, 0) + (int(a[k]) - int(b[k])) * 1000 / int(hz) / n
writes, batched = w1 - w0, b1 - b0
share = f", {batched / writes:.1f} requests per write transaction" if writes else ""
print(f"    per login: bus round trips {sum(by.values()):.2f} ("
      + ", ".join(f"{k} {v:.2f}" for k, v in sorted(by.items())) + f"); directory write "
      f"transactions {writes / n:.2f}{share}; server CPU {cpu_ms:.2f} ms (every sso-* process, "
      "the whole login: " + ", ".join(f"{k} {v:.2f}" for k, v in per_service.items()) + ")")
with open(figures, "a") as f:
    f.write(f"c={c} trips={sum(by.values()):.2f} writes={writes / n:.2f} cpu_ms={cpu_ms:.3f} "
            + " ".join(f"cpu_{k}={v:.3f}" for k, v in per_service.items()) + "\n")
PY
}

# start_broker: every service a process of its own, as the operator runs them; sets services,
# pids, token_cores, http_port and url (the first gateway's), gw_ports and http_ports (every
# gateway's: "P1,P2" for the driver), and waits for every gateway's /readyz. With GATEWAYS=N
# (default 1) N gateways, each with its own broker, and every service connected to all of
# them (SSO_BROKER_ENDPOINTS); SSO_PUBLIC_URL is the first's, as behind a balancer. Extra
# environment for the services (e.g. SSO_ALLOW_PRIVATE_UPSTREAMS=1) is the caller's to export
# first. stop_broker ends them and removes the data directory.
start_broker() {
  http_port=$(port) bus_port=$(port)
  mkdir -p "$work/data"
  gw_ports=("$http_port") gw_buses=("tcp://127.0.0.1:$bus_port")
  for _ in $(seq 2 "${GATEWAYS:-1}"); do gw_ports+=("$(port)"); gw_buses+=("tcp://127.0.0.1:$(port)"); done
  http_ports=$(IFS=,; echo "${gw_ports[*]}")
  if [ ${#gw_ports[@]} -gt 1 ]; then
    export SSO_BROKER_ENDPOINTS="$(IFS=,; echo "${gw_buses[*]}")"
    # One key set for every gateway, made before they start (each makes one when it has none).
    "$bin/sso-gateway" --make-bus-keys "$work/data/bus" >/dev/null ||
      { echo "bench: several gateways need sso-gateway --make-bus-keys (a newer build)"; exit 2; }
  else
    unset SSO_BROKER_ENDPOINTS
  fi
  export SSO_HTTP_ADDR="127.0.0.1:$http_port" SSO_BROKER_ENDPOINT="tcp://127.0.0.1:$bus_port" \
         SSO_PUBLIC_URL="http://127.0.0.1:$http_port" SSO_DATA_DIR="$work/data" SSO_ACCESS_LOG=0 SSO_LOG_LEVEL=warn \
         SSO_ADMIN_CLIENT_ID=bench-admin SSO_ADMIN_CLIENT_SECRET="bench-$(openssl rand -hex 12)"
  # Every instance is a process of its own (token, token2, ...); the token instances share the
  # CPUs of TOKEN_CPUS, so the token endpoint's cores are those, whatever the instance count.
  services=(gateway directory oidc scim)
  for i in $(seq 2 ${#gw_ports[@]}); do services+=("gateway$i"); done
  # More directories only on PostgreSQL (SQLite has one writer): same data dir, same master key.
  for i in $(seq 2 "${DIRECTORY_INSTANCES:-1}"); do services+=("directory$i"); done
  for i in $(seq 1 "$TOKEN_INSTANCES"); do services+=("token$([ "$i" = 1 ] || echo "$i")"); done
  for i in $(seq 1 "$SAML_INSTANCES"); do services+=("saml$([ "$i" = 1 ] || echo "$i")"); done
  pin=()
  [ "$token_pinned" = 1 ] && pin=(taskset -c "$TOKEN_CPUS")
  for s in "${services[@]}"; do
    base=${s%%[0-9]*}
    if [ "$base" = token ]; then "${pin[@]}" "$bin/sso-$base" >>"$work/$s.log" 2>&1 &
    elif [ "$s" != gateway ] && [ "$base" = gateway ]; then
      i=$(( ${s#gateway} - 1 ))
      SSO_HTTP_ADDR="127.0.0.1:${gw_ports[$i]}" SSO_BROKER_ENDPOINT="${gw_buses[$i]}" \
        "$bin/sso-$base" >>"$work/$s.log" 2>&1 &
    else "$bin/sso-$base" >>"$work/$s.log" 2>&1 &
    fi
    pids[$s]=$!
  done
  if [ ${#pin[@]} -gt 0 ]; then
    token_cores=$(taskset -c "$TOKEN_CPUS" nproc)
  else
    token_cores=$(( TOKEN_INSTANCES < $(nproc) ? TOKEN_INSTANCES : $(nproc) ))
  fi
  url="http://127.0.0.1:$http_port"
  for p in "${gw_ports[@]}"; do
    for _ in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/readyz")" = 200 ] && break; sleep 0.1; done
  done
}
stop_broker() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  rm -rf "$work/data"
}

# ---- the complete SAML login of bench/login.sh ----------------------------------------------------
# saml_begin: the IdP's key and certificate (the benchmark holds the key, so it pre-signs the
# responses) and the client's side of a login (Auth0's: confidential, PKCE S256).
saml_begin() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-idp -keyout "$work/idp.key" \
    -out "$work/idp.crt" 2>/dev/null
  IDP_ENTITY=urn:bench:idp DOMAIN=bench.example EMAIL=ada@bench.example
  REDIRECT=https://app.bench.example/callback
  redir_enc=https%3A%2F%2Fapp.bench.example%2Fcallback
  verifier=bench-verifier-0123456789abcdefghijklmnopqrstuvwxyz
  challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
  query="response_type=code&redirect_uri=$redir_enc&scope=openid%20email%20profile&state=st-bench&nonce=n-bench&code_challenge=$challenge&code_challenge_method=S256&login_hint=ada%40bench.example"
  token_body="grant_type=authorization_code&redirect_uri=$redir_enc&code_verifier=$verifier"
}
# saml_setup [--scim]: after start_broker, the client, organization and SAML connection
# (login_setup.py; with --scim also a SCIM directory of that organization: scim_dir, scim_token),
# and the paths of a login.
saml_setup() {
  eval "$($PY "$here/login_setup.py" "$@" "$url" "$SSO_ADMIN_CLIENT_ID" "$SSO_ADMIN_CLIENT_SECRET" \
    "$work/idp.crt" "$IDP_ENTITY" "$DOMAIN" "$REDIRECT")"
  basic="Basic $(printf %s "$client_id:$client_secret" | base64 -w0)"
  authorize_path="/oauth/authorize?client_id=$client_id&$query"
  acs_path="/sso/saml/$conn_id/acs"
}
# prepare_broker N C OUT: N transactions (timed authorize at concurrency C), then N responses
# signed for them (not timed) into OUT. Leaves the authorize stats line in $auth_line.
prepare_broker() { authorize_broker "$1" "$2"; sign_broker "$3"; }
authorize_broker() { # N C
  auth_line=$("$driver" authorize -p "$http_ports" -c "$2" -n "$1" --authorize "$authorize_path" -o "$work/auth.tsv")
}
sign_broker() { # OUT
  $PY "$here/login_sign.py" "$work/auth.tsv" "$1" --key "$work/idp.key" --cert "$work/idp.crt" \
    --issuer "$IDP_ENTITY" --audience "$sp_entity" --acs "$acs_url" --email "$EMAIL"
}
login_broker() { "$driver" login -p "$http_ports" -c "$1" -i "$2" --acs "$acs_path" --token-body "$token_body" --auth "$basic"; }
# fresh_codes N C OUT: N codes for the token endpoint alone, from N transactions (authorize
# at C, responses signed) posted to the ACS at C; the codes go to OUT, one a line, and the ACS
# stats line stays in $acs_line. A code is single-use and lives 300 s: redeem them at once.
fresh_codes() {
  prepare_broker "$1" "$2" "$work/signed.tsv"
  acs_line=$("$driver" acs -p "$http_ports" -c "$2" -i "$work/signed.tsv" --acs "$acs_path" -o "$3")
}
token_run() { "$driver" token -p "$http_ports" -c "$1" -i "$2" --token-body "$token_body" --auth "$basic"; } # C CODES
# cpu_spans B1 A1 B2 A2: a cpu_all snapshot whose difference from B1 is the CPU of both spans,
# (A1 - B1) + (A2 - B2): a login's timed phases without the signing between them.
cpu_spans() {
  $PY - "$@" <<'PY'
import sys
b1, a1, b2, a2 = [dict(kv.split("=") for kv in s.split()) for s in sys.argv[1:5]]
print(" ".join(f"{k}={int(a1[k]) + int(a2[k]) - int(b2[k])}" for k in a1))
PY
}
# cpu_per BEFORE AFTER N: the CPU µs per item (N of them) of each process between two cpu_all
# snapshots, and of every sso-* process together, on one line.
cpu_per() {
  $PY - "$@" "$(getconf CLK_TCK)" <<'PY'
import sys
b, a = [dict(kv.split("=") for kv in s.split()) for s in sys.argv[1:3]]
n, hz = max(int(sys.argv[3]), 1), int(sys.argv[4])
us = {k: (int(a[k]) - int(b[k])) * 1e6 / hz / n for k in a}
ours = sum(v for k, v in us.items() if k != "postgres")
print("  ".join(f"{k} {v:.0f}" for k, v in us.items()) + f"  (every sso-* process: {ours:.0f})")
PY
}

# One row of the login table from the authorize and the rest-of-login stats lines: logins/s is
# N over the wall time of both timed phases; e2e latency is, per login, its authorize latency
# plus its ACS + token + userinfo latency (the IdP's own time is not in it).
row() { # label auth_line login_line
  $PY - "$@" <<'PY'
import sys, re
label, a, l = sys.argv[1:4]
def kv(s): return dict(re.findall(r"(\w+)=([\d.]+)", s))
a, l = kv(a), kv(l)
ok = float(l["ok"]); secs = float(a["seconds"]) + float(l["seconds"])
rate = ok / secs if secs else 0
errs = int(float(a["errors"])) + int(float(l["errors"]))
print(f"{label:<22} {int(ok):>6} {rate:>9.1f} {float(l.get('e2e_p50_us',0))/1000:>9.1f} {float(l.get('e2e_p99_us',0))/1000:>9.1f}"
      f" {float(a['rate']):>10.1f} {float(l['rate']):>10.1f} {errs:>6}")
PY
}
header() { printf '%-22s %6s %9s %9s %9s %10s %10s %6s\n' "" logins "logins/s" "p50 ms" "p99 ms" "authz/s" "rest/s" errors; }
rate_of() { $PY -c 'import sys,re; a,l=[dict(re.findall(r"(\w+)=([\d.]+)",s)) for s in sys.argv[1:3]]; print("%.2f" % (float(l["ok"])/(float(a["seconds"])+float(l["seconds"]))))' "$1" "$2"; }
