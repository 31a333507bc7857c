import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filter, ignoreElements, map, Observable } from 'rxjs';
import { TestScheduler, type RunHelpers } from 'rxjs/testing';
import { unavailable } from '../../src/errors';
import type { Envelope } from '../../src/publisher/envelope';
import { defaultBackoff, DEFAULT_RETRIES } from '../../src/publisher/forward$';
import { TASK_DELETE_TOPIC, type Ledger } from '../../src/publisher/ledger';
import { queues$, type QueuesDeps } from '../../src/publisher/queues$';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

/** Envelopes by marble letter: letter -> container id, and '/tasks/delete' when the letter is a TaskDelete. */
function envelopes(spec: Record<string, string | [string, 'delete']>): Record<string, Envelope> {
  return Object.fromEntries(
    Object.entries(spec).map(([n, s]) => {
      const [containerId, kind] = typeof s === 'string' ? [s, undefined] : s;
      const topic = kind === 'delete' ? TASK_DELETE_TOPIC : `/tasks/${n}`;
      return [n, { timestamp: new Date(0), namespace: 'ns', topic, type: 't', event: { n }, containerId }];
    }),
  );
}
const nameOf = (e: Envelope) => String(e.event.n);

/**
 * A fake containerd: each Forward of envelope `n` is the next marble in script[n] (the last one
 * repeats; '-d' when none), 'd' an answer, '#' containerd away (Unavailable, so retried). Every
 * call's time and cold observable are kept, for the call times and subscription marbles.
 */
function fakeContainerd(ts: TestScheduler, h: RunHelpers, script: Record<string, string[]> = {}) {
  const calls: Record<string, number[]> = {};
  const answers: Record<string, ReturnType<RunHelpers['cold']>[]> = {};
  const forward = (e: Envelope) => {
    const n = nameOf(e);
    const list = script[n] ?? ['-d'];
    const tries = (answers[n] ??= []);
    const answer = h.cold(list[Math.min(tries.length, list.length - 1)], { d: undefined }, unavailable('containerd is away'));
    tries.push(answer);
    (calls[n] ??= []).push(ts.now());
    return answer;
  };
  return { forward, calls, answers };
}

const deps = (forward: QueuesDeps['forward'], bounds: Partial<QueuesDeps> = {}): QueuesDeps => ({
  forward,
  retries: DEFAULT_RETRIES,
  backoff: defaultBackoff,
  maxQueue: 2048,
  maxQueuePerContainer: 256,
  ...bounds,
});

/** Each settled event by name; a lost one as its name and '!'. */
const settled = (l$: Observable<Ledger>) =>
  l$.pipe(
    map((l) => l.last),
    filter((s) => s?.kind === 'settled'),
    map((s) => (s?.kind === 'settled' ? nameOf(s.result.envelope) + (s.result.delivered ? '' : '!') : '')),
  );

test('back-off: a Forward that fails is tried again after 0.1 s, then 0.2 s, and the event is delivered on the try that gets through', () => {
  const ts = scheduler();
  let c!: ReturnType<typeof fakeContainerd>;
  ts.run((h) => {
    c = fakeContainerd(ts, h, { a: ['-#', '-#', '-d'] });
    const input = h.cold('a', envelopes({ a: 'A' }));
    const expected = '    303ms a';
    h.expectObservable(settled(queues$(input, deps(c.forward)))).toBe(expected, { a: 'a' });
  });
  assert.deepEqual(c.calls.a, [0, 1 + 100, 102 + 200]);
  // Each try is released when it answers: no Forward is left subscribed.
  ts.run(({ expectSubscriptions }) => {
    expectSubscriptions(c.answers.a[0].subscriptions).toBe('^!');
    expectSubscriptions(c.answers.a[1].subscriptions).toBe('101ms ^!');
    expectSubscriptions(c.answers.a[2].subscriptions).toBe('302ms ^!');
  });
});

