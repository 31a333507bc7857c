/**
 * The state table (src/task/state.ts) by behaviour: the service, over a fake runtime, is driven
 * into each state a process can be in, and every call the state refuses is made: each gets the
 * gRPC code Go's pkg/process gives it (containerd v2.3.7 cmd/containerd-shim-runc-v2/process
 * init_state.go, exec_state.go, deleted_state.go: FailedPrecondition where Go says "cannot ...",
 * NotFound where it wraps errdefs.ErrNotFound or checkKillError does), and the process stays
 * where it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, toStatus } from '../../../src/errors';
import { createReq, execReq, fakeTasks, type Hooks } from '../../helpers/fake-tasks';

type Ctx = ReturnType<typeof fakeTasks>;
const FP = Code.FailedPrecondition;
const NF = Code.NotFound;
const LINUX_RESOURCES = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', value: Buffer.from('{}') };

/** Every call on a container's init, by name. */
const initCalls: Record<string, (c: Ctx) => Promise<unknown>> = {
  start: (c) => c.service.start({ id: 'c1' }),
  delete: (c) => c.service.delete({ id: 'c1' }),
  kill: (c) => c.service.kill({ id: 'c1', signal: 15 }),
  pause: (c) => c.service.pause({ id: 'c1' }),
  resume: (c) => c.service.resume({ id: 'c1' }),
  update: (c) => c.service.update({ id: 'c1', resources: LINUX_RESOURCES }),
  checkpoint: (c) => c.service.checkpoint({ id: 'c1', path: '/tmp/rx-ckpt' }),
  stats: (c) => c.service.stats({ id: 'c1' }),
  exec: (c) => c.service.exec(execReq('e9')),
};

/** Every call on exec e1, by name. */
const execCalls: Record<string, (c: Ctx) => Promise<unknown>> = {
  start: (c) => c.service.start({ id: 'c1', exec_id: 'e1' }),
  delete: (c) => c.service.delete({ id: 'c1', exec_id: 'e1' }),
  kill: (c) => c.service.kill({ id: 'c1', exec_id: 'e1', signal: 15 }),
};

const statusName: Record<number, string> = { 1: 'CREATED', 2: 'RUNNING', 3: 'STOPPED', 4: 'PAUSED', 5: 'PAUSING' };

async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (err) {
    return toStatus(err).code;
  }
  return Code.OK;
}

/** A way into one state: the calls that lead there from nothing, and the status State then shows. */
interface Into {
  hooks?: Hooks;
  enter(c: Ctx): Promise<void>;
  status: string;
}

async function running(c: Ctx): Promise<number> {
  const { pid } = await c.service.create(createReq());
  await c.service.start({ id: 'c1' });
  return pid;
}

/** The refusals a state makes: call name -> its gRPC code, each checked from a fresh service in that state. */
async function refuses(kind: 'init' | 'exec', into: Into, expected: Record<string, number>): Promise<void> {
  const calls = kind === 'init' ? initCalls : execCalls;
  for (const [name, code] of Object.entries(expected)) {
    const c = fakeTasks(into.hooks);
    await into.enter(c);
    const got = await codeOf(calls[name](c));
    assert.equal(got, code, `${kind} ${into.status}: ${name} answers code ${got}, Go's is ${code}`);
    const state = await c.service.state({ id: 'c1', exec_id: kind === 'exec' ? 'e1' : '' });
    assert.equal(statusName[state.status], into.status, `${kind} ${into.status}: still ${into.status} after the refused ${name}`);
  }
}

test('init created (Create): Pause, Resume and Checkpoint are FailedPrecondition (Go createdState)', async () => {
  await refuses('init', { enter: async (c) => void (await c.service.create(createReq())), status: 'CREATED' }, { pause: FP, resume: FP, checkpoint: FP });
});

