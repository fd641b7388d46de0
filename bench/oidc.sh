#!/usr/bin/env bash
# OIDC-connection logins end to end (issue 18; see bench/README.md): the broker as
# bench/login.sh starts it, an OIDC connection to a small upstream IdP on loopback
# (bench/oidc_idp.js, ES256 with a key made before the run), and complete logins at several
# concurrencies: authorize -> the IdP's authorization endpoint -> the broker's callback -> token
# -> userinfo, each login timed whole. Reports logins/s, p50/p99, the CPU per login of each
# sso-* process, of the IdP and of the driver, and bus round trips per login. Numbers are
# printed, never asserted. Everything on 127.0.0.1, ephemeral ports.
#   bench/oidc.sh [BUILD_DIR]
# Knobs (environment): CONCURRENCY="1 8 32"  N_LOGIN=400 (logins per concurrency)
#   TOKEN_INSTANCES=1 SAML_INSTANCES=1 TOKEN_CPUS=1 (as in bench/login.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}" bin="${1:-build}/bin"
CONCURRENCY="${CONCURRENCY:-1 8 32}" N_LOGIN="${N_LOGIN:-400}"
TOKEN_INSTANCES="${TOKEN_INSTANCES:-1}" SAML_INSTANCES="${SAML_INSTANCES:-1}" TOKEN_CPUS="${TOKEN_CPUS-1}"
PY=/usr/bin/python3
for tool in cc openssl curl node; do command -v $tool >/dev/null || { echo "bench: $tool is missing"; exit 2; }; done
$PY -c 'import requests' 2>/dev/null || { echo "bench: needs python3-requests (make deps)"; exit 2; }
idp_pid=""
. "$here/lib.sh"
bench_begin oidc
echo "OIDC-connection logins: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

# ---- the upstream IdP: its ES256 key, made before anything is timed --------------------------------
DOMAIN=bench.example EMAIL=ada@bench.example
REDIRECT=https://app.bench.example/callback
redir_enc=https%3A%2F%2Fapp.bench.example%2Fcallback
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/idp-es256.key" 2>/dev/null
idp_client=bench-broker idp_secret="idp-$(openssl rand -hex 12)"
node "$here/oidc_idp.js" "$work/idp-es256.key" "$idp_client" "$idp_secret" "$EMAIL" \
  >"$work/idp.out" 2>"$work/idp.err" &
idp_pid=$!
for _ in $(seq 1 100); do grep -q '"port"' "$work/idp.out" 2>/dev/null && break; sleep 0.1; done
grep -q '"port"' "$work/idp.out" || { echo "bench: the IdP did not start: $(head -c 600 "$work/idp.err")"; exit 1; }
idp_port=$($PY -c 'import json,sys; print(json.load(sys.stdin)["port"])' <"$work/idp.out")
issuer="http://127.0.0.1:$idp_port"

# ---- the broker, as bench/login.sh starts it; the loopback IdP allowed -----------------------------
token_pinned=0
[ -n "$TOKEN_CPUS" ] && command -v taskset >/dev/null && token_pinned=1
export SSO_ALLOW_PRIVATE_UPSTREAMS=1
start_broker
eval "$($PY "$here/login_setup.py" --oidc "$url" "$SSO_ADMIN_CLIENT_ID" "$SSO_ADMIN_CLIENT_SECRET" \
  "$issuer" "$idp_client" "$idp_secret" "$DOMAIN" "$REDIRECT")"
basic="Basic $(printf %s "$client_id:$client_secret" | base64 -w0)"
# The client's side as in bench/login.sh (Auth0: confidential, PKCE S256), plus connection_id.
verifier=bench-verifier-0123456789abcdefghijklmnopqrstuvwxyz
challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
authorize_path="/oauth/authorize?client_id=$client_id&response_type=code&redirect_uri=$redir_enc&scope=openid%20email%20profile&state=st-bench&nonce=n-bench&code_challenge=$challenge&code_challenge_method=S256&login_hint=ada%40bench.example&connection_id=$conn_id"
token_body="grant_type=authorization_code&redirect_uri=$redir_enc&code_verifier=$verifier"
echo "  ${#pids[@]} processes: ${services[*]}; token instances on CPU(s) ${TOKEN_CPUS:-any}; the IdP: node $(node --version) at $issuer (ES256)"

login_oidc() { "$driver" oidc -p "$http_port" --idp-port "$idp_port" -c "$1" -n "$2" --authorize "$authorize_path" \
  --token-body "$token_body" --auth "$basic"; }
cpu_idp() { printf 'idp=%s' "$(cpu_ticks "$idp_pid")"; }

echo
echo "== complete OIDC-connection logins (authorize -> IdP authorize -> callback -> token -> userinfo), $N_LOGIN per concurrency"
printf '%-14s %6s %9s %8s %8s %11s %6s\n' "" logins "logins/s" "p50 ms" "p99 ms" "IdP leg ms" errors
# Warm-up, not reported: the first login makes the token's signing key, and the oidc service
# fetches the IdP's JWKS on the first ID token.
login_oidc 1 10 >/dev/null
: >"$work/figures"
for c in $CONCURRENCY; do
  metrics_to "$work/metrics.before"
  cpu_before=$(cpu_all) idp_before=$(cpu_idp) busy_before=$(busy_ticks)
  line=$(login_oidc "$c" "$N_LOGIN")
  cpu_after=$(cpu_all) idp_after=$(cpu_idp) busy_after=$(busy_ticks)
  metrics_to "$work/metrics.after"
  ok=$(kv ok "$line")
  $PY - "$c" "$line" "$cpu_before $idp_before" "$cpu_after $idp_after" "$busy_before" "$busy_after" \
    "$(getconf CLK_TCK)" <<'PY'
import re, sys
c, line = sys.argv[1], dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[2]))
b, a = [dict(kv.split("=") for kv in s.split()) for s in sys.argv[3:5]]
busy, hz = int(sys.argv[6]) - int(sys.argv[5]), int(sys.argv[7])
ok = max(int(line["ok"]), 1)
print(f"{'broker c=' + c:<14} {int(line['ok']):>6} {float(line['rate']):>9.1f} {float(line['p50_us']) / 1000:>8.2f}"
      f" {float(line['p99_us']) / 1000:>8.2f} {float(line['idp_mean_us']) / 1000:>11.2f} {line['errors']:>6}")
idp = int(a.pop("idp")) - int(b.pop("idp"))
ours = sum(int(a[k]) - int(b[k]) for k in a)
driver_ms = float(line["cpu_ms"])
others = (busy - ours - idp) / hz - driver_ms / 1000
print(f"    cpu ms/login outside the broker: IdP (node) {idp * 1000 / hz / ok:.2f}  driver {driver_ms / ok:.2f}"
      f"   | other processes on the machine: {others:.1f} cpu-s")
PY
  per_login "$work/metrics.before" "$work/metrics.after" "$cpu_before" "$cpu_after" "$ok" "$c"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
