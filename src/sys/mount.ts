import { realpathSync } from 'node:fs';
import path from 'node:path';
import { allOrUndone } from '../all-or-undone';
import { invalidArgument, unimplemented } from '../errors';
import { check, fn } from './libc';
import { compactLowerdir, MS, PAGE_SIZE, parseMountOptions } from './mount-options';
import { UMOUNT_NOFOLLOW, unmountOnceSync } from './unmount';

export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  check(
    'mount',
    fn('int mount(const char *, const char *, const char *, unsigned long, const char *)')(source, target, fstype, flags, data || null),
    `${fstype} ${source} on ${target}`,
  );
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
  allOrUndone(
    mounts,
    (m) => {
      const at = mountTarget(target, m.target);
      mountOne(m, at);
      return at;
    },
    unmountOnceSync,
    'stop',
  );
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
