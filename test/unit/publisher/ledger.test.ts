import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../../src/publisher/envelope';
import { book, emptyLedger, releases, TASK_DELETE_TOPIC, type Entry, type Ledger } from '../../../src/publisher/ledger';

const env = (containerId: string, topic = '/tasks/exit'): Envelope => ({ timestamp: new Date(0), namespace: 'ns', topic, type: 't', event: {}, containerId });
const enter = (e: Envelope): Entry => ({ kind: 'enter', envelope: e });
const settle = (e: Envelope): Entry => ({ kind: 'settle', result: { envelope: e, delivered: true, attempts: 1 } });
const fold = (entries: Entry[], bounds = { maxQueue: 10, maxQueuePerContainer: 10 }): Ledger[] => {
  const out: Ledger[] = [];
  entries.reduce((l, e) => (out.push(book(bounds)(l, e)), out[out.length - 1]), emptyLedger());
  return out;
};

test('ledger: depths count per container and are removed at zero; pending counts all', () => {
  const a = env('a');
  const b = env('b');
  const ls = fold([enter(a), enter(a), enter(b), settle(a), settle(a)]);
  assert.deepEqual(ls.map((l) => l.pending), [1, 2, 3, 2, 1]);
  assert.deepEqual([...ls[4].depths], [['b', 1]], 'a is gone from the map once its queue is empty');
});

test('ledger: the bound of all is checked before a container\'s, and a drop changes no count', () => {
  const ls = fold([enter(env('a')), enter(env('a')), enter(env('a')), enter(env('b'))], { maxQueue: 2, maxQueuePerContainer: 2 });
  assert.deepEqual(ls.map((l) => (l.last?.kind === 'dropped' ? l.last.why : l.last?.kind)), ['queued', 'queued', 'queue full', 'queue full']);
  assert.equal(ls[3].pending, 2);
});

test('ledger: a queue is released only when its TaskDelete settles with nothing behind it', () => {
  const del = env('a', TASK_DELETE_TOPIC);
  const again = env('a', '/tasks/create');
  const ls = fold([enter(del), enter(again), settle(del), settle(again), enter(del), settle(del)]);
  assert.deepEqual(ls.map((l) => releases(l.last, 'a')), [false, false, false, false, false, true]);
  assert.equal(releases(ls[5].last, 'b'), false, 'not another container\'s');
});

test('ledger: each empty ledger has its own depth map (the fold writes it in place)', () => {
  fold([enter(env('a'))]);
  assert.equal(emptyLedger().depths.size, 0);
  assert.notEqual(emptyLedger().depths, emptyLedger().depths);
});
