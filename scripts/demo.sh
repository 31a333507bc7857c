#!/usr/bin/env bash
# The demo, one command as root on a fresh Debian 12 machine: installs what is missing, builds,
# starts a private containerd in a temp dir (never the machine's own), runs a busybox container
# through containerd-shim-rx with `ctr run --runtime <absolute path of the shim>`, and removes
# everything it made on exit.
#   containerd 2.3.7 by default (built by scripts/install-deps.sh into
#   ${RX_CONTAINERD_CACHE:-/var/cache/containerd-shim-rx}/containerd-v2.3.7); DEMO_CONTAINERD=1.6
#   uses Debian's 1.6.
#   DEMO_RUNTIME=io.containerd.runc.v2 runs the same with Go's shim.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

case ${DEMO_CONTAINERD:-2.3} in
  2.3)
    bin=${RX_CONTAINERD_CACHE:-/var/cache/containerd-shim-rx}/containerd-v2.3.7
    for b in containerd ctr containerd-shim-runc-v2; do
      [ -x "$bin/$b" ] || { echo "demo: $bin/$b is missing (scripts/install-deps.sh builds it); DEMO_CONTAINERD=1.6 runs on Debian's containerd" >&2; exit 1; }
    done
    containerd_bin=$bin/containerd ctr_bin=$bin/ctr
    # Go's shim beside it is found next to containerd (DEMO_RUNTIME=io.containerd.runc.v2).
    export PATH=$bin:$PATH
    # version 3: containerd 2.x's own schema. Its CRI is three plugins (the gRPC service, the
    # runtime and the images) plus the pause-container controller; the demo needs none of them.
    config_head='version = 3
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images", "io.containerd.podsandbox.controller.v1.podsandbox"]'
    ;;
  1.6)
    containerd_bin=$(command -v containerd) ctr_bin=$(command -v ctr)
    config_head='version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri"]'
    ;;
  *) echo "demo: DEMO_CONTAINERD must be 2.3 or 1.6, not '${DEMO_CONTAINERD}'" >&2; exit 1 ;;
esac

runtime=${DEMO_RUNTIME:-$PWD/bin/containerd-shim-rx-v2}
dir=$(mktemp -d /tmp/rx-demo-XXXXXX)
sock=$dir/containerd.sock
id=rx-demo-$$
ctd_pid=
# ctr 2.3 prints a cgroup v1 deprecation notice on every call on a cgroup v1 host: dropped here.
ctr() { "$ctr_bin" -a "$sock" "$@" 2> >(grep -v 'DEPRECATION: The support for cgroup v1' >&2); }

cleanup() {
  local status=$?
  set +e
  if [ -n "$ctd_pid" ] && kill -0 "$ctd_pid" 2>/dev/null; then
    for c in "$id" "$id-bg"; do
      ctr task kill -s SIGKILL "$c" >/dev/null 2>&1
      ctr task delete -f "$c" >/dev/null 2>&1
      ctr container delete "$c" >/dev/null 2>&1
    done
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
$config_head
root = "$dir/root"
state = "$dir/state"

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[debug]
  level = "debug"
TOML
"$containerd_bin" --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 300); do
  ctr version >/dev/null 2>&1 && break
  kill -0 "$ctd_pid" 2>/dev/null || { tail -20 "$dir/containerd.log" >&2; exit 1; }
  sleep 0.1
done
ctr version >/dev/null || { echo "containerd did not start; its log:" >&2; tail -20 "$dir/containerd.log" >&2; exit 1; }
echo "== a private containerd $("$containerd_bin" --version | awk '{print $3}') on $sock"

# A busybox root filesystem: the static busybox and a link per applet.
rootfs=$dir/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"

# --rootfs is a boolean flag in ctr 1.6 (and 2.3): every other flag goes before it and the
# rootfs dir is the first argument after it.
echo "== ctr run --runtime $runtime --rm --rootfs <busybox rootfs> $id /bin/sh -c ..."
ctr run --runtime "$runtime" --rm --rootfs "$rootfs" "$id" /bin/sh -c \
  'echo "hello from busybox in a container"; echo "pid $$ in its own pid namespace; its processes:"; ps -o pid,comm; echo bye'
echo "== exit status propagates: sh -c \"exit 3\""
set +e
ctr run --runtime "$runtime" --rm --rootfs "$rootfs" "$id" /bin/sh -c 'exit 3'
echo "ctr exited with $?"
set -e

# containerd 2.x asks the shim what it is (`<shim> -info`, a RuntimeInfo); 1.6's ctr has no such command.
if [ "${DEMO_CONTAINERD:-2.3}" = 2.3 ]; then
  echo "== ctr plugins inspect-runtime --runtime $runtime (the shim's -info; its head)"
  info=$(ctr plugins inspect-runtime --runtime "$runtime")
  printf '%s\n' "$info" | sed -n '1,7p'
  echo "    ... and runc's features ($(printf '%s\n' "$info" | wc -l) lines in all)"
fi

# The shim's own Task API, straight from ctr: on 2.x `ctr shim state` speaks
# containerd.task.v3.Task (its default --api-version 3); 1.6's ctr speaks v2.
echo "== ctr run -d, then ctr shim --id $id-bg state (the shim's State, asked directly)"
ctr run --runtime "$runtime" -d --rootfs "$rootfs" "$id-bg" /bin/sleep 60 >/dev/null
ctr shim --id "$id-bg" state
# containerd 2.x logs how it connected to the shim (core/runtime/v2/shim.go makeConnection): on 2.3,
# version=3 over ttrpc, from the BootstrapResult our `start` printed. 1.6 logs no such line.
grep -o "connecting to shim $id-bg.*" "$dir/containerd.log" | sed 's/^/containerd: /' | head -1 || true
ctr task kill -s SIGKILL "$id-bg"
ctr task delete "$id-bg" >/dev/null 2>&1 || { sleep 0.5; ctr task delete "$id-bg" >/dev/null; }
ctr container delete "$id-bg"
echo "== done; cleaning up $dir"
