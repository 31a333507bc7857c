/**
 * The environment the serving process gives runc, each variable decided here (a logging
 * binary's is task/io/process-io.ts loggingBinaryEnv).
 *
 * runc (and criu, which runc execs with its own environment): the serving process's environment,
 * which is containerd's plus what it adds for shims (pkg/shim/util.go Command: TTRPC_ADDRESS,
 * GRPC_ADDRESS, NAMESPACE, MAX_SHIM_VERSION...), as go-runc's command() passes os.Environ(): so
 * PATH (runc finds criu by it) and containerd's variables stay, without:
 * - NOTIFY_SOCKET: go-runc command_linux.go filterEnv ("introduces a special behavior in runc but
 *   should only be set if invoked from systemd"): `runc create` hands the container a notify
 *   socket and `runc start` blocks until the container says READY=1.
 * - RX_TAP and SHIM_RX_*: they configure this shim (taps, node flags, the launcher), not runc.
 * - NODE_OPTIONS: meant for the shim's Node.js; a runc wrapper written for Node would run with it.
 * Nothing is added.
 */
export function runcEnv(parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || !passesToRunc(name)) continue;
    out[name] = value;
  }
  return out;
}

function passesToRunc(name: string): boolean {
  return name !== 'NOTIFY_SOCKET' && name !== 'NODE_OPTIONS' && name !== 'RX_TAP' && !name.startsWith('SHIM_RX_');
}
