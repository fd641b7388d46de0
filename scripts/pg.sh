#!/usr/bin/env bash
# pg.sh: a throw-away PostgreSQL cluster for the tests (never a mock).
#
#   scripts/pg.sh start DIR   initdb a new cluster, start it on a free loopback port with its
#                             unix socket beside it, print its URL
#                             (postgres://postgres@127.0.0.1:PORT/postgres)
#   scripts/pg.sh url DIR     print the URL of the cluster started in DIR
#   scripts/pg.sh restart DIR stop the server (fast: sessions cut) and start it again on the same
#                             port, as a database restart in production
#   scripts/pg.sh stop DIR    stop it and remove its files
#   scripts/pg.sh ca DIR      print the path of the CA certificate of a cluster started with TLS
#
# SSO_PG_TLS=1 scripts/pg.sh start DIR: the cluster also serves TLS (ssl=on), with a certificate
# for 127.0.0.1 and localhost signed by a CA made for it (DIR/ca.crt; its key is not kept), and
# roles in the group sso_password_login log in over TCP by password (SCRAM). Plain TCP stays
# accepted: the tests prove the client side (a URL that asks for TLS gets it or fails, never
# falls back), which a server that refused plain text would hide.
#
# Trust authentication, on loopback and the socket only: the cluster is reachable from this
# machine alone, and it holds nothing but test data. The server refuses to run as root, so a
# root caller (CI containers) runs it as `nobody` (SSO_PG_USER to choose another) in a directory
# of its own under $TMPDIR, named in DIR/cluster: DIR itself may sit below directories only
# root may enter.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  die "no initdb: install postgresql (scripts/deps.sh)"
}

# Runs its arguments as the cluster's owner.
as_owner() {
  # From / so that the owner may stay in its working directory.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u "$owner" -- "$@"); else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Writes a CA (DIR/ca.crt) and a server certificate and key for 127.0.0.1 and localhost signed by
# it into $1, the key readable by the server's user alone (the server refuses any other).
make_tls() {
  local tls=$1
  mkdir -p "$tls"
  (
    cd "$tls"
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=sso test database CA" -keyout ca.key -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt
    rm -f ca.key ca.srl server.csr server.ext
  ) >"$tls/openssl.log" 2>&1 || { cat "$tls/openssl.log" >&2; die "cannot make the certificates"; }
  chmod 0644 "$tls/ca.crt" "$tls/server.crt"
  [ "$(id -u)" != 0 ] || chown -R "$owner" "$tls"
  cp "$tls/ca.crt" "$dir/ca.crt"
}

[ $# -eq 2 ] || die "usage: pg.sh start|url|ca|restart|stop DIR"
cmd=$1
dir=$2
owner=${SSO_PG_USER:-nobody}

case "$cmd" in
start)
  mkdir -p "$dir"
  [ ! -e "$dir/cluster" ] || die "$dir already holds a cluster (pg.sh stop $dir first)"
  bin=$(bindir)
  if [ "$(id -u)" = 0 ]; then
    getent passwd "$owner" >/dev/null || die "no user $owner to run the server as"
    home=$(mktemp -d "${TMPDIR:-/tmp}/sso-pg.XXXXXX")
    chown "$owner" "$home"
  else
    home=$(cd "$dir" && pwd)/pg
    mkdir -p "$home"
  fi
  echo "$home" >"$dir/cluster"
  as_owner "$bin/initdb" -D "$home/data" -U postgres --auth=trust --locale=C --encoding=UTF8 \
    >"$home/initdb.log" 2>&1 || { cat "$home/initdb.log" >&2; die "initdb failed"; }
  # Loopback and the socket only, whatever initdb wrote.
  tls_options=
  hba_password=
  if [ "${SSO_PG_TLS:-0}" = 1 ]; then
    make_tls "$home/tls"
    tls_options="-c ssl=on -c ssl_cert_file=$home/tls/server.crt -c ssl_key_file=$home/tls/server.key"
    hba_password="host all +sso_password_login 127.0.0.1/32 scram-sha-256"
  fi
  printf '%s\n' "local all all trust" ${hba_password:+"$hba_password"} \
    "host all all 127.0.0.1/32 trust" | as_owner tee "$home/data/pg_hba.conf" >/dev/null
  # A port taken between the look and the start: try another.
  for try in 1 2 3 4 5; do
    port=$(free_port)
    # fsync off: a throw-away cluster's durability is not what the tests measure.
    if as_owner "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 30 \
         -o "-p $port -k $home -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 $tls_options" \
         start >/dev/null; then
      echo "$port" >"$dir/port"
      if [ -n "$tls_options" ]; then
        as_owner "$bin/psql" -X -q -h "$home" -p "$port" -U postgres -d postgres \
          -c "CREATE ROLE sso_password_login NOLOGIN" >/dev/null \
          || die "cannot create the role sso_password_login"
      fi
      echo "postgres://postgres@127.0.0.1:$port/postgres"
      exit 0
    fi
  done
  tail -20 "$home/server.log" >&2 || true
  die "the server did not start"
  ;;
url)
  [ -f "$dir/port" ] || die "no cluster started in $dir"
  echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
  ;;
ca)
  [ -f "$dir/ca.crt" ] || die "no cluster with TLS started in $dir"
  echo "$(cd "$dir" && pwd)/ca.crt"
  ;;
restart)
  [ -f "$dir/cluster" ] || die "no cluster started in $dir"
  home=$(cat "$dir/cluster")
  # pg_ctl restart starts it with the options it ran with (postmaster.opts): the same port.
  as_owner "$(bindir)/pg_ctl" -D "$home/data" -l "$home/server.log" -m fast -w -t 30 restart \
    >/dev/null || { tail -20 "$home/server.log" >&2; die "the server did not restart"; }
  ;;
stop)
  [ -f "$dir/cluster" ] || exit 0
  home=$(cat "$dir/cluster")
  if [ -f "$home/data/postmaster.pid" ]; then
    as_owner "$(bindir)/pg_ctl" -D "$home/data" -m fast -w -t 30 stop >/dev/null || true
  fi
  rm -rf "$home"
  rm -f "$dir/cluster" "$dir/port" "$dir/ca.crt"
  ;;
*)
  die "usage: pg.sh start|url|ca|restart|stop DIR"
  ;;
esac
