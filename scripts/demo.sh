#!/usr/bin/env bash
# The demo: a real busybox container through containerd-shim-rx, on a private containerd that
# this script starts in a temp dir and removes afterwards. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null

shim="$PWD/bin/containerd-shim-rx-v2"
dir=$(mktemp -d /tmp/rx-demo-XXXXXX)
ctd_pid=
cleanup() {
  set +e
  if [ -n "$ctd_pid" ]; then
    ctr -a "$dir/containerd.sock" task rm -f demo >/dev/null 2>&1
    ctr -a "$dir/containerd.sock" container rm demo >/dev/null 2>&1
    kill "$ctd_pid" 2>/dev/null; wait "$ctd_pid" 2>/dev/null
  fi
  grep -o " $dir[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

cat > "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
TOML
containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 100); do ctr -a "$dir/containerd.sock" version >/dev/null 2>&1 && break; sleep 0.1; done

rootfs="$dir/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp" "$rootfs/etc"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"; done

echo "+ ctr run --runtime $shim --rm --rootfs <busybox> demo /bin/sh -c '...'"
# ctr 1.6: --rootfs is a boolean flag, so every other flag goes before it.
ctr -a "$dir/containerd.sock" run --runtime "$shim" --rm --rootfs "$rootfs" demo \
  /bin/sh -c 'echo "hello from a container run by containerd-shim-rx"; echo "pid in container: $$"; uname -sr'
echo "+ the shim's own log lines, as containerd recorded them:"
grep -o '"msg":"[^"]*"' "$dir/containerd.log" | head -12
