import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Subject } from 'rxjs';
import { ShimError } from '../../../src/errors';
import type { Exit } from '../../../src/streams/exits$';
import { createReq, execReq, fakeTasks } from '../../helpers/fake-tasks';

const setup = fakeTasks;
const kindOf = (kind: string) => (err: unknown) => err instanceof ShimError && err.kind === kind;

test('create, start, exit, delete publish create, start, exit, delete in that order with the exit status', async () => {
  const { service, exits$, published, topics } = setup();
  const { pid } = await service.create(createReq());
  await service.start({ id: 'c1', exec_id: '' });
  const waited = service.wait({ id: 'c1', exec_id: '' });
  exits$.next({ pid, status: 3, time: new Date(5000) });
  assert.equal((await waited).exit_status, 3);
  const del = await service.delete({ id: 'c1', exec_id: '' });
  assert.equal(del.exit_status, 3);
  assert.deepEqual(topics(), ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
  assert.equal(published[2].event.exit_status, 3);
  assert.equal(published[2].event.id, 'c1', 'TaskExit.id of an init is the container id');
});

test('an init that exits before Start returns still has TaskExit published after TaskStart', async () => {
  let exits$!: Subject<Exit>;
  let pid = 0;
  const ctx = setup({ onStart: () => exits$.next({ pid, status: 0, time: new Date() }) });
  exits$ = ctx.exits$;
  pid = (await ctx.service.create(createReq())).pid;
  await ctx.service.start({ id: 'c1' });
  assert.deepEqual(ctx.topics(), ['/tasks/create', '/tasks/start', '/tasks/exit']);
  const state = await ctx.service.state({ id: 'c1' });
  assert.equal(state.status, 3, 'STOPPED, not RUNNING, after an exit during start');
});

test('an exit reaped while runc create runs, before the pid is known, is kept and matched when the pid is claimed', async () => {
  let exits$!: Subject<Exit>;
  const ctx = setup({ onCreate: (pid) => exits$.next({ pid, status: 7, time: new Date() }) });
  exits$ = ctx.exits$;
  await ctx.service.create(createReq());
  const w = await ctx.service.wait({ id: 'c1' });
  assert.equal(w.exit_status, 7);
});

test('OOM is watched from Create on, as the Go shim: an init that hits its limit as it starts still gets TaskOOM', async () => {
  const { service, calls } = setup();
  const { pid } = await service.create(createReq());
  assert.ok(calls.includes(`oom.watch ${pid}`), `watched after create, before start: ${calls.join(', ')}`);
  await service.start({ id: 'c1' });
  assert.equal(calls.filter((c) => c.startsWith('oom.watch')).length, 1, 'watched once, not again at start');
});

test('an init that exits while runc kill still runs: Kill answers at the exit, not when runc returns (containerd 1.6 closes the connection on that exit)', async () => {
  let release!: () => void;
  const runcKill = new Promise<void>((r) => (release = r));
  const ctx = setup({ onKill: () => runcKill });
  const { pid } = await ctx.service.create(createReq());
  await ctx.service.start({ id: 'c1' });
  let answered = false;
  const kill = ctx.service.kill({ id: 'c1', signal: 9 }).then(() => (answered = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, false, 'waits on runc while the init runs');
  ctx.exits$.next({ pid, status: 137, time: new Date() });
  await kill;
  assert.equal(answered, true, 'answered once the exit is recorded, runc kill still running');
  release();
});

test('a Kill that runc answers leaves no exit waiter behind (repeated signals to a running init)', async () => {
  const ctx = setup();
  const { pid } = await ctx.service.create(createReq());
  await ctx.service.start({ id: 'c1' });
  for (let i = 0; i < 100; i++) await ctx.service.kill({ id: 'c1', signal: 1 });
  const c = ctx.service.snapshot().containers[0];
  assert.equal((c.init as unknown as { waiters: unknown[] }).waiters.length, 0);
  ctx.exits$.next({ pid, status: 0, time: new Date() });
});

test('an exit reaped while no start is in flight is not handed to a later process given the same pid', async () => {
  const ctx = setup();
  ctx.exits$.next({ pid: 1001, status: 7, time: new Date() }); // the next pid the fake hands out: a recycled one
  const { pid } = await ctx.service.create(createReq());
  assert.equal(pid, 1001);
  assert.equal((await ctx.service.state({ id: 'c1' })).status, 1, 'CREATED, not STOPPED by the old exit');
  await ctx.service.start({ id: 'c1' });
  const waited = ctx.service.wait({ id: 'c1' });
  ctx.exits$.next({ pid, status: 0, time: new Date() });
  assert.equal((await waited).exit_status, 0);
});

test('errors as containerd expects them: unknown id NotFound, duplicate AlreadyExists, Delete of a running task FailedPrecondition', async () => {
  const { service } = setup();
  await assert.rejects(service.state({ id: 'nope' }), kindOf('NotFound'));
  await service.create(createReq());
  await assert.rejects(service.create(createReq()), kindOf('AlreadyExists'));
  await service.start({ id: 'c1' });
  await assert.rejects(service.start({ id: 'c1' }), (e: unknown) => kindOf('FailedPrecondition')(e) && /cannot start init process c1: it is running/.test((e as Error).message));
  await assert.rejects(service.delete({ id: 'c1' }), (e: unknown) => kindOf('FailedPrecondition')(e) && /cannot delete init process c1: it is running/.test((e as Error).message));
  await assert.rejects(service.state({ id: 'c1', exec_id: 'x' }), kindOf('NotFound'));
  await assert.rejects(service.create({ ...createReq('c2'), bundle: 'relative' }), kindOf('InvalidArgument'));
});

test('rootfs mounts are mounted at bundle/rootfs on create and unmounted on delete', async () => {
  const { service, exits$, calls } = setup();
  const { pid } = await service.create(createReq('c1', [{ type: 'bind', source: '/x', options: ['rbind'] }]));
  // mkdir of /tmp/bundle-c1/rootfs happens for real; the mount is the fake's.
  assert.ok(calls.includes('mount /tmp/bundle-c1/rootfs'));
  await service.start({ id: 'c1' });
  exits$.next({ pid, status: 0, time: new Date() });
  await service.wait({ id: 'c1' });
  await service.delete({ id: 'c1' });
  assert.ok(calls.includes('unmount /tmp/bundle-c1/rootfs'));
  assert.ok(calls.indexOf('delete c1') < calls.indexOf('unmount /tmp/bundle-c1/rootfs'), 'runc delete before unmount');
});

test('Shutdown keeps serving while containers remain, and shuts down once the last is deleted', async () => {
  const { service, exits$, shutdown } = setup();
  const { pid } = await service.create(createReq());
  await service.shutdown({ id: 'c1', now: false });
  assert.equal(shutdown.requested, false);
  await service.start({ id: 'c1' });
  exits$.next({ pid, status: 0, time: new Date() });
  await service.wait({ id: 'c1' });
  await service.delete({ id: 'c1' });
  await service.shutdown({ id: 'c1', now: false });
  assert.equal(shutdown.requested, true);
  await shutdown.done();
});

test('Kill of an init goes to runc with the signal; Kill of an unknown container is NotFound', async () => {
  const { service, calls } = setup();
  await service.create(createReq());
  await service.kill({ id: 'c1', signal: 9 });
  assert.ok(calls.includes('kill c1 9'));
  await assert.rejects(service.kill({ id: 'zz', signal: 9 }), kindOf('NotFound'));
});

const LINUX_RESOURCES = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

test('Update hands the LinuxResources JSON to runc update as an object', async () => {
  const { service, calls } = setup();
  await service.create(createReq());
  await service.start({ id: 'c1' });
  await service.update({ id: 'c1', resources: { type_url: LINUX_RESOURCES, value: Buffer.from('{"memory":{"limit":33554432}}') } });
  assert.ok(calls.includes('update c1 {"memory":{"limit":33554432}}'), calls.join(', '));
});

test('Update with resources that are not a JSON object is InvalidArgument naming LinuxResources, and runc is not called', async () => {
  const { service, calls } = setup();
  await service.create(createReq());
  await service.start({ id: 'c1' });
  for (const value of ['{memory', '[1]', '']) {
    await assert.rejects(service.update({ id: 'c1', resources: { type_url: LINUX_RESOURCES, value: Buffer.from(value) } }),
      (e: unknown) => kindOf('InvalidArgument')(e) && /update c1: resources .* must be OCI LinuxResources as JSON/.test((e as Error).message));
  }
  assert.ok(!calls.some((c) => c.startsWith('update')));
});

test('Stats of a running init returns the runtime\'s Any; of a stopped one is FailedPrecondition', async () => {
  const { service, exits$, calls } = setup();
  const { pid } = await service.create(createReq());
  await service.start({ id: 'c1' });
  assert.equal((await service.stats({ id: 'c1' })).stats.type_url, 'x');
  assert.ok(calls.includes('stats c1'));
  exits$.next({ pid, status: 0, time: new Date() });
  await service.wait({ id: 'c1' });
  await assert.rejects(service.stats({ id: 'c1' }), (e: unknown) => kindOf('FailedPrecondition')(e) && /cannot read the stats of init process c1: it is stopped/.test((e as Error).message));
});

test('an exec id deleted without a start and added again: the new exec\'s exit, reaped before its Start returns, is still published after its TaskExecStarted', async () => {
  let exits$!: Subject<Exit>;
  let exitAtExec = false;
  // The exec exits before runc exec returns its pid.
  const ctx = setup({ onExec: (pid) => exitAtExec && exits$.next({ pid, status: 0, time: new Date() }) });
  exits$ = ctx.exits$;
  await ctx.service.create(createReq());
  await ctx.service.start({ id: 'c1' });
  await ctx.service.exec(execReq('x'));
  await ctx.service.delete({ id: 'c1', exec_id: 'x' }); // never started
  await ctx.service.exec(execReq('x'));
  exitAtExec = true;
  await ctx.service.start({ id: 'c1', exec_id: 'x' });
  const t = ctx.topics();
  assert.deepEqual(t.slice(t.lastIndexOf('/tasks/exec-added')), ['/tasks/exec-added', '/tasks/exec-started', '/tasks/exit']);
});
