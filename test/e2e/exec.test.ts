/** Exec, pause/resume and the errors containerd expects, through ctr against real runc. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { shimAddressOf } from '../helpers/bundle';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks } from '../helpers/leaks';
import { uniqueId, ctrTasks } from '../helpers/tasks';
import { execProcess, grpcError, killProcess, pauseTask } from '../helpers/tasks-grpc';
import { dial } from '../../src/ttrpc/client';
import { encode } from '../../src/proto';
import { ShimError } from '../../src/errors';

const TASK = 'containerd.task.v2.Task';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [EX1, EX2, PZ1, FP1, IE1] = ['ex1', 'ex2', 'pz1', 'fp1', 'ie1'].map(uniqueId);

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'exec' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const { runDetached, status, waitStatus, remove } = ctrTasks(() => ctd, () => rootfs);

test('ctr task exec prints the output and returns the exit status', async () => {
  await runDetached(EX1);
  const r = await ctd.ctr(['task', 'exec', '--exec-id', 'e1', EX1, '/bin/sh', '-c', 'echo in-exec; echo to-err >&2; exit 5']);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.stdout.toString(), 'in-exec\n');
  assert.match(r.stderr, /to-err/);
  const cat = await ctd.ctr(['task', 'exec', '--exec-id', 'e2', EX1, '/bin/cat'], { input: 'through stdin\n' });
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout.toString(), 'through stdin\n', 'stdin reaches the exec and EOF ends it');
  await remove(EX1);
});

test('an exec id used twice is AlreadyExists; an unknown exec is NotFound', async () => {
  await runDetached(EX2);
  const first = ctd.ctrSpawn(['task', 'exec', '--exec-id', 'dup', EX2, '/bin/sleep', '30']);
  await sleep(700);
  // Through containerd's gRPC, as ctr would, to see the code: ctr 2.x prints only the message.
  await assert.rejects(execProcess(ctd.address, 'default', EX2, 'dup', ['/bin/true']), grpcError('ALREADY_EXISTS', ['dup', EX2]));
  await assert.rejects(killProcess(ctd.address, 'default', EX2, 'nope'), grpcError('NOT_FOUND', ['nope', EX2]));
  first.kill('SIGKILL');
  await remove(EX2);
});

test('pause and resume: PAUSED in ctr task ls, a second pause is refused, RUNNING again after resume', async () => {
  await runDetached(PZ1);
  let r = await ctd.ctr(['task', 'pause', PZ1]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await status(PZ1), 'PAUSED');
  await assert.rejects(pauseTask(ctd.address, 'default', PZ1), grpcError('FAILED_PRECONDITION', [PZ1, 'paused']));
  r = await ctd.ctr(['task', 'resume', PZ1]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await status(PZ1), 'RUNNING');
  await remove(PZ1);
});

test('Delete of a running task and Exec in a stopped task are FailedPrecondition naming the task and its state', async () => {
  await runDetached(FP1);
  // ctr refuses to delete a running task on its own side, so ask the shim directly on its socket.
  const bundle = path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', FP1);
  const client = await dial(shimAddressOf(bundle).socket);
  const call = (method: string, type: string, req: object) => client.call(TASK, method, encode(`containerd.task.v2.${type}`, req));
  await assert.rejects(call('Delete', 'DeleteRequest', { id: FP1 }), (e: unknown) =>
    e instanceof ShimError && e.kind === 'FailedPrecondition' && new RegExp(`cannot delete init process ${FP1}: it is running`).test(e.message));
  await assert.rejects(call('Start', 'StartRequest', { id: FP1 }), (e: unknown) =>
    e instanceof ShimError && e.kind === 'FailedPrecondition' && new RegExp(`cannot start init process ${FP1}: it is running`).test(e.message));
  await assert.rejects(call('State', 'StateRequest', { id: 'nope' }), (e: unknown) => e instanceof ShimError && e.kind === 'NotFound');
  client.close();
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', FP1]);
  await waitStatus(FP1, 'STOPPED');
  await assert.rejects(execProcess(ctd.address, 'default', FP1, 'late', ['/bin/true']), grpcError('FAILED_PRECONDITION', [FP1, 'stopped']));
  await ctd.ctr(['task', 'delete', FP1]);
  await ctd.ctr(['container', 'delete', FP1]);
});

test('when init exits its execs are killed, and each exec exit is published before the init exit', async () => {
  await runDetached(IE1);
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  const execs = ['x1', 'x2'].map((id) => ctd.ctrSpawn(['task', 'exec', '--exec-id', id, IE1, '/bin/sleep', '600']));
  await sleep(1000);
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', IE1]);
  await waitStatus(IE1, 'STOPPED');
  await Promise.all(execs.map((e) => new Promise((r) => (e.exitCode !== null ? r(null) : e.once('exit', r)))));
  await sleep(300);
  events.kill();
  const exits = text
    .split('\n')
    .filter((l) => l.includes('/tasks/exit') && l.includes(IE1))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))).id as string);
  assert.equal(exits.length, 3, text);
  assert.equal(exits[2], IE1, `init exit last: ${exits.join(',')}`);
  assert.deepEqual([...exits.slice(0, 2)].sort(), ['x1', 'x2']);
  await ctd.ctr(['task', 'delete', IE1]);
  await ctd.ctr(['container', 'delete', IE1]);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  const left = await settleLeaks([ctd.state, ctd.root, ctd.dir]);
  assert.deepEqual(left, { shims: [], mounts: [], zombies: [] });
});
