import { readFileSync } from 'node:fs';
import path from 'node:path';
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

/** Option -> [clear?, flag], the table of containerd's mount/mount_linux.go parseMountOptions. */
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
  private: [false, MS.PRIVATE],
  rprivate: [false, MS.PRIVATE | MS.REC],
  shared: [false, MS.SHARED],
  rshared: [false, MS.SHARED | MS.REC],
  slave: [false, MS.SLAVE],
  rslave: [false, MS.SLAVE | MS.REC],
  unbindable: [false, MS.UNBINDABLE],
  runbindable: [false, MS.UNBINDABLE | MS.REC],
};

export function parseMountOptions(options: string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const entry = table[o];
    if (entry && entry[1] !== 0) flags = entry[0] ? flags & ~entry[1] : flags | entry[1];
    else if (!entry) data.push(o);
  }
  return { flags, data };
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

/** Mount one containerd Mount at target, as containerd's Mount.Mount does on Linux. */
export function mountOne(m: MountSpec, target: string): void {
  let options = m.options;
  let chdir: string | null = null;
  if (m.type === 'overlay' && options.join(',').length >= PAGE_SIZE - 512) [chdir, options] = compactLowerdir(options);
  const { flags, data } = parseMountOptions(options);
  const joined = data.join(',');
  if (joined.length > PAGE_SIZE) throw new SysError('mount', EINVAL, `${m.type} on ${target}: options are longer than a page (${joined.length} bytes)`);
  const ptypes = MS.SHARED | MS.PRIVATE | MS.SLAVE | MS.UNBINDABLE;
  const oflags = flags & ~ptypes;
  if (!(flags & MS.REMOUNT) || joined) {
    const cwd = process.cwd();
    // Relative lowerdirs resolve against the cwd; mount(2) is synchronous, so nothing else runs meanwhile.
    if (chdir) process.chdir(chdir);
    try {
      mount(m.source, target, m.type, oflags, joined);
    } finally {
      if (chdir) process.chdir(cwd);
    }
  }
  if (flags & ptypes) mount('', target, '', flags & (ptypes | MS.REC | MS.SILENT), '');
  // A read-only bind needs a second call: the first ignores MS_RDONLY.
  if ((oflags & (MS.BIND | MS.RDONLY)) === (MS.BIND | MS.RDONLY)) mount('', target, '', oflags | MS.REMOUNT, '');
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

/** Unmount everything stacked at target (containerd's UnmountAll); a missing target is fine. */
export function unmountAll(target: string): void {
  for (let i = 0; i < 64; i++) {
    const r = fn('int umount2(const char *, int)')(target, 0) as number;
    if (r === 0) continue;
    const e = errno();
    if (e === EINVAL || e === ENOENT) return;
    if (e === EBUSY) {
      check('umount2', fn('int umount2(const char *, int)')(target, MNT_DETACH), `${target} (detach)`);
      continue;
    }
    throw new SysError('umount2', e, target);
  }
}

/** Whether path is a mount point, from /proc/self/mountinfo. */
export function isMountPoint(p: string): boolean {
  return mountPoints().includes(path.resolve(p));
}

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
