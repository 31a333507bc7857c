import { readFileSync, realpathSync } from 'node:fs';
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
const MNT_DETACH = 2;
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
    if (!(flags & MS.REMOUNT)) fn('int umount2(const char *, int)')(target, MNT_DETACH);
    throw err;
  }
}

/** Mount all in order at target; on failure, undo what was mounted and rethrow. */
export function mountAll(mounts: MountSpec[], target: string): void {
  let done = 0;
  try {
    for (const m of mounts) {
      mountOne(m, target);
      done++;
    }
  } catch (err) {
    for (; done > 0; done--) {
      try {
        unmount(target, MNT_DETACH);
      } catch {
        break;
      }
    }
    throw err;
  }
}

/**
 * Unmount everything stacked at target, as containerd's UnmountAll: umount2 until EINVAL (not a
 * mount point any more); on EBUSY detach it (MNT_DETACH) instead of containerd's 50 retries.
 * A missing target is not an error.
 */
export function unmountAll(target: string): void {
  const umount2 = fn('int umount2(const char *, int)');
  for (let i = 0; i < 1000; i++) {
    if ((umount2(target, 0) as number) === 0) continue;
    const e = errno();
    if (e === EINVAL || e === ENOENT) return;
    if (e !== EBUSY) throw new SysError('umount2', e, target);
    check('umount2', umount2(target, MNT_DETACH), `${target} (detach)`);
  }
  throw new SysError('umount2', EBUSY, `${target}: still mounted after 1000 unmounts`);
}

/** Whether path is a mount point, from /proc/self/mountinfo (symlinks resolved first). */
export function isMountPoint(p: string): boolean {
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    return false;
  }
  return mountPoints().includes(real);
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
