import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument, unimplemented } from '../errors';
import { check, errno, fn, SysError } from './libc';

// <sys/mount.h>
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
} as const;
/** umount2(2): never follow a symlink at the target (we unmount exactly the path we checked). */
const UMOUNT_NOFOLLOW = 8;
const EINVAL = 22;
const ENOENT = 2;
const EBUSY = 16;
const PAGE_SIZE = 4096;

/**
 * Option -> [clear?, flag]: the table of containerd's mount/mount_linux.go parseMountOptions.
 * Propagation names are not in containerd 1.6's table (it would pass them as data, which the
 * kernel refuses), but its Mount() already handles the propagation bits; we read them as runc does.
 */
const table: Record<string, [boolean, number]> = {
  async: [true, MS.SYNCHRONOUS],
  atime: [true, MS.NOATIME],
  bind: [false, MS.BIND],
  defaults: [false, 0],
  dev: [true, MS.NODEV],
  diratime: [true, MS.NODIRATIME],
  dirsync: [false, MS.DIRSYNC],
  exec: [true, MS.NOEXEC],
  mand: [false, MS.MANDLOCK],
  noatime: [false, MS.NOATIME],
  nodev: [false, MS.NODEV],
  nodiratime: [false, MS.NODIRATIME],
  noexec: [false, MS.NOEXEC],
  nomand: [true, MS.MANDLOCK],
  norelatime: [true, MS.RELATIME],
  nostrictatime: [true, MS.STRICTATIME],
  nosuid: [false, MS.NOSUID],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  remount: [false, MS.REMOUNT],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  strictatime: [false, MS.STRICTATIME],
  suid: [true, MS.NOSUID],
  sync: [false, MS.SYNCHRONOUS],
};
const propagationTable: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface MountOptions {
  /** Flags for the mount call itself, set and cleared in option order. */
  flags: number;
  /** Everything else, for the filesystem (joined with ',' as mount(2)'s data). */
  data: string[];
  /** Flags for a second call that changes propagation (0: none); the last one named wins. */
  propagation: number;
  /** containerd's "loop": mount the source through a loop device. */
  loop: boolean;
}

export function parseMountOptions(options: string[]): MountOptions {
  let flags = 0;
  let propagation = 0;
  let loop = false;
  const data: string[] = [];
  for (const o of options) {
    const entry = table[o];
    if (entry) {
      if (entry[1] !== 0) flags = entry[0] ? flags & ~entry[1] : flags | entry[1];
    } else if (o in propagationTable) propagation = propagationTable[o];
    else if (o === 'loop') loop = true;
    else data.push(o);
  }
  return { flags, data, propagation, loop };
}

export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  check(
    'mount',
    fn('int mount(const char *, const char *, const char *, unsigned long, const char *)')(source, target, fstype, flags, data || null),
    `${fstype} ${source} on ${target}`,
  );
}

export function unmount(target: string, flags = 0): void {
  check('umount2', fn('int umount2(const char *, int)')(target, flags), target);
}

export interface MountSpec {
  type: string;
  source: string;
  /** containerd 2.x types.Mount.target (field 3): a subdirectory of the rootfs to mount at. */
  target?: string;
  options: string[];
}

/** Mount one containerd Mount at target, in the order of containerd's Mount.Mount on Linux. */
export function mountOne(m: MountSpec, target: string): void {
  let options = m.options;
  let chdir: string | null = null;
  // Same margin as containerd: compact before the data gets near a page, not at it.
  if (m.type === 'overlay' && options.join(',').length >= PAGE_SIZE - 512) [chdir, options] = compactLowerdir(options);
  const { flags, data, propagation, loop } = parseMountOptions(options);
  if (loop) throw unimplemented(`mount ${m.type} ${m.source} on ${target}: the "loop" option is not supported`);
  const joined = data.join(',');
  // mount(2) copies at most one page of data, NUL included: longer would be cut, not refused.
  if (joined.length >= PAGE_SIZE) {
    throw invalidArgument(`mount ${m.type} on ${target}: options are ${joined.length} bytes, over one page (${PAGE_SIZE})${chdir ? ' even with lowerdirs made relative' : ''}`);
  }
  // As containerd: the first call is skipped for a remount without data (moby/moby#34077).
  if (!(flags & MS.REMOUNT) || joined) {
    const cwd = process.cwd();
    // Relative lowerdirs resolve against the cwd (containerd forks to chdir; mount(2) is
    // synchronous here, so no other JavaScript runs while the cwd is moved).
    if (chdir) process.chdir(chdir);
    try {
      mount(m.source, target, m.type, flags, joined);
    } finally {
      if (chdir) process.chdir(cwd);
    }
  }
  try {
    if (propagation) mount('', target, '', propagation, '');
    // A bind mount ignores MS_RDONLY: read-only takes a second call, a remount of the bind.
    if ((flags & (MS.BIND | MS.RDONLY)) === (MS.BIND | MS.RDONLY)) mount('', target, '', flags | MS.REMOUNT, '');
  } catch (err) {
    // Never leave a mount that is writable or shared when it was asked not to be.
    // A mount made a moment ago that nothing uses yet: a plain unmount takes it off.
    if (!(flags & MS.REMOUNT)) fn('int umount2(const char *, int)')(target, UMOUNT_NOFOLLOW);
    throw err;
  }
}

