#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for the shim, its tests and the demo (run as
# root): containerd, runc, busybox-static and criu from Debian (python3 for the terminal tests),
# then the npm packages, then builds. Used by scripts/demo.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (containerd, runc and mounts need it)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "install-deps: Node.js 20 or later is needed (found: $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
need=()
for cmd_pkg in containerd:containerd runc:runc criu:criu python3:python3 tar:tar; do
  cmd=${cmd_pkg%%:*} pkg=${cmd_pkg##*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# The static busybox (/bin/busybox): it runs inside containers that have no libc.
installed busybox-static || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y "${need[@]}"
fi

# npm ci when node_modules is missing or older than the lockfile (so a second run does not
# remove node_modules under a running test); nothing here needs an install script (koffi's
# binaries come in an optional dependency).
if [ -f package-lock.json ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --ignore-scripts --no-audit --no-fund
  fi
else
  npm install --ignore-scripts --no-audit --no-fund
fi
npm run build