test('init created from a checkpoint: Pause, Resume, Checkpoint and Exec are FailedPrecondition (Go createdCheckpointState); Start restores it', async () => {
  const fromCheckpoint = async (c: Ctx) => void (await c.service.create({ ...createReq(), checkpoint: '/tmp/rx-image' }));
  await refuses('init', { enter: fromCheckpoint, status: 'CREATED' }, { pause: FP, resume: FP, checkpoint: FP, exec: FP, stats: FP });
  const c = fakeTasks();
  await fromCheckpoint(c);
  assert.equal((await c.service.start({ id: 'c1' })).pid, 1001, 'restored: its pid is the one restore gave');
  assert.deepEqual(c.calls.filter((x) => /^(create|start|restore)/.test(x)), ['restore c1'], 'Start restores, never runc create or start');
  assert.equal((await c.service.state({ id: 'c1' })).status, 2, 'RUNNING');
  assert.equal(await codeOf(c.service.start({ id: 'c1' })), FP, 'and cannot be restored twice');
});

test('init running: Start, Delete and Resume are FailedPrecondition (Go runningState)', async () => {
  await refuses('init', { enter: async (c) => void (await running(c)), status: 'RUNNING' }, { start: FP, delete: FP, resume: FP });
});

test('init pausing (runc pause under way): Exec is FailedPrecondition; Kill and Stats answer; a failed pause goes back to running', async () => {
  let release!: (err?: Error) => void;
  const hooks: Hooks = { onPause: () => new Promise<void>((ok, fail) => (release = (err) => (err ? fail(err) : ok()))) };
  const pausing = async (c: Ctx) => {
    await running(c);
    void c.service.pause({ id: 'c1' }).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
  };
  await refuses('init', { hooks, enter: pausing, status: 'PAUSING' }, { exec: FP });
  const c = fakeTasks(hooks);
  await pausing(c);
  assert.equal(await codeOf(c.service.kill({ id: 'c1', signal: 0 })), Code.OK);
  assert.equal(await codeOf(c.service.stats({ id: 'c1' })), Code.OK);
  release(new Error('runc pause failed'));
  await new Promise((r) => setImmediate(r));
  assert.equal(statusName[(await c.service.state({ id: 'c1' })).status], 'RUNNING');
});

test('init paused: Start, Delete, Pause and Exec are FailedPrecondition (Go pausedState); Resume runs it again', async () => {
  const paused = async (c: Ctx) => {
    await running(c);
    await c.service.pause({ id: 'c1' });
  };
  await refuses('init', { enter: paused, status: 'PAUSED' }, { start: FP, delete: FP, pause: FP, exec: FP });
  const c = fakeTasks();
  await paused(c);
  await c.service.resume({ id: 'c1' });
  assert.equal(statusName[(await c.service.state({ id: 'c1' })).status], 'RUNNING');
});

test('init stopped (its exit recorded): Kill is NotFound without runc (Go checkKillError); Start, Pause, Resume, Update, Checkpoint, Exec, Stats FailedPrecondition (Go stoppedState)', async () => {
  const stopped = async (c: Ctx) => {
    const pid = await running(c);
    c.exits$.next({ pid, status: 0, time: new Date() });
  };
  await refuses('init', { enter: stopped, status: 'STOPPED' }, { kill: NF, start: FP, pause: FP, resume: FP, update: FP, checkpoint: FP, exec: FP, stats: FP });
  const c = fakeTasks();
  await stopped(c);
  await c.service.kill({ id: 'c1', signal: 9, all: true });
  assert.ok(c.calls.includes('kill c1 9'), 'kill --all still goes to runc: what is left in a shared pid namespace');
  assert.ok(!c.calls.includes('kill c1 15'), 'the refused Kill never reached runc');
});

test('init paused that exits is stopped: its exit wins over the state it was in', async () => {
  const c = fakeTasks();
  const pid = await running(c);
  await c.service.pause({ id: 'c1' });
  c.exits$.next({ pid, status: 137, time: new Date() });
  assert.equal(statusName[(await c.service.state({ id: 'c1' })).status], 'STOPPED');
  assert.equal(await codeOf(c.service.resume({ id: 'c1' })), FP);
});

