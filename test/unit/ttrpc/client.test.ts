import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ShimError } from '../../../src/errors';
import { Client, dial, socketPathOf } from '../../../src/ttrpc/client';
import { ConnectionClosedError } from '../../../src/ttrpc/errors';
import { FrameDecoder, MAX_MESSAGE_LENGTH, type Frame } from '../../../src/ttrpc/frame';
import { Server } from '../../../src/ttrpc/server';
import { ServiceRegistry, type Handler } from '../../../src/ttrpc/services';
import { decodeRequest, type Request } from '../../../src/ttrpc/wire';

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((f) => f()));

async function serve(address: string, methods: Record<string, Handler>) {
  const registry = new ServiceRegistry();
  registry.register('test.Echo', methods);
  const server = new Server(registry);
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(address, r));
  server.serve(listener);
  cleanup.push(() => server.close());
  return server;
}

/** A peer that records the frames a client sends and never answers. */
async function silentPeer(name: string) {
  const frames: Frame[] = [];
  const sockets: net.Socket[] = [];
  const listener = net.createServer((s) => {
    sockets.push(s);
    const d = new FrameDecoder();
    s.on('data', (chunk: Buffer) => {
      for (const item of d.write(chunk)) if (item.kind === 'frame') frames.push(item.frame);
    });
    s.on('error', () => {});
  });
  const address = `\0${name}-${process.pid}`;
  await new Promise<void>((r) => listener.listen(address, r));
  const close = () => {
    sockets.forEach((s) => s.destroy());
    listener.close();
  };
  cleanup.push(close);
  return { address, frames, sockets, close };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const echo: Handler = async (p) => p;

test('stream ids are odd and increasing from 1; timeout and metadata go on the wire', async () => {
  const peer = await silentPeer('TestClientStreamIds');
  const c = await dial(peer.address);
  for (let i = 0; i < 3; i++) void c.call('test.Echo', 'Echo', Buffer.from(String(i)), { timeoutMs: 2000, metadata: { k: 'v' } }).catch(() => {});
  for (let i = 0; i < 50 && peer.frames.length < 3; i++) await sleep(5);
  assert.deepEqual(peer.frames.map((f) => [f.streamId, f.type]), [[1, 1], [3, 1], [5, 1]]);
  const req: Request = decodeRequest(peer.frames[2].payload);
  assert.deepEqual(req, { service: 'test.Echo', method: 'Echo', payload: Buffer.from('2'), timeoutNano: 2e9, metadata: [['k', 'v']] });
  c.close();
});

test('the client sees ConnectionClosedError when the server goes away, for pending and later calls (TestClientEOF)', async () => {
  const address = `\0TestClientEOF-${process.pid}`;
  const server = await serve(address, { Hang: () => new Promise<Buffer>(() => {}) });
  const c = await dial(address);
  const pending = c.call('test.Echo', 'Hang', Buffer.alloc(0));
  await sleep(10);
  server.close();
  await assert.rejects(pending, ConnectionClosedError);
  await assert.rejects(c.call('test.Echo', 'Hang', Buffer.alloc(0)), ConnectionClosedError);
  await c.closed;
});

test('ConnectionClosedError is a ShimError of kind Unavailable', () => {
  const e = new ConnectionClosedError('EPIPE');
  assert.ok(e instanceof ShimError);
  assert.equal(e.kind, 'Unavailable');
  assert.equal(e.message, 'ttrpc: closed: EPIPE');
});

test('a peer that resets the connection mid-call is the same ConnectionClosedError', async () => {
  // A unix socket closed with unread data resets its peer: accept paused, never read, destroy.
  const accepted: net.Socket[] = [];
  const listener = net.createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
  const address = `\0TestClientReset-${process.pid}`;
  await new Promise<void>((r) => listener.listen(address, r));
  cleanup.push(() => listener.close());
  const c = await dial(address);
  const pending = c.call('test.Echo', 'Echo', Buffer.alloc(0));
  for (let i = 0; i < 50 && accepted.length === 0; i++) await sleep(5);
  await sleep(10);
  accepted[0].destroy();
  await assert.rejects(pending, (e: unknown) => e instanceof ConnectionClosedError && /ECONNRESET|closed/.test(e.message));
});

test('close() rejects pending calls with ConnectionClosedError and resolves closed', async () => {
  const peer = await silentPeer('TestClientClose');
  const c = await dial(peer.address);
  const pending = c.call('test.Echo', 'Echo', Buffer.alloc(0));
  c.close();
  await assert.rejects(pending, ConnectionClosedError);
  await c.closed;
  await assert.rejects(c.call('test.Echo', 'Echo', Buffer.alloc(0)), ConnectionClosedError);
});

test('a server that never answers: the call gives up after its timeout with DeadlineExceeded', async () => {
  const peer = await silentPeer('TestClientLocalDeadline');
  const c = await dial(peer.address);
  const started = Date.now();
  await assert.rejects(c.call('test.Echo', 'Echo', Buffer.alloc(0), { timeoutMs: 30 }), (e: unknown) => e instanceof ShimError && e.kind === 'DeadlineExceeded');
  assert.ok(Date.now() - started >= 30);
  c.close();
});

test('a request over 4 MiB is refused locally as ResourceExhausted and the connection stays usable', async () => {
  const address = `\0TestClientOversize-${process.pid}`;
  await serve(address, { Echo: echo });
  const c = await dial(address);
  await assert.rejects(c.call('test.Echo', 'Echo', Buffer.alloc(MAX_MESSAGE_LENGTH + 1)), (e: unknown) => e instanceof ShimError && e.kind === 'ResourceExhausted');
  assert.equal((await c.call('test.Echo', 'Echo', Buffer.from('ok'))).toString(), 'ok');
  c.close();
});

test('dial of a missing socket is ConnectionClosedError', async () => {
  await assert.rejects(dial(`\0TestDialMissing-${process.pid}`), ConnectionClosedError);
  await assert.rejects(dial('/nonexistent/dir/ttrpc.sock'), ConnectionClosedError);
});

test('addresses: unix:///abs/path, /abs/path, @name, unix://@name and \\0name all dial', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-ttrpc-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 's.sock');
  await serve(file, { Echo: echo });
  const name = `TestDialAddresses-${process.pid}`;
  await serve('\0' + name, { Echo: echo });
  for (const address of [`unix://${file}`, file, `@${name}`, `unix://@${name}`, `\0${name}`]) {
    const c = await dial(address);
    assert.equal((await c.call('test.Echo', 'Echo', Buffer.from(address))).toString(), address);
    c.close();
  }
  assert.equal(socketPathOf(`unix://${file}`), file);
  assert.equal(socketPathOf('@x'), '\0x');
});

test('a Client made on an already-destroyed socket rejects calls with ConnectionClosedError', async () => {
  const s = new net.Socket();
  s.destroy();
  const c = new Client(s);
  await assert.rejects(c.call('test.Echo', 'Echo', Buffer.alloc(0)), ConnectionClosedError);
});