/**
 * Mount all in order, each at target or at target/<its Mount.target> (containerd's mount.All,
 * parents before children); on failure, undo what was mounted (last first) and rethrow.
 * Options containerd 2.x handles as idmapped mounts are refused before anything is mounted.
 */
export function mountAll(mounts: MountSpec[], target: string): void {
  for (const m of mounts) refuseIdmap(m, target);
  const done: string[] = [];
  try {
    for (const m of mounts) {
      const at = mountTarget(target, m.target);
      mountOne(m, at);
      done.push(at);
    }
  } catch (err) {
    for (const at of done.reverse()) {
      try {
        runSync(unmountOnce(at));
      } catch {
        break;
      }
    }
    throw err;
  }
}

/**
 * containerd 2.x turns uidmap=/gidmap= into idmapped mounts (core/mount/mount_linux.go: a user
 * namespace fd, then mount_setattr MOUNT_ATTR_IDMAP on the lowerdirs or the bind); as mount
 * data the kernel would refuse them or, worse, a filesystem could read them as its own.
 * Not implemented here: say so rather than mount without the mapping.
 */
function refuseIdmap(m: MountSpec, target: string): void {
  const o = m.options.find((x) => x.startsWith('uidmap=') || x.startsWith('gidmap='));
  if (o) {
    throw unimplemented(`mount ${m.type} ${m.source} on ${target}: option ${o.slice(0, o.indexOf('=') + 1)} (an idmapped mount) is not supported by this shim`);
  }
}

/**
 * Where a Mount with Mount.target goes: rootfs/<target>, cleaned. containerd's fs.RootPath keeps
 * a target inside the root by resolving it there; we refuse instead any target that leaves the
 * rootfs, by ".." or by a symlink (the rootfs mounted before it is the container's image: its
 * symlinks must not point our mount at the host).
 */
export function mountTarget(rootfs: string, target: string | undefined): string {
  if (!target) return rootfs;
  // Any ".." is refused, even one that cleaning would keep inside ("/a/../b"): no guessing.
  if (target.split('/').includes('..')) {
    throw invalidArgument(`mount target ${JSON.stringify(target)}: has a ".." component (expected a path inside the rootfs ${rootfs})`);
  }
  const rel = path.posix.normalize('/' + target).slice(1);
  if (!rel) return rootfs;
  const joined = path.join(rootfs, rel);
  let real: string;
  try {
    real = realpathSync(joined);
  } catch (err) {
    throw invalidArgument(`mount target ${JSON.stringify(target)}: ${joined} does not exist (${(err as NodeJS.ErrnoException).code}); a target must exist in the mounts before it`);
  }
  const root = realpathSync(rootfs);
  if (real !== root && !real.startsWith(root + '/')) {
    throw invalidArgument(`mount target ${JSON.stringify(target)}: resolves to ${real} through a symlink, outside the rootfs ${root}`);
  }
  return real;
}

/** containerd's unmount (core/mount/mount_unix.go): on EBUSY, 50 tries 50 ms apart, then fail. */
export const UNMOUNT_TRIES = 50;
export const UNMOUNT_RETRY_MS = 50;

export interface RetryOptions {
  tries?: number;
  retryMs?: number;
}

/**
 * The unmounts below are written once, as generators that yield each pause (ms) before a retry;
 * a driver runs them. The `delete` action pauses synchronously (it has nothing else to do); the
 * serving process awaits a timer, so a busy mount (up to 2.5 s of retries) never stalls the other
 * containers' calls, exits and events.
 */
type Steps<T> = Generator<number, T, void>;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function runSync<T>(steps: Steps<T>): T {
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    Atomics.wait(sleepCell, 0, 0, r.value);
  }
}

