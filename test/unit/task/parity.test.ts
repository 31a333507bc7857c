/**
 * The Task service beside containerd's Go shim (cmd/containerd-shim-runc-v2 and pkg/process, 1.6
 * and 2.x): each test is one divergence of issue 11, answered as Go answers it.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Subject } from 'rxjs';
import { ShimError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import type { TaskEvent } from '../../../src/publisher/envelope';
import type { Exit } from '../../../src/streams/exits$';
import { createShutdown } from '../../../src/streams/shutdown$';
import { events$ } from '../../../src/pipeline';
import { runcOptions } from '../../../src/runc/options';
import type { ProcessResources } from '../../../src/task/process';
import { RuncContainerDriver } from '../../../src/runc/driver';
import { execFileName } from '../../../src/runc/facts';
import type { ContainerDriver, ContainerRuntime } from '../../../src/task/runtime';
import { TaskService } from '../../../src/task/service';

const kindOf = (kind: string) => (err: unknown) => err instanceof ShimError && err.kind === kind;
/** Go's time.Time{} as protobuf.ToTimestamp puts it on the wire. */
const GO_ZERO_SECONDS = -62135596800;

interface Fake {
  calls: string[];
  specs: unknown[];
  /** Replace a driver method for one test. */
  driver: ContainerDriver;
  drained?: () => Promise<void>;
}

function setup() {
  let nextPid = 1000;
  const fake: Fake = { calls: [], specs: [], driver: undefined as unknown as ContainerDriver };
  const resources = (): ProcessResources => ({
    drained: () => (fake.drained ? fake.drained() : Promise.resolve()),
    closeStdin: () => {},
    close: () => {},
    resize: (w, h) => void fake.calls.push(`resize ${w}x${h}`),
  });
  fake.driver = {
    create: async (id) => (fake.calls.push(`create ${id}`), { pid: ++nextPid, resources: resources() }),
    start: async (id) => void fake.calls.push(`start ${id}`),
    exec: async (id, execId, _b, _s, spec) => {
      fake.calls.push(`exec ${id} ${execId}`);
      fake.specs.push(spec);
      return { pid: ++nextPid, resources: resources() };
    },
    kill: async (id, sig) => void fake.calls.push(`kill ${id} ${sig}`),
    delete: async (id) => void fake.calls.push(`delete ${id}`),
    ps: async () => [],
    initExited: async () => {},
    pause: async (id) => void fake.calls.push(`pause ${id}`),
    resume: async (id) => void fake.calls.push(`resume ${id}`),
    stats: async () => ({ type_url: 'x', value: Buffer.alloc(0) }),
    update: async () => {},
    checkpoint: () => async () => {},
    restore: async () => ({ pid: ++nextPid, resources: resources() }),
  };
  const runtime: ContainerRuntime = {
    driver: () => fake.driver,
    mountAll: () => {},
    unmountAll: async () => {},
    watchOOM: () => ({ close: () => {} }),
    packProcessDetails: (execId) => ({ type_url: 'containerd.runc.v1.ProcessDetails', value: Buffer.from(execId) }),
  };
  const exits$ = new Subject<Exit>();
  const published: TaskEvent[] = [];
  const shutdown = createShutdown();
  const service = new TaskService({ namespace: 't', runtime, shutdown, log: silentLogger(), version: '0' });
  // The serving process's one stream: exits matched and recorded, start before exit, exec exits before their init's.
  events$(exits$, service, () => (o) => o).subscribe((e) => published.push(e));
  return { service, exits$, published, shutdown, fake };
}

const createReq = (id = 'c1') => ({ id, bundle: `/tmp/bundle-${id}`, rootfs: [], stdin: '', stdout: '', stderr: '', terminal: false });
const execSpec = (args: string[], extra: object = {}) => ({
  type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
  value: Buffer.from(JSON.stringify({ args, cwd: '/', ...extra })),
});

