/**
 * Faults around the shim, on a private containerd with real runc: containerd dying and coming
 * back, the serving process SIGKILLed, runc missing or failing, a broken config.json, a rootfs
 * mount that fails, the log fifo's reader gone. Each test prints its figures as '# ' lines.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, encode } from '../../src/proto';
import { dial } from '../../src/ttrpc/client';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { shimAddressOf } from '../helpers/bundle';
import { busyboxRootfs } from '../helpers/rootfs';
import { buildBusyboxImage, importImage } from '../helpers/image';
import { watchEvents } from '../helpers/events';
import { assertNoLeaks, mountsUnder, settleLeaks, snapshotLeaks, type LeakSnapshot } from '../helpers/leaks';
import { run } from '../helpers/run';
import { runtimeArgs } from '../helpers/shim';
import { HOST } from '../helpers/host';
import { deleteTask, grpcError } from '../helpers/tasks-grpc';
import { listTasks, uniqueId, waitForTask } from '../helpers/tasks';

const IMAGE = 'docker.io/library/rxfaults:latest';
const T = 'containerd.task.v2.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctd: Containerd;
let rootfs: string;
let leaksBefore: LeakSnapshot;
let imageTar: string;

before(async () => {
  ctd = await startContainerd({ name: 'faults', logLevel: 'info' });
  leaksBefore = snapshotLeaks(ctd.dir);
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  imageTar = buildBusyboxImage(path.join(ctd.dir, 'image'), IMAGE);
  await importImage(ctd, imageTar);
});
after(async () => ctd?.stop());

const bundleOf = (id: string, ns = 'default') => path.join(ctd.state, 'io.containerd.runtime.v2.task', ns, id);
const socketOf = (id: string, ns = 'default') => shimAddressOf(bundleOf(id, ns)).socket;
/** the Task service containerd itself talks to this task's shim (v3 on 2.x: the Go shim serves no other) */
const serviceOf = (id: string, ns = 'default') => shimAddressOf(bundleOf(id, ns)).service;
async function shimPidOf(id: string, ns = 'default'): Promise<number> {
  const c = await dial(socketOf(id, ns));
  try {
    return decode(T + 'ConnectResponse', await c.call(serviceOf(id, ns), 'Connect', encode(T + 'ConnectRequest', { id }))).shim_pid;
  } finally {
    c.close();
  }
}
const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const children = (pid: number) =>
  readdirSync(`/proc/${pid}/task`)
    .flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/))
    .filter(Boolean)
    .map(Number);
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}
async function finish(id: string, ns = 'default') {
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id], { namespace: ns });
  await waitForTask(ctd, id, 'STOPPED', 10000, ns).catch(() => undefined);
  await ctd.ctr(['task', 'delete', id], { namespace: ns });
  await ctd.ctr(['container', 'delete', id], { namespace: ns });
}

