import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { unavailable } from '../../../src/errors';
import { Publisher, type EventsConnection } from '../../../src/publisher/publisher';
import type { TaskEvent } from '../../../src/publisher/envelope';
import { decode } from '../../../src/proto';

const ev = (containerId: string, topic = '/tasks/oom'): TaskEvent => ({ topic, type: 'containerd.events.TaskOOM', containerId, event: { container_id: containerId } });

/**
 * A fake events service: each Forward waits until it is answered (`answer(n)`), or fails with
 * Unavailable while `away` holds. Each call's container id is recorded in order.
 */
function fakeEvents() {
  const calls: string[] = [];
  const held: Array<() => void> = [];
  const state = { away: new Set<string>(), hold: false };
  const conn: EventsConnection = {
    call: (_svc, _method, payload) => {
      const { envelope } = decode('containerd.services.events.ttrpc.v1.ForwardRequest', payload) as { envelope: { topic: string; event: { value: Buffer } } };
      const id = (decode('containerd.events.TaskOOM', envelope.event.value) as { container_id: string }).container_id;
      calls.push(id);
      if (state.away.has(id)) return Promise.reject(unavailable('containerd is away'));
      if (!state.hold) return Promise.resolve(Buffer.alloc(0));
      return new Promise<Buffer>((resolve) => held.push(() => resolve(Buffer.alloc(0))));
    },
    close: () => {},
    closed: new Promise<void>(() => {}),
  };
  const answerAll = () => held.splice(0).forEach((r) => r());
  return { conn, calls, state, answerAll };
}

/** A pino logger whose lines are kept, parsed. */
function recordingLog() {
  const lines: Array<Record<string, unknown>> = [];
  return { log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) }), lines };
}

const tick = () => new Promise((r) => setImmediate(r));

test('stats: published, delivered, lost, pending, with no queues listed once every queue is empty', async () => {
  const f = fakeEvents();
  const p = new Publisher({ namespace: 'ns', connect: async () => f.conn, log: recordingLog().log });
  p.publish(ev('a'));
  p.publish(ev('b'));
  p.publish(ev('a'));
  await p.drain();
  assert.deepEqual(p.snapshot(), { published: 3, delivered: 3, lost: 0, pending: 0 });
});

test('stats: the state dump sees each container\'s queue depth while events wait', async () => {
  const f = fakeEvents();
  f.state.hold = true;
  const p = new Publisher({ namespace: 'ns', connect: async () => f.conn, log: recordingLog().log });
  for (const id of ['a', 'a', 'a', 'b']) p.publish(ev(id));
  await tick();
  assert.deepEqual(p.snapshot(), { published: 4, delivered: 0, lost: 0, pending: 4, queues: { a: 3, b: 1 } });
  f.answerAll();
  await tick();
  assert.deepEqual(p.snapshot(), { published: 4, delivered: 2, lost: 0, pending: 2, queues: { a: 2 } }, 'a\'s next one is in flight now');
  f.state.hold = false;
  f.answerAll();
  await p.drain();
  assert.deepEqual(p.snapshot(), { published: 4, delivered: 4, lost: 0, pending: 0 });
});

test('stats: an event past a container\'s bound or the bound of all is dropped, logged with why, and counted lost', async () => {
  const f = fakeEvents();
  f.state.hold = true;
  const r = recordingLog();
  const p = new Publisher({ namespace: 'ns', connect: async () => f.conn, log: r.log, maxQueue: 3, maxQueuePerContainer: 2 });
  for (const id of ['a', 'a', 'a', 'b', 'c']) p.publish(ev(id));
  assert.deepEqual(p.snapshot(), { published: 3, delivered: 0, lost: 2, pending: 3, queues: { a: 2, b: 1 } });
  const lost = r.lines.filter((l) => l.msg === 'event lost');
  assert.deepEqual(lost.map((l) => [l.id, l.why, l.lost]), [['a', 'container queue full', 1], ['c', 'queue full', 2]]);
  f.state.hold = false;
  await tick();
  f.answerAll();
  await p.drain();
  assert.deepEqual(p.snapshot(), { published: 3, delivered: 3, lost: 2, pending: 0 });
});

test('stats: an event given up after its retries counts lost; one published after the drain counts lost', async () => {
  const f = fakeEvents();
  f.state.away.add('a');
  const r = recordingLog();
  const p = new Publisher({ namespace: 'ns', connect: async () => f.conn, log: r.log, retries: 2, backoff: () => 1 });
  p.publish(ev('a'));
  await p.drain();
  p.publish(ev('b'));
  assert.deepEqual(p.snapshot(), { published: 1, delivered: 0, lost: 2, pending: 0 });
  assert.deepEqual(f.calls, ['a', 'a', 'a'], '1 + 2 tries');
  assert.deepEqual(r.lines.filter((l) => l.msg === 'event lost').map((l) => [l.id, l.attempts ?? l.why]), [['a', 3], ['b', 'publisher closed']]);
});

test('a container whose Forward keeps failing does not hold back another container\'s events', async () => {
  const f = fakeEvents();
  f.state.away.add('a');
  const p = new Publisher({ namespace: 'ns', connect: async () => f.conn, log: recordingLog().log, retries: 3, backoff: () => 20 });
  p.publish(ev('a'));
  p.publish(ev('b'));
  p.publish(ev('b'));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(p.snapshot(), { published: 3, delivered: 2, lost: 0, pending: 1, queues: { a: 1 } }, 'b delivered while a waits out its back-off');
  f.state.away.delete('a');
  await p.drain();
  assert.deepEqual(p.snapshot(), { published: 3, delivered: 3, lost: 0, pending: 0 });
  assert.deepEqual(f.calls, ['a', 'b', 'b', 'a']);
});