async function running(ctx: ReturnType<typeof setup>, id = 'c1') {
  const { pid } = await ctx.service.create(createReq(id));
  await ctx.service.start({ id });
  return pid;
}

test('Kill with signal 0 hands 0 to runc (a probe), not SIGTERM', async () => {
  const ctx = setup();
  await running(ctx);
  await ctx.service.kill({ id: 'c1', exec_id: '', signal: 0, all: false });
  assert.ok(ctx.fake.calls.includes('kill c1 0'), ctx.fake.calls.join(', '));
  assert.ok(!ctx.fake.calls.includes('kill c1 15'));
});

test('a failed exec Start releases its Wait (status 0, Go zero time); the exec stays created, Kill is FailedPrecondition, Delete works', async () => {
  const ctx = setup();
  await running(ctx);
  ctx.fake.driver.exec = async () => {
    throw new ShimError('Unknown', 'runc exec failed: exec: "nope": executable file not found in $PATH');
  };
  await ctx.service.exec({ id: 'c1', exec_id: 'x', spec: execSpec(['nope']) });
  const waited = ctx.service.wait({ id: 'c1', exec_id: 'x' });
  await assert.rejects(ctx.service.start({ id: 'c1', exec_id: 'x' }), /executable file not found/);
  const w = await waited;
  assert.equal(w.exit_status, 0);
  assert.equal(w.exited_at.seconds, GO_ZERO_SECONDS);
  assert.equal((await ctx.service.wait({ id: 'c1', exec_id: 'x' })).exit_status, 0, 'a later Wait is answered too');
  assert.equal((await ctx.service.state({ id: 'c1', exec_id: 'x' })).status, 1, 'CREATED');
  await assert.rejects(ctx.service.kill({ id: 'c1', exec_id: 'x', signal: 9 }), kindOf('FailedPrecondition'));
  await ctx.service.delete({ id: 'c1', exec_id: 'x' });
  assert.ok(!ctx.published.some((e) => e.topic === '/tasks/exit'), 'no TaskExit for an exec that never ran');
});

test('Kill of a never-started exec is FailedPrecondition (Go execProcess.kill: pid 0); of a finished one NotFound', async () => {
  const ctx = setup();
  await running(ctx);
  await ctx.service.exec({ id: 'c1', exec_id: 'e', spec: execSpec(['sh']) });
  await assert.rejects(ctx.service.kill({ id: 'c1', exec_id: 'e', signal: 9 }), kindOf('FailedPrecondition'));
  const { pid } = await ctx.service.start({ id: 'c1', exec_id: 'e' });
  ctx.exits$.next({ pid, status: 1, time: new Date() });
  await ctx.service.wait({ id: 'c1', exec_id: 'e' });
  await assert.rejects(ctx.service.kill({ id: 'c1', exec_id: 'e', signal: 9 }), kindOf('NotFound'));
});

