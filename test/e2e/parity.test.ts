/**
 * What a client of containerd sees of the Task service, where ours once differed from the Go
 * shim (issue 11). Each test passes against containerd-shim-runc-v2 too:
 * SHIM_RUNTIME=io.containerd.runc.v2 runs it there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Reader, Writer } from 'protobufjs/minimal';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { runtimeArgs } from '../helpers/shim';
import { ctrTasks } from '../helpers/tasks';
import { dial } from '../../src/ttrpc/client';
import { decode, encode } from '../../src/proto';

/** containerd.v1.types.Status (api/types/task/task.proto). */
const PAUSED = 4;
/** Go's time.Time{} on the wire (protobuf.ToTimestamp): what a never-exited process reports. */
const GO_ZERO_SECONDS = -62135596800;

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'parity' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bundleOf = (id: string) => path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id);

const { runDetached, status, waitStatus, remove } = ctrTasks(() => ctd, () => rootfs, 100);

/** One unary call of containerd's own gRPC API; the message bytes are built by the caller. */
async function containerdCall(method: string, req: Uint8Array): Promise<Buffer> {
  const client = new grpc.Client(`unix://${ctd.address}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('containerd-namespace', 'default');
  try {
    return await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(req), metadata, (err, res) => (err ? reject(err) : resolve(res!))),
    );
  } finally {
    client.close();
  }
}

/** The top-level fields of a protobuf message: field number -> last value (varint or bytes). */
function fields(buf: Uint8Array): Map<number, number | Uint8Array> {
  const r = Reader.create(buf);
  const out = new Map<number, number | Uint8Array>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wire = tag & 7;
    if (wire === 0) out.set(tag >>> 3, r.int64() as unknown as number);
    else if (wire === 2) out.set(tag >>> 3, r.bytes());
    else r.skipType(wire);
  }
  return out;
}
const num = (v: unknown) => Number(v ?? 0);

/** Tasks/Get {container_id=1, exec_id=2} -> Process.status (GetResponse.process=1, status=4). */
async function processStatus(id: string, execId: string): Promise<number> {
  const res = await containerdCall('/containerd.services.tasks.v1.Tasks/Get', Writer.create().uint32(0x0a).string(id).uint32(0x12).string(execId).finish());
  return num(fields(fields(res).get(1) as Uint8Array).get(4));
}

/**
 * The shim's socket and Task service: the bundle's `address` (1.6 shims, ours), or bootstrap.json
 * (2.x Go shims: {version, address}; version 3 serves containerd.task.v3.Task, same messages).
 */
function shimEndpoint(bundle: string): { address: string; service: string } {
  try {
    return { address: readFileSync(path.join(bundle, 'address'), 'utf8'), service: 'containerd.task.v2.Task' };
  } catch {
    const b = JSON.parse(readFileSync(path.join(bundle, 'bootstrap.json'), 'utf8'));
    return { address: b.address, service: `containerd.task.v${b.version >= 3 ? 3 : 2}.Task` };
  }
}

/** Every file under the bundle but the container's own rootfs. */
function bundleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (dir === bundleOf(path.basename(dir)) && name === 'rootfs') continue;
    const p = path.join(dir, name);
    // lstat: a 2.x Go shim links `s` to the machine-wide socket dir, which is not the bundle.
    if (lstatSync(p).isDirectory()) out.push(...bundleFiles(p));
    else out.push(p);
  }
  return out;
}

test('Kill with signal 0 (Tasks/Kill; ctr 1.6 refuses -s 0) only probes: the task stays RUNNING', async () => {
  // An init that SIGTERM would end (a bare sleep as pid 1 ignores it).
  await runDetached('pk0', ['/bin/sh', '-c', 'trap "exit 143" TERM; while true; do sleep 0.1; done']);
  // KillRequest {container_id=1, signal=3}: signal 0 is the proto default, so it is not written.
  await containerdCall('/containerd.services.tasks.v1.Tasks/Kill', Writer.create().uint32(0x0a).string('pk0').finish());
  // A SIGTERM would end it within a loop turn (0.1 s); give it ten.
  await sleep(1000);
  assert.equal(await status('pk0'), 'RUNNING');
  await remove('pk0');
});

test("kill of an exited task's init is NotFound, the code CRI's StopContainer ignores", async () => {
  await runDetached('pkx', ['/bin/true']);
  await waitStatus('pkx', 'STOPPED');
  const r = await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', 'pkx']);
  assert.notEqual(r.code, 0);
  // The code, as CRI reads it (ctr 2.x prints no code name): Tasks/Kill {container_id=1, signal=3}.
  await assert.rejects(
    containerdCall('/containerd.services.tasks.v1.Tasks/Kill', Writer.create().uint32(0x0a).string('pkx').uint32(0x18).uint32(9).finish()),
    (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND,
  );
  await ctd.ctr(['task', 'delete', 'pkx']);
  await ctd.ctr(['container', 'delete', 'pkx']);
});

test("an exec probe loop (50 execs) leaves the bundle's file count flat", async () => {
  await runDetached('pprobe');
  // One exec first, so whatever a first exec makes once (a directory) is in the baseline.
  const first = await ctd.ctr(['task', 'exec', '--exec-id', 'probe-0', 'pprobe', '/bin/true']);
  assert.equal(first.code, 0, first.stderr);
  const baseline = bundleFiles(bundleOf('pprobe'));
  for (let i = 1; i <= 50; i++) {
    const r = await ctd.ctr(['task', 'exec', '--exec-id', `probe-${i}`, 'pprobe', '/bin/sh', '-c', 'exit 0']);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.deepEqual(bundleFiles(bundleOf('pprobe')), baseline);
  await remove('pprobe');
});

test('an exec of a paused container is PAUSED in Tasks.Get, RUNNING again after resume', async () => {
  await runDetached('ppause');
  const exec = ctd.ctrSpawn(['task', 'exec', '--exec-id', 'long', 'ppause', '/bin/sleep', '600']);
  for (let i = 0; i < 50; i++) {
    if ((await ctd.ctr(['task', 'ps', 'ppause'])).stdout.toString().includes('long')) break;
    await sleep(100);
  }
  assert.equal((await ctd.ctr(['task', 'pause', 'ppause'])).code, 0);
  assert.equal(await processStatus('ppause', 'long'), PAUSED);
  assert.equal((await ctd.ctr(['task', 'resume', 'ppause'])).code, 0);
  assert.equal(await processStatus('ppause', 'long'), 2);
  exec.kill('SIGKILL');
  await remove('ppause');
});

test("a failed exec: runc's error reaches ctr once, and a Wait made before the Start is answered", async () => {
  await runDetached('pfail');
  const r = await ctd.ctr(['task', 'exec', '--exec-id', 'nope', 'pfail', '/no/such/binary']);
  assert.notEqual(r.code, 0);
  const said = r.stderr.split('no such file or directory').length - 1;
  assert.equal(said, 1, `runc's words once, not also through the exec's stderr:\n${r.stderr}`);

  // Through the shim's own socket, as containerd does it: Exec, Wait, Start (which fails).
  const shim = shimEndpoint(bundleOf('pfail'));
  const client = await dial(shim.address);
  const call = (method: string, type: string, req: object) => client.call(shim.service, method, encode(`containerd.task.v2.${type}`, req));
  const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['/no/such/binary'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } })) };
  await call('Exec', 'ExecProcessRequest', { id: 'pfail', exec_id: 'w', spec });
  let waited: Buffer | null = null;
  const wait = call('Wait', 'WaitRequest', { id: 'pfail', exec_id: 'w' }).then((b) => (waited = b));
  await assert.rejects(call('Start', 'StartRequest', { id: 'pfail', exec_id: 'w' }));
  // A hang detector, not a speed bound: before the fix this Wait was never answered.
  for (let i = 0; i < 100 && !waited; i++) await sleep(100);
  assert.ok(waited, 'the Wait made before the failed Start is answered');
  await wait;
  const w = decode<{ exit_status: number; exited_at: { seconds: number } }>('containerd.task.v2.WaitResponse', waited!);
  assert.equal(w.exit_status, 0);
  await call('Delete', 'DeleteRequest', { id: 'pfail', exec_id: 'w' });
  client.close();
  await remove('pfail');
});

test('Delete of a never-started task reports exited_at as the zero time, as Go (-62135596800 s, not 1970)', async () => {
  const c = await ctd.ctr(['container', 'create', ...runtimeArgs(), '--rootfs', rootfs, 'pnever', '/bin/sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  // Tasks/Create {container_id=1}; Tasks/Delete {container_id=1} -> DeleteResponse{exited_at=4}.
  const id = Writer.create().uint32(0x0a).string('pnever').finish();
  await containerdCall('/containerd.services.tasks.v1.Tasks/Create', id);
  const res = await containerdCall('/containerd.services.tasks.v1.Tasks/Delete', id);
  const exitedAt = fields(fields(res).get(4) as Uint8Array);
  assert.equal(num(exitedAt.get(1)), GO_ZERO_SECONDS);
  await ctd.ctr(['container', 'delete', 'pnever']);
});

test('an exec named like its container: its exit status reaches ctr, and ctr events shows both TaskExits', async () => {
  await runDetached('psame');
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  await sleep(300);
  const r = await ctd.ctr(['task', 'exec', '--exec-id', 'psame', 'psame', '/bin/sh', '-c', 'exit 3']);
  assert.equal(r.code, 3, r.stderr);
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', 'psame']);
  await waitStatus('psame', 'STOPPED');
  for (let i = 0; i < 50 && text.split('/tasks/exit').length - 1 < 2; i++) await sleep(100);
  events.kill();
  const exits = text.split('\n').filter((l) => l.includes('/tasks/exit') && l.includes('psame'));
  assert.equal(exits.length, 2, text);
  assert.ok(exits.some((l) => /"exit_status":3/.test(l)), `the exec's exit (status 3) is published:\n${exits.join('\n')}`);
  await ctd.ctr(['task', 'delete', 'psame']);
  await ctd.ctr(['container', 'delete', 'psame']);
});
