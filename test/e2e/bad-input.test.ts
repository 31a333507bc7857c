/**
 * Bad input against the real serving process: a `ctr run -d` container's shim, reached on the
 * socket its bundle's `address` file names. Every malformed thing a peer can send, 1,000
 * dropped connections, a fuzz run, paths that reach outside, and a peer of another uid. A
 * well-behaved client (Connect then State, as containerd does) calls throughout and is never
 * refused; at the end containerd still drives the task to its end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Code } from '../../src/errors';
import { decode, encode } from '../../src/proto';
import { dial, type Client } from '../../src/ttrpc/client';
import { MAX_MESSAGE_LENGTH, MessageType } from '../../src/ttrpc/frame';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { shimAddressOf } from '../helpers/bundle';
import { busyboxRootfs } from '../helpers/rootfs';
import { assertNoLeaks, settleLeaks, snapshotLeaks, type LeakSnapshot } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId, waitForTask } from '../helpers/tasks';
import { bystander, fuzz, header, rawConnect, validFrame } from '../helpers/ttrpc-raw';

const TASK = 'containerd.task.v2.Task';
const T = 'containerd.task.v2.';
let ctd: Containerd;
let rootfs: string;
let leaksBefore: LeakSnapshot;
const id = uniqueId('badin');
let bundle: string;
let sock: string;
let shimPid: number;

before(async () => {
  ctd = await startContainerd({ name: 'badinput', logLevel: 'info' });
  leaksBefore = snapshotLeaks(ctd.dir);
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  const r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  bundle = path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id);
  sock = shimAddressOf(bundle).socket;
  const c = await dial(sock);
  shimPid = decode(T + 'ConnectResponse', await c.call(TASK, 'Connect', encode(T + 'ConnectRequest', { id }))).shim_pid;
  c.close();
});
after(async () => ctd?.stop());

const call = async (c: Client, method: string, reqType: string, req: object, resType: string) =>
  decode(T + resType, await c.call(TASK, method, encode(T + reqType, req)));

/** containerd's pattern: Connect, then State of the task; both must answer RUNNING. */
const wellBehaved = async (c: Client) => {
  const conn = await call(c, 'Connect', 'ConnectRequest', { id }, 'ConnectResponse');
  assert.equal(conn.shim_pid, shimPid);
  const st = await call(c, 'State', 'StateRequest', { id }, 'StateResponse');
  assert.equal(st.status, 2, 'RUNNING');
};

async function withBystander(body: () => Promise<void>): Promise<number> {
  const by = bystander(sock, wellBehaved);
  await body();
  await new Promise((r) => setTimeout(r, 50));
  const { ok, failures } = await by.stop();
  assert.deepEqual(failures, [], 'the well-behaved client was refused');
  assert.ok(ok > 0);
  return ok;
}

const fdCount = () => readdirSync(`/proc/${shimPid}/fd`).length;

test('the socket directory lists nothing to others (0711 as our start makes it, 0600 as Go\'s shim does) and the serving socket is 0600, owned by root', () => {
  const dir = statSync(path.dirname(sock));
  const s = statSync(sock);
  console.log(`# ${path.dirname(sock)}: ${(dir.mode & 0o777).toString(8)}; ${sock}: ${(s.mode & 0o777).toString(8)}`);
  // The first shim on the machine makes the dir: ours with 0711, containerd 1.6's Go shims with
  // 0600 (runtime/v2/shim/util_unix.go NewSocket). Either way no other user reads or writes it.
  assert.equal(dir.mode & 0o066, 0, `dir mode ${(dir.mode & 0o777).toString(8)}`);
  assert.equal(dir.uid, 0);
  assert.ok(s.isSocket());
  assert.equal(s.mode & 0o777, 0o600);
  assert.equal(s.uid, 0);
});

test('a process of uid 65534 cannot connect to the shim: EACCES on the 0600 socket', { skip: process.geteuid!() !== 0 && 'needs root' }, async () => {
  const script = `const s=require('net').connect(${JSON.stringify(sock)});s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});`;
  const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise((r) => child.once('close', r));
  console.log(`# connect as uid 65534: ${out.trim()}`);
  assert.equal(out.trim(), 'EACCES');
});

