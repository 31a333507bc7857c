import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShimError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { createShutdown } from '../../../src/streams/shutdown$';
import { Joins } from '../../../src/task/joins';
import type { ContainerDriver, ContainerRuntime } from '../../../src/task/runtime';
import { TaskService } from '../../../src/task/service';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kindOf = (kind: string) => (err: unknown) => err instanceof ShimError && err.kind === kind;

function joins(opts: { idle?: boolean; timeoutMs?: number } = {}) {
  const shutdown = createShutdown();
  return { shutdown, joins: new Joins({ shutdown, idle: () => opts.idle ?? true, timeoutMs: opts.timeoutMs ?? 20 }) };
}

test('a Shutdown with nothing awaited is not held', () => {
  const { joins: j } = joins();
  assert.equal(j.holdShutdown(), false);
});

test('a Shutdown while a Create is awaited is held, and ends the process when the join expires with nothing left', async () => {
  const { joins: j, shutdown } = joins();
  j.join('b');
  assert.equal(j.holdShutdown(), true);
  assert.equal(shutdown.requested, false);
  await sleep(60);
  assert.equal(j.size, 0);
  assert.equal(shutdown.requested, true);
});

test('an expired join without a held Shutdown, or with a container left, does not end the process', async () => {
  const a = joins();
  a.joins.join('b');
  await sleep(60);
  assert.equal(a.shutdown.requested, false, 'no Shutdown was asked');
  const b = joins({ idle: false });
  b.joins.join('b');
  assert.equal(b.joins.holdShutdown(), true);
  await sleep(60);
  assert.equal(b.shutdown.requested, false, 'a container is left: its own Shutdown will come');
});

test('the Create that arrives ends the wait for it', async () => {
  const { joins: j, shutdown } = joins();
  j.join('b');
  j.arrived('b');
  assert.equal(j.size, 0);
  assert.equal(j.holdShutdown(), false);
  await sleep(60);
  assert.equal(shutdown.requested, false);
});

test('a join is refused once the process is stopping, and an empty id is refused', () => {
  const { joins: j, shutdown } = joins();
  shutdown.shutdown();
  assert.throws(() => j.join('b'), kindOf('FailedPrecondition'));
  assert.throws(() => joins().joins.join(''), kindOf('InvalidArgument'));
});

/** A task service over a runtime that only hands out pids. */
function service() {
  let pid = 1000;
  const resources = { drained: async () => {}, closeStdin: () => {}, close: () => {} };
  const driver = { create: async () => ({ pid: ++pid, resources }), delete: async () => {} } as unknown as ContainerDriver;
  const runtime = { driver: () => driver, mountAll: () => {}, unmountAll: async () => {}, watchOOM: () => ({ close: () => {} }) } as unknown as ContainerRuntime;
  const shutdown = createShutdown();
  const svc = new TaskService({ namespace: 'test', runtime, shutdown, log: silentLogger(), version: '0' });
  return { svc, shutdown };
}

test("the group's last Shutdown, crossing a start that joined, keeps the process for that container's Create", async () => {
  // The race the stress test hit: A's delete brings its Shutdown while B's start already has our address.
  const { svc, shutdown } = service();
  svc.joins.join('b');
  await svc.shutdown({ id: 'a' });
  assert.equal(shutdown.requested, false, 'still serving: B is on its way');
  const { pid } = await svc.create({ id: 'b', bundle: '/tmp/bundle-b', rootfs: [], stdin: '', stdout: '', stderr: '', terminal: false });
  assert.ok(pid > 0);
  assert.equal(svc.joins.size, 0);
  await svc.shutdown({ id: 'a' });
  assert.equal(shutdown.requested, false, 'B is served');
  svc.dispose();
});

test('a Shutdown with no container and no join ends the process, and a later join is refused', async () => {
  const { svc, shutdown } = service();
  await svc.shutdown({ id: 'a' });
  assert.equal(shutdown.requested, true);
  assert.throws(() => svc.joins.join('b'), kindOf('FailedPrecondition'));
  await shutdown.done();
  svc.dispose();
});
