import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Flags } from './flags';
import { encodeDeleteResponse } from './delete-response';
import { runcRoot } from '../runc/root';
import { isMountPoint, unmountAll } from '../sys/mount';

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
 * A container that is already gone is not an error.
 */
export async function deleteAction(flags: Flags): Promise<void> {
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
  const rootfs = path.join(bundle, 'rootfs');
  // sys/mount loads koffi only on its first Linux call: isMountPoint reads /proc alone.
  if (isMountPoint(rootfs)) unmountAll(rootfs);
  let pid = 0;
  try {
    pid = parseInt(readFileSync(path.join(bundle, 'init.pid'), 'utf8'), 10) || 0;
  } catch {
    // never started
  }
  process.stdout.write(encodeDeleteResponse(pid, 128 + 9, new Date()));
}

/** Run a command; resolve with its stderr when it fails, null when it succeeds. */
function run(file: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.once('error', (e) => resolve(String(e.message)));
    child.once('close', (code) => resolve(code === 0 ? null : err || `exit status ${code}`));
  });
}