test('back-off is bounded: an event failing every try is given up after 1 + 10 tries and 26.3 s of back-off', () => {
  const ts = scheduler();
  let c!: ReturnType<typeof fakeContainerd>;
  ts.run((h) => {
    c = fakeContainerd(ts, h, { a: ['-#'] });
    // 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 4 x 5 s = 26.3 s, plus one frame per try.
    const input = h.cold('a', envelopes({ a: 'A' }));
    const expected = '    26311ms l';
    h.expectObservable(settled(queues$(input, deps(c.forward)))).toBe(expected, { l: 'a!' });
  });
  assert.equal(c.calls.a.length, 1 + DEFAULT_RETRIES);
});

test('per-container independence: container A\'s event failing 5 times does not delay container B\'s events', () => {
  const ts = scheduler();
  ts.run((h) => {
    const c = fakeContainerd(ts, h, { a: ['-#', '-#', '-#', '-#', '-#', '-d'] });
    // A's back-off: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s and six one-frame tries: delivered at 3106.
    const input = h.cold('ab-c', envelopes({ a: 'A', b: 'B', c: 'B' }));
    const expected = '    --b-c 3101ms a';
    h.expectObservable(settled(queues$(input, deps(c.forward)))).toBe(expected, { a: 'a', b: 'b', c: 'c' });
  });
});

test('order within a container under retries: an event is not sent before the one ahead of it is delivered', () => {
  const ts = scheduler();
  let c!: ReturnType<typeof fakeContainerd>;
  ts.run((h) => {
    c = fakeContainerd(ts, h, { a: ['-#', '-#', '-d'] });
    const input = h.cold('abc', envelopes({ a: 'A', b: 'A', c: 'A' }));
    const expected = '    303ms abc';
    h.expectObservable(settled(queues$(input, deps(c.forward)))).toBe(expected, { a: 'a', b: 'b', c: 'c' });
  });
  assert.deepEqual(c.calls, { a: [0, 101, 302], b: [303], c: [304] });
});

test('order within a container: an event given up lets the next one go, still in order', () => {
  const ts = scheduler();
  ts.run((h) => {
    const c = fakeContainerd(ts, h, { a: ['-#'] });
    // a: tries at 0, 11, 22, given up at 23; b goes then.
    const input = h.cold('ab', envelopes({ a: 'A', b: 'A' }));
    const expected = '    23ms lb';
    h.expectObservable(settled(queues$(input, deps(c.forward, { retries: 2, backoff: () => 10 })))).toBe(expected, { l: 'a!', b: 'b' });
  });
});

test('drain: queues$ completes only after every container\'s queue has settled, the slowest last', () => {
  const ts = scheduler();
  ts.run((h) => {
    const c = fakeContainerd(ts, h, { a: ['-#', '-d'], b: ['-#', '-#', '-d'] });
    // a: tries at 0 and 101 (delivered 102); b: at 1, 102, 303 (304); c: at 2 (3). Input done at 3.
    const input = h.cold('abc|', envelopes({ a: 'A', b: 'B', c: 'C' }));
    const expected = '    ---c 98ms a 201ms (b|)';
    const inputSub = '    ^--!';
    h.expectObservable(settled(queues$(input, deps(c.forward)))).toBe(expected, { a: 'a', b: 'b', c: 'c' });
    h.expectSubscriptions(input.subscriptions).toBe(inputSub);
  });
});

test('drain: with nothing queued, queues$ completes when its input does', () => {
  scheduler().run((h) => {
    const input = h.cold<Envelope>('---|');
    const expected = '              ---(z|)';
    h.expectObservable(queues$(input, deps(() => h.cold('-d')))).toBe(expected, { z: { depths: new Map(), pending: 0, closed: true, last: { kind: 'closed' } } });
  });
});

/** Each step of the ledger by name: '+n' queued, 'n' delivered, 'n!' lost, 'n:why' dropped, 'released:id'; and how many are pending. */
const steps = (l$: Observable<Ledger>) =>
  l$.pipe(
    map((l) => {
      const s = l.last!;
      const what =
        s.kind === 'queued' ? `+${nameOf(s.envelope)}`
        : s.kind === 'dropped' ? `${nameOf(s.envelope)}:${s.why}`
        : s.kind === 'settled' ? nameOf(s.result.envelope) + (s.result.delivered ? '' : '!')
        : s.kind === 'released' ? `released:${s.containerId}`
        : s.kind;
      return `${what} (${l.pending})`;
    }),
  );

