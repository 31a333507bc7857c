import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Flags } from './flags';
import { isSandboxBundle } from './grouping';
import { encodeDeleteResponse } from './delete-response';
import { runcEnv } from '../runc/env';
import { runcRoot } from '../runc/root';
import { defaultSpawner } from '../runc/spawner';
import { setCloexec } from '../sys/cloexec';
import { inheritableFrom } from '../sys/fdinfo';
import { exactPath, mountPoints } from '../sys/mountinfo';
import { rmdirRetrying } from '../sys/rmdir';
import { unmountAll } from '../sys/unmount';

/** Options the serving process recorded in the bundle at Create (binary and root of runc). */
export interface BundleRuntime {
  binary: string;
  root: string;
}

export function bundleRuntime(bundle: string, namespace: string): BundleRuntime {
  try {
    const o = JSON.parse(readFileSync(path.join(bundle, 'options.json'), 'utf8'));
    return { binary: o.binary_name || 'runc', root: runcRoot(o.root, namespace) };
  } catch {
    return { binary: 'runc', root: runcRoot('', namespace) };
  }
}

/**
 * `delete`: containerd runs it when the serving process is gone (crashed, killed) to clean up:
 * force-delete the runc container, unmount the rootfs, and report the task as killed.
 * As the Go shim (runc manager Stop): exit status 128+SIGKILL, pid from init.pid.
 * A container that is already gone is not an error. The response goes to stdout (`write`: tests).
 */
export async function deleteAction(flags: Flags, write: (response: Uint8Array) => void = (r) => process.stdout.write(r)): Promise<void> {
  if (!flags.id) throw new Error('delete: -id is required');
  const bundle = flags.bundle || process.cwd();
  const rt = bundleRuntime(bundle, flags.namespace);
  // Most deletes follow a clean shutdown: runc's state and the rootfs mount are gone already,
  // and looking costs microseconds where spawning runc and loading koffi cost milliseconds.
  if (existsSync(path.join(rt.root, flags.id))) {
    const stderr = await run(rt.binary, ['--root', rt.root, 'delete', '--force', flags.id]);
    if (stderr !== null && !/does not exist|not found/i.test(stderr)) {
      process.stderr.write(`warning: runc delete --force ${flags.id}: ${stderr.trim()}\n`);
    }
  }
  cleanRootfs(path.join(bundle, 'rootfs'));
  if (isPodSandbox(bundle)) await deletePodContainers(rt, flags.id);
  await removeRecordedCgroups(bundle);
  let pid = 0;
  try {
    pid = parseInt(readFileSync(path.join(bundle, 'init.pid'), 'utf8'), 10) || 0;
  } catch {
    // never started
  }
  write(encodeDeleteResponse(pid, 128 + 9, new Date()));
}

/**
 * Unmount the bundle's rootfs and everything under it, as the Go manager's Stop
 * (mount.UnmountRecursive), but exactly that path: a rootfs that is a symlink is refused, not
 * followed (the unmount would land wherever it points). A mount that stays busy after
 * containerd's retries fails the action (exit 1, the path and EBUSY on stderr, which containerd
 * logs) rather than being detached lazily and left alive behind a bundle that looks clean;
 * containerd's own bundle removal then refuses to remove a mounted rootfs too.
 */
function cleanRootfs(rootfs: string): void {
  let isLink = false;
  try {
    isLink = lstatSync(rootfs).isSymbolicLink();
  } catch {
    return; // no rootfs: nothing was mounted
  }
  if (isLink) throw new Error(`delete: rootfs ${rootfs} is a symlink: refusing to unmount through it (expected a directory)`);
  const exact = exactPath(rootfs);
  // sys/mount loads koffi only on its first Linux call: mountPoints reads /proc alone.
  if (!exact || !mountPoints().some((m) => m === exact || m.startsWith(exact + '/'))) return;
  try {
    unmountAll(exact);
  } catch (err) {
    throw new Error(`delete: unmount rootfs: ${(err as Error).message}`);
  }
}

