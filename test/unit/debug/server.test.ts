/** debugServer$ on an abstract socket named after each test (STYLE 12), with the real peer check. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { connectDebug } from '../../../src/debug/client';
import { DebugHub } from '../../../src/debug/hub';
import type { Response } from '../../../src/debug/protocol';
import { debugServer$ } from '../../../src/debug/server';
import { peerCred, refuseOtherUser } from '../../../src/sys/peercred';

function serve(name: string) {
  const where = `\0rx-test-debug-${name}-${process.pid}`;
  const hub = new DebugHub(() => 42);
  const logs: string[] = [];
  const unlinked: string[] = [];
  const sub = debugServer$({
    listen: () => new Promise((resolve) => {
      const s = net.createServer();
      s.listen(where, () => resolve(s));
    }),
    unlink: () => void unlinked.push(where),
    hub,
    hello: () => ({ pid: 1, namespace: 'ns', address: '/a', containers: ['c1'] }),
    state: () => ({ containers: 1 }),
    metrics: async () => 'm_total 1\n',
    refuse: (socket) => refuseOtherUser(peerCred(socket)),
    log: (level, msg, fields) => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
  }).subscribe();
  const ready = async () => {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((r) => net.connect(where).once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
      if (ok) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { where, hub, logs, unlinked, sub, ready };
}

const events = () => {
  const got: Response[] = [];
  return { got, fn: (r: Response) => void got.push(r) };
};
const tick = () => new Promise((r) => setTimeout(r, 20));
/** Waits (up to 5 s) until `ok()`: the socket's lines arrive when the machine gets to them. */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !ok(); i++) await tick();
}

test('hello, state and metrics answer in order; a bad line gets an error and the connection stays', async () => {
  const s = serve('answers');
  await s.ready();
  const c = await connectDebug(s.where);
  assert.deepEqual(await c.request({ op: 'hello' }), { op: 'hello', pid: 1, namespace: 'ns', address: '/a', containers: ['c1'] });
  const [state, metrics] = await c.requests([{ op: 'state' }, { op: 'metrics' }]);
  assert.deepEqual(state, { op: 'state', state: { containers: 1 } });
  assert.deepEqual(metrics, { op: 'metrics', text: 'm_total 1\n' });
  assert.deepEqual(await c.request({ op: 'dump' } as never), { op: 'error', message: 'unknown op "dump": expected hello, state, metrics or tap' });
  assert.equal((await c.request({ op: 'hello' })).op, 'hello');
  c.close();
  s.sub.unsubscribe();
});

test('a tap sees only its streams and its container (and the process\'s own values); a new tap switches streams live; an empty one stops', async () => {
  const s = serve('tap');
  await s.ready();
  const c = await connectDebug(s.where);
  const e = events();
  c.onEvent(e.fn);
  assert.deepEqual(await c.request({ op: 'tap', streams: ['exits', 'signals'], id: 'c1' }), { op: 'ack', streams: ['exits', 'signals'], id: 'c1' });
  assert.equal(s.hub.watched('exits'), true);
  assert.equal(s.hub.watched('calls'), false);
  s.hub.attribute = (stream, v) => (stream === 'exits' ? String((v as { c: string }).c) : '');
  s.hub.record('exits', { c: 'c1', pid: 1 });
  s.hub.record('exits', { c: 'c2', pid: 2 });
  s.hub.record('calls', { id: 'c1' });
  s.hub.record('signals', 'SIGCHLD');
  await until(() => e.got.length >= 2);
  assert.deepEqual(e.got, [
    { op: 'event', t: 42, stream: 'exits', id: 'c1', value: { c: 'c1', pid: 1 } },
    { op: 'event', t: 42, stream: 'signals', id: '', value: 'SIGCHLD' },
  ]);
  await c.request({ op: 'tap', streams: ['calls'] });
  assert.equal(s.hub.watched('exits'), false, 'the tap before is gone');
  s.hub.attribute = () => 'c9';
  s.hub.record('exits', { c: 'c1' });
  s.hub.record('calls', { method: 'State' });
  await until(() => e.got.length >= 3);
  assert.deepEqual(e.got.slice(2), [{ op: 'event', t: 42, stream: 'calls', id: 'c9', value: { method: 'State' } }]);
  await c.request({ op: 'tap', streams: [] });
  assert.equal(s.hub.watched('calls'), false);
  c.close();
  await tick();
  s.sub.unsubscribe();
});

test('a closed connection stops watching; unsubscribing closes every connection and removes the socket', async () => {
  const s = serve('teardown');
  await s.ready();
  const a = await connectDebug(s.where);
  await a.request({ op: 'tap', streams: ['exits'] });
  a.close();
  await until(() => !s.hub.watched('exits'));
  assert.equal(s.hub.watched('exits'), false);
  const b = await connectDebug(s.where);
  await b.request({ op: 'tap', streams: ['exits'] });
  s.sub.unsubscribe();
  await b.closed;
  assert.deepEqual(s.unlinked, [s.where]);
  await assert.rejects(connectDebug(s.where), /ECONNREFUSED/);
});

test('a peer of another uid is refused before anything is read, as on the ttrpc socket', { skip: process.getuid?.() !== 0 && 'needs root to connect as another uid' }, async () => {
  const s = serve('peer');
  await s.ready();
  // Node 20 binds an abstract name padded with NULs to 108 bytes (see sys/peercred.test).
  // A reset or an EOF: either way, no answer.
  const script = [
    'import socket,sys',
    'c=socket.socket(socket.AF_UNIX)',
    'c.connect(("\\0"+sys.argv[1]).ljust(108,"\\0"))',
    'try:',
    '  c.sendall(b\'{"op":"hello"}\\n\')',
    '  d=c.recv(4096)',
    'except (ConnectionResetError, BrokenPipeError):',
    '  d=b""',
    'print("got", len(d))',
  ].join('\n');
  const child = spawn('python3', ['-c', script, s.where.slice(1)], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  try {
    assert.equal(out.trim(), 'got 0', 'the connection is closed with no answer');
    assert.ok(s.logs.some((l) => /debug socket: connection refused .*runs as uid 65534 gid 65534/.test(l)), s.logs.join('\n'));
  } finally {
    s.sub.unsubscribe();
  }
});

test('a listen that fails is logged and the stage stays up (the shim serves on without it)', async () => {
  const logs: string[] = [];
  const sub = debugServer$({
    listen: () => Promise.reject(new Error('EACCES')),
    unlink: () => undefined,
    hub: new DebugHub(),
    hello: () => ({ pid: 1, namespace: '', address: '', containers: [] }),
    state: () => ({}),
    metrics: async () => '',
    refuse: () => null,
    log: (level, msg) => void logs.push(`${level} ${msg}`),
  }).subscribe({ error: () => assert.fail('no error'), complete: () => assert.fail('no complete') });
  await tick();
  assert.deepEqual(logs, ['warn debug socket: cannot listen; serving without it']);
  sub.unsubscribe();
});
