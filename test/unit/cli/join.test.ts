import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { failedPrecondition } from '../../../src/errors';
import { decodeJoinRequest, encodeJoinRequest, GROUP_SERVICE, join } from '../../../src/cli/join';
import { listenOrJoin } from '../../../src/cli/start';
import { createShutdown } from '../../../src/streams/shutdown$';
import { groupHandlers, Joins } from '../../../src/task/joins';
import { Server } from '../../../src/ttrpc/server';
import { ServiceRegistry, type Handler } from '../../../src/ttrpc/services';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-join-'));
const closers: Array<() => void> = [];
after(() => {
  closers.forEach((c) => c());
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const address = () => `unix://${path.join(dir, `s${n++}`)}`;
const file = (a: string) => a.replace(/^unix:\/\//, '');

/** A ttrpc server on `addr` with the given Group handlers (none: a shim that predates Join). */
async function serving(addr: string, group?: Record<string, Handler>) {
  const registry = new ServiceRegistry();
  if (group) registry.register(GROUP_SERVICE, group);
  const server = new Server(registry);
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(file(addr), r));
  server.serve(listener);
  closers.push(() => server.close());
  return { server, listener };
}

test('JoinRequest round-trips its id', () => {
  assert.deepEqual(decodeJoinRequest(encodeJoinRequest('c-1')), { id: 'c-1' });
  assert.deepEqual(decodeJoinRequest(Buffer.alloc(0)), { id: '' });
  assert.throws(() => decodeJoinRequest(Buffer.from([0x0a, 0x05, 0x61])), /claims 5 bytes/);
});

test('a live process takes the container: joined, and it awaits that Create', async () => {
  const addr = address();
  const joins = new Joins({ shutdown: createShutdown(), idle: () => true });
  await serving(addr, groupHandlers(joins));
  assert.equal(await join(addr, 'b'), 'joined');
  assert.equal(joins.size, 1);
  joins.dispose();
});

test('a stopping process answers leaving; a process without the Group service is joined as before', async () => {
  const stopping = createShutdown();
  stopping.shutdown();
  const a = address();
  await serving(a, groupHandlers(new Joins({ shutdown: stopping, idle: () => true })));
  assert.equal(await join(a, 'b'), 'leaving');
  const b = address();
  await serving(b);
  assert.equal(await join(b, 'b'), 'joined');
});

test('a connection closed unanswered is leaving; no answer at all rejects after the bound', async () => {
  const a = address();
  const closing = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => closing.listen(file(a), r));
  closers.push(() => closing.close());
  assert.equal(await join(a, 'b'), 'leaving');
  const b = address();
  const mute = net.createServer(() => {});
  await new Promise<void>((r) => mute.listen(file(b), r));
  closers.push(() => mute.close());
  await assert.rejects(join(b, 'b', 100), /no answer in 100 ms/);
});

/** A socket file nobody listens on: its process was killed (node unlinks it on a clean close). */
function staleSocket(addr: string) {
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file(addr))}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.ok(existsSync(file(addr)));
}

test('start listens on a free address, and on a stale socket file once it stayed refused', async () => {
  const a = address();
  const s = await listenOrJoin(a, 'a');
  assert.ok(s);
  s.close();
  const b = address();
  staleSocket(b);
  assert.equal(await join(b, 'b'), 'refused');
  const t = await listenOrJoin(b, 'b');
  assert.ok(t, 'a new listener in place of the stale file');
  t.close();
});

test('start joins a live process, and makes a new socket when the process it reached is leaving', async () => {
  const a = address();
  const joins = new Joins({ shutdown: createShutdown(), idle: () => true });
  await serving(a, groupHandlers(joins));
  assert.equal(await listenOrJoin(a, 'b'), null);
  assert.equal(joins.size, 1);
  joins.dispose();
  // The leaving process: its Shutdown closes the listener and unlinks the file, then refuses
  // the Join it had already accepted the connection of.
  const b = address();
  let listener: net.Server;
  const { listener: l } = await serving(b, {
    Join: async () => {
      // (node's close unlinks a socket it bound itself; ours, inherited as fd 3, is unlinked by removeSocket)
      listener.close();
      if (existsSync(file(b))) unlinkSync(file(b));
      throw failedPrecondition('join b: this shim is shutting down');
    },
  });
  listener = l;
  const s = await listenOrJoin(b, 'b');
  assert.ok(s, 'a new serving socket');
  s.close();
});
