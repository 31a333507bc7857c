import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Flags } from './flags';
import { encodeDeleteResponse } from './delete-response';

/** Where runc keeps container state when no root is configured (containerd pkg/process RuncRoot). */
export const RUNC_ROOT = '/run/containerd/runc';

/** Options the serving process recorded in the bundle at Create (binary and root of runc). */
export interface BundleRuntime {
  binary: string;
  root: string;
}

export function bundleRuntime(bundle: string, namespace: string): BundleRuntime {
  try {
    const o = JSON.parse(readFileSync(path.join(bundle, 'options.json'), 'utf8'));
    return { binary: o.binary_name || 'runc', root: path.join(o.root || RUNC_ROOT, namespace) };
  } catch {
    return { binary: 'runc', root: path.join(RUNC_ROOT, namespace) };
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
  if (isMounted(rootfs)) {
    const { unmountAll } = require('../sys/mount') as typeof import('../sys/mount');
    unmountAll(rootfs);
  }
  let pid = 0;
  try {
    pid = parseInt(readFileSync(path.join(bundle, 'init.pid'), 'utf8'), 10) || 0;
  } catch {
    // never started
  }
  process.stdout.write(encodeDeleteResponse(pid, 128 + 9, new Date()));
}

/** Whether anything is mounted at `target` (/proc/self/mountinfo field 5, octal escapes). */
function isMounted(target: string): boolean {
  const escaped = target.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === escaped);
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
