import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deleteAction, removeRecordedCgroups } from '../../../src/cli/delete';
import { mountAll } from '../../../src/sys/mount';
import { mountPoints } from '../../../src/sys/mountinfo';
import { unmountAll } from '../../../src/sys/unmount';
import type { Flags } from '../../../src/cli/flags';
import { isCloexec } from '../../../src/sys/cloexec';
import { fn } from '../../../src/sys/libc';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rx-delete-'));
const mountsUnder = (dir: string) => mountPoints().filter((m) => m.startsWith(dir + '/'));
const tmpfs = { type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] };

/** The delete action (runc runs only if its state is left in the bundle's root), its response captured. */
async function runDelete(bundle: string): Promise<Buffer> {
  const flags: Flags = { namespace: 'rx-unit', id: `rx-unit-${path.basename(bundle)}`, address: '', publishBinary: '', bundle, socket: '', metricsAddress: '', debug: false, version: false, info: false, action: 'delete' };
  const out: Buffer[] = [];
  // Not through process.stdout: under node --test it carries the test reports.
  await deleteAction(flags, (r) => out.push(Buffer.from(r)));
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

test('delete runs runc as the serving process does: no NOTIFY_SOCKET, SIGKILL at parent death, none of our fds', async () => {
  const bundle = tmp();
  const root = path.join(bundle, 'runc-root');
  const id = `rx-unit-${path.basename(bundle)}`;
  mkdirSync(path.join(root, 'rx-unit', id), { recursive: true }); // runc's state is left: delete calls runc
  const fake = path.join(bundle, 'fake-runc');
  // Reports its parent-death signal (prctl PR_GET_PDEATHSIG), NOTIFY_SOCKET and its fds from 3 up.
  writeFileSync(
    fake,
    '#!/usr/bin/env python3\nimport ctypes, json, os, sys\nsig = ctypes.c_int(0)\nctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)\n' +
      'fds = []\nfor fd in range(3, 1024):\n  try:\n    os.fstat(fd); fds.append(fd)\n  except OSError: pass\n' +
      'json.dump({"argv": sys.argv[1:], "pdeathsig": sig.value, "notify": os.environ.get("NOTIFY_SOCKET"), "fds": fds}, open(sys.argv[2] + "/report.json", "w"))\n',
  );
  chmodSync(fake, 0o755);
  writeFileSync(path.join(bundle, 'options.json'), JSON.stringify({ binary_name: fake, root }));
  // An fd we "inherited" without close-on-exec (dup(2) clears the flag), as a careless parent leaves.
  const file = openSync(path.join(bundle, 'options.json'), 'r');
  const leaked = fn('int dup(int)')(file) as number;
  assert.equal(isCloexec(leaked), false);
  process.env.NOTIFY_SOCKET = '/run/notify/notify.sock';
  try {
    assert.ok((await runDelete(bundle)).length > 0);
  } finally {
    delete process.env.NOTIFY_SOCKET;
    fn('int close(int)')(leaked);
    closeSync(file);
  }
  const report = JSON.parse(readFileSync(path.join(root, 'rx-unit', 'report.json'), 'utf8'));
  assert.deepEqual(report, { argv: ['--root', path.join(root, 'rx-unit'), 'delete', '--force', id], pdeathsig: 9, notify: null, fds: [] });
  rmSync(bundle, { recursive: true });
});

test('delete removes the pod holder cgroups a sandbox serving process recorded in its bundle, only under the cgroup root, and survives a missing or bad record', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rx-cgroot-'));
  const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-cgbundle-'));
  const outside = mkdtempSync(path.join(os.tmpdir(), 'rx-cgout-'));
  try {
    const mine = ['memory', 'pids'].map((c) => path.join(root, c, 'kubepods/pod1/sb1'));
    for (const d of mine) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(bundle, 'rx-pod-cgroups.json'), JSON.stringify({ dirs: [...mine, outside, 'relative/x'] }));
    await removeRecordedCgroups(bundle, root);
    for (const d of mine) assert.equal(existsSync(d), false, `${d} removed`);
    assert.equal(existsSync(path.join(root, 'memory/kubepods/pod1')), true, 'the parent stays (the kubelet\'s)');
    assert.equal(existsSync(outside), true, 'a dir outside the cgroup root is left alone');
    await removeRecordedCgroups(bundle, root); // removed already: fine
    writeFileSync(path.join(bundle, 'rx-pod-cgroups.json'), 'not json');
    await removeRecordedCgroups(bundle, root);
    await removeRecordedCgroups(path.join(bundle, 'none'), root);
  } finally {
    for (const d of [root, bundle, outside]) rmSync(d, { recursive: true, force: true });
  }
});
