import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../src/log';
import { SandboxService } from '../../../src/sandbox/service';
import type { Holder } from '../../../src/sandbox/holder';
import { createShutdown } from '../../../src/streams/shutdown$';
import type { ContainerRuntime } from '../../../src/task/runtime';
import { TaskService } from '../../../src/task/service';

/** The task and sandbox services of one serving process, wired as cli/serve.ts wires them. */
function servingProcess() {
  const shutdown = createShutdown();
  let sandbox: SandboxService | undefined;
  // No container is ever created here: the runtime is never reached.
  const task = new TaskService({ namespace: 'k8s.io', runtime: {} as ContainerRuntime, shutdown, log: silentLogger(), version: 'test', holdsPod: () => sandbox?.holdsPod() ?? false });
  let end!: () => void;
  const exited = new Promise<{ status: number; time: Date }>((r) => (end = () => r({ status: 137, time: new Date() })));
  const holder: Holder = { pid: 4242, exited, alive: true, kill: () => end() };
  sandbox = new SandboxService({ id: 'sb1', containers: () => task.size, shutdown, log: silentLogger(), startHolder: async () => holder, hierarchies: () => [] });
  return { task, sandbox, shutdown };
}

test('the task API\'s Shutdown with no container left does not end a process that holds a pod; ShutdownSandbox does', async () => {
  const { task, sandbox, shutdown } = servingProcess();
  await sandbox.createSandbox({ sandbox_id: 'sb1' });
  await sandbox.startSandbox({ sandbox_id: 'sb1' });
  await task.shutdown({ id: 'c1', now: false });
  assert.equal(shutdown.requested, false, 'the pod keeps its serving process');
  await task.shutdown({ id: 'c1', now: true });
  assert.equal(shutdown.requested, false, '`now` neither');
  await sandbox.shutdownSandbox({ sandbox_id: 'sb1' });
  await shutdown.done();
});

test('without a pod (a task-API-only serving process) Shutdown with no container left ends the process, as before', async () => {
  const { task, shutdown } = servingProcess();
  await task.shutdown({ id: 'c1', now: false });
  assert.equal(shutdown.requested, true);
  await shutdown.done();
});
