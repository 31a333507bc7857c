/**
 * Our client against a real ttrpc server: a private containerd 1.6, whose ttrpc socket serves
 * containerd.services.events.ttrpc.v1.Events/Forward (api/services/ttrpc/events/v1/events.proto).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writer } from 'protobufjs/minimal';
import { ShimError } from '../../../src/errors';
import { dial, type Client } from '../../../src/ttrpc/client';
import { ConnectionClosedError } from '../../../src/ttrpc/errors';

const CONTAINERD = '/usr/bin/containerd';
const CTR = '/usr/bin/ctr';
const skip = !existsSync(CONTAINERD) || process.getuid?.() !== 0 ? 'needs containerd and root' : false;

const EVENTS = 'containerd.services.events.ttrpc.v1.Events';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir = '';
let containerd: ChildProcess | undefined;
let grpcAddress = '';
let ttrpcAddress = '';
const running = () => !!containerd && containerd.exitCode === null && containerd.signalCode === null;

/** ForwardRequest{envelope=1 Envelope{timestamp=1, namespace=2, topic=3, event=4 Any}}, by hand. */
function forwardRequest(namespace: string, containerId: string): Buffer {
  const w = Writer.create();
  w.uint32((1 << 3) | 2).fork(); // ForwardRequest.envelope
  w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 0).int64(1).uint32((2 << 3) | 0).int32(2).ldelim(); // Timestamp{seconds=1, nanos=2}
  if (namespace) w.uint32((2 << 3) | 2).string(namespace);
  w.uint32((3 << 3) | 2).string('/tasks/oom');
  w.uint32((4 << 3) | 2).fork(); // Any
  w.uint32((1 << 3) | 2).string('containerd.events.TaskOOM');
  w.uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string(containerId).ldelim(); // TaskOOM{container_id=1}
  w.ldelim();
  w.ldelim();
  return Buffer.from(w.finish());
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-ttrpc-peer-'));
  grpcAddress = path.join(dir, 'containerd.sock');
  ttrpcAddress = path.join(dir, 'containerd.sock.ttrpc');
  const config = [
    'version = 2',
    `root = "${path.join(dir, 'root')}"`,
    `state = "${path.join(dir, 'state')}"`,
    // CRI would start CNI and image services that take seconds and are not under test.
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${grpcAddress}"`,
    '[ttrpc]',
    `  address = "${ttrpcAddress}"`,
  ].join('\n');
  writeFileSync(path.join(dir, 'config.toml'), config);
  const log = path.join(dir, 'containerd.log');
  containerd = spawn('/bin/sh', ['-c', `exec ${CONTAINERD} --config ${path.join(dir, 'config.toml')} >${log} 2>&1`], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if (!running()) break;
    try {
      (await dial(ttrpcAddress, 1000)).close();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`containerd did not serve ttrpc: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : 'no log'}`);
});

after(async () => {
  if (running()) {
    const exited = new Promise((r) => containerd!.once('exit', r));
    containerd!.kill('SIGKILL');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function withClient<T>(f: (c: Client) => Promise<T>): Promise<T> {
  const c = await dial(`unix://${ttrpcAddress}`);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

test('containerd answers Forward of a valid envelope with OK (an empty google.protobuf.Empty)', { skip }, async () => {
  // Subscribe first, to see that containerd read our envelope as we meant it.
  const events = spawn(CTR, ['-a', grpcAddress, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let seen = '';
  events.stdout!.on('data', (b: Buffer) => (seen += b.toString()));
  try {
    // ctr prints nothing once subscribed, and under load it may take seconds to get there: forward
    // a probe until it shows up, so the envelope under test is sent to a live subscriber.
    for (let i = 0; i < 100 && !seen.includes('rx-peer-probe'); i++) {
      await withClient((c) => c.call(EVENTS, 'Forward', forwardRequest('default', 'rx-peer-probe'), { timeoutMs: 5000 }));
      await sleep(100);
    }
    assert.match(seen, /rx-peer-probe/, 'ctr events never saw a forwarded probe in 10 s');
    const payload = await withClient((c) => c.call(EVENTS, 'Forward', forwardRequest('default', 'rx-peer-x'), { timeoutMs: 5000 }));
    assert.equal(payload.length, 0);
    for (let i = 0; i < 250 && !seen.includes('rx-peer-x'); i++) await sleep(20);
    assert.match(seen, /default\s+\/tasks\/oom\s+.*rx-peer-x/);
  } finally {
    events.kill('SIGKILL');
  }
});

test('containerd answers Forward with an empty namespace with InvalidArgument', { skip }, async () => {
  await withClient((c) =>
    assert.rejects(
      c.call(EVENTS, 'Forward', forwardRequest('', 'x')),
      (e: unknown) => e instanceof ShimError && e.kind === 'InvalidArgument' && /invalid namespace/.test(e.message),
    ),
  );
});

test('containerd answers an unknown method with Unimplemented, and the connection keeps serving', { skip }, async () => {
  await withClient(async (c) => {
    await assert.rejects(c.call(EVENTS, 'Nope', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented');
    await assert.rejects(c.call('no.Such', 'Forward', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented');
    assert.equal((await c.call(EVENTS, 'Forward', forwardRequest('default', 'y'))).length, 0);
  });
});

test('many concurrent Forwards on one connection all succeed', { skip }, async () => {
  await withClient(async (c) => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.call(EVENTS, 'Forward', forwardRequest('default', `c${i}`))));
    assert.equal(results.length, 50);
  });
});

test('when containerd dies, calls on its connection get ConnectionClosedError', { skip }, async () => {
  const c = await dial(ttrpcAddress);
  // Forward returns at once; a closed connection is what we are after, so kill then call.
  const exited = new Promise((r) => containerd!.once('exit', r));
  containerd!.kill('SIGKILL');
  await exited;
  await assert.rejects(c.call(EVENTS, 'Forward', forwardRequest('default', 'z')), ConnectionClosedError);
  await c.closed;
});
