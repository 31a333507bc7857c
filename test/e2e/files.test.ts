/**
 * Files, mounts and config through a private containerd with real runc: the modes of the
 * bundle's address file and of the shim socket, the delete action on a rootfs that stays busy,
 * and config files that are wrong in the ways issue 9 found (not TOML, a relative path).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, encode } from '../../src/proto';
import { dial } from '../../src/ttrpc/client';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { buildBusyboxImage, importImage } from '../helpers/image';
import { mountsUnder, settleLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { listTasks, uniqueId, waitForTask } from '../helpers/tasks';

const IMAGE = 'docker.io/library/rxfiles:latest';
const TASK = 'containerd.task.v2.Task';
const T = 'containerd.task.v2.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctd: Containerd;
let rootfs: string;
before(async () => {
  // containerd (and so every shim it starts) runs with the widest umask: the modes asserted
  // here must come from the shim itself, not from a kind umask.
  const umask = process.umask(0o000);
  try {
    ctd = await startContainerd({ name: 'files', logLevel: 'info' });
  } finally {
    process.umask(umask);
  }
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  await importImage(ctd, buildBusyboxImage(path.join(ctd.dir, 'image'), IMAGE));
});
after(async () => ctd?.stop());

const bundleOf = (id: string) => path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id);
const mode = (p: string) => statSync(p).mode & 0o777;
const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}
async function finish(id: string) {
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  await waitForTask(ctd, id, 'STOPPED', 10000).catch(() => undefined);
  await ctd.ctr(['task', 'delete', id]);
  await ctd.ctr(['container', 'delete', id]);
}

test('under containerd\'s umask 000: the bundle\'s address file is 0644 as Go\'s, whole; the shim socket is 0600', async () => {
  const id = uniqueId('modes');
  const r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(bundleOf(id), 'address');
  const address = readFileSync(file, 'utf8');
  assert.match(address, /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
  assert.equal(mode(file), 0o644);
  const sock = address.replace(/^unix:\/\//, '');
  assert.equal(mode(sock), 0o600);
  console.log(`# address ${mode(file).toString(8)}, socket ${mode(sock).toString(8)}, socket dir ${mode(path.dirname(sock)).toString(8)} (made before this run, or 700)`);
  await finish(id);
});

test('the delete action with a busy rootfs (a host process has its cwd there) fails loudly after the retries and leaves no lazy detach', async () => {
  const id = uniqueId('busy');
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', IMAGE, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  const bundle = bundleOf(id);
  const rootfsMount = path.join(bundle, 'rootfs');
  assert.deepEqual(mountsUnder(bundle), [rootfsMount], 'the image rootfs is an overlay mount');
  const c = await dial(readFileSync(path.join(bundle, 'address'), 'utf8').replace(/^unix:\/\//, ''));
  const shim = decode(T + 'ConnectResponse', await c.call(TASK, 'Connect', encode(T + 'ConnectRequest', { id }))).shim_pid as number;
  c.close();
  const holder = spawn('sleep', ['600'], { cwd: rootfsMount, stdio: 'ignore' });
  try {
    const logFrom = ctd.log().length;
    process.kill(shim, 'SIGKILL');
    // containerd sees the shim go and runs our delete action (runtime/v2 cleanupAfterDeadShim).
    await until('the delete action reports the busy rootfs in containerd\'s log', () => /still busy after 50 tries 50 ms apart/.test(ctd.log().slice(logFrom)), 30000);
    const line = ctd.log().slice(logFrom).split('\n').find((l) => /still busy after/.test(l))!;
    console.log(`# ${line.slice(0, 400)}`);
    assert.match(line, /EBUSY/);
    assert.ok(line.includes(rootfsMount), 'names the rootfs');
    assert.ok(!alive(shim));
    // Not detached: still in mountinfo at its path, and the holder's cwd is still inside it.
    assert.deepEqual(mountsUnder(bundle), [rootfsMount]);
    assert.ok(readFileSync(`/proc/${holder.pid}/mountinfo`, 'utf8').includes(` ${rootfsMount} `));
  } finally {
    holder.kill('SIGKILL');
    await new Promise((res) => holder.once('exit', res));
  }
  // Free now: containerd's own retry of the task delete (or ours) can take it off.
  r = await ctd.ctr(['task', 'delete', id]);
  if (mountsUnder(bundle).length > 0) {
    const { unmountAll } = require('../../src/sys/unmount') as typeof import('../../src/sys/unmount');
    unmountAll(rootfsMount);
  }
  console.log(`# after the holder left: ctr task delete exit ${r.code}; task ${(await listTasks(ctd)).get(id)?.status ?? 'gone'}`);
  await ctd.ctr(['task', 'delete', id]);
  r = await ctd.ctr(['container', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(mountsUnder(ctd.dir).filter((m) => m.includes(id)), []);
});

test('a config file that is not TOML: the task fails naming the file and the line, never echoing the content', async () => {
  const config = path.join(ctd.dir, 'not-toml.toml');
  writeFileSync(config, '[runc]\nbinary_name = "/usr/sbin/runc"\npassword = s3cr3t-hunter2\n');
  const id = uniqueId('nottoml');
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '--rm', '--rootfs', rootfs, id, '/bin/true']);
  assert.notEqual(r.code, 0);
  console.log(`# ${r.stderr.trim().slice(0, 400)}`);
  assert.ok(r.stderr.includes(`config ${config}: not valid TOML at line 3, column 12`), r.stderr);
  assert.ok(!r.stderr.includes('hunter2') && !r.stderr.includes('password'), r.stderr);
  assert.ok(!ctd.log().includes('hunter2'), 'nor in containerd\'s log');
  await ctd.ctr(['container', 'delete', id]);
});

test('a config whose paths are relative is refused naming the key, never resolved against the shim\'s cwd', async () => {
  const config = path.join(ctd.dir, 'relative.toml');
  writeFileSync(config, '[runc]\nroot = "runc-root"\n');
  const id = uniqueId('relroot');
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '--rm', '--rootfs', rootfs, id, '/bin/true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /runc\.root = "runc-root" is a relative path: expected an absolute path/);
  await ctd.ctr(['container', 'delete', id]);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
