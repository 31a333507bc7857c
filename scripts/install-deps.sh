#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for the shim and its tests (run as root):
# containerd, runc, busybox-static, criu from Debian; the npm packages; then builds.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for cmd in containerd:containerd runc:runc busybox:busybox-static criu:criu tar:tar python3:python3; do
  bin=${cmd%%:*}; pkg=${cmd##*:}
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
# busybox must be the static one: it runs inside containers with no libc.
if command -v busybox >/dev/null 2>&1 && ! file -L "$(command -v busybox)" 2>/dev/null | grep -q static; then
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# npm 11 blocks install scripts; nothing here needs one (koffi's binaries come in an optional dependency).
if [ -f package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund
else
  npm install --ignore-scripts --no-audit --no-fund
fi
npm run build