test('truncated headers, a length over 4 MiB, garbage protobuf, unknown message types, even and reused stream ids: each answered or its connection closed, the shim serving others', async () => {
  const ok = await withBystander(async () => {
    for (let n = 1; n < 10; n++) {
      const c = await rawConnect(sock);
      c.write(header(5, 1, MessageType.Request).subarray(0, n));
      c.socket.end();
      await c.closed;
    }
    const c = await rawConnect(sock);
    const body = Buffer.alloc(MAX_MESSAGE_LENGTH + 1);
    c.write(Buffer.concat([header(body.length, 1, MessageType.Request), body]));
    assert.equal((await c.next()).res.status.code, Code.ResourceExhausted, 'oversize');
    // Garbage where a CreateTaskRequest should be: the Task registry's decode refuses it.
    c.request(3, TASK, 'Create', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    const bad = await c.next();
    assert.equal(bad.res.status.code, Code.InvalidArgument, bad.res.status.message);
    c.send(5, 0x42, Buffer.from('unknown type'));
    c.request(6, TASK, 'Connect', encode(T + 'ConnectRequest', { id }));
    const even = await c.next();
    assert.deepEqual([even.streamId, even.res.status.code], [6, Code.InvalidArgument]);
    // A Wait in flight on stream 9, then stream 9 again.
    c.request(9, TASK, 'Wait', encode(T + 'WaitRequest', { id }));
    c.request(9, TASK, 'State', encode(T + 'StateRequest', { id }));
    const reused = await c.next();
    assert.deepEqual([reused.streamId, reused.res.status.code], [9, Code.InvalidArgument]);
    c.request(11, TASK, 'Nope', Buffer.alloc(0));
    assert.equal((await c.next()).res.status.code, Code.Unimplemented);
    c.socket.destroy(); // with the Wait still in flight: a client gone mid-call
  });
  console.log(`# bad inputs: 9 truncated headers, oversize, garbage Create, type 0x42, even id, reused id, unknown method, mid-call disconnect; bystander calls answered: ${ok}`);
});

test('1,000 connections opened and dropped: the shim releases every one (its fd count returns to baseline)', async () => {
  const before = fdCount();
  const t0 = Date.now();
  const ok = await withBystander(async () => {
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => rawConnect(sock)));
      batch.forEach((c) => c.socket.destroy());
      await Promise.all(batch.map((c) => c.closed));
    }
  });
  let after = fdCount();
  for (let i = 0; i < 50 && after > before; i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = fdCount();
  }
  console.log(`# 1000 connections in ${Date.now() - t0} ms; shim fds before ${before}, after ${after}; bystander calls answered: ${ok}`);
  assert.ok(after <= before, `fds: ${before} before, ${after} after`);
});

test('fuzz against the serving process: random and mutated Task frames (5,000 inputs or 15 s), no crash, no hang', async () => {
  const before = fdCount();
  // Only harmless methods are mutated: a fuzzer must not Kill or Shutdown the task it watches.
  const harmless: Array<[string, string]> = [
    ['Connect', 'ConnectRequest'],
    ['State', 'StateRequest'],
    ['Pids', 'PidsRequest'],
    ['Wait', 'WaitRequest'],
  ];
  const valid = () => {
    const [m, t] = harmless[Math.floor(Math.random() * harmless.length)];
    return validFrame(1 + 2 * Math.floor(Math.random() * 8), TASK, m, encode(T + t, { id }));
  };
  let f!: Awaited<ReturnType<typeof fuzz>>;
  const ok = await withBystander(async () => {
    f = await fuzz(sock, valid, { maxInputs: 5000, maxMs: 15000, parallel: 2, settleMs: 30 });
  });
  console.log(`# fuzz inputs tried: ${f.inputs} on ${f.connections} connections in ${f.ms} ms; responses: ${f.responses}; bystander calls answered: ${ok}`);
  assert.ok(f.responses > 0);
  assert.equal(process.kill(shimPid, 0), true, 'the serving process is alive');
  let after = fdCount();
  for (let i = 0; i < 50 && after > before; i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = fdCount();
  }
  console.log(`# shim fds before fuzz ${before}, after ${after}`);
  assert.ok(after <= before, `fds: ${before} before, ${after} after`);
});

test('paths that reach outside are InvalidArgument naming the path: a relative bundle, `..` in bundle, stdio or checkpoint', async () => {
  const c = await dial(sock);
  const create = (req: object) => c.call(TASK, 'Create', encode(T + 'CreateTaskRequest', req));
  const cases: Array<[string, object, RegExp]> = [
    ['relative bundle', { id: 'p1', bundle: 'relative/bundle' }, /bundle must be an absolute path, got "relative\/bundle"/],
    ['bundle with ..', { id: 'p2', bundle: `${bundle}/../../../etc` }, /bundle ".*\/\.\.\/\.\.\/\.\.\/etc": must be a clean absolute path/],
    ['stdout with ..', { id: 'p3', bundle, stdout: '/run/containerd/fifo/../../../etc/x' }, /stdout "\/run\/containerd\/fifo\/\.\.\/\.\.\/\.\.\/etc\/x"/],
    ['relative stdin', { id: 'p4', bundle, stdin: 'fifo-here' }, /stdin "fifo-here": must be a clean absolute path/],
    ['file:// with ..', { id: 'p5', bundle, stdout: 'file:///tmp/../etc/shadow' }, /stdout "file:\/\/\/tmp\/\.\.\/etc\/shadow"/],
    ['checkpoint with ..', { id: 'p6', bundle, checkpoint: '/var/lib/../../etc' }, /checkpoint "\/var\/lib\/\.\.\/\.\.\/etc"/],
  ];
  for (const [what, req, words] of cases) {
    await assert.rejects(create(req), (e: any) => {
      assert.equal(e.kind, 'InvalidArgument', `${what}: ${e.message}`);
      assert.match(e.message, words, what);
      return true;
    });
  }
  await assert.rejects(c.call(TASK, 'Exec', encode(T + 'ExecProcessRequest', { id, exec_id: 'x1', stdout: '../out', spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from('{"args":["/bin/true"],"cwd":"/"}') } })), /exec x1 in .*stdout "\.\.\/out"/);
  c.close();
  console.log(`# path cases refused: ${cases.length + 1}`);
  assert.equal(existsSync(path.join(bundle, '..', 'p1')), false);
});

