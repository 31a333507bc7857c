import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mountAll } from '../../../src/sys/mount';
import { MS, parseMountOptions } from '../../../src/sys/mount-options';
import { isMountPoint, mountPoints } from '../../../src/sys/mountinfo';
import { unmountAll } from '../../../src/sys/unmount';
import { SysError } from '../../../src/sys/libc';
import { isKind } from '../../../src/errors';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rx-mount-'));
const mountsUnder = (dir: string) => mountPoints().filter((m) => m.startsWith(dir));

test('mount options: each flag option of containerd\'s table sets its flag', () => {
  const sets: [string, number][] = [
    ['bind', MS.BIND], ['rbind', MS.BIND | MS.REC], ['ro', MS.RDONLY], ['nosuid', MS.NOSUID], ['nodev', MS.NODEV],
    ['noexec', MS.NOEXEC], ['sync', MS.SYNCHRONOUS], ['remount', MS.REMOUNT], ['mand', MS.MANDLOCK],
    ['dirsync', MS.DIRSYNC], ['noatime', MS.NOATIME], ['nodiratime', MS.NODIRATIME], ['relatime', MS.RELATIME],
    ['strictatime', MS.STRICTATIME],
  ];
  for (const [o, flag] of sets) assert.equal(parseMountOptions([o]).flags, flag, o);
});

test('mount options: each inverse option clears what its pair set, in option order', () => {
  const pairs: [string, string][] = [
    ['ro', 'rw'], ['nosuid', 'suid'], ['nodev', 'dev'], ['noexec', 'exec'], ['sync', 'async'], ['mand', 'nomand'],
    ['noatime', 'atime'], ['nodiratime', 'diratime'], ['relatime', 'norelatime'], ['strictatime', 'nostrictatime'],
  ];
  for (const [set, clear] of pairs) {
    assert.equal(parseMountOptions([set, clear]).flags, 0, `${set},${clear}`);
    assert.notEqual(parseMountOptions([clear, set]).flags, 0, `${clear},${set}`);
  }
  assert.equal(parseMountOptions(['rbind', 'ro', 'rw']).flags, MS.BIND | MS.REC);
});

test('mount options: unknown options are filesystem data, kept in order; defaults is nothing', () => {
  assert.deepEqual(parseMountOptions(['defaults', 'lowerdir=/a', 'ro', 'upperdir=/b', 'index=off']), {
    flags: MS.RDONLY,
    data: ['lowerdir=/a', 'upperdir=/b', 'index=off'],
    propagation: 0,
    loop: false,
  });
});

test('mount options: propagation goes to its own call, the last one named wins; loop is noted', () => {
  assert.deepEqual(parseMountOptions(['rbind', 'rprivate']), { flags: MS.BIND | MS.REC, data: [], propagation: MS.PRIVATE | MS.REC, loop: false });
  assert.equal(parseMountOptions(['shared', 'rslave']).propagation, MS.SLAVE | MS.REC);
  assert.equal(parseMountOptions(['bind', 'unbindable']).flags, MS.BIND);
  assert.equal(parseMountOptions(['loop', 'ro']).loop, true);
});

