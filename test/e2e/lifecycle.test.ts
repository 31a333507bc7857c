/**
 * The first path end to end: real containerd 1.6, real runc, our shim, driven by ctr.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { buildBusyboxImage, importImage } from '../helpers/image';
import { settleLeaks, snapshotLeaks } from '../helpers/leaks';
import { runtimeArgs, SHIM_RUNTIME } from '../helpers/shim';

let ctd: Containerd;
let rootfs: string;
const IMAGE = 'docker.io/library/rxtest:latest';

before(async () => {
  ctd = await startContainerd({ name: 'lifecycle' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  await importImage(ctd, buildBusyboxImage(path.join(ctd.dir, 'image'), IMAGE));
});

after(async () => {
  await ctd?.stop();
});

/** ctr run with our runtime and the busybox rootfs; --rootfs is boolean in ctr 1.6, so it goes last among flags. */
const runRootfs = (id: string, cmd: string[], flags: string[] = [], input?: Buffer) =>
  ctd.ctr(['run', ...runtimeArgs(), ...flags, '--rm', '--rootfs', rootfs, id, ...cmd], { input, timeoutMs: 60000 });

test(`echo through --rootfs prints its output (runtime ${path.basename(SHIM_RUNTIME)})`, async () => {
  const r = await runRootfs('echo1', ['/bin/echo', 'hello from rx']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'hello from rx\n');
});

test('exit status 3 propagates to ctr', async () => {
  const r = await runRootfs('exit3', ['/bin/sh', '-c', 'exit 3']);
  assert.equal(r.code, 3, r.stderr);
});

test('a container from an imported OCI image runs (rootfs arrives as mounts in Create)', async () => {
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--rm', IMAGE, 'img1', '/bin/sh', '-c', 'echo from-image; cat /etc/passwd | head -1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'from-image\nroot:x:0:0:root:/root:/bin/sh\n');
  // The snapshot's overlay was mounted by the shim at bundle/rootfs and is gone after --rm.
  assert.deepEqual(snapshotLeaks(ctd.state).mounts, []);
});

test('detached lifecycle: run -d, ls RUNNING, ps, kill -s SIGKILL, STOPPED with 137, delete', async () => {
  const id = 'detached1';
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  r = await ctd.ctr(['task', 'ls']);
  assert.match(r.stdout.toString(), new RegExp(`^${id}\\s+\\d+\\s+RUNNING$`, 'm'));
  const pid = Number(/^\S+\s+(\d+)/m.exec(r.stdout.toString().split('\n').find((l) => l.startsWith(id))!)![1]);
  r = await ctd.ctr(['task', 'ps', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.toString(), new RegExp(`^${pid}\\b`, 'm'), 'ps lists the init pid');
  r = await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  assert.equal(r.code, 0, r.stderr);
  let listing = '';
  for (let i = 0; i < 50; i++) {
    listing = (await ctd.ctr(['task', 'ls'])).stdout.toString();
    if (/STOPPED/.test(listing)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.match(listing, new RegExp(`^${id}\\s+\\d+\\s+STOPPED$`, 'm'));
  r = await ctd.ctr(['task', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
  // ctr prints the exit status of a deleted task as a warning when it is not zero.
  assert.match(r.stderr, /exit with non-zero exit code 137/);
  r = await ctd.ctr(['container', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
});

test('ctr events shows /tasks/create, /tasks/start, /tasks/exit, /tasks/delete in that order', async () => {
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  await new Promise((r) => setTimeout(r, 300));
  const r = await runRootfs('events1', ['/bin/true']);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 50 && !/events1.*\/tasks\/delete|\/tasks\/delete.*events1/.test(text); i++) await new Promise((res) => setTimeout(res, 100));
  events.kill();
  const topics = text
    .split('\n')
    .filter((l) => l.includes('events1') && l.includes('/tasks/'))
    .map((l) => /\/tasks\/[a-z-]+/.exec(l)![0]);
  assert.deepEqual(topics, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
});

test('stdin to stdout: 5 MB through cat, byte for byte', async () => {
  const data = randomBytes(5 * 1024 * 1024);
  const r = await runRootfs('cat1', ['/bin/cat'], [], data);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, data.length);
  assert.equal(createHash('sha256').update(r.stdout).digest('hex'), createHash('sha256').update(data).digest('hex'));
});

test('stderr is kept apart from stdout', async () => {
  const r = await runRootfs('split1', ['/bin/sh', '-c', 'echo out; echo err >&2; echo out2']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'out\nout2\n');
  assert.equal(r.stderr, 'err\n');
});

test('six containers run in parallel, each prints its own id', async () => {
  const ids = Array.from({ length: 6 }, (_, i) => `par${i}`);
  const results = await Promise.all(ids.map((id) => runRootfs(id, ['/bin/sh', '-c', `sleep 0.3; echo ${id}`])));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), `${ids[i]}\n`);
  });
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  const left = await settleLeaks([ctd.state, ctd.root, ctd.dir]);
  assert.deepEqual(left.shims, [], 'no shim process');
  assert.deepEqual(left.mounts, [], 'no mount');
  assert.deepEqual(left.zombies, [], 'no zombie');
});