test('stdio URIs that decode to `..` or do not parse, and option bytes that are not their message, are InvalidArgument naming them', async () => {
  const c = await dial(sock);
  // A bundle that is not there: were a request let through, runc would go no further.
  const create = (req: object) => c.call(TASK, 'Create', encode(T + 'CreateTaskRequest', { bundle: path.join(ctd.dir, 'no-bundle'), ...req }));
  const garbage = Buffer.from([0x07]); // wire type 7: no message decodes it
  // Were it folded, this one would append to a file in our temp dir (and not to /etc/x).
  const escaped = path.join(ctd.dir, 'escaped.log');
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['%2e%2e', () => create({ id: 'u1', stdout: `file:///tmp/%2e%2e${escaped}` }), /create u1: stdout "file:\/\/\/tmp\/%2e%2e\/.*\/escaped\.log" names path "\/tmp\/\.\.\/.*": must be a clean absolute path/],
    ['%zz', () => create({ id: 'u2', stderr: 'file:///var/log/%zz' }), /create u2: stderr "file:\/\/\/var\/log\/%zz": malformed percent escape "%zz" \(expected a fifo path/],
    ['binary://[', () => create({ id: 'u3', stdout: 'binary://[' }), /create u3: stdout "binary:\/\/\[": malformed host/],
    ['create options', () => create({ id: 'u4', options: { type_url: 'containerd.runc.v1.Options', value: garbage } }), /runtime options: not a valid containerd\.runc\.v1\.Options message/],
    ['checkpoint options', () => c.call(TASK, 'Checkpoint', encode(T + 'CheckpointTaskRequest', { id, path: path.join(ctd.dir, 'never'), options: { type_url: 'containerd.runc.v1.CheckpointOptions', value: garbage } })),
      /checkpoint options: not a valid containerd\.runc\.v1\.CheckpointOptions message/],
  ];
  for (const [what, call, words] of cases) {
    await assert.rejects(call(), (e: any) => {
      assert.equal(e.kind, 'InvalidArgument', `${what}: ${e.message}`);
      assert.match(e.message, words, what);
      return true;
    });
  }
  assert.equal(existsSync(escaped), false);
  c.close();
});

test('an exec id with "/" and ".." stays inside the bundle: its files (named %2F, removed once it started) never escape', async () => {
  const c = await dial(sock);
  const execId = '../../escape';
  const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['/bin/true'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } })) };
  await c.call(TASK, 'Exec', encode(T + 'ExecProcessRequest', { id, exec_id: execId, spec }));
  await call(c, 'Start', 'StartRequest', { id, exec_id: execId }, 'StartResponse');
  const w = await call(c, 'Wait', 'WaitRequest', { id, exec_id: execId }, 'WaitResponse');
  assert.equal(w.exit_status, 0);
  await call(c, 'Delete', 'DeleteRequest', { id, exec_id: execId }, 'DeleteResponse');
  c.close();
  // Spec and pid file live only for the Start (runc/runtime.ts exec); see also unit parity.test.
  assert.deepEqual(readdirSync(path.join(bundle, 'execs')), []);
  assert.equal(existsSync(path.resolve(bundle, 'execs', execId + '.json')), false);
  assert.equal(existsSync(path.resolve(bundle, 'execs', execId + '.pid')), false);
});

test('afterwards containerd still drives the task to its end, and nothing is left', async () => {
  await waitForTask(ctd, id, 'RUNNING');
  let r = await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  assert.equal(r.code, 0, r.stderr);
  await waitForTask(ctd, id, 'STOPPED');
  r = await ctd.ctr(['task', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
  r = await ctd.ctr(['container', 'delete', id]);
  assert.equal(r.code, 0, r.stderr);
  assertNoLeaks(leaksBefore, await settleLeaks([ctd.dir], 15000, leaksBefore));
});