test('a bind mount shows the source and is listed in mountinfo', () => {
  const dir = tmp();
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(path.join(dir, 'dst'));
  writeFileSync(path.join(dir, 'src/f'), 'x');
  mountAll([{ type: 'bind', source: path.join(dir, 'src'), options: ['bind'] }], path.join(dir, 'dst'));
  assert.ok(isMountPoint(path.join(dir, 'dst')));
  assert.equal(readFileSync(path.join(dir, 'dst/f'), 'utf8'), 'x');
  writeFileSync(path.join(dir, 'dst/g'), 'y'); // rw: writes go through
  assert.equal(readFileSync(path.join(dir, 'src/g'), 'utf8'), 'y');
  unmountAll(path.join(dir, 'dst'));
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('a read-only bind mount is really read-only (EROFS), and unmountAll leaves no mount', () => {
  const dir = tmp();
  const src = path.join(dir, 'src');
  const dst = path.join(dir, 'dst');
  mkdirSync(src);
  mkdirSync(dst);
  writeFileSync(path.join(src, 'f'), 'x');
  mountAll([{ type: 'bind', source: src, options: ['rbind', 'ro'] }], dst);
  assert.ok(isMountPoint(dst));
  assert.equal(readFileSync(path.join(dst, 'f'), 'utf8'), 'x');
  assert.throws(() => writeFileSync(path.join(dst, 'g'), 'y'), /EROFS/);
  unmountAll(dst);
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('unmountAll takes off a stack of mounts at one target, and is quiet when nothing or no target is there', () => {
  const dir = tmp();
  for (const d of ['a', 'b', 'dst']) mkdirSync(path.join(dir, d));
  mountAll(
    [
      { type: 'bind', source: path.join(dir, 'a'), options: ['bind'] },
      { type: 'bind', source: path.join(dir, 'b'), options: ['bind', 'ro'] },
    ],
    path.join(dir, 'dst'),
  );
  assert.equal(mountsUnder(dir).length, 2);
  unmountAll(path.join(dir, 'dst'));
  assert.deepEqual(mountsUnder(dir), []);
  unmountAll(path.join(dir, 'dst')); // not a mount point: EINVAL, done
  unmountAll(path.join(dir, 'missing')); // no target: ENOENT, done
  rmSync(dir, { recursive: true });
});

test('unmountAll retries a busy mount (EBUSY), then fails loudly and leaves it mounted: no lazy detach', () => {
  const dir = tmp();
  const dst = path.join(dir, 'dst');
  mkdirSync(dst);
  mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], dst);
  const cwd = process.cwd();
  process.chdir(dst); // our cwd inside it makes it busy
  try {
    assert.throws(
      () => unmountAll(dst, { tries: 3, retryMs: 10 }),
      (e: unknown) => e instanceof SysError && e.code === 'EBUSY' && e.message.includes(dst) && /still busy after 3 tries/.test(e.message),
    );
    assert.deepEqual(mountsUnder(dir), [dst], 'still mounted, and reachable at its path (a detach would have hidden it)');
  } finally {
    process.chdir(cwd);
  }
  unmountAll(dst);
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('unmountAll waits out a mount that is busy for a while (a process leaving it) and unmounts it', () => {
  const dir = tmp();
  const dst = path.join(dir, 'dst');
  mkdirSync(dst);
  mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], dst);
  // A child with its cwd there for ~300 ms; it says when it is in.
  const child = spawnSync('sh', ['-c', `cd ${dst} && echo in >${dir}/in && sleep 0.3 &`], { stdio: 'ignore' });
  assert.equal(child.status, 0);
  for (let i = 0; i < 500 && !existsSync(path.join(dir, 'in')); i++) spawnSync('sleep', ['0.01']);
  unmountAll(dst, { tries: 100, retryMs: 50 });
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('isMountPoint and unmountAll name the path itself, never what a symlink there points to', () => {
  const dir = tmp();
  const real = path.join(dir, 'real');
  mkdirSync(real);
  symlinkSync(real, path.join(dir, 'link'));
  mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], real);
  assert.equal(isMountPoint(real), true);
  assert.equal(isMountPoint(path.join(dir, 'link')), false, 'the link is not a mount point');
  unmountAll(path.join(dir, 'link')); // through the link: nothing (EINVAL), the mount stays
  assert.deepEqual(mountsUnder(dir), [real]);
  unmountAll(real);
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('Mount.target: a mount goes at rootfs/<target>, cleaned; unmountAll takes the submount off first', () => {
  const dir = tmp();
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(rootfs);
  mountAll(
    [
      { type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=755'] },
      { type: 'tmpfs', source: 'tmpfs', target: '', options: ['size=1m'] }, // empty target: the rootfs itself, stacked
    ],
    rootfs,
  );
  mkdirSync(path.join(rootfs, 'data/sub'), { recursive: true });
  mountAll([{ type: 'tmpfs', source: 'tmpfs', target: '/data//./sub/', options: ['size=1m'] }], rootfs);
  assert.deepEqual(mountsUnder(dir), [rootfs, rootfs, path.join(rootfs, 'data/sub')]);
  unmountAll(rootfs);
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('Mount.target that leaves the rootfs (by .. or by a symlink) is InvalidArgument, and nothing is mounted', () => {
  const dir = tmp();
  const rootfs = path.join(dir, 'rootfs');
  const outside = path.join(dir, 'outside');
  mkdirSync(rootfs);
  mkdirSync(outside);
  symlinkSync(outside, path.join(rootfs, 'escape'));
  const base = { type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] };
  for (const target of ['../outside', '/../outside', 'a/../../outside']) {
    assert.throws(() => mountAll([base, { ...base, target }], rootfs), (e: unknown) => isKind(e, 'InvalidArgument') && (e as Error).message.includes(JSON.stringify(target)), target);
  }
  assert.throws(() => mountAll([{ ...base, target: 'escape' }], rootfs), (e: unknown) => isKind(e, 'InvalidArgument') && /through a symlink, outside the rootfs/.test((e as Error).message));
  assert.throws(() => mountAll([{ ...base, target: 'missing' }], rootfs), (e: unknown) => isKind(e, 'InvalidArgument') && /does not exist/.test((e as Error).message));
  assert.deepEqual(mountsUnder(dir), [], 'the first mount of a refused list is undone');
  rmSync(dir, { recursive: true });
});

test('uidmap=/gidmap= (containerd 2.x idmapped mounts) are refused as Unimplemented naming the option, never passed as data', () => {
  const dir = tmp();
  for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
  const overlay = [`lowerdir=${dir}/lower`, `upperdir=${dir}/upper`, `workdir=${dir}/work`];
  assert.throws(
    () => mountAll([{ type: 'overlay', source: 'overlay', options: [...overlay, 'uidmap=0:1000:65536', 'gidmap=0:1000:65536'] }], path.join(dir, 'merged')),
    (e: unknown) => isKind(e, 'Unimplemented') && /option uidmap= \(an idmapped mount\)/.test((e as Error).message),
  );
  assert.throws(
    () => mountAll([{ type: 'bind', source: path.join(dir, 'lower'), options: ['rbind', 'gidmap=0:1000:1'] }], path.join(dir, 'merged')),
    (e: unknown) => isKind(e, 'Unimplemented') && /option gidmap=/.test((e as Error).message),
  );
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('an overlay of lower/upper/work mounts, writes go to upper, and it unmounts', () => {
  const dir = tmp();
  for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
  writeFileSync(path.join(dir, 'lower/l'), 'lower');
  mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${dir}/lower`, `upperdir=${dir}/upper`, `workdir=${dir}/work`] }], path.join(dir, 'merged'));
  writeFileSync(path.join(dir, 'merged/u'), 'upper');
  assert.equal(readFileSync(path.join(dir, 'merged/l'), 'utf8'), 'lower');
  assert.equal(readFileSync(path.join(dir, 'upper/u'), 'utf8'), 'upper');
  unmountAll(path.join(dir, 'merged'));
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

/** 30 lowerdirs with 110-byte names: ~4 KiB of absolute paths, ~3.4 KiB once relative. */
function manyLowers(dir: string, n = 30): string[] {
  return Array.from({ length: n }, (_, i) => {
    const d = path.join(dir, 'layers', String(i).padStart(3, '0') + 'l'.repeat(107));
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, `f${i}`), String(i));
    return d;
  });
}

test('an overlay whose options pass a page mounts with lowerdirs made relative to their parent, and the cwd is restored', () => {
  const dir = tmp();
  const lowers = manyLowers(dir);
  for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
  const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`];
  assert.ok(options.join(',').length > 4096, 'the test really passes a page');
  const cwd = process.cwd();
  mountAll([{ type: 'overlay', source: 'overlay', options }], path.join(dir, 'merged'));
  assert.equal(process.cwd(), cwd);
  assert.equal(readFileSync(path.join(dir, 'merged/f0'), 'utf8'), '0');
  assert.equal(readFileSync(path.join(dir, 'merged/f29'), 'utf8'), '29');
  unmountAll(path.join(dir, 'merged'));
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('overlay options that stay over a page are refused with a clear InvalidArgument, nothing mounted', () => {
  const dir = tmp();
  const lowers = manyLowers(dir, 40);
  mkdirSync(path.join(dir, 'merged'));
  const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`];
  assert.throws(
    () => mountAll([{ type: 'overlay', source: 'overlay', options }], path.join(dir, 'merged')),
    (e: unknown) => isKind(e, 'InvalidArgument') && /over one page \(4096\) even with lowerdirs made relative/.test((e as Error).message),
  );
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('a mount that fails says which mount and why (errno code), and mountAll undoes the ones before it', () => {
  const dir = tmp();
  mkdirSync(path.join(dir, 'a'));
  mkdirSync(path.join(dir, 'dst'));
  assert.throws(
    () =>
      mountAll(
        [
          { type: 'bind', source: path.join(dir, 'a'), options: ['bind'] },
          { type: 'bind', source: path.join(dir, 'nope'), options: ['rbind'] },
        ],
        path.join(dir, 'dst'),
      ),
    (e: unknown) => e instanceof SysError && e.code === 'ENOENT' && e.syscall === 'mount' && e.message.includes(path.join(dir, 'nope')),
  );
  assert.deepEqual(mountsUnder(dir), []);
  rmSync(dir, { recursive: true });
});

test('the loop option is refused as Unimplemented rather than passed to the kernel', () => {
  const dir = tmp();
  assert.throws(() => mountAll([{ type: 'ext4', source: path.join(dir, 'img'), options: ['loop'] }], dir), (e: unknown) => isKind(e, 'Unimplemented'));
  rmSync(dir, { recursive: true });
});
