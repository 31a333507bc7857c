/**
 * Bad input against our ttrpc Server in-process: each malformed thing a peer can send, 1,000
 * connections dropped, a fuzz run, and the same-user peer check against a process of another
 * uid. A bystander client calls throughout; every test asserts it was never refused.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Code } from '../../../src/errors';
import { dial } from '../../../src/ttrpc/client';
import { MAX_MESSAGE_LENGTH, MessageType } from '../../../src/ttrpc/frame';
import { Server, type ServerOptions } from '../../../src/ttrpc/server';
import { ServiceRegistry, type Handler } from '../../../src/ttrpc/services';
import { peerCred, refuseOtherUser } from '../../../src/sys/peercred';
import { bystander, fuzz, header, rawConnect, validFrame } from '../../helpers/ttrpc-raw';

const servers: Server[] = [];
const dirs: string[] = [];
after(() => {
  servers.forEach((s) => s.close());
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SVC = 'test.Echo';
const methods: Record<string, Handler> = {
  Echo: async (p) => p,
  /** Answers after 100 ms, or fails when the caller goes. */
  Slow: (p, ctx) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve(p), 100);
      ctx.signal.addEventListener('abort', () => (clearTimeout(t), reject(new Error('caller gone'))));
    }),
};

async function serve(name: string, opts?: ServerOptions) {
  const registry = new ServiceRegistry();
  registry.register(SVC, methods);
  const server = new Server(registry, opts);
  const listener = net.createServer();
  const addr = `\0${name}-${process.pid}`;
  await new Promise<void>((r) => listener.listen(addr, r));
  server.serve(listener);
  servers.push(server);
  const by = bystander(addr, async (c) => assert.equal((await c.call(SVC, 'Echo', Buffer.from('still here'))).toString(), 'still here'));
  return {
    server,
    path: addr,
    /** Stops the bystander and asserts every one of its calls succeeded. */
    async served() {
      const { ok, failures } = await by.stop();
      assert.deepEqual(failures, [], 'the well-behaved client was refused');
      assert.ok(ok > 0, 'the well-behaved client made calls');
      return ok;
    },
  };
}

async function untilConnections(server: Server, n: number, ms = 5000) {
  const until = Date.now() + ms;
  while (server.connections() !== n && Date.now() < until) await sleep(10);
  assert.equal(server.connections(), n, 'connections open');
}

test('truncated headers (1 to 9 bytes, then EOF) close only their own connection', async () => {
  const { server, path: p, served } = await serve('FuzzTruncated');
  for (let n = 1; n < 10; n++) {
    const c = await rawConnect(p);
    c.write(header(5, 1, MessageType.Request).subarray(0, n));
    c.socket.end();
    await c.closed;
  }
  await untilConnections(server, 1);
  console.log(`# truncated headers sent: 9, connections left: ${server.connections()} (the bystander)`);
  await served();
});

test('a length over 4 MiB gets ResourceExhausted on its stream and the connection keeps serving', async () => {
  const { path: p, served } = await serve('FuzzOversize');
  const c = await rawConnect(p);
  const body = Buffer.alloc(MAX_MESSAGE_LENGTH + 1);
  c.write(Buffer.concat([header(body.length, 1, MessageType.Request), body]));
  const r = await c.next();
  assert.equal(r.streamId, 1);
  assert.equal(r.res.status.code, Code.ResourceExhausted);
  c.request(3, SVC, 'Echo', Buffer.from('after'));
  assert.equal((await c.next()).res.payload.toString(), 'after');
  c.socket.destroy();
  await served();
});

test('garbage protobuf, an unknown message type and an even stream id: errors on their streams, the connection keeps serving', async () => {
  const { path: p, served } = await serve('FuzzGarbage');
  const c = await rawConnect(p);
  c.send(1, MessageType.Request, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  assert.equal((await c.next()).res.status.code, Code.InvalidArgument);
  c.send(3, 0x7f, Buffer.from('whatever'));
  c.request(4, SVC, 'Echo', Buffer.from('x'));
  const even = await c.next();
  assert.deepEqual([even.streamId, even.res.status.code], [4, Code.InvalidArgument], 'no answer to type 0x7f; InvalidArgument to stream 4');
  c.request(5, SVC, 'Echo', Buffer.from('ok'));
  assert.equal((await c.next()).res.payload.toString(), 'ok');
  c.socket.destroy();
  await served();
});

test('a stream id reused while its call is in flight gets InvalidArgument; the first call is answered once', async () => {
  const { path: p, served } = await serve('FuzzReuse');
  const c = await rawConnect(p);
  c.request(7, SVC, 'Slow', Buffer.from('first'));
  c.request(7, SVC, 'Echo', Buffer.from('second'));
  const a = await c.next();
  assert.deepEqual([a.streamId, a.res.status.code], [7, Code.InvalidArgument]);
  assert.match(a.res.status.message, /StreamID 7 is already in use/);
  const b = await c.next();
  assert.deepEqual([b.streamId, b.res.payload.toString()], [7, 'first']);
  await sleep(150);
  assert.equal(c.frames.length, 0, 'one answer per call');
  // Once answered, the id may be used again (Go does not forbid it).
  c.request(7, SVC, 'Echo', Buffer.from('again'));
  assert.equal((await c.next()).res.payload.toString(), 'again');
  c.socket.destroy();
  await served();
});

test('a client that disconnects mid-call (50 of them) leaves nothing behind', async () => {
  const { server, path: p, served } = await serve('FuzzMidCall');
  for (let i = 0; i < 50; i++) {
    const c = await rawConnect(p);
    c.request(1, SVC, 'Slow', Buffer.from('x'));
    // Half mid-frame: the request's first bytes only.
    if (i % 2) c.write(validFrame(3, SVC, 'Echo', Buffer.from('y')).subarray(0, 12));
    c.socket.destroy();
  }
  await untilConnections(server, 1);
  await sleep(150); // the Slow handlers' timers have fired or been aborted
  await served();
});

test('1,000 connections opened and dropped: all released, the well-behaved client answered throughout', async () => {
  const { server, path: p, served } = await serve('FuzzThousand');
  const t0 = Date.now();
  for (let i = 0; i < 1000; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => rawConnect(p)));
    batch.forEach((c) => c.socket.destroy());
    await Promise.all(batch.map((c) => c.closed));
  }
  await untilConnections(server, 1);
  const ok = await served();
  console.log(`# connections opened and dropped: 1000 in ${Date.now() - t0} ms; bystander calls answered: ${ok}; left open: 1`);
});

