import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deleteAction } from '../../../src/cli/delete';
import { mountAll, mountPoints, unmountAll } from '../../../src/sys/mount';
import type { Flags } from '../../../src/cli/flags';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rx-delete-'));
const mountsUnder = (dir: string) => mountPoints().filter((m) => m.startsWith(dir + '/'));
const tmpfs = { type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] };

/** The delete action of a container runc never heard of (no runc call), its stdout captured. */
async function runDelete(bundle: string): Promise<Buffer> {
  const flags: Flags = { namespace: 'rx-unit', id: `rx-unit-${path.basename(bundle)}`, address: '', publishBinary: '', bundle, socket: '', debug: false, version: false, info: false, action: 'delete' };
  const out: Buffer[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: Uint8Array | string) => (out.push(Buffer.from(chunk)), true)) as typeof process.stdout.write;
  try {
    await deleteAction(flags);
  } finally {
    process.stdout.write = write;
  }
  return Buffer.concat(out);
}

test('delete unmounts the rootfs and what is mounted under it, then answers', async () => {
  const bundle = tmp();
  const rootfs = path.join(bundle, 'rootfs');
  mkdirSync(rootfs);
  mountAll([tmpfs], rootfs);
  mkdirSync(path.join(rootfs, 'data'));
  mountAll([{ ...tmpfs, target: 'data' }], rootfs);
  writeFileSync(path.join(bundle, 'init.pid'), '42');
  const out = await runDelete(bundle);
  assert.ok(out.length > 0, 'a DeleteResponse on stdout');
  assert.deepEqual(mountsUnder(bundle), []);
  rmSync(bundle, { recursive: true });
});

test('delete with a busy rootfs fails loudly naming the path and EBUSY, and leaves it mounted (no lazy detach)', async () => {
  const bundle = tmp();
  const rootfs = path.join(bundle, 'rootfs');
  mkdirSync(rootfs);
  mountAll([tmpfs], rootfs);
  const cwd = process.cwd();
  process.chdir(rootfs); // busy for the whole of the retries (2.5 s, as containerd)
  try {
    await assert.rejects(runDelete(bundle), (e: Error) => e.message.includes(rootfs) && /EBUSY/.test(e.message) && /still busy after 50 tries 50 ms apart/.test(e.message));
    assert.deepEqual(mountsUnder(bundle), [rootfs]);
  } finally {
    process.chdir(cwd);
  }
  unmountAll(rootfs);
  rmSync(bundle, { recursive: true });
});

test('delete refuses a rootfs that is a symlink, and unmounts nothing where it points', async () => {
  const dir = tmp();
  const elsewhere = path.join(dir, 'elsewhere');
  const bundle = path.join(dir, 'bundle');
  mkdirSync(elsewhere);
  mkdirSync(bundle);
  mountAll([tmpfs], elsewhere);
  symlinkSync(elsewhere, path.join(bundle, 'rootfs'));
  await assert.rejects(runDelete(bundle), /rootfs .*\/bundle\/rootfs is a symlink: refusing to unmount through it/);
  assert.deepEqual(mountsUnder(dir), [elsewhere]);
  unmountAll(elsewhere);
  rmSync(dir, { recursive: true });
});

test('delete with no rootfs, or one not mounted, just answers', async () => {
  const bundle = tmp();
  assert.ok((await runDelete(bundle)).length > 0);
  mkdirSync(path.join(bundle, 'rootfs'));
  assert.ok((await runDelete(bundle)).length > 0);
  rmSync(bundle, { recursive: true });
});