test(`containerd restarts while containers run: the shim serves on, and a task that exited during the outage ends as the Go shim's does on containerd ${HOST.name} (${HOST.dropsTaskExitedWhileDown ? 'dropped, nothing left' : 'STOPPED with its status'})`, async () => {
  const keep = uniqueId('restart-keep');
  const brief = uniqueId('restart-brief');
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, keep, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  // From the image, so the brief one has a rootfs mount to leave behind or not.
  r = await ctd.ctr(['run', ...runtimeArgs(), '-d', IMAGE, brief, '/bin/sh', '-c', 'sleep 2; exit 7']);
  assert.equal(r.code, 0, r.stderr);
  const briefPid = (await listTasks(ctd)).get(brief)!.pid;
  const shims = [await shimPidOf(keep), await shimPidOf(brief)];
  const briefBundle = bundleOf(brief);
  assert.deepEqual(mountsUnder(briefBundle), [path.join(briefBundle, 'rootfs')]);

  // containerd down: the exit happens, and the publisher's first tries fail.
  process.kill(ctd.pid(), 'SIGKILL');
  const downAt = Date.now();
  await until('the brief container exits', () => !alive(briefPid), 10000);
  const exitedAt = Date.now();
  // Back-off 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5 s: tries at +6.3 s and +11.3 s. Come back at +7 s,
  // so the watcher below is live well before the try that gets through.
  await sleep(7000 - (Date.now() - exitedAt));
  await ctd.restart();
  const events = watchEvents(ctd, ['topic=="/tasks/exit"']);
  await events.ready;
  console.log(`# containerd down ${((Date.now() - downAt) / 1000).toFixed(1)} s; the container exited ${((exitedAt - downAt) / 1000).toFixed(1)} s into the outage`);

  if (HOST.dropsTaskExitedWhileDown) {
    // containerd reaped it while loading: its serving process, bundle, mount and runc state go.
    await until('the brief task\'s serving process leaves', () => !alive(shims[1]));
    assert.equal((await listTasks(ctd)).get(brief), undefined, 'containerd dropped the task');
    assert.equal(existsSync(briefBundle), false, 'its bundle is removed');
    assert.deepEqual(mountsUnder(ctd.dir).filter((m) => m.includes(brief)), [], 'its rootfs is unmounted');
    const state = await run('runc', ['--root', '/run/containerd/runc/default', 'state', brief]);
    assert.notEqual(state.code, 0, `runc state still there: ${state.stdout}`);
    await assert.rejects(deleteTask(ctd.address, 'default', brief), grpcError('NOT_FOUND', [brief]));
    // The Go shim's exit, published into the outage, is lost; ours may still get through once.
    await sleep(6000);
    const exits = events.events().filter((e) => e.event?.container_id === brief);
    console.log(`# brief task dropped by containerd ${HOST.name} on reload; /tasks/exit of it seen after restart: ${exits.length}`);
    assert.ok(exits.length <= 1, `at most once: ${exits.length}`);
    if (exits.length) assert.equal(exits[0].event?.exit_status, 7);
    await events.stop();
  } else {
    const seen = await events.waitFor((es) => es.some((e) => e.event?.container_id === brief), 20000);
    await events.stop();
    const exits = seen.filter((e) => e.event?.container_id === brief);
    console.log(`# /tasks/exit of the brief container after restart: ${exits.length}, exit_status ${exits[0].event?.exit_status}, ${((Date.now() - exitedAt) / 1000).toFixed(1)} s after it exited`);
    assert.equal(exits.length, 1, 'delivered once');
    assert.equal(exits[0].event?.exit_status, 7);
    assert.ok(shims.every(alive), 'both serving processes lived through it');
    assert.equal((await listTasks(ctd)).get(brief)?.status, 'STOPPED');
  }

  assert.ok(alive(shims[0]), 'the running task\'s serving process lived through it');
  assert.equal((await listTasks(ctd)).get(keep)?.status, 'RUNNING');
  r = await ctd.ctr(['task', 'exec', '--exec-id', 'after', keep, '/bin/echo', 'still-serving']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'still-serving\n');
  if (!HOST.dropsTaskExitedWhileDown) {
    r = await ctd.ctr(['task', 'delete', brief]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /exit code 7/);
  }
  r = await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', keep]);
  assert.equal(r.code, 0, r.stderr);
  await waitForTask(ctd, keep, 'STOPPED');
  r = await ctd.ctr(['task', 'delete', keep]);
  assert.equal(r.code, 0, r.stderr);
  for (const id of [keep, brief]) assert.equal((await ctd.ctr(['container', 'delete', id])).code, 0);
  await until('both serving processes leave', () => !shims.some(alive));
  assert.deepEqual(mountsUnder(ctd.dir).filter((m) => m.includes(brief)), [], 'no rootfs mount of the brief task is left');
});