async function runAsync<T>(steps: Steps<T>): Promise<T> {
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    await new Promise((resolve) => setTimeout(resolve, r.value));
  }
}

/**
 * One umount2 of exactly this path (never through a symlink there), retried while EBUSY as
 * containerd does; returns the errno that ended it (0: unmounted, EINVAL: not a mount point,
 * ENOENT: no such path). Never detaches lazily: a mount that stays busy is an error, so
 * nothing is left mounted behind a bundle that looks clean.
 */
function* unmountOnce(target: string, retry: RetryOptions = {}): Steps<number> {
  const umount2 = fn('int umount2(const char *, int)');
  const tries = retry.tries ?? UNMOUNT_TRIES;
  const retryMs = retry.retryMs ?? UNMOUNT_RETRY_MS;
  for (let i = 0; i < tries; i++) {
    if ((umount2(target, UMOUNT_NOFOLLOW) as number) === 0) return 0;
    const e = errno();
    if (e === EINVAL || e === ENOENT) return e;
    if (e !== EBUSY) throw new SysError('umount2', e, target);
    if (i + 1 < tries) yield retryMs;
  }
  throw new SysError('umount2', EBUSY, `${target}: still busy after ${tries} tries ${retryMs} ms apart (a process has its cwd or an open file there?); left mounted`);
}

/**
 * Unmount everything at and under target, as containerd's UnmountRecursive: the mounts below
 * it (Mount.target ones) deepest first, then the stack at target itself, each until EINVAL.
 * The path is checked and unmounted as given, its last component not followed (see
 * exactPath); a missing target is not an error. EBUSY is retried, then thrown.
 * Synchronous: for the `delete` action; the serving process uses unmountAllAsync.
 */
export function unmountAll(target: string, retry: RetryOptions = {}): void {
  runSync(unmountAllSteps(target, retry));
}

/** unmountAll whose EBUSY retries wait on a timer: the event loop runs on meanwhile. */
export function unmountAllAsync(target: string, retry: RetryOptions = {}): Promise<void> {
  return runAsync(unmountAllSteps(target, retry));
}

function* unmountAllSteps(target: string, retry: RetryOptions): Steps<void> {
  const exact = exactPath(target);
  if (exact === null) return;
  const below = [...new Set(mountPoints().filter((m) => m.startsWith(exact + '/')))].sort((a, b) => b.length - a.length);
  for (const m of below) {
    try {
      yield* unmountStack(m, retry);
    } catch {
      // As containerd: only the last (the target itself) decides; it fails too if one stays.
    }
  }
  yield* unmountStack(exact, retry);
}

function* unmountStack(target: string, retry: RetryOptions): Steps<void> {
  for (let i = 0; i < 1000; i++) if ((yield* unmountOnce(target, retry)) !== 0) return;
  throw new SysError('umount2', EBUSY, `${target}: still mounted after 1000 unmounts`);
}

/**
 * The path as mountinfo names it, without following its last component: its parent resolved,
 * its own name kept. null when it does not exist. A symlink stays a symlink, which no mount
 * point is; so isMountPoint and unmountAll both see the same path and never its link target.
 */
export function exactPath(p: string): string | null {
  const abs = path.resolve(p);
  if (abs === '/') return abs;
  try {
    lstatSync(abs);
    return path.join(realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return null;
  }
}

/** Whether path itself (not what a symlink there points to) is a mount point, from /proc/self/mountinfo. */
export function isMountPoint(p: string): boolean {
  const exact = exactPath(p);
  return exact !== null && mountPoints().includes(exact);
}

/** Every mount point of our mount namespace, in mountinfo order, octal escapes decoded. */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4].replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
}

/** Shorten lowerdir= by making its paths relative to their common parent (containerd's compactLowerdirOption). */
function compactLowerdir(options: string[]): [string | null, string[]] {
  const i = options.findIndex((o) => o.startsWith('lowerdir='));
  if (i < 0) return [null, options];
  const dirs = options[i].slice('lowerdir='.length).split(':');
  if (dirs.length <= 1) return [null, options];
  let common = path.dirname(dirs[0]);
  while (!dirs.every((d) => d.startsWith(common + '/')) && common !== '/') common = path.dirname(common);
  if (common === '/') return [null, options];
  const out = [...options];
  out[i] = 'lowerdir=' + dirs.map((d) => path.relative(common, d)).join(':');
  return [common, out];
}
