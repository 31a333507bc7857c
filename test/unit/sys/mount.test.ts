import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMountPoint, MS, mountAll, parseMountOptions, unmountAll } from '../../../src/sys/mount';
import { SysError } from '../../../src/sys/libc';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rx-mount-'));

test('mount options as containerd parses them: flags set and cleared, the rest is data', () => {
  assert.deepEqual(parseMountOptions(['ro', 'nosuid', 'lowerdir=/a', 'upperdir=/b']), { flags: MS.RDONLY | MS.NOSUID, data: ['lowerdir=/a', 'upperdir=/b'] });
  assert.deepEqual(parseMountOptions(['rbind', 'ro', 'rw']), { flags: MS.BIND | MS.REC, data: [] });
  assert.deepEqual(parseMountOptions(['defaults']), { flags: 0, data: [] });
});

test('a read-only bind mount is really read-only, and unmountAll leaves no mount', () => {
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
  assert.ok(!isMountPoint(dst));
  unmountAll(dst); // nothing left: not an error
  unmountAll(path.join(dir, 'missing')); // missing target: not an error
  rmSync(dir, { recursive: true });
});

test('an overlay of lower/upper/work mounts and unmounts', () => {
  const dir = tmp();
  for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
  writeFileSync(path.join(dir, 'lower/l'), 'lower');
  mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${dir}/lower`, `upperdir=${dir}/upper`, `workdir=${dir}/work`] }], path.join(dir, 'merged'));
  writeFileSync(path.join(dir, 'merged/u'), 'upper');
  assert.equal(readFileSync(path.join(dir, 'merged/l'), 'utf8'), 'lower');
  assert.equal(readFileSync(path.join(dir, 'upper/u'), 'utf8'), 'upper');
  unmountAll(path.join(dir, 'merged'));
  assert.ok(!isMountPoint(path.join(dir, 'merged')));
  rmSync(dir, { recursive: true });
});

test('a mount that fails says which mount and why, and leaves nothing mounted', () => {
  const dir = tmp();
  mkdirSync(path.join(dir, 'dst'));
  assert.throws(
    () => mountAll([{ type: 'bind', source: path.join(dir, 'nope'), options: ['rbind'] }], path.join(dir, 'dst')),
    (e: unknown) => e instanceof SysError && e.code === 'ENOENT' && e.message.includes(path.join(dir, 'nope')),
  );
  assert.ok(!isMountPoint(path.join(dir, 'dst')));
  rmSync(dir, { recursive: true });
});
