import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SHIM_MARK } from './shim';

export interface LeakSnapshot {
  shims: number[];
  mounts: string[];
  zombies: string[];
}

function procs(): Array<{ pid: number; cmdline: string; state: string; ppid: number }> {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), cmdline, state: after[0], ppid: Number(after[1]) });
    } catch {
      // gone
    }
  }
  return out;
}

/** Mount points under any of the given directories. */
export function mountsUnder(...dirs: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4])
    .filter((m) => dirs.some((d) => m === d || m.startsWith(d + '/')));
}

export function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
}

/**
 * Shim processes of the runtime under test that serve a containerd under `dirs` (its -address
 * is there), mounts under `dirs`, and zombies left to those shims, their containerd or us.
 */
export function snapshotLeaks(...dirs: string[]): LeakSnapshot {
  const all = procs();
  const ours = (p: { cmdline: string }) => dirs.some((d) => p.cmdline.includes(d));
  const shims = all.filter((p) => p.cmdline.includes(SHIM_MARK) && ours(p));
  const parents = new Set([process.pid, ...shims.map((p) => p.pid), ...all.filter((p) => /^containerd /.test(p.cmdline) && ours(p)).map((p) => p.pid)]);
  return {
    shims: shims.map((p) => p.pid),
    mounts: mountsUnder(...dirs),
    zombies: all.filter((p) => p.state === 'Z' && parents.has(p.ppid)).map((p) => `${p.pid} (parent ${p.ppid})`),
  };
}

/** Wait (up to `ms`) for shims, mounts and zombies to be gone; return what is left. */
export async function settleLeaks(dirs: string[], ms = 10000): Promise<LeakSnapshot> {
  const until = Date.now() + ms;
  let snap = snapshotLeaks(...dirs);
  while ((snap.shims.length || snap.mounts.length || snap.zombies.length) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    snap = snapshotLeaks(...dirs);
  }
  return snap;
}
