/**
 * The first path end to end: real containerd 1.6, real runc, the runtime under test (our shim, or
 * SHIM_RUNTIME=io.containerd.runc.v2 to check the tests themselves), driven by ctr.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { buildBusyboxImage, importImage } from '../helpers/image';
import { assertNoLeaks, settleLeaks, snapshotLeaks, type LeakSnapshot } from '../helpers/leaks';
import { watchEvents } from '../helpers/events';
import { runtimeArgs, SHIM_RUNTIME } from '../helpers/shim';
import { listTasks, uniqueId, waitForTask } from '../helpers/tasks';

const IMAGE = 'docker.io/library/rxtest:latest';
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let ctd: Containerd;
let rootfs: string;
let leaksBefore: LeakSnapshot;
/** every container id this file runs, to check their shim sockets are gone at the end */
const ids: string[] = [];

before(async () => {
  ctd = await startContainerd({ name: 'lifecycle' });
  leaksBefore = snapshotLeaks(ctd.dir);
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  await importImage(ctd, buildBusyboxImage(path.join(ctd.dir, 'image'), IMAGE));
});

after(async () => {
  await ctd?.stop();
});

/** `ctr run` with the runtime under test on the busybox rootfs. ctr 1.6's --rootfs is a boolean
 * flag: every other flag goes before it, and the rootfs dir is the first argument after it. */
const runRootfs = (name: string, cmd: string[], input?: Buffer | string) => {
  const id = uniqueId(name);
  ids.push(id);
  // With input, stdin's EOF waits until the task runs: ctr 1.6 drops an earlier one.
  const endInputAfter = input === undefined ? undefined : waitForTask(ctd, id);
  return ctd.ctr(['run', ...runtimeArgs(), '--rm', '--rootfs', rootfs, id, ...cmd], { input, endInputAfter, timeoutMs: 60000 });
};

test(`echo through --rootfs prints its output (runtime ${path.basename(SHIM_RUNTIME)})`, async () => {
  const r = await runRootfs('echo1', ['/bin/echo', 'hello']);
  assert.equal(r.code, 0, `ctr run failed: ${r.stderr}`);
  assert.equal(r.stdout.toString(), 'hello\n');
});

test('exit status 3 propagates to ctr', async () => {
  const r = await runRootfs('exit3', ['/bin/sh', '-c', 'exit 3']);
  assert.equal(r.code, 3, `ctr's exit code should be the container's; stderr: ${r.stderr}`);
});

test('a container from the imported OCI image runs (its rootfs arrives as mounts in Create)', async () => {
  const id = uniqueId('img1');
  ids.push(id);
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--rm', IMAGE, id, '/bin/sh', '-c', 'echo from-image; head -1 /etc/passwd']);
  assert.equal(r.code, 0, `ctr run <image> failed: ${r.stderr}`);
  assert.equal(r.stdout.toString(), 'from-image\nroot:x:0:0:root:/root:/bin/sh\n');
});

test("an image's default Cmd runs when ctr gives no command", async () => {
  const id = uniqueId('img2');
  ids.push(id);
  // The config's Cmd is /bin/sh reading its script from stdin; EOF only once the task runs.
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--rm', IMAGE, id], { input: 'echo cmd-from-config\n', endInputAfter: waitForTask(ctd, id) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'cmd-from-config\n');
});

test('detached: run -d, ls RUNNING, ps lists the pid, kill -s SIGKILL, STOPPED, delete reports 137', async () => {
  const id = uniqueId('detached1');
  ids.push(id);
  const events = watchEvents(ctd, ['topic=="/tasks/exit"']);
  await events.ready;
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, `ctr run -d failed: ${r.stderr}`);
  const running = (await listTasks(ctd)).get(id);
  assert.equal(running?.status, 'RUNNING', `task ls: ${JSON.stringify(running)}`);
  assert.ok(running.pid > 0);

  r = await ctd.ctr(['task', 'ps', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.toString(), new RegExp(`^${running.pid}\\s`, 'm'), `task ps should list init's pid ${running.pid}:\n${r.stdout}`);

  r = await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  assert.equal(r.code, 0, r.stderr);
  const [exit] = (await events.waitFor((es) => es.some((e) => e.event?.container_id === id))).filter((e) => e.event?.container_id === id);
  await events.stop();
  assert.equal(exit.event?.exit_status, 137, `TaskExit: ${exit.line}`);
  await waitForTask(ctd, id, 'STOPPED');

  r = await ctd.ctr(['task', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
  // ctr prints a non-zero exit status of the deleted task as a logrus warning on stderr.
  assert.match(r.stderr, new RegExp(`task ${id} exit with non-zero exit code 137`));
  assert.equal((await listTasks(ctd)).has(id), false, 'the task is gone after delete');
  r = await ctd.ctr(['container', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
});

test('ctr events shows /tasks/create, /tasks/start, /tasks/exit, /tasks/delete in that order', async () => {
  const events = watchEvents(ctd, ['topic~="^/tasks/"']);
  await events.ready;
  const r = await runRootfs('events1', ['/bin/true']);
  assert.equal(r.code, 0, r.stderr);
  const id = uniqueId('events1');
  const mine = (await events.waitFor((es) => es.some((e) => e.topic === '/tasks/delete' && e.event?.container_id === id))).filter((e) => e.event?.container_id === id);
  await events.stop();
  assert.deepEqual(
    mine.map((e) => e.topic),
    ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'],
    mine.map((e) => e.line).join('\n'),
  );
  const pid = mine[0].event?.pid;
  assert.ok(typeof pid === 'number' && pid > 0, 'TaskCreate carries the pid');
  assert.ok(mine.every((e) => e.event?.pid === pid), 'all four name the same init pid');
});

test('stdin to stdout: 5 MiB through cat, byte for byte', async () => {
  const data = randomBytes(5 * 1024 * 1024);
  // ctr run attaches its stdin to the container's when not detached (there is no -i flag).
  const r = await runRootfs('cat1', ['/bin/cat'], data);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, data.length, 'as many bytes out as in');
  assert.equal(sha256(r.stdout), sha256(data));
});

test("a short stdin reaches the container and its EOF (CloseIO) ends cat", async () => {
  const r = await runRootfs('cat2', ['/bin/sh', '-c', 'cat; echo eof-seen'], 'short\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'short\neof-seen\n');
});

test('stderr is kept apart from stdout', async () => {
  const r = await runRootfs('split1', ['/bin/sh', '-c', 'echo out; echo err >&2; echo out2']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'out\nout2\n');
  assert.equal(r.stderr, 'err\n');
});

test('six containers run in parallel, each prints its own id', async () => {
  const par = Array.from({ length: 6 }, (_, i) => `par${i}`);
  const results = await Promise.all(par.map((name) => runRootfs(name, ['/bin/sh', '-c', `sleep 0.5; echo ${name}`])));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${par[i]}: ${r.stderr}`);
    assert.equal(r.stdout.toString(), `${par[i]}\n`);
  });
});

test('afterwards no shim process, no mount, no zombie and no shim socket is left', async () => {
  assertNoLeaks(leaksBefore, await settleLeaks([ctd.dir], 15000, leaksBefore));
  // The shim's socket: unix:///run/containerd/s/<sha256(path.join(address, ns, id))>
  // (containerd 1.6 runtime/v2/shim/util_unix.go SocketAddress); removed when the shim exits.
  const sockets = ids.map((id) => `/run/containerd/s/${sha256(path.join(ctd.address, 'default', id))}`);
  assert.deepEqual(sockets.filter((s) => existsSync(s)), [], 'shim sockets left');
});
