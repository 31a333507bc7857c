/**
 * The ttrpc server's part in the stop path (pipeline.ts StopEffects): stop accepting while open
 * connections are still served, and close() cutting what is left and saying what it cut.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { dial } from '../../../src/ttrpc/client';
import { Server } from '../../../src/ttrpc/server';
import { ServiceRegistry } from '../../../src/ttrpc/services';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** test.Echo/Echo answers at once; test.Echo/Hang never does (a Wait on a running task). */
async function serve(name: string) {
  const registry = new ServiceRegistry();
  registry.register('test.Echo', { Echo: async (p) => p, Hang: () => new Promise<Buffer>(() => undefined) });
  const server = new Server(registry);
  const listener = net.createServer();
  const path = `\0${name}-${process.pid}`;
  await new Promise<void>((r) => listener.listen(path, r));
  server.serve(listener);
  servers.push(server);
  return { server, path, listener };
}

const connects = (path: string) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test('stopAccepting: the listener closes at once, and a connection already open is still answered', async () => {
  const { server, path, listener } = await serve('stop-accepting');
  const c = await dial(path);
  await c.call('test.Echo', 'Echo', Buffer.from('before'));
  server.stopAccepting();
  assert.equal(listener.listening, false, 'no longer listening');
  assert.equal(await connects(path), false, 'a new connection is refused');
  assert.deepEqual(await c.call('test.Echo', 'Echo', Buffer.from('after')), Buffer.from('after'));
  c.close();
});

test('close: a call that never ends is cut off, and close says how many connections and calls it cut', async () => {
  const { server, path } = await serve('stop-close');
  const busy = await dial(path);
  const idle = await dial(path);
  await idle.call('test.Echo', 'Echo', Buffer.from('x'));
  const hang = busy.call('test.Echo', 'Hang', Buffer.alloc(0));
  hang.catch(() => undefined);
  // Answered after the Hang on the same connection: the Hang was dispatched.
  await busy.call('test.Echo', 'Echo', Buffer.from('y'));
  assert.deepEqual(server.close(), { connections: 2, calls: 1 });
  await assert.rejects(hang, 'the call cut off fails at its caller');
  await busy.closed;
  await idle.closed;
});

test('shutdown never resolves while a call hangs: the stop path must bound it (close then ends it)', async () => {
  const { server, path } = await serve('stop-shutdown');
  const busy = await dial(path);
  const hang = busy.call('test.Echo', 'Hang', Buffer.alloc(0));
  hang.catch(() => undefined);
  await busy.call('test.Echo', 'Echo', Buffer.from('y'));
  let done = false;
  const shutting = server.shutdown().then(() => (done = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(done, false, 'still waiting on the call in flight');
  assert.deepEqual(server.close(), { connections: 1, calls: 1 });
  await shutting;
  assert.equal(done, true);
});
