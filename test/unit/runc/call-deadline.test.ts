/**
 * The ttrpc call's context reaches runc through the whole serving stack: the registry's
 * dispatch, the task binding, the task service and the runc runtime with an injected spawner.
 * A Create whose deadline passes while runc create runs SIGKILLs that runc (Go: exec.CommandContext
 * on the call's ctx) and leaves no container; one aborted just after runc create succeeded
 * deletes what runc made, so containerd's clean-up by id (a Delete that finds nothing) leaks nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, isKind } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { encode, packAny } from '../../../src/proto';
import { runcRuntime } from '../../../src/runc/runtime';
import type { Spawner } from '../../../src/runc/spawner';
import { createShutdown } from '../../../src/streams/shutdown$';
import { TaskService } from '../../../src/task/service';
import { TASK_SERVICE, taskHandlers } from '../../../src/task/ttrpc-binding';
import { ServiceRegistry } from '../../../src/ttrpc/services';

const T = 'containerd.task.v2.';
let dir: string;
let fakeRunc: string;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-call-deadline-'));
  fakeRunc = path.join(dir, 'runc');
  // A runc that says each command it is asked; `create` of an id starting "slow" sleeps ten
  // minutes, any other create writes its pid file and succeeds.
  writeFileSync(
    fakeRunc,
    `#!/bin/sh
cmd=; pidf=; for a; do case "$a" in create|delete|start|kill) [ -z "$cmd" ] && cmd=$a;; esac; done
prev=; for a; do [ "$prev" = --pid-file ] && pidf=$a; prev=$a; last=$a; done
echo "$cmd $last" >> "${dir}/calls"
if [ "$cmd" = create ]; then
  case "$last" in slow*) exec sleep 600;; esac
  echo $$ > "$pidf"
fi
exit 0
`,
  );
  chmodSync(fakeRunc, 0o755);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** The state letter of `pid` in /proc, or null once it is gone (a zombie is 'Z'). */
function procState(pid: number): string | null {
  try {
    return /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The serving stack over the fake runc; `onChild` sees each runc child the spawner starts. */
function stack(onChild: (command: string, child: ReturnType<typeof spawn>) => void) {
  const spawner: Spawner = (file, args, opts) => {
    const child = spawn(file, args, opts);
    onChild(args.find((a) => ['create', 'delete', 'start', 'kill'].includes(a)) ?? '', child);
    return child;
  };
  const service = new TaskService({
    namespace: 'rx-unit',
    runtime: runcRuntime({ namespace: 'rx-unit', log: silentLogger(), spawner }),
    shutdown: createShutdown(),
    log: silentLogger(),
    version: '0',
  });
  const registry = new ServiceRegistry();
  registry.register(TASK_SERVICE, taskHandlers(service));
  return { service, registry };
}

function createRequest(id: string, timeoutNano: number) {
  const bundle = path.join(dir, id);
  mkdirSync(bundle, { recursive: true });
  const options = packAny('containerd.runc.v1.Options', { binary_name: fakeRunc, root: path.join(dir, 'root') });
  const payload = encode(T + 'CreateTaskRequest', { id, bundle, options });
  return { service: TASK_SERVICE, method: 'Create', payload, timeoutNano, metadata: [] as Array<[string, string]> };
}

const calls = (id: string) => (existsSync(path.join(dir, 'calls')) ? readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').filter((l) => l.endsWith(` ${id}`)) : []);

test('a Create whose deadline passes while runc create runs: that runc is SIGKILLed, the answer is DeadlineExceeded, no container is left', { timeout: 20000 }, async () => {
  let create: ReturnType<typeof spawn> | undefined;
  const { service, registry } = stack((command, child) => command === 'create' && (create = child));
  const result = await registry.dispatch(createRequest('slow1', 300e6));
  assert.equal(result.status.code, Code.DeadlineExceeded, result.status.message);
  assert.ok(create?.pid, 'runc create was spawned');
  // The answer comes at the deadline; the kill lands as the abort's SIGKILL is delivered.
  for (let i = 0; i < 100 && procState(create.pid) !== null; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(procState(create.pid), null, `runc create (pid ${create.pid}) is gone, not left sleeping`);
  assert.equal(create.signalCode, 'SIGKILL');
  // Its clean-up (runc delete --force) runs after the kill, not under the aborted signal.
  for (let i = 0; i < 100 && calls('slow1').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(calls('slow1'), ['create slow1', 'delete slow1']);
  await assert.rejects(service.state({ id: 'slow1' }), (e) => isKind(e, 'NotFound'));
});

test('a Create aborted just after runc create succeeded deletes that container and answers Canceled', { timeout: 20000 }, async () => {
  const gone = new AbortController();
  // The client goes away as runc create ends: too late to kill it, so runc made the container.
  const { service, registry } = stack((command, child) => command === 'create' && child.once('close', () => gone.abort(new Error('ttrpc: connection closed'))));
  const result = await registry.dispatch(createRequest('quick1', 0), gone.signal);
  assert.equal(result.status.code, Code.Canceled, result.status.message);
  assert.deepEqual(calls('quick1'), ['create quick1', 'delete quick1']);
  await assert.rejects(service.state({ id: 'quick1' }), (e) => isKind(e, 'NotFound'));
});

test('a Create that is not aborted keeps its container (the fake runc makes one)', { timeout: 20000 }, async () => {
  const { service, registry } = stack(() => {});
  const result = await registry.dispatch(createRequest('quick2', 5000e6));
  assert.equal(result.status.code, Code.OK, result.status.message);
  assert.deepEqual(calls('quick2'), ['create quick2']);
  assert.equal((await service.state({ id: 'quick2' })).id, 'quick2');
});
