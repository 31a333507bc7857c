#!/usr/bin/env bash
# The demo, one command as root on a fresh Debian 12 machine: installs what is missing, builds,
# starts a private containerd in a temp dir (never the machine's own), runs a busybox container
# through containerd-shim-rx with `ctr run --runtime <absolute path of the shim>`, and removes
# everything it made on exit. DEMO_RUNTIME=io.containerd.runc.v2 runs the same with Go's shim.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

runtime=${DEMO_RUNTIME:-$PWD/bin/containerd-shim-rx-v2}
dir=$(mktemp -d /tmp/rx-demo-XXXXXX)
sock=$dir/containerd.sock
id=rx-demo-$$
ctd_pid=

cleanup() {
  local status=$?
  set +e
  if [ -n "$ctd_pid" ] && kill -0 "$ctd_pid" 2>/dev/null; then
    ctr -a "$sock" task kill -s SIGKILL "$id" >/dev/null 2>&1
    ctr -a "$sock" task delete -f "$id" >/dev/null 2>&1
    ctr -a "$sock" container delete "$id" >/dev/null 2>&1
    kill -TERM "$ctd_pid"
    wait "$ctd_pid" 2>/dev/null
  fi
  # Unmount what is left under the temp dir (innermost first), then remove it.
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$dir"
  [ $status -eq 0 ] || echo "demo failed (exit $status)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[debug]
  level = "debug"
TOML
containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 300); do
  ctr -a "$sock" version >/dev/null 2>&1 && break
  kill -0 "$ctd_pid" 2>/dev/null || { tail -20 "$dir/containerd.log" >&2; exit 1; }
  sleep 0.1
done
ctr -a "$sock" version >/dev/null || { echo "containerd did not start; its log:" >&2; tail -20 "$dir/containerd.log" >&2; exit 1; }
echo "== a private containerd $(containerd --version | awk '{print $3}') on $sock"

# A busybox root filesystem: the static busybox and a link per applet.
rootfs=$dir/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"

# ctr 1.6: --rootfs is a boolean flag, so every other flag goes before it and the rootfs dir is
# the first argument after it.
echo "== ctr run --runtime $runtime --rm --rootfs <busybox rootfs> $id /bin/sh -c ..."
ctr -a "$sock" run --runtime "$runtime" --rm --rootfs "$rootfs" "$id" /bin/sh -c \
  'echo "hello from busybox in a container"; echo "pid $$ in its own pid namespace; its processes:"; ps -o pid,comm; echo bye'
echo "== exit status propagates: sh -c \"exit 3\""
set +e
ctr -a "$sock" run --runtime "$runtime" --rm --rootfs "$rootfs" "$id" /bin/sh -c 'exit 3'
echo "ctr exited with $?"
set -e
echo "== done; cleaning up $dir"
