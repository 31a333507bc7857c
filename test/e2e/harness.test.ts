/**
 * The harness's own promises, so the e2e tests' passes mean something: a leak is named, a
 * restarted containerd keeps its tasks, events come in order from a live subscription.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { buildBusyboxImage, importImage } from '../helpers/image';
import { assertNoLeaks, settleLeaks, snapshotLeaks } from '../helpers/leaks';
import { watchEvents } from '../helpers/events';
import { runtimeArgs } from '../helpers/shim';
import { listTasks, uniqueId, waitForTask } from '../helpers/tasks';

let ctd: Containerd;
let rootfs: string;
const IMAGE = 'docker.io/library/rxharness:latest';

before(async () => {
  ctd = await startContainerd({ name: 'harness' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  await importImage(ctd, buildBusyboxImage(path.join(ctd.dir, 'image'), IMAGE));
});

after(async () => {
  await ctd?.stop();
});

/** A detached `sleep 600`, from the image (its rootfs is a mount) or from --rootfs (no mount). */
const runDetached = async (id: string, from: 'image' | 'rootfs' = 'rootfs') => {
  const source = from === 'image' ? [IMAGE] : ['--rootfs', rootfs];
  const r = await ctd.ctr(['run', ...runtimeArgs(), '-d', ...source, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  return waitForTask(ctd, id);
};

const removeTask = async (id: string) => {
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  await waitForTask(ctd, id, 'STOPPED');
  assert.equal((await ctd.ctr(['task', 'delete', id])).code, 0);
  assert.equal((await ctd.ctr(['container', 'delete', id])).code, 0);
};

test('assertNoLeaks names a shim left running and its rootfs mount', async () => {
  const before = snapshotLeaks(ctd.dir);
  const id = uniqueId('leak1');
  await runDetached(id, 'image');
  const during = snapshotLeaks(ctd.dir);
  assert.throws(() => assertNoLeaks(before, during), (err: Error) => {
    assert.match(err.message, new RegExp(`shim process left running: \\d+ .*-id ${id}`));
    assert.match(err.message, new RegExp(`mount left: .*/${id}/rootfs`));
    return true;
  });
  await removeTask(id);
  assertNoLeaks(before, await settleLeaks([ctd.dir], 15000, before));
});

test('restart() SIGKILLs containerd and starts it on the same dirs: a running task survives it', async () => {
  const id = uniqueId('restart1');
  const { pid } = await runDetached(id);
  const oldPid = ctd.pid();
  await ctd.restart();
  assert.notEqual(ctd.pid(), oldPid, 'a new containerd process');
  const row = (await listTasks(ctd)).get(id);
  assert.deepEqual(row, { pid, status: 'RUNNING' }, 'the task is found again through its shim');
  await removeTask(id);
});

test('watchEvents is live once ready: it sees a task from create to delete, in order, and nothing of its sync', async () => {
  const events = watchEvents(ctd);
  await events.ready;
  const id = uniqueId('ev1');
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--rm', '--rootfs', rootfs, id, '/bin/true']);
  assert.equal(r.code, 0, r.stderr);
  const seen = await events.waitFor((es) => es.some((e) => e.topic === '/containers/delete'));
  await events.stop();
  assert.deepEqual(
    seen.map((e) => e.topic),
    ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete'],
  );
  assert.ok(seen.every((e) => e.namespace === 'default'));
});

test('waitFor rejects with what it saw when the event never comes', async () => {
  const events = watchEvents(ctd, ['topic=="/tasks/oom"']);
  await events.ready;
  await assert.rejects(events.waitFor((es) => es.length > 0, 300), /not seen in 300 ms/);
  await events.stop();
});

test('afterwards nothing of this file is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