test('the serving process SIGKILLed: containerd\'s delete action removes runc state, the overlay rootfs and the container\'s processes', async () => {
  const id = uniqueId('shimkill');
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', IMAGE, id, '/bin/sh', '-c', 'sleep 600 & sleep 600']);
  assert.equal(r.code, 0, r.stderr);
  const initPid = (await listTasks(ctd)).get(id)!.pid;
  const bundle = bundleOf(id);
  assert.deepEqual(mountsUnder(bundle), [path.join(bundle, 'rootfs')], 'the image rootfs is an overlay mount');
  const shim = await shimPidOf(id);
  const containerPids = readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim().split(/\s+/).map(Number).concat(initPid);
  process.kill(shim, 'SIGKILL');
  const t0 = Date.now();
  await until('task STOPPED or gone', async () => {
    const row = (await listTasks(ctd)).get(id);
    return !row || row.status === 'STOPPED';
  });
  await until('container processes gone', () => !containerPids.some(alive));
  await until('rootfs unmounted', () => mountsUnder(bundle).length === 0);
  const state = await run('runc', ['--root', '/run/containerd/runc/default', 'state', id]);
  console.log(`# shim ${shim} killed; cleaned up in ${Date.now() - t0} ms; task: ${(await listTasks(ctd)).get(id)?.status ?? 'gone'}; runc state exit ${state.code}; processes left ${containerPids.filter(alive).length} of ${containerPids.length}`);
  assert.notEqual(state.code, 0, `runc state still there: ${state.stdout}`);
  r = await ctd.ctr(['task', 'delete', id]);
  assert.ok(r.code === 0 || /not found/.test(r.stderr), r.stderr);
  r = await ctd.ctr(['container', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(mountsUnder(ctd.dir).filter((m) => m.includes(id)), []);
});

test('the log fifo\'s reader goes away (containerd down, then back with a new reader): the shim keeps working', async () => {
  const id = uniqueId('logfifo');
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  const shim = await shimPidOf(id);
  const sock = socketOf(id);
  const TASK = serviceOf(id);
  process.kill(ctd.pid(), 'SIGKILL');
  await sleep(200);
  // No reader on the log fifo now: everything the shim logs meets EPIPE. Make it log.
  const c = await dial(sock);
  const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['/bin/true'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } })) };
  for (let i = 0; i < 5; i++) {
    await c.call(TASK, 'Exec', encode(T + 'ExecProcessRequest', { id, exec_id: `nolog${i}`, spec }));
    await c.call(TASK, 'Start', encode(T + 'StartRequest', { id, exec_id: `nolog${i}` }));
    const w = decode(T + 'WaitResponse', await c.call(TASK, 'Wait', encode(T + 'WaitRequest', { id, exec_id: `nolog${i}` })));
    assert.equal(w.exit_status, 0);
    await c.call(TASK, 'Delete', encode(T + 'DeleteRequest', { id, exec_id: `nolog${i}` }));
  }
  c.close();
  assert.ok(alive(shim), 'alive with no log reader');
  await ctd.restart();
  r = await ctd.ctr(['task', 'exec', '--exec-id', 'logback', id, '/bin/echo', 'logged-again']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'logged-again\n');
  // The new reader gets the shim's lines: the exec's exit is logged into the new containerd's log.
  const afterBoot = () => ctd.log().split('containerd successfully booted').pop() ?? '';
  await until('the shim logs to the new reader', () => afterBoot().includes('"exec":"logback"'), 5000).catch(() => undefined);
  const back = afterBoot().split('\n').filter((l) => l.includes('"exec":"logback"')).length;
  console.log(`# 5 execs with no log reader; after restart: exec ok; the shim's lines about it in the new containerd's log: ${back}`);
  logLinesAfterRestart = back;
  await finish(id);
  await until('the serving process leaves', () => !alive(shim));
});

let logLinesAfterRestart = -1;
test('after the log fifo\'s reader comes back, the shim\'s log lines reach the new containerd log', () => {
  assert.ok(logLinesAfterRestart > 0, `lines: ${logLinesAfterRestart}`);
});