/** The bundle of a pod's sandbox: the shim sandbox controller's, or a pause container's (CRI's container-type annotation). */
function isPodSandbox(bundle: string): boolean {
  if (isSandboxBundle(bundle)) return true;
  try {
    return JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')).annotations?.['io.kubernetes.cri.container-type'] === 'sandbox';
  } catch {
    return false;
  }
}

/**
 * On containerd 2.x a pod's containers connect to their sandbox's serving process without
 * `start`, and containerd registers its dead-shim cleanup (`delete`) only for a shim it started
 * (v2.3.7 core/runtime/v2/shim_manager.go startShim): when the serving process dies, the pod's
 * `delete` is the only one run. So it force-deletes, as for itself, every runc container whose
 * labels name this sandbox (CRI's io.kubernetes.cri.sandbox-id annotation, which runc keeps as a
 * label): their runc state and cgroups were left behind before.
 */
async function deletePodContainers(rt: BundleRuntime, sandboxId: string): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(rt.root);
  } catch {
    return;
  }
  const label = `io.kubernetes.cri.sandbox-id=${sandboxId}`;
  for (const name of names) {
    if (name === sandboxId) continue;
    let labels: unknown;
    try {
      labels = JSON.parse(readFileSync(path.join(rt.root, name, 'state.json'), 'utf8')).config?.labels;
    } catch {
      continue;
    }
    if (!Array.isArray(labels) || !labels.includes(label)) continue;
    const stderr = await run(rt.binary, ['--root', rt.root, 'delete', '--force', name]);
    if (stderr !== null && !/does not exist|not found/i.test(stderr)) process.stderr.write(`warning: runc delete --force ${name} (of pod ${sandboxId}): ${stderr.trim()}\n`);
  }
}

/**
 * A Sandbox API pod's holder cgroups, as the serving process recorded them in the sandbox's
 * bundle (sandbox/cgroup.ts CGROUP_RECORD, the name repeated here: this path loads none of it).
 * The serving process is gone and its holder dies with it (parent-death signal); its last
 * processes may still be exiting, so EBUSY is retried a second (50 x 20 ms). A dir that stays is a
 * warning, not a failed delete. Only dirs under `root` (the cgroup mounts) are touched.
 */
export async function removeRecordedCgroups(bundle: string, root = '/sys/fs/cgroup'): Promise<void> {
  let dirs: unknown;
  try {
    dirs = JSON.parse(readFileSync(path.join(bundle, 'rx-pod-cgroups.json'), 'utf8')).dirs;
  } catch {
    return; // no record: not a sandbox, no cgroup_parent, or already cleaned up
  }
  for (const dir of Array.isArray(dirs) ? dirs : []) {
    if (typeof dir !== 'string' || !path.isAbsolute(dir) || !path.normalize(dir).startsWith(root + '/')) continue;
    await rmdirRetrying(dir).catch((err: any) => process.stderr.write(`warning: delete: cannot remove the pod's cgroup ${dir}: ${err?.code ?? err}\n`));
  }
}

/**
 * Run runc as the serving process does: its environment from runcEnv (no NOTIFY_SOCKET, nothing
 * of ours), SIGKILL as its parent-death signal (setpriv), and none of our fds beyond its stdio:
 * what we inherited without close-on-exec is marked first (koffi loads only if there is one).
 * Resolves with its stderr when it fails, null when it succeeds.
 */
function run(file: string, args: string[]): Promise<string | null> {
  for (const fd of inheritableFrom(3)) setCloexec(fd);
  return new Promise((resolve) => {
    const child = defaultSpawner(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env: runcEnv() });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.once('error', (e) => resolve(String(e.message)));
    child.once('close', (code) => resolve(code === 0 ? null : err || `exit status ${code}`));
  });
}
