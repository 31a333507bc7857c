/**
 * The stop path on a private containerd with real runc: the serving process SIGTERMed while a
 * Wait on its running task is in flight (containerd's own Wait is exactly that call) must still
 * stop within its 5 s budget, remove its socket, and log what it cut off.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { constants, existsSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { decode, encode } from '../../src/proto';
import { dial } from '../../src/ttrpc/client';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId, waitForTask } from '../helpers/tasks';
import { rawConnect } from '../helpers/ttrpc-raw';

const TASK = 'containerd.task.v2.Task';
const T = 'containerd.task.v2.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctd: Containerd;
let rootfs: string;

before(async () => {
  ctd = await startContainerd({ name: 'stop', logLevel: 'info' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

const bundleOf = (id: string) => path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id);
const socketOf = (id: string) => readFileSync(path.join(bundleOf(id), 'address'), 'utf8').trim().replace(/^unix:\/\//, '');
/** Running, not a zombie (a zombie has stopped: its parent just has not reaped it yet). */
const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

// Ours only: it finds the socket through the bundle's address file and reads our exit line.
const ours = { skip: !!process.env.SHIM_RUNTIME && 'our shim only' };

test('SIGTERM with a Wait in flight on a running task: the serving process is gone within 5.5 s, its socket removed, and its log counts the call it cut off', ours, async () => {
  const id = uniqueId('stop-wait');
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  await waitForTask(ctd, id, 'RUNNING');
  const socket = socketOf(id);
  const c = await dial(socket);
  const shim = decode(T + 'ConnectResponse', await c.call(TASK, 'Connect', encode(T + 'ConnectRequest', { id }))).shim_pid as number;
  c.close();

  // A Wait that is never answered: containerd's own order for an exec (client process.Wait
  // before Start, as `ctr task exec` does), here on an exec added and not started. (A Wait on
  // the init would be answered: once the shim's connections close, containerd cleans up after
  // a dead shim, runc delete --force, and the init's exit reaches the Wait.) The State after it
  // on the same connection is answered only once the Wait was dispatched (frames in order).
  const raw = await rawConnect(socket);
  const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['/bin/true'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } })) };
  raw.request(1, TASK, 'Exec', encode(T + 'ExecProcessRequest', { id, exec_id: 'held', spec }));
  assert.equal((await raw.next()).res.status.code, 0, 'exec added');
  raw.request(3, TASK, 'Wait', encode(T + 'WaitRequest', { id, exec_id: 'held' }));
  raw.request(5, TASK, 'State', encode(T + 'StateRequest', { id }));
  const state = await raw.next();
  assert.equal(state.streamId, 5, 'State answered while the Wait stays open');
  assert.equal(state.res.status.code, 0);

  // The shim's log, read beside containerd: once the shim's connections close, containerd
  // cleans up after it and stops reading the fifo (the bundle is removed), so the last lines
  // reach only a reader that stays.
  const logFd = openSync(path.join(bundleOf(id), 'log'), constants.O_RDONLY | constants.O_NONBLOCK);
  const logReader = new net.Socket({ fd: logFd, readable: true, writable: false });
  let shimLog = '';
  logReader.on('data', (chunk) => (shimLog += chunk.toString()));

  const t0 = Date.now();
  process.kill(shim, 'SIGTERM');
  while (alive(shim) && existsSync(socket) && Date.now() - t0 < 10000) await sleep(20);
  // The first stage: the socket goes while the process still waits on the Wait.
  assert.equal(existsSync(socket), false, 'its socket file is removed');
  assert.ok(alive(shim), 'the socket is removed first, while the process is still stopping');
  while (alive(shim) && Date.now() - t0 < 10000) await sleep(20);
  const gone = Date.now() - t0;
  console.log(`# serving process ${shim} gone ${gone} ms after SIGTERM`);
  assert.ok(!alive(shim), 'the serving process is gone');
  assert.ok(gone < 5500, `gone within 5.5 s of SIGTERM (took ${gone} ms)`);
  await raw.closed;
  assert.deepEqual(raw.frames.map((f) => f.streamId), [], 'the Wait got no answer: it was cut off');

  let line: Record<string, any> | undefined;
  for (let i = 0; i < 50 && !line; i++, await sleep(100)) {
    const found = (shimLog + ctd.log()).split('\n').find((l) => l.includes('"shim exiting"') && l.includes(`"pid":${shim}`));
    if (found) line = JSON.parse(found.slice(found.indexOf('{')));
  }
  logReader.destroy();
  assert.ok(line, `the shim logged its exit; its log ends:\n${shimLog.slice(-2000)}`);
  console.log(`# ${JSON.stringify({ reason: line.reason, outcome: line.outcome, at: line.at, cut: line.cut, lost: line.lost })}`);
  assert.equal(line.reason, 'SIGTERM');
  assert.equal(line.outcome, 'timeout');
  assert.equal(line.at, 'close connections', 'the budget ran out waiting on the Wait');
  assert.equal(line.lost.calls, 1, 'the Wait is counted as lost');

  // containerd sees its shim gone and cleans up after it (shim delete: runc delete --force).
  r = await ctd.ctr(['task', 'delete', '-f', id]);
  assert.ok(r.code === 0 || /not found/.test(r.stderr), r.stderr);
  r = await ctd.ctr(['container', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
});
