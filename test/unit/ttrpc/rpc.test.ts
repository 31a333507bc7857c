import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ShimError, notFound, alreadyExists, failedPrecondition, invalidArgument, unavailable, type ErrorKind } from '../../../src/errors';
import { Client, dial } from '../../../src/ttrpc/client';
import { ConnectionClosedError } from '../../../src/ttrpc/errors';
import { encodeFrame, MAX_MESSAGE_LENGTH } from '../../../src/ttrpc/frame';
import { Server } from '../../../src/ttrpc/server';
import { ServiceRegistry, type CallContext } from '../../../src/ttrpc/services';
import { decodeResponse } from '../../../src/ttrpc/wire';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A server on a Linux abstract socket named after the test. */
async function serve(name: string, methods: Record<string, (p: Buffer, ctx: CallContext) => Promise<Buffer>>) {
  const registry = new ServiceRegistry();
  registry.register('test.Echo', methods);
  const server = new Server(registry);
  const listener = net.createServer();
  const path = `\0rx-ttrpc-${name}-${process.pid}`;
  await new Promise<void>((r) => listener.listen(path, r));
  server.serve(listener);
  servers.push(server);
  return { server, path, listener };
}

const echo = async (p: Buffer) => p;

test('a call round-trips its payload', async () => {
  const { path } = await serve('roundtrip', { Echo: echo });
  const c = await dial(path);
  assert.equal((await c.call('test.Echo', 'Echo', Buffer.from('hi'))).toString(), 'hi');
  c.close();
});

test('unknown service or method is Unimplemented', async () => {
  const { path } = await serve('unimpl', { Echo: echo });
  const c = await dial(path);
  await assert.rejects(c.call('nope.Svc', 'Echo', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented' && /service nope.Svc not found/.test(e.message));
  await assert.rejects(c.call('test.Echo', 'Nope', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented' && /method Nope not found/.test(e.message));
  c.close();
});

test('each error kind from a handler arrives at the client as the same kind', async () => {
  const makers: Record<string, () => ShimError> = {
    NotFound: () => notFound('x'),
    AlreadyExists: () => alreadyExists('x'),
    FailedPrecondition: () => failedPrecondition('x'),
    InvalidArgument: () => invalidArgument('x'),
    Unavailable: () => unavailable('x'),
  };
  const { path } = await serve('kinds', {
    Fail: async (p) => {
      throw makers[p.toString()]();
    },
    Plain: async () => {
      throw new Error('plain');
    },
  });
  const c = await dial(path);
  for (const kind of Object.keys(makers)) {
    await assert.rejects(c.call('test.Echo', 'Fail', Buffer.from(kind)), (e: unknown) => e instanceof ShimError && e.kind === (kind as ErrorKind));
  }
  await assert.rejects(c.call('test.Echo', 'Plain', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unknown' && e.message === 'plain');
  c.close();
});

test('timeout_nano is honoured: the handler is aborted and the caller gets DeadlineExceeded', async () => {
  let aborted = false;
  const { path } = await serve('timeout', {
    Hang: (_p, ctx) => new Promise<Buffer>(() => ctx.signal.addEventListener('abort', () => (aborted = true))),
  });
  const c = await dial(path);
  await assert.rejects(c.call('test.Echo', 'Hang', Buffer.alloc(0), { timeoutMs: 50 }), (e: unknown) => e instanceof ShimError && e.kind === 'DeadlineExceeded');
  assert.equal(aborted, true);
  c.close();
});

test('100 concurrent calls on one connection, answered out of order, each gets its own answer', async () => {
  const { path } = await serve('concurrent', {
    Slow: (p) => new Promise((r) => setTimeout(() => r(p), Math.random() * 30)),
  });
  const c = await dial(path);
  const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => c.call('test.Echo', 'Slow', Buffer.from(String(i)))));
  assert.deepEqual(answers.map((a) => a.toString()), Array.from({ length: 100 }, (_, i) => String(i)));
  c.close();
});

test('an oversize call gets an error status and the connection keeps serving (TestOversizeCall)', async () => {
  const { path } = await serve('oversize', { Echo: echo });
  const sock = net.connect(path);
  await new Promise((r) => sock.once('connect', r));
  const header = Buffer.alloc(10);
  header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
  header.writeUInt32BE(1, 4);
  header.writeUInt8(1, 8);
  sock.write(header);
  sock.write(Buffer.alloc(MAX_MESSAGE_LENGTH + 1));
  const client = new Client(sock);
  // Our client's next stream is 1 too; use raw bytes to read the oversize answer first.
  const answer = await new Promise<Buffer>((r) => sock.once('data', r));
  const res = decodeResponse(answer.subarray(10));
  assert.equal(res.status.code, 8, 'ResourceExhausted');
  assert.match(res.status.message, /exceed maximum message size/);
  // The same connection still serves (stream 1 was settled on the raw read; use 3 onwards).
  (client as unknown as { nextStream: number }).nextStream = 3;
  assert.equal((await client.call('test.Echo', 'Echo', Buffer.from('still'))).toString(), 'still');
  client.close();
});

test('garbage bytes on one connection do not stop a well-behaved client on another', async () => {
  const { path } = await serve('garbage', { Echo: echo });
  const bad = net.connect(path);
  await new Promise((r) => bad.once('connect', r));
  bad.write(encodeFrame({ streamId: 1, type: 1, flags: 0, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]) }));
  bad.write(encodeFrame({ streamId: 3, type: 9, flags: 0, payload: Buffer.from('unknown type') }));
  bad.write(Buffer.from('not even a header'));
  const good = await dial(path);
  assert.equal((await good.call('test.Echo', 'Echo', Buffer.from('ok'))).toString(), 'ok');
  bad.destroy();
  good.close();
});

test('the client sees ConnectionClosedError when the server goes away (TestClientEOF)', async () => {
  const { path, server } = await serve('eof', { Hang: () => new Promise<Buffer>(() => {}) });
  const c = await dial(path);
  const pending = c.call('test.Echo', 'Hang', Buffer.alloc(0));
  server.close();
  await assert.rejects(pending, ConnectionClosedError);
  await assert.rejects(c.call('test.Echo', 'Hang', Buffer.alloc(0)), ConnectionClosedError);
  await assert.rejects(dial(path), ConnectionClosedError);
});

test('shutdown waits for calls in flight, then closes (TestServerShutdown)', async () => {
  let release!: () => void;
  const { path, server } = await serve('shutdown', { Wait: () => new Promise<Buffer>((r) => (release = () => r(Buffer.from('done')))) });
  const c = await dial(path);
  const call = c.call('test.Echo', 'Wait', Buffer.alloc(0));
  await new Promise((r) => setTimeout(r, 20));
  let shut = false;
  const shutting = server.shutdown().then(() => (shut = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(shut, false, 'shutdown waits for the call in flight');
  release();
  assert.equal((await call).toString(), 'done');
  await shutting;
  await c.closed;
});

test('connections are released when clients disconnect (TestServerConnectionsLeak)', async () => {
  const { path, server } = await serve('leak', { Echo: echo });
  const clients = await Promise.all(Array.from({ length: 20 }, () => dial(path)));
  await Promise.all(clients.map((c) => c.call('test.Echo', 'Echo', Buffer.from('x'))));
  assert.equal(server.connections(), 20);
  clients.forEach((c) => c.close());
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.connections(), 0);
});
