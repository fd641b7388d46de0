#!/usr/bin/env bash
# Checks for the Debian packages the build, the run and the tests need, and installs the
# missing ones with apt-get when it can (root or passwordless sudo); otherwise prints the
# exact command and fails.
set -euo pipefail
packages=(
  build-essential clang pkg-config protobuf-c-compiler libprotobuf-c-dev
  libzmq3-dev libczmq-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
  libsqlite3-dev libpq-dev postgresql libssl-dev libxml2-dev libxmlsec1-dev zlib1g-dev
  curl jq openssl util-linux python3-zmq python3-pytest python3-pytest-xdist python3-requests python3-yaml wrk docker-compose haproxy
  python3-lxml python3-xmlsec python3-pysaml2 python3-cryptography xmlsec1 libxml2-utils chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the interoperability tests (node --test); Debian's is enough when none is there.
command -v node >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" = 0 ]; then sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
else
  echo "deps: missing packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2 || true
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