test('Shutdown while a Create is in flight waits for it, and the created container keeps the process serving', async () => {
  const ctx = setup();
  let finish!: () => void;
  const create = ctx.fake.driver.create;
  ctx.fake.driver.create = async (...args) => {
    await new Promise<void>((r) => (finish = r));
    return create(...args);
  };
  const created = ctx.service.create(createReq('c2'));
  await new Promise((r) => setImmediate(r));
  let answered = false;
  const shutdown = ctx.service.shutdown({ now: false }).then(() => (answered = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, false, 'Shutdown waits for the Create under way (Go 1.6: both hold s.mu)');
  assert.equal(ctx.shutdown.requested, false);
  finish();
  await created;
  await shutdown;
  assert.equal(ctx.shutdown.requested, false, 'a container was created: keep serving');
  assert.equal(ctx.service.size, 1);
});

test('Shutdown while a Create is in flight that fails shuts down after it; a Create after shutdown began is refused', async () => {
  const ctx = setup();
  let fail!: () => void;
  ctx.fake.driver.create = () => new Promise((_, reject) => (fail = () => reject(new ShimError('Unknown', 'runc create failed'))));
  const created = ctx.service.create(createReq('c3')).catch((e) => e);
  await new Promise((r) => setImmediate(r));
  const shutdown = ctx.service.shutdown({ now: false });
  fail();
  assert.match(String(await created), /runc create failed/);
  await shutdown;
  assert.equal(ctx.shutdown.requested, true);
  await assert.rejects(ctx.service.create(createReq('c4')), (e: unknown) => kindOf('FailedPrecondition')(e) && /shutting down/.test((e as Error).message));
});

test('Shutdown{now} with containers left keeps serving, as Go (which never reads now)', async () => {
  const ctx = setup();
  await running(ctx);
  await ctx.service.shutdown({ now: true });
  assert.equal(ctx.shutdown.requested, false);
});

test('an exec reports PAUSED while its container is paused (Go execProcess.Status), RUNNING again after resume', async () => {
  const ctx = setup();
  await running(ctx);
  await ctx.service.exec({ id: 'c1', exec_id: 'e', spec: execSpec(['sh']) });
  await ctx.service.start({ id: 'c1', exec_id: 'e' });
  await ctx.service.pause({ id: 'c1' });
  assert.equal((await ctx.service.state({ id: 'c1', exec_id: 'e' })).status, 4, 'PAUSED');
  await ctx.service.resume({ id: 'c1' });
  assert.equal((await ctx.service.state({ id: 'c1', exec_id: 'e' })).status, 2, 'RUNNING');
});

test("an exec's terminal is the request's, written into the spec runc gets (Go Init.exec: spec.Terminal = r.Terminal)", async () => {
  const ctx = setup();
  await running(ctx);
  await ctx.service.exec({ id: 'c1', exec_id: 'e', terminal: false, spec: execSpec(['sh'], { terminal: true }) });
  await ctx.service.start({ id: 'c1', exec_id: 'e' });
  assert.equal((ctx.fake.specs[0] as { terminal: boolean }).terminal, false);
  assert.equal((await ctx.service.state({ id: 'c1', exec_id: 'e' })).terminal, false);
});

test('ResizePty of a process without a terminal is ignored (Go: no console, nil)', async () => {
  const ctx = setup();
  await running(ctx);
  await ctx.service.resizePty({ id: 'c1', exec_id: '', width: 80, height: 24 });
  assert.ok(!ctx.fake.calls.some((c) => c.startsWith('resize')));
});

test('an exec named like its container: its TaskExit and the init\'s are both published', async () => {
  const ctx = setup();
  const initPid = await running(ctx);
  await ctx.service.exec({ id: 'c1', exec_id: 'c1', spec: execSpec(['sh']) });
  const { pid } = await ctx.service.start({ id: 'c1', exec_id: 'c1' });
  ctx.exits$.next({ pid, status: 3, time: new Date() });
  assert.equal((await ctx.service.wait({ id: 'c1', exec_id: 'c1' })).exit_status, 3);
  ctx.exits$.next({ pid: initPid, status: 0, time: new Date() });
  await ctx.service.wait({ id: 'c1' });
  const exits = ctx.published.filter((e) => e.topic === '/tasks/exit').map((e) => `${e.event.pid}:${e.event.exit_status}`);
  assert.deepEqual(exits, [`${pid}:3`, `${initPid}:0`]);
});

test('Delete and State of a never-started task report exited_at as Go\'s zero time (-62135596800 s), not 1970', async () => {
  const ctx = setup();
  await ctx.service.create(createReq());
  assert.equal((await ctx.service.state({ id: 'c1' })).exited_at.seconds, GO_ZERO_SECONDS);
  const del = await ctx.service.delete({ id: 'c1' });
  assert.equal(del.exited_at.seconds, GO_ZERO_SECONDS);
  const ev = ctx.published.find((e) => e.topic === '/tasks/delete');
  assert.equal((ev?.event.exited_at as { seconds: number }).seconds, GO_ZERO_SECONDS);
});

test('Wait answers once the output is drained (not at the bare exit, where Go does: a client that deletes right after Wait cancels a FIFO copy still opening), and so does Delete', async () => {
  const ctx = setup();
  const pid = await running(ctx);
  let drain!: () => void;
  const drained = new Promise<void>((r) => (drain = r));
  ctx.fake.drained = () => drained;
  // No timer may end the wait: only the exit, or the drain.
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let waited = false;
    const w = ctx.service.wait({ id: 'c1' }).then(() => (waited = true));
    ctx.exits$.next({ pid, status: 0, time: new Date() });
    await new Promise((r) => setImmediate(r));
    assert.equal(waited, false, 'Wait holds its answer while the output is still being copied');
    drain();
    await w;
    assert.equal(waited, true);
    await ctx.service.delete({ id: 'c1' });
  } finally {
    mock.timers.reset();
  }
});

