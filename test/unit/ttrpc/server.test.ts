import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Code, ShimError, type ErrorKind } from '../../../src/errors';
import { dial } from '../../../src/ttrpc/client';
import { ConnectionClosedError } from '../../../src/ttrpc/errors';
import { encodeFrame, FrameDecoder, HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType, type Frame } from '../../../src/ttrpc/frame';
import { Server, type ServerOptions } from '../../../src/ttrpc/server';
import { ServiceRegistry, type Handler } from '../../../src/ttrpc/services';
import { decodeResponse, encodeRequest, type Response } from '../../../src/ttrpc/wire';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A server of `test.Echo` on a Linux abstract socket named after the test. */
async function serve(name: string, methods: Record<string, Handler>, opts?: ServerOptions) {
  const registry = new ServiceRegistry();
  registry.register('test.Echo', methods);
  const server = new Server(registry, opts);
  const listener = net.createServer();
  const path = `\0${name}-${process.pid}`;
  await new Promise<void>((r) => listener.listen(path, r));
  server.serve(listener);
  servers.push(server);
  return { server, path };
}

const echo: Handler = async (p) => p;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connection that speaks raw frames, to send what our client never would. */
async function rawConnect(path: string) {
  const socket = net.connect(path);
  await new Promise((r) => socket.once('connect', r));
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    for (const item of decoder.write(chunk)) if (item.kind === 'frame') frames.push(item.frame);
    waiters.splice(0).forEach((w) => w());
  });
  return {
    socket,
    send(streamId: number, type: number, payload: Buffer) {
      socket.write(encodeFrame({ streamId, type, flags: 0, payload }));
    },
    request(streamId: number, method: string, payload: Buffer) {
      this.send(streamId, MessageType.Request, encodeRequest({ service: 'test.Echo', method, payload, timeoutNano: 0, metadata: [] }));
    },
    /** The next response frame, decoded. */
    async next(): Promise<{ streamId: number; res: Response }> {
      while (frames.length === 0) await new Promise<void>((r) => waiters.push(r));
      const f = frames.shift()!;
      assert.equal(f.type, MessageType.Response);
      return { streamId: f.streamId, res: decodeResponse(f.payload) };
    },
  };
}

test('a call round-trips its payload', async () => {
  const { path } = await serve('TestRoundTrip', { Echo: echo });
  const c = await dial(path);
  assert.equal((await c.call('test.Echo', 'Echo', Buffer.from('hi'))).toString(), 'hi');
  c.close();
});

