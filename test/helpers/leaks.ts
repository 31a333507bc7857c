import { AssertionError } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { SHIM_MARKS } from './shim';

/** What a test run could leave behind on the machine. */
export interface LeakSnapshot {
  /** pids of shim processes (ours, or the runtime under test) serving a harness containerd */
  shims: number[];
  /** mount points under the harness dirs */
  mounts: string[];
  /** pids of zombies whose parent is gone or is one of the harness's processes */
  zombies: number[];
}

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  cmdline: string;
  /** the basename of the program the process runs: argv[0], or for node the script it runs */
  program: string;
}

/**
 * The program of a command line: argv[0]'s basename, or for node the first argument that is no
 * flag (our launcher execs `node [flags] .../dist/containerd-shim-rx-v2.js ...` or `bun ...`). Only this is matched
 * against the shim marks: the words may also sit in a directory name (containerd 2.3's cache dir
 * /var/cache/containerd-shim-rx/...) or in an argument (`ctr run --runtime .../containerd-shim-rx-v2`).
 */
function programOf(argv: string[]): string {
  const first = path.basename(argv[0] ?? '');
  if (first !== 'node' && first !== 'bun') return first;
  return path.basename(argv.slice(1).find((a) => !a.startsWith('-')) ?? '');
}

/** Every harness containerd's temp dir, registered by startContainerd; never forgotten, so a
 * shim that outlives its containerd is still found. */
const harnessDirs = new Set<string>();
export function registerHarnessDir(dir: string): void {
  harnessDirs.add(dir);
}

function procs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm may hold spaces and parentheses: the fields after it start past the last ')'.
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const cmdline = argv.join(' ');
      out.push({ pid: Number(name), ppid: Number(after[1]), state: after[0], cmdline: cmdline || stat.slice(stat.indexOf('('), stat.lastIndexOf(')') + 1), program: programOf(argv) });
    } catch {
      // the process is gone
    }
  }
  return out;
}

const under = (p: string, dirs: string[]) => dirs.some((d) => p === d || p.startsWith(d + '/'));

/** Mount points under any of the given directories, in mount order. */
export function mountsUnder(...dirs: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4].replace(/\\040/g, ' '))
    .filter((m) => under(m, dirs));
}

/** Lazily unmount everything under `dir`, innermost first. */
export function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
}

function scan(dirs: string[]): { snap: LeakSnapshot; byPid: Map<number, Proc> } {
  const all = procs();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const ours = (p: Proc) => dirs.some((d) => p.cmdline.includes(d));
  const shims = all.filter((p) => SHIM_MARKS.some((m) => p.program.startsWith(m)) && ours(p));
  const containerds = all.filter((p) => /^(\S*\/)?containerd /.test(p.cmdline) && ours(p));
  const harness = new Set([process.pid, ...shims.map((p) => p.pid), ...containerds.map((p) => p.pid)]);
  const zombies = all.filter((p) => p.state === 'Z' && (harness.has(p.ppid) || !byPid.has(p.ppid)));
  return { snap: { shims: shims.map((p) => p.pid), mounts: mountsUnder(...dirs), zombies: zombies.map((p) => p.pid) }, byPid };
}

/**
 * Shim processes serving a containerd under `dirs` (its -address is there), mounts under `dirs`,
 * and zombies left to those shims, their containerd, us, or to a parent that is gone.
 * Without `dirs`: every dir of a containerd this process started.
 */
export function snapshotLeaks(...dirs: string[]): LeakSnapshot {
  return scan(dirs.length ? dirs : [...harnessDirs]).snap;
}

const isEmpty = (s: LeakSnapshot) => !s.shims.length && !s.mounts.length && !s.zombies.length;

function diff(before: LeakSnapshot, after: LeakSnapshot): LeakSnapshot {
  return {
    shims: after.shims.filter((p) => !before.shims.includes(p)),
    mounts: after.mounts.filter((m) => !before.mounts.includes(m)),
    zombies: after.zombies.filter((p) => !before.zombies.includes(p)),
  };
}

/** Throws, naming each shim, mount and zombie that is in `after` but was not in `before`. */
export function assertNoLeaks(before: LeakSnapshot, after: LeakSnapshot): void {
  const d = diff(before, after);
  if (isEmpty(d)) return;
  const byPid = new Map(procs().map((p) => [p.pid, p]));
  const who = (pid: number) => {
    const p = byPid.get(pid);
    return p ? `${pid} (parent ${p.ppid}, state ${p.state}): ${p.cmdline.slice(0, 200)}` : `${pid} (gone since)`;
  };
  const lines = [
    ...d.shims.map((p) => `  shim process left running: ${who(p)}`),
    ...d.mounts.map((m) => `  mount left: ${m}`),
    ...d.zombies.map((p) => `  zombie left unreaped: ${who(p)}`),
  ];
  throw new AssertionError({ message: `leaks after the test:\n${lines.join('\n')}`, actual: d, expected: { shims: [], mounts: [], zombies: [] }, operator: 'assertNoLeaks' });
}

/**
 * Wait (up to `ms`) until nothing is left beyond `before` (shims exit and unmount a little after
 * the last delete); returns what is still left beyond it.
 */
export async function settleLeaks(dirs: string[] = [], ms = 10000, before: LeakSnapshot = { shims: [], mounts: [], zombies: [] }): Promise<LeakSnapshot> {
  const until = Date.now() + ms;
  let left = diff(before, snapshotLeaks(...dirs));
  while (!isEmpty(left) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    left = diff(before, snapshotLeaks(...dirs));
  }
  return left;
}