test('loss at the bound: past a container\'s bound, or the bound of all queues, an event is dropped and the rest go on', () => {
  scheduler().run((h) => {
    const slow = () => h.cold('-----d');
    const input = h.cold('abcde-f', envelopes({ a: 'A', b: 'A', c: 'A', d: 'B', e: 'C', f: 'A' }));
    const expected = '    abcdeAf-D-B----F';
    const out$ = steps(queues$(input, deps(slow, { maxQueue: 3, maxQueuePerContainer: 2 })));
    h.expectObservable(out$).toBe(expected, {
      a: '+a (1)',
      b: '+b (2)',
      c: 'c:container queue full (2)',
      d: '+d (3)',
      e: 'e:queue full (3)',
      A: 'a (2)',
      f: '+f (3)',
      D: 'd (2)',
      B: 'b (1)',
      F: 'f (0)',
    });
  });
});

/** The steps that end something: settled events and released queues. */
const ends = (l$: Observable<Ledger>) => steps(l$).pipe(filter((s) => !s.startsWith('+')));

test('groups released: a container\'s queue is torn down when its TaskDelete is delivered with nothing behind it, and not before', () => {
  scheduler().run((h) => {
    // e reuses the container id while d (its TaskDelete) is still queued: d settles with e behind it.
    const input = h.cold('cde----f', envelopes({ c: 'A', d: ['A', 'delete'], e: 'A', f: ['A', 'delete'] }));
    const expected = '    --c-d-e--(fr)';
    h.expectObservable(ends(queues$(input, deps(() => h.cold('--d'))))).toBe(expected, {
      c: 'c (2)',
      d: 'd (1)',
      e: 'e (0)',
      f: 'f (0)',
      r: 'released:A (0)',
    });
  });
});

test('groups released: 500 containers created and deleted leave no queue behind, while the input is still open', () => {
  const ts = scheduler();
  const released = new Set<string>();
  let last!: Ledger;
  ts.run((h) => {
    const spec: Record<string, string | [string, 'delete']> = {};
    for (let i = 0; i < 500; i++) Object.assign(spec, { [`c${i}`]: `k${i}`, [`d${i}`]: [`k${i}`, 'delete'] });
    const all = Object.values(envelopes(spec));
    const input = new Observable<Envelope>((s) => all.forEach((e) => s.next(e)));
    queues$(input, deps(() => h.cold('-d'))).subscribe((l) => {
      last = l;
      if (l.last?.kind === 'released') released.add(l.last.containerId);
    });
  });
  assert.equal(released.size, 500, 'every container\'s queue ended after its TaskDelete');
  assert.equal(last.depths.size, 0);
  assert.equal(last.closed, false, 'not the drain: the input never completed');
});

test('a container without a TaskDelete keeps its queue, not released, until the drain ends every queue', () => {
  scheduler().run((h) => {
    const input = h.cold('a-----|', envelopes({ a: 'A' }));
    const expected = '    -a----(z|)';
    h.expectObservable(ends(queues$(input, deps(() => h.cold('-d'))))).toBe(expected, { a: 'a (0)', z: 'closed (0)' });
  });
});

test('teardown: unsubscribing releases the input, the Forward in flight and a back-off timer (no try after it)', () => {
  const ts = scheduler();
  let c!: ReturnType<typeof fakeContainerd>;
  let input!: ReturnType<typeof ts.createColdObservable<Envelope>>;
  ts.run((h) => {
    c = fakeContainerd(ts, h, { a: ['-----d'], b: ['-#'] });
    input = h.cold('ab', envelopes({ a: 'A', b: 'B' }));
    const unsub = '^--!';
    h.expectObservable(queues$(input, deps(c.forward)).pipe(ignoreElements()), unsub).toBe('');
    h.expectSubscriptions(input.subscriptions).toBe(unsub);
  });
  ts.run(({ expectSubscriptions }) => {
    expectSubscriptions(c.answers.a[0].subscriptions).toBe('^--!');
    expectSubscriptions(c.answers.b[0].subscriptions).toBe('-^!  ');
  });
  assert.deepEqual(c.calls.b, [1], 'b\'s retry, due at 102, never came');
});
