/**
 * runc never outlives its call, through the real serving process: a passed deadline or a client
 * gone SIGKILLs the runc of that call (Go: exec.CommandContext on the call's ctx), and a runc
 * still running when the serving process is SIGKILLed dies with it (containerd's NewRunc sets
 * PdeathSignal: SIGKILL; here setpriv --pdeathsig KILL). The runc is a wrapper (runtime option
 * BinaryName) that is the real runc for everything but `pause`, which it makes ten minutes long.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Code } from '../../src/errors';
import { decode, encode, packAny } from '../../src/proto';
import { dial } from '../../src/ttrpc/client';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { rawConnect } from '../helpers/ttrpc-raw';
import { busyboxRootfs } from '../helpers/rootfs';
import { runtimeArgs } from '../helpers/shim';
import { listTasks, uniqueId, waitForTask } from '../helpers/tasks';

const TASK = 'containerd.task.v2.Task';
const T = 'containerd.task.v2.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctd: Containerd;
let rootfs: string;
let dir: string;
let config: string;
const id = uniqueId('runc-lifetime');

before(async () => {
  ctd = await startContainerd({ name: 'runclife', logLevel: 'info' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  dir = path.join(ctd.dir, 'slow-pause');
  mkdirSync(dir, { recursive: true });
  const wrapper = path.join(dir, 'runc');
  // Slow: every `pause`, and `create` of an id ending -slowcreate.
  writeFileSync(
    wrapper,
    `#!/bin/sh\ncase " $* " in *" pause "*) echo $$ > "${dir}/pause.$$"; exec sleep 600;; *" create "*"-slowcreate ") echo $$ > "${dir}/create.$$"; exec sleep 600;; esac\nexec runc "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  config = path.join(dir, 'rx.toml');
  writeFileSync(config, `[runc]\nbinary_name = "${wrapper}"\n`);
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  await waitForTask(ctd, id, 'RUNNING');
});

/** A runc a failing test left behind (the wrapper's sleep) must not outlive the run. */
function killPauses(): void {
  for (const pid of [...pausePids(), ...slowPids('create')]) {
    try {
      if (/sleep/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

after(async () => {
  killPauses();
  await sleep(200);
  killPauses();
  await ctd?.stop();
});

const socket = () => readFileSync(path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id, 'address'), 'utf8').trim().replace(/^unix:\/\//, '');
const slowPids = (command: string) => (dir ? readdirSync(dir).filter((f) => f.startsWith(`${command}.`)).map((f) => Number(f.slice(command.length + 1))) : []);
const pausePids = () => slowPids('pause');

/** /proc's state letter of `pid`, or null once it is gone. */
function procState(pid: number): string | null {
  try {
    return /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
const ppidOf = (pid: number) => Number(/\) \S (\d+) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1]);

/** The pid of the slow `runc <command>` started after `known`, once it runs. */
async function newSlow(known: number[], command = 'pause'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const fresh = slowPids(command).filter((p) => !known.includes(p));
    if (fresh.length > 0 && /sleep/.test(readFileSync(`/proc/${fresh[0]}/cmdline`, 'utf8').replace(/\0/g, ' '))) return fresh[0];
    await sleep(25);
  }
  throw new Error(`the slow runc ${command} never started`);
}
const newPause = (known: number[]) => newSlow(known, 'pause');

/** Resolves with the time it took `pid` to be gone (or a zombie of some other reaper); rejects after `ms`. */
async function gone(pid: number, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const s = procState(pid);
    if (s === null || s === 'Z') return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`runc (pid ${pid}) still ${s} ${ms} ms on`);
    await sleep(20);
  }
}

test('Pause with a deadline: at the deadline its runc is SIGKILLed and the answer is DeadlineExceeded; the task runs on', { timeout: 60000 }, async () => {
  const c = await dial(socket());
  try {
    const known = pausePids();
    const call = c.call(TASK, 'Pause', encode(T + 'PauseRequest', { id }), { timeoutMs: 1000 });
    const pid = await newPause(known);
    await assert.rejects(call, (e: any) => {
      assert.equal(e.kind, 'DeadlineExceeded', e.message);
      return true;
    });
    const ms = await gone(pid, 2000);
    console.log(`# runc pause gone ${ms} ms after the deadline's answer`);
    // The failed pause sets the state back once its runc is reaped, which races our answer.
    let status = 0;
    for (let i = 0; i < 100 && status !== 2; i++, await sleep(20)) {
      status = decode(T + 'StateResponse', await c.call(TASK, 'State', encode(T + 'StateRequest', { id }))).status;
    }
    assert.equal(status, 2, 'RUNNING again once the pause failed');
  } finally {
    c.close();
  }
});

test('Pause whose client goes away: its runc is SIGKILLed', { timeout: 60000 }, async () => {
  const c = await dial(socket());
  const known = pausePids();
  const call = c.call(TASK, 'Pause', encode(T + 'PauseRequest', { id })).catch(() => undefined);
  const pid = await newPause(known);
  c.close();
  await call;
  const ms = await gone(pid, 2000);
  console.log(`# runc pause gone ${ms} ms after its client closed the connection`);
  await waitForTask(ctd, id, 'RUNNING', 5000);
});

test('Create with a 1 s timeout_nano whose runc create hangs: that runc is SIGKILLed, the answer is DeadlineExceeded, and no container, mount or process is left', { timeout: 60000 }, async () => {
  const slow = `${id}-slowcreate`;
  const bundle = path.join(dir, 'bundles', slow);
  mkdirSync(bundle, { recursive: true });
  writeFileSync(path.join(bundle, 'config.json'), readFileSync(path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id, 'config.json')));
  const options = packAny('runtimeoptions.v1.Options', { config_path: config });
  const create = encode(T + 'CreateTaskRequest', { id: slow, bundle, rootfs: [{ type: 'bind', source: rootfs, options: ['rbind', 'ro'] }], options });
  const raw = await rawConnect(socket());
  try {
    const known = slowPids('create');
    // The raw client has no deadline of its own: the answer is the server's.
    raw.request(1, TASK, 'Create', create, 1e9);
    const pid = await newSlow(known, 'create');
    const { streamId, res } = await raw.next(20000);
    assert.equal(streamId, 1);
    assert.equal(res.status.code, Code.DeadlineExceeded, res.status.message);
    const ms = await gone(pid, 2000);
    console.log(`# runc create gone ${ms} ms after the deadline's answer: ${res.status.message}`);
    // Create's undo (runc delete --force, the rootfs unmounted) runs after the kill: let it end.
    let left = '';
    for (let i = 0; i < 100; i++, await sleep(50)) {
      const mounted = readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${path.join(bundle, 'rootfs')} `);
      raw.request(3 + 2 * i, TASK, 'State', encode(T + 'StateRequest', { id: slow }));
      const state = (await raw.next()).res.status;
      left = mounted ? 'its rootfs is still mounted' : state.code !== Code.NotFound ? `State says ${state.code} ${state.message}` : '';
      if (!left) break;
    }
    assert.equal(left, '', 'no trace of the container');
  } finally {
    raw.socket.destroy();
  }
  // The shim's other container runs on.
  await waitForTask(ctd, id, 'RUNNING', 5000);
});

test('the serving process SIGKILLed while runc pause runs: that runc dies with it', { timeout: 60000 }, async () => {
  const initPid = (await listTasks(ctd)).get(id)!.pid;
  const c = await dial(socket());
  const known = pausePids();
  const call = c.call(TASK, 'Pause', encode(T + 'PauseRequest', { id })).catch(() => undefined);
  const pid = await newPause(known);
  const shim = ppidOf(pid);
  assert.match(readFileSync(`/proc/${shim}/cmdline`, 'utf8'), /containerd-shim-rx|shim\.js|main\.js/, `runc's parent ${shim} is the serving process`);
  process.kill(shim, 'SIGKILL');
  const ms = await gone(pid, 2000);
  console.log(`# runc pause gone ${ms} ms after the serving process was SIGKILLed`);
  await call;
  c.close();
  // containerd's clean-up of a dead shim (its delete action) ends the container; let it finish.
  const end = Date.now() + 20000;
  for (;;) {
    const row = (await listTasks(ctd)).get(id);
    const s = procState(initPid);
    if ((!row || row.status === 'STOPPED') && (s === null || s === 'Z')) break;
    if (Date.now() > end) throw new Error(`containerd did not clean up after the dead shim (task ${row?.status}, init ${s})`);
    await sleep(100);
  }
  await ctd.ctr(['task', 'delete', id]);
  assert.equal((await ctd.ctr(['container', 'delete', id])).code, 0);
});