/** A runc stand-in: kill says runc's "container not running"; exec records its spec file's mode and writes the pid. */
function fakeRunc(dir: string): string {
  const file = path.join(dir, 'runc');
  writeFileSync(
    file,
    `#!/bin/sh
log=""
while [ $# -gt 0 ]; do case "$1" in --log) log="$2"; shift 2;; --root|--log-format|--criu) shift 2;; --systemd-cgroup) shift;; *) break;; esac; done
cmd="$1"; shift
case "$cmd" in
kill) echo '{"level":"error","msg":"container not running","time":"2026-12-01T00:00:00Z"}' >> "$log"; exit 1;;
exec)
  while [ $# -gt 0 ]; do case "$1" in --process) spec="$2"; shift 2;; --pid-file) pidf="$2"; shift 2;; *) shift;; esac; done
  stat -c %a "$spec" >> "${dir}/modes"; echo "$spec" >> "${dir}/specs"; echo 4242 > "$pidf"; exit 0;;
esac
exit 0
`,
  );
  chmodSync(file, 0o755);
  return file;
}

test('Kill that finds the container not running (an exit not yet reaped) is NotFound, as Go checkKillError', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-parity-'));
  const driver = new RuncContainerDriver(dir, { ...runcOptions(null), binary_name: fakeRunc(dir), root: path.join(dir, 'root') }, { namespace: 't', log: silentLogger() });
  await assert.rejects(driver.kill('c1', 9, false, false), (e: unknown) => kindOf('NotFound')(e) && /container not running/.test((e as Error).message));
});

test('exec spec and pid files: 0600, one per exec id (a/b and a_b apart), and gone once the exec has started', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-parity-'));
  const driver = new RuncContainerDriver(dir, { ...runcOptions(null), binary_name: fakeRunc(dir), root: path.join(dir, 'root') }, { namespace: 't', log: silentLogger() });
  const stdio = { stdin: '', stdout: '', stderr: '', terminal: false };
  for (const execId of ['a/b', 'a_b']) {
    const s = await driver.exec('c1', execId, dir, stdio, { args: ['true'], env: ['SECRET=1'] });
    assert.equal(s.pid, 4242);
    s.resources.close();
  }
  assert.deepEqual(readFileSync(path.join(dir, 'modes'), 'utf8').trim().split('\n'), ['600', '600']);
  const specs = readFileSync(path.join(dir, 'specs'), 'utf8').trim().split('\n');
  assert.notEqual(specs[0], specs[1], 'a/b and a_b get files of their own');
  for (const spec of specs) assert.equal(path.dirname(spec), path.join(dir, 'execs'), 'inside the bundle');
  assert.deepEqual(readdirSync(path.join(dir, 'execs')), [], 'nothing left behind');
  assert.notEqual(execFileName('a/b'), execFileName('a_b'));
  assert.notEqual(execFileName('..'), '..');
  assert.ok(!execFileName('../x').includes('/'));
});
