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

[ $# -eq 2 ] || die "usage: pg.sh start|url|restart|stop DIR"
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
  as_owner tee "$home/data/pg_hba.conf" >/dev/null <<'EOF'
local all all trust
host all all 127.0.0.1/32 trust
EOF
  # A port taken between the look and the start: try another.
  for try in 1 2 3 4 5; do
    port=$(free_port)
    # fsync off: a throw-away cluster's durability is not what the tests measure.
    if as_owner "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 30 \
         -o "-p $port -k $home -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
         start >/dev/null; then
      echo "$port" >"$dir/port"
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
  rm -f "$dir/cluster" "$dir/port"
  ;;
*)
  die "usage: pg.sh start|url|restart|stop DIR"
  ;;
esac
