import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Flags } from './flags';
import { removeSocket, socketAddress, socketAddressIn, socketPath, writeAddress } from './address';
import { LOG_LEVEL_DEBUG, legacyResponseForm, parseStartInput, startResponse, type ResponseForm } from './bootstrap';
import { groupKey, startOptions } from './grouping';
import { join } from './join';
import { launcherPath } from './launcher';
import { readStdin } from './stdin';
import { isSingleExecutable } from './sea';

/**
 * `start`: find or create the shim socket for this container, start the serving process with
 * the listening socket as its fd 3, write `address` into the bundle, print the address.
 * Order as containerd's runc shim manager (runtime/v2/runc/manager/manager_linux.go Start).
 */
export async function start(flags: Flags): Promise<void> {
  if (!flags.id) throw new Error('start: -id is required');
  const bundle = flags.bundle || process.cwd();
  // containerd 2.3+ writes a BootstrapParams to our stdin, older ones the runtime options Any (or
  // nothing); the options may name our config (bootstrap.ts).
  const input = parseStartInput(await readStdin(), flags.id, flags.namespace);
  const params = input.form === 'bootstrap' ? input.params : undefined;
  // What this containerd reads back; the older ones are told apart by their executable.
  const responseForm: ResponseForm = params ? 'proto' : legacyResponseForm(flags.publishBinary);
  const containerdAddress = flags.address || params?.containerdGrpcAddress || '';
  const debug = flags.debug || (params !== undefined && params.logLevel <= LOG_LEVEL_DEBUG);
  const { grouping, shimCgroup, metricsAddress } = startOptions(input.options);
  const key = groupKey(grouping, flags.id, flags.namespace, bundle);
  const address = params?.socketDir
    ? socketAddressIn(params.socketDir, containerdAddress, flags.namespace, key)
    : socketAddress(containerdAddress, flags.namespace, key);

  const server = await listenOrJoin(address, flags.id);
  if (!server) {
    // A live shim serves this group and promised to wait for this container's Create.
    writeAddress(bundle, address);
    process.stdout.write(startResponse(responseForm, address));
    return;
  }

  try {
    writeAddress(bundle, address);
    const fd = (server as any)._handle?.fd as number | undefined;
    if (typeof fd !== 'number' || fd < 0) throw new Error('cannot find the listening socket fd to hand to the serving process');
    const args = ['-namespace', flags.namespace, '-id', flags.id, '-address', containerdAddress, '-socket', address];
    if (debug) args.push('-debug');
    if (metricsAddress) args.push('-metrics-address', metricsAddress);
    if (flags.publishBinary) args.push('-publish-binary', flags.publishBinary);
    // Through the launcher, which picks the serving process's runtime and its V8 flags; the single
    // executable is its own script and carries its V8 flags (src/cli/sea.ts).
    const child = spawn(isSingleExecutable() ? process.execPath : launcherPath(), args, {
      cwd: bundle,
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', fd],
      env: serveEnv(params?.containerdTtrpcAddress),
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    if (shimCgroup) joinCgroup(child.pid!, shimCgroup);
    adjustOOMScore(child.pid!);
  } catch (err) {
    server.close();
    removeSocket(address);
    throw err;
  }
  process.stdout.write(startResponse(responseForm, address));
  // Exit without closing the server: closing would unlink the socket the child now serves.
  process.exit(0);
}

/** The serving process publishes to TTRPC_ADDRESS; 2.3+ also names it in BootstrapParams. */
function serveEnv(ttrpcAddress: string | undefined): NodeJS.ProcessEnv {
  if (process.env.TTRPC_ADDRESS || !ttrpcAddress) return process.env;
  return { ...process.env, TTRPC_ADDRESS: ttrpcAddress };
}

export function listen(address: string): Promise<net.Server> {
  const file = socketPath(address);
  // As Go's NewSocket (pkg/shim/util_unix.go): the directory 0700, the socket 0600. Go chmods
  // after bind; here the umask makes bind create it 0600 already, so it is never wider for a
  // moment (the chmod after it stays, as in Go).
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    // Node binds inside listen() itself, before it returns: the umask covers the bind alone.
    const umask = process.umask(0o177);
    try {
      server.listen({ path: file, backlog: 511 }, () => {
        server.off('error', reject);
        chmodSync(file, 0o600);
        resolve(server);
      });
    } finally {
      process.umask(umask);
    }
  });
}

/** How long `start` keeps trying to either listen or join before it gives up. */
const LISTEN_OR_JOIN_MS = 10000;
/** A socket file nobody listens on for this long is stale (its process died) and is replaced. */
const STALE_AFTER_MS = 100;

/**
 * The listening socket of a new serving process for `address`, or null once the process
 * already serving it took container `id` (Group/Join, join.ts). A process that is stopping
 * unlinks its socket: we try again until our listen or a Join succeeds. Nobody listening on the
 * file for STALE_AFTER_MS means a dead process's file, removed as Go's newShimSocket does; a
 * shorter refusal is a process between closing its listener and unlinking the file.
 */
export async function listenOrJoin(address: string, id: string): Promise<net.Server | null> {
  const until = Date.now() + LISTEN_OR_JOIN_MS;
  let refusedSince: number | undefined;
  for (;;) {
    try {
      return await listen(address);
    } catch (err: any) {
      if (err?.code !== 'EADDRINUSE') throw new Error(`create new shim socket ${address}: ${err?.message ?? err}`);
    }
    const found = await join(address, id);
    if (found === 'joined') return null;
    const now = Date.now();
    if (now > until) throw new Error(`create new shim socket ${address}: in use by a shim that neither takes container ${id} nor leaves (${found})`);
    if (found === 'refused') {
      refusedSince ??= now;
      if (now - refusedSince >= STALE_AFTER_MS) removeSocket(address);
    } else refusedSince = undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** As the Go shim: the serving process is a little more likely to be OOM-killed than containerd. */
function adjustOOMScore(pid: number): void {
  try {
    const parent = parseInt(readFileSync(`/proc/${process.ppid}/oom_score_adj`, 'utf8'), 10);
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.min(parent + 1, 1000)));
  } catch {
    // Best effort: some machines refuse oom_score_adj changes.
  }
}

/**
 * Options.ShimCgroup: put the serving process in that cgroup, as the Go manager does — every
 * v1 hierarchy that has it, or the one v2 tree.
 */
function joinCgroup(pid: number, cgroup: string): void {
  const root = '/sys/fs/cgroup';
  const dirs = existsSync(path.join(root, 'cgroup.controllers'))
    ? [path.join(root, cgroup)]
    : readdirSync(root).map((h) => path.join(root, h, cgroup));
  let joined = 0;
  for (const dir of dirs) {
    if (!existsSync(path.join(dir, 'cgroup.procs'))) continue;
    writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    joined++;
  }
  if (joined === 0) throw new Error(`failed to load cgroup ${cgroup}: no hierarchy under ${root} has it`);
}