test('an unknown service or method is Unimplemented', async () => {
  const { path } = await serve('TestUnimplemented', { Echo: echo });
  const c = await dial(path);
  await assert.rejects(c.call('nope.Svc', 'Echo', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented' && e.message === 'service nope.Svc not found');
  await assert.rejects(c.call('test.Echo', 'Nope', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented' && e.message === 'method Nope not found');
  c.close();
});

test('every error kind thrown by a handler arrives at the client as the same kind and message', async () => {
  const kinds: ErrorKind[] = [
    'NotFound',
    'AlreadyExists',
    'FailedPrecondition',
    'InvalidArgument',
    'Unavailable',
    'Unimplemented',
    'DeadlineExceeded',
    'Canceled',
    'ResourceExhausted',
    'Internal',
    'Unknown',
  ];
  const { path } = await serve('TestErrorKinds', {
    Fail: async (p) => {
      throw new ShimError(p.toString() as ErrorKind, `failed as ${p}`);
    },
    Plain: async () => {
      throw new Error('plain');
    },
  });
  const c = await dial(path);
  for (const kind of kinds) {
    await assert.rejects(c.call('test.Echo', 'Fail', Buffer.from(kind)), (e: unknown) => e instanceof ShimError && e.kind === kind && e.message === `failed as ${kind}`, kind);
  }
  await assert.rejects(c.call('test.Echo', 'Plain', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'Unknown' && e.message === 'plain');
  c.close();
});

test('timeout_nano is honoured: the handler signal aborts and the caller gets DeadlineExceeded from the server', async () => {
  let aborted = false;
  const { path } = await serve('TestTimeout', {
    Hang: (_p, ctx) => new Promise<Buffer>(() => ctx.signal.addEventListener('abort', () => (aborted = true))),
  });
  const c = await dial(path);
  await assert.rejects(
    c.call('test.Echo', 'Hang', Buffer.alloc(0), { timeoutMs: 50 }),
    // The server's wording, not the client's own fallback.
    (e: unknown) => e instanceof ShimError && e.kind === 'DeadlineExceeded' && e.message === 'test.Echo/Hang: context deadline exceeded',
  );
  assert.equal(aborted, true);
  c.close();
});

test('metadata and the deadline reach the handler', async () => {
  const { path } = await serve('TestMetadata', {
    Md: async (_p, ctx) => Buffer.from(JSON.stringify({ md: [...ctx.metadata], left: (ctx.deadline ?? 0) - Date.now() })),
  });
  const c = await dial(path);
  const got = JSON.parse((await c.call('test.Echo', 'Md', Buffer.alloc(0), { timeoutMs: 5000, metadata: { namespace: 'default' } })).toString());
  assert.deepEqual(got.md, [['namespace', ['default']]]);
  assert.ok(got.left > 4000 && got.left <= 5000, `deadline ${got.left} ms away`);
  c.close();
});

test('100 concurrent calls on one connection, answered in reverse order, each get their own answer', async () => {
  const order: number[] = [];
  const { path } = await serve('TestConcurrent', {
    Slow: async (p) => {
      const i = Number(p.toString());
      await sleep((100 - i) * 2);
      order.push(i);
      return Buffer.from(`answer ${i}`);
    },
  });
  const c = await dial(path);
  const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => c.call('test.Echo', 'Slow', Buffer.from(String(i)))));
  assert.deepEqual(
    answers.map((a) => a.toString()),
    Array.from({ length: 100 }, (_, i) => `answer ${i}`),
  );
  assert.notDeepEqual(order, [...order].sort((a, b) => a - b), 'answers really went out of order');
  c.close();
});

test('an oversize call gets ResourceExhausted on its stream and the connection keeps serving (TestOversizeCall)', async () => {
  const { path } = await serve('TestOversizeCall', { Echo: echo });
  const raw = await rawConnect(path);
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
  header.writeUInt32BE(1, 4);
  header.writeUInt8(MessageType.Request, 8);
  raw.socket.write(header);
  raw.socket.write(Buffer.alloc(MAX_MESSAGE_LENGTH + 1));
  raw.request(3, 'Echo', Buffer.from('still'));
  const first = await raw.next();
  assert.equal(first.streamId, 1);
  assert.deepEqual(first.res.status, {
    code: Code.ResourceExhausted,
    message: `message length ${MAX_MESSAGE_LENGTH + 1} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`,
  });
  const second = await raw.next();
  assert.equal(second.streamId, 3);
  assert.equal(second.res.status.code, Code.OK);
  assert.equal(second.res.payload.toString(), 'still');
  raw.socket.destroy();
});

test('a response over 4 MiB becomes ResourceExhausted for that call, and the connection keeps serving', async () => {
  const { path } = await serve('TestOversizeResponse', { Big: async () => Buffer.alloc(MAX_MESSAGE_LENGTH + 1), Echo: echo });
  const c = await dial(path);
  await assert.rejects(c.call('test.Echo', 'Big', Buffer.alloc(0)), (e: unknown) => e instanceof ShimError && e.kind === 'ResourceExhausted');
  assert.equal((await c.call('test.Echo', 'Echo', Buffer.from('after'))).toString(), 'after');
  c.close();
});

test('a request that does not decode gets InvalidArgument on its stream and the connection keeps serving', async () => {
  const { path } = await serve('TestGarbageRequest', { Echo: echo });
  const raw = await rawConnect(path);
  raw.send(1, MessageType.Request, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
  const bad = await raw.next();
  assert.equal(bad.streamId, 1);
  assert.equal(bad.res.status.code, Code.InvalidArgument);
  assert.match(bad.res.status.message, /^unmarshal request error: /);
  raw.request(3, 'Echo', Buffer.from('ok'));
  assert.equal((await raw.next()).res.payload.toString(), 'ok');
  raw.socket.destroy();
});

test('an even stream id gets InvalidArgument, as Go enforces odd client streams', async () => {
  const { path } = await serve('TestEvenStream', { Echo: echo });
  const raw = await rawConnect(path);
  raw.request(2, 'Echo', Buffer.from('x'));
  const res = await raw.next();
  assert.equal(res.streamId, 2);
  assert.deepEqual(res.res.status, { code: Code.InvalidArgument, message: 'StreamID must be odd for client initiated streams' });
  raw.socket.destroy();
});

test('a message of unknown type is ignored with a log, and the connection keeps serving', async () => {
  const logged: string[] = [];
  const { path } = await serve('TestUnknownType', { Echo: echo }, { log: (_l, msg) => logged.push(msg) });
  const raw = await rawConnect(path);
  raw.send(1, 3, Buffer.from('a stream data message from ttrpc 1.2'));
  raw.request(3, 'Echo', Buffer.from('ok'));
  const res = await raw.next();
  assert.equal(res.streamId, 3, 'no answer to the unknown message');
  assert.equal(res.res.payload.toString(), 'ok');
  assert.ok(logged.some((m) => /unknown type/.test(m)));
  raw.socket.destroy();
});

test('garbage bytes on one connection do not stop a well-behaved client on another', async () => {
  const { server, path } = await serve('TestGarbageBytes', { Echo: echo });
  const raw = await rawConnect(path);
  raw.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  raw.socket.write(Buffer.from([0, 0, 0, 3, 0, 0, 0, 1, 1, 0, 0x0a, 0x7f, 0x01]));
  const good = await dial(path);
  assert.equal((await good.call('test.Echo', 'Echo', Buffer.from('ok'))).toString(), 'ok');
  raw.socket.destroy();
  good.close();
  await good.closed;
  await sleep(20);
  assert.equal(server.connections(), 0);
});

test('a client that disconnects mid-call aborts the handler signal, and nothing throws', async () => {
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  let gone!: (reason: unknown) => void;
  const aborted = new Promise<unknown>((r) => (gone = r));
  const { path } = await serve('TestClientGone', {
    Hang: (_p, ctx) =>
      new Promise<Buffer>((_, reject) => {
        entered();
        ctx.signal.addEventListener('abort', () => {
          gone(ctx.signal.reason);
          reject(new Error('caller gone'));
        });
      }),
  });
  const c = await dial(path);
  const call = c.call('test.Echo', 'Hang', Buffer.alloc(0));
  await inside;
  c.close();
  await assert.rejects(call, ConnectionClosedError);
  assert.match(String(await aborted), /connection closed/);
  // The handler's rejection has nowhere to go; give it a turn to prove it is swallowed.
  await sleep(10);
});

test('shutdown waits for calls in flight, refuses new connections, then closes (TestServerShutdown)', async () => {
  let release!: () => void;
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const { path, server } = await serve('TestServerShutdown', {
    Wait: () =>
      new Promise<Buffer>((r) => {
        entered();
        release = () => r(Buffer.from('done'));
      }),
  });
  const busy = await dial(path);
  const idle = await dial(path);
  const call = busy.call('test.Echo', 'Wait', Buffer.alloc(0));
  await inside;
  let shut = false;
  const shutting = server.shutdown().then(() => (shut = true));
  await idle.closed; // an idle connection closes at once
  await assert.rejects(dial(path), ConnectionClosedError);
  await sleep(20);
  assert.equal(shut, false, 'shutdown waits for the call in flight');
  release();
  assert.equal((await call).toString(), 'done');
  await shutting;
  await busy.closed;
  assert.equal(server.connections(), 0);
});

test('connections are released when clients disconnect (TestServerConnectionsLeak)', async () => {
  const { path, server } = await serve('TestServerConnectionsLeak', { Echo: echo });
  const clients = await Promise.all(Array.from({ length: 20 }, () => dial(path)));
  await Promise.all(clients.map((c) => c.call('test.Echo', 'Echo', Buffer.from('x'))));
  assert.equal(server.connections(), 20);
  clients.forEach((c) => c.close());
  for (let i = 0; i < 50 && server.connections() > 0; i++) await sleep(10);
  assert.equal(server.connections(), 0);
});

test('a connection refused by peerCheck is closed before anything is read', async () => {
  let checked = 0;
  const { path, server } = await serve('TestPeerCheck', { Echo: echo }, { peerCheck: () => (checked++, false) });
  const c = await dial(path);
  await assert.rejects(c.call('test.Echo', 'Echo', Buffer.from('x')), ConnectionClosedError);
  assert.equal(checked, 1);
  assert.equal(server.connections(), 0);
});

test('close() drops every connection and aborts the handlers in flight', async () => {
  let aborted = false;
  const { path, server } = await serve('TestServerClose', {
    Hang: (_p, ctx) => new Promise<Buffer>(() => ctx.signal.addEventListener('abort', () => (aborted = true))),
  });
  const c = await dial(path);
  const call = c.call('test.Echo', 'Hang', Buffer.alloc(0));
  await sleep(10);
  server.close();
  await assert.rejects(call, ConnectionClosedError);
  await sleep(10);
  assert.equal(aborted, true);
});