test('Create failures (runc missing, runc failing, a broken config.json, a rootfs mount that fails) carry the cause, and leave no mount, fd or process', async () => {
  const ns = 'faults-create';
  const dir = path.join(ctd.dir, 'create-faults');
  mkdirSync(dir, { recursive: true });
  const toml = (name: string, extra = '') => {
    const p = path.join(dir, `${name}.toml`);
    writeFileSync(p, `grouping = "namespace"\n${extra}`);
    return p;
  };
  const script = (name: string, body: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  // Finds --log and --bundle among runc's arguments.
  const args = 'log=""; bundle=""; prev=""; for a in "$@"; do [ "$prev" = "--log" ] && log="$a"; [ "$prev" = "--bundle" ] && bundle="$a"; prev="$a"; done';
  const failing = script('runc-failing', `${args}\ncase " $* " in *" create "*) echo '{"level":"error","msg":"rx-test: container_linux.go:380: starting container process caused: wrapper says no","time":"2024-01-01T00:00:00Z"}' >> "$log"; exit 1;; esac\nexec runc "$@"`);
  const corrupting = script('runc-corrupting', `${args}\ncase " $* " in *" create "*) printf '{"ociVersion": "1.0.2", "process": ' > "$bundle/config.json";; esac\nexec runc "$@"`);

  await importImage(ctd, imageTar, ns);
  // One namespace-grouped serving process, kept up by a running container.
  const keep = uniqueId('create-keep');
  let r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', toml('keep'), '-d', '--rootfs', rootfs, keep, '/bin/sleep', '600'], { namespace: ns });
  assert.equal(r.code, 0, r.stderr);
  const shim = await shimPidOf(keep, ns);
  await sleep(300);
  const baseFds = fds(shim);
  const baseChildren = children(shim).sort();
  const figures: string[] = [];
  const check = async (what: string, id: string) => {
    await until(`${what}: fds back to ${baseFds}`, () => fds(shim) <= baseFds, 5000).catch(() => undefined);
    const now = fds(shim);
    figures.push(`${what}: fds ${baseFds} -> ${now}`);
    assert.equal(now, baseFds, `${what}: the serving process's fds`);
    assert.deepEqual(children(shim).sort(), baseChildren, `${what}: no process left`);
    assert.deepEqual(mountsUnder(bundleOf(id, ns)), [], `${what}: no mount left`);
    assert.ok(alive(shim), `${what}: the serving process is still up`);
  };

  const cases: Array<[string, string, RegExp]> = [
    ['runc missing', toml('missing', '[runc]\nbinary_name = "/nonexistent/runc"\n'), /\/nonexistent\/runc.*(ENOENT|no such file)/i],
    ['runc failing', toml('failing', `[runc]\nbinary_name = "${failing}"\n`), /runc create failed: rx-test: container_linux.go:380: starting container process caused: wrapper says no: exit status 1/],
    ['broken config.json', toml('corrupt', `[runc]\nbinary_name = "${corrupting}"\n`), /runc create failed: .*(JSON|unexpected end|EOF)/i],
  ];
  for (const [what, config, words] of cases) {
    const id = uniqueId(what.replace(/\W+/g, '-'));
    r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '-d', IMAGE, id, '/bin/true'], { namespace: ns });
    assert.notEqual(r.code, 0, `${what}: ctr run should fail`);
    assert.match(r.stderr, words, `${what}: ctr's stderr`);
    figures.push(`${what}: ${r.stderr.trim().split('\n').pop()}`);
    await check(what, id);
    r = await ctd.ctr(['container', 'delete', id], { namespace: ns });
    assert.equal(r.code, 0, r.stderr);
  }

  // A rootfs mount that fails: a direct Create whose overlay names a lowerdir that is not there.
  const id = uniqueId('badmount');
  const bundle = path.join(dir, 'bundles', id);
  mkdirSync(bundle, { recursive: true });
  writeFileSync(path.join(bundle, 'config.json'), readFileSync(path.join(bundleOf(keep, ns), 'config.json')));
  const c = await dial(socketOf(keep, ns));
  const TASK = serviceOf(keep, ns);
  const create = c.call(TASK, 'Create', encode(T + 'CreateTaskRequest', { id, bundle, rootfs: [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${dir}/no-such-lower`] }] }));
  await assert.rejects(create, (e: any) => {
    figures.push(`rootfs mount fails: ${e.kind}: ${e.message}`);
    assert.match(e.message, /mount.*(ENOENT|no-such-lower)/i);
    // The Go shim returns mount.All's error as is: errdefs.ToGRPC makes it Unknown there too.
    assert.equal(e.kind, 'Unknown');
    return true;
  });
  // The failed Create left nothing that would stop a later Create of the same id.
  await assert.rejects(c.call(TASK, 'State', encode(T + 'StateRequest', { id })), /not found/);
  c.close();
  await check('rootfs mount fails', id);
  assert.deepEqual(mountsUnder(bundle), []);
  for (const f of figures) console.log(`# ${f}`);
  await finish(keep, ns);
  await until('the serving process leaves', () => !alive(shim));
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assertNoLeaks(leaksBefore, await settleLeaks([ctd.dir], 15000, leaksBefore));
  assert.equal(existsSync(path.join(ctd.dir, 'nothing')), false);
});