test('fuzz: random and mutated frames (20,000 inputs or 20 s) crash nothing, hang nothing, and the bystander is answered', async () => {
  const uncaught: unknown[] = [];
  const onErr = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onErr);
  process.on('unhandledRejection', onErr);
  try {
    const { server, path: p, served } = await serve('FuzzRandom');
    const valid = () => validFrame(1 + 2 * Math.floor(Math.random() * 8), SVC, Math.random() < 0.5 ? 'Echo' : 'Slow', Buffer.from('payload'));
    const f = await fuzz(p, valid, { maxInputs: 20000, maxMs: 20000 });
    console.log(`# fuzz inputs tried: ${f.inputs} on ${f.connections} connections in ${f.ms} ms; responses: ${f.responses}; connections closed by the server: ${f.closedByServer}`);
    assert.ok(f.inputs >= 1000, 'a meaningful number of inputs');
    assert.ok(f.responses > 0, 'some inputs were valid enough to be answered');
    await untilConnections(server, 1);
    // Still answering, promptly, on a fresh connection too.
    const c = await dial(p);
    const t = Date.now();
    assert.equal((await c.call(SVC, 'Echo', Buffer.from('after'))).toString(), 'after');
    assert.ok(Date.now() - t < 1000, 'answered within 1 s');
    c.close();
    await served();
    assert.deepEqual(uncaught, [], 'no uncaught exception or rejection');
  } finally {
    process.off('uncaughtException', onErr);
    process.off('unhandledRejection', onErr);
  }
});

test('peerCred names our own process on a connection we make', async () => {
  const seen: Array<ReturnType<typeof peerCred>> = [];
  const { path: p, served } = await serve('FuzzPeerCredSelf', { peerCheck: (s) => (seen.push(peerCred(s)), true) });
  while (seen.length === 0) await sleep(10);
  await sleep(50);
  await served(); // the bystander's one connection
  assert.deepEqual(seen[0], { pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() });
  assert.equal(refuseOtherUser(seen[0]), null);
  void p;
});

test('peerCheck refuses a process of uid 65534 connecting to a 0777 socket, and logs who it was', { skip: process.geteuid!() !== 0 && 'needs root to run a child as 65534' }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-peer-'));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  const sock = path.join(dir, 'ttrpc.sock');
  const logged: Array<{ msg: string; fields?: object }> = [];
  const registry = new ServiceRegistry();
  registry.register(SVC, methods);
  const server = new Server(registry, {
    log: (_l, msg, fields) => logged.push({ msg, fields }),
    peerCheck: (s) => {
      const why = refuseOtherUser(peerCred(s));
      if (why) logged.push({ msg: 'refused', fields: { why } });
      return !why;
    },
  });
  servers.push(server);
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(sock, r));
  chmodSync(sock, 0o777);
  server.serve(listener);
  // The child connects, sends an Echo request and reports what came back.
  const frame = validFrame(1, SVC, 'Echo', Buffer.from('hi')).toString('base64');
  const script = `const s=require('net').connect(${JSON.stringify(sock)});let got=0;s.on('connect',()=>s.write(Buffer.from('${frame}','base64')));s.on('data',d=>got+=d.length);s.on('error',e=>{console.log('error '+e.code);process.exit(0)});s.on('close',()=>{console.log('closed after '+got+' bytes');process.exit(0)});setTimeout(()=>{console.log('no answer, still open');process.exit(0)},3000);`;
  const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise((r) => child.once('close', r));
  // Closed before a byte is read: the child sees the close, or EPIPE/ECONNRESET on its write.
  assert.match(out.trim(), /^(closed after 0 bytes|error (EPIPE|ECONNRESET))$/, 'refused: closed without an answer');
  const refusal = logged.find((l) => l.msg === 'refused');
  assert.ok(refusal, `a refusal logged; log: ${JSON.stringify(logged)}`);
  assert.match(JSON.stringify(refusal.fields), new RegExp(`pid ${child.pid} runs as uid 65534 gid 65534`));
  // A client of our own uid is served on the same socket.
  const c = await dial(sock);
  assert.equal((await c.call(SVC, 'Echo', Buffer.from('mine'))).toString(), 'mine');
  c.close();
  console.log(`# peer of uid 65534 (pid ${child.pid}): refused; our own uid: served`);
});