/** Lets the service's exit work (initExited, the resume behind the process's lock) run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

test('init paused that exits: the container is resumed, after what is left was killed (Go pausedState.SetExited; KillAll comes first in handleProcessExit)', async () => {
  const c = fakeTasks();
  const pid = await running(c);
  await c.service.pause({ id: 'c1' });
  c.exits$.next({ pid, status: 137, time: new Date() });
  await settle();
  const after = c.calls.slice(c.calls.indexOf('pause c1') + 1);
  assert.deepEqual(after, ['initExited c1', 'resume c1'], 'a frozen cgroup with a dead init: runc says paused and refuses delete until it is thawed');
});

test('init pausing (runc pause under way) that exits: resumed once runc pause has returned (Go SetExited waits for the lock Pause holds)', async () => {
  let release!: () => void;
  const c = fakeTasks({ onPause: () => new Promise<void>((r) => (release = r)) });
  const pid = await running(c);
  const pause = codeOf(c.service.pause({ id: 'c1' }));
  await settle();
  c.exits$.next({ pid, status: 137, time: new Date() });
  await settle();
  assert.ok(!c.calls.includes('resume c1'), 'not while runc pause still runs');
  release();
  await pause;
  await settle();
  assert.equal(c.calls.at(-1), 'resume c1');
  assert.equal(statusName[(await c.service.state({ id: 'c1' })).status], 'STOPPED');
});

test('init running that exits: no resume (only a paused or pausing init is thawed)', async () => {
  const c = fakeTasks();
  const pid = await running(c);
  c.exits$.next({ pid, status: 0, time: new Date() });
  await settle();
  assert.ok(c.calls.includes('initExited c1'));
  assert.ok(!c.calls.includes('resume c1'));
});

test('init deleted: a Delete or Kill that waited its turn behind the Delete is NotFound, an Update FailedPrecondition (Go deletedState); afterwards every call is NotFound', async () => {
  let release!: () => void;
  const c = fakeTasks({ onDelete: () => new Promise<void>((r) => (release = r)) });
  await c.service.create(createReq());
  const first = c.service.delete({ id: 'c1' });
  await new Promise((r) => setImmediate(r));
  const again = codeOf(c.service.delete({ id: 'c1' }));
  const update = codeOf(c.service.update({ id: 'c1', resources: LINUX_RESOURCES }));
  release();
  await first;
  assert.equal(await again, NF);
  assert.equal(await update, FP);
  for (const [name, call] of Object.entries(initCalls)) assert.equal(await codeOf(call(c)), NF, `${name} of a deleted container`);
});

const withExec = async (c: Ctx) => {
  const pid = await running(c);
  await c.service.exec(execReq('e1'));
  return pid;
};

test('exec created (Exec): Kill is FailedPrecondition, it has no pid yet (Go execProcess.kill)', async () => {
  await refuses('exec', { enter: async (c) => void (await withExec(c)), status: 'CREATED' }, { kill: FP });
});

test('exec running: Start and Delete are FailedPrecondition (Go execRunningState)', async () => {
  const started = async (c: Ctx) => {
    await withExec(c);
    await c.service.start({ id: 'c1', exec_id: 'e1' });
  };
  await refuses('exec', { enter: started, status: 'RUNNING' }, { start: FP, delete: FP });
});

test('exec stopped: Start is FailedPrecondition (Go execStoppedState), Kill NotFound (already finished)', async () => {
  const stopped = async (c: Ctx) => {
    await withExec(c);
    const { pid } = await c.service.start({ id: 'c1', exec_id: 'e1' });
    c.exits$.next({ pid, status: 0, time: new Date() });
  };
  await refuses('exec', { enter: stopped, status: 'STOPPED' }, { start: FP, kill: NF });
});

test('exec deleted: a Delete that waited its turn behind the Delete is NotFound, a Start FailedPrecondition (Go deletedState)', async () => {
  const c = fakeTasks();
  await withExec(c);
  const first = c.service.delete({ id: 'c1', exec_id: 'e1' });
  const again = codeOf(c.service.delete({ id: 'c1', exec_id: 'e1' }));
  const start = codeOf(c.service.start({ id: 'c1', exec_id: 'e1' }));
  await first;
  assert.equal(await again, NF);
  assert.equal(await start, FP);
  assert.equal(await codeOf(execCalls.kill(c)), NF, 'gone: NotFound');
});

test('a refusal names the process and its state', async () => {
  const c = fakeTasks();
  await running(c);
  await assert.rejects(c.service.delete({ id: 'c1' }), /cannot delete init process c1: it is running/);
  await c.service.exec(execReq('e1'));
  await assert.rejects(c.service.kill({ id: 'c1', exec_id: 'e1', signal: 9 }), /cannot kill exec process c1\/e1: it is created/);
});
