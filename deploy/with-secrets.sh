#!/usr/bin/env bash
# with-secrets COMMAND [ARG...]: exports each file of /run/secrets (SSO_SECRETS_DIR) whose name
# is an environment variable's (SSO_MASTER_KEY, SSO_ADMIN_CLIENT_SECRET, PGPASSWORD) as that
# variable, then runs COMMAND. The services read their secrets from the environment; compose
# and Kubernetes hand them over as files, which keeps them out of compose.yaml and
# `docker inspect`. Other names are left alone; an empty or unreadable secret stops the start.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: with-secrets COMMAND [ARG...]" >&2
  exit 2
fi
dir="${SSO_SECRETS_DIR:-/run/secrets}"
shopt -s nullglob
for file in "$dir"/*; do
  name="${file##*/}"
  [[ "$name" =~ ^(SSO_[A-Z0-9_]+|PGPASSWORD)$ ]] || continue
  if [ ! -f "$file" ] || [ ! -r "$file" ]; then
    echo "with-secrets: $file is not a readable file" >&2
    exit 1
  fi
  value="$(<"$file")"
  if [ -z "$value" ]; then
    echo "with-secrets: $file is empty" >&2
    exit 1
  fi
  export "$name=$value"
done
exec "$@"
