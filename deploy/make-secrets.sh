#!/usr/bin/env bash
# make-secrets.sh [--dir DIR] [--host NAME]: the secrets of compose.yaml's `scale` profile,
# made once into DIR (deploy/secrets beside this script): the PostgreSQL password, the master
# key (SSO_MASTER_KEY: both directories must seal with the same one), the admin client's secret
# and, for a trial, a self-signed TLS certificate for NAME (localhost) as HAProxy reads it
# (certificate and key in one PEM). A file already there is kept, never replaced: a new
# master key would make every stored secret unreadable. Put your own certificate in tls.pem.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$script_dir/secrets"
host="localhost"
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || { echo "make-secrets: --dir needs a directory" >&2; exit 2; }
           dir="$2"; shift 2 ;;
    --host) [ $# -ge 2 ] || { echo "make-secrets: --host needs a name" >&2; exit 2; }
            host="$2"; shift 2 ;;
    *) echo "usage: make-secrets.sh [--dir DIR] [--host NAME]" >&2; exit 2 ;;
  esac
done
if [ -z "$dir" ]; then
  echo "make-secrets: --dir must not be empty" >&2
  exit 2
fi
# The name goes into the certificate's subject and subjectAltName: a DNS name or IPv4 only.
if [ ${#host} -gt 253 ] || ! [[ "$host" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
  echo "make-secrets: --host must be a DNS name or an IPv4 address, not '$host'" >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "make-secrets: openssl is needed" >&2; exit 1; }
if [ -L "$dir" ] || { [ -e "$dir" ] && [ ! -d "$dir" ]; }; then
  echo "make-secrets: $dir is not a directory" >&2
  exit 1
fi
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

# The containers read these as other users (postgres, haproxy, sso) and compose mounts the
# files as they are: readable inside, while the 0700 directory keeps other host users out.
write() { # name, then the command that prints the value
  local name="$1"; shift
  if [ -e "$dir/$name" ]; then
    echo "kept $dir/$name"
    return
  fi
  "$@" > "$dir/$name.new"
  chmod 644 "$dir/$name.new"
  mv "$dir/$name.new" "$dir/$name"
  echo "made $dir/$name"
}
write postgres_password openssl rand -hex 32
write master_key openssl rand -base64 32
write admin_client_secret openssl rand -hex 32

self_signed() {
  local work
  work="$(mktemp -d)"
  local san="DNS:$host"
  [[ "$host" =~ ^[0-9.]+$ ]] && san="IP:$host"
  [ "$host" = localhost ] && san="$san,IP:127.0.0.1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 -days 90 \
    -nodes -subj "/CN=$host" -addext "subjectAltName=$san" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  cat "$work/cert.pem" "$work/key.pem"
  rm -rf "$work"
}
write tls.pem self_signed
