/* containerd's Mount options read as mount(2) takes them: flags, data, propagation (core/mount/mount_linux.go). */
import path from 'node:path';

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

/** One page: what mount(2) copies of its data, NUL included. */
export const PAGE_SIZE = 4096;

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

/** Shorten lowerdir= by making its paths relative to their common parent (containerd's compactLowerdirOption). */
export function compactLowerdir(options: string[]): [string | null, string[]] {
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
