import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { TestScheduler } from 'rxjs/testing';
import { createSignals$, SHIM_SIGNALS, type ShimSignal } from '../../src/streams/signals$';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const sig: Record<string, ShimSignal> = { t: 'SIGTERM', i: 'SIGINT', p: 'SIGPIPE', c: 'SIGCHLD', u: 'SIGUSR1' };

/**
 * A fake process: an EventEmitter that raises the signal named by each letter of `raised` at its
 * frame (virtual time), and records how many listeners each signal has at the frames of `probes`.
 */
function fakeProcess(ts: TestScheduler, raised: string, probes: number[]) {
  const proc = new EventEmitter();
  const listeners: Record<number, number[]> = {};
  [...raised].forEach((ch, frame) => {
    if (ch === '-') return;
    // A raw SIGUSR2 (not one we handle) is raised as 'x'.
    ts.schedule(() => proc.emit(ch === 'x' ? 'SIGUSR2' : sig[ch]), frame);
  });
  for (const at of probes) ts.schedule(() => (listeners[at] = SHIM_SIGNALS.map((s) => proc.listenerCount(s))), at);
  return { proc, listeners };
}

test('signals$ emits each handled signal by its name, SIGUSR1 included, and nothing for one it does not handle', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    const { proc } = fakeProcess(ts, '-t-i-p-c-u-x-', []);
    expectObservable(createSignals$(proc), '^------------!').toBe('-t-i-p-c-u---', sig);
  });
});

test('signals$ installs one listener per signal while subscribed and removes every one on unsubscribe', () => {
  const ts = scheduler();
  let before: number[] = [];
  let f!: ReturnType<typeof fakeProcess>;
  ts.run(({ expectObservable }) => {
    f = fakeProcess(ts, '--t---', [2, 5]);
    before = SHIM_SIGNALS.map((s) => f.proc.listenerCount(s));
    expectObservable(createSignals$(f.proc), '^---!').toBe('--t-', sig);
  });
  assert.deepEqual(before, [0, 0, 0, 0, 0], 'nothing is installed before a subscriber comes');
  assert.deepEqual(f.listeners[2], [1, 1, 1, 1, 1], 'one listener on each of SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGUSR1');
  assert.deepEqual(f.listeners[5], [0, 0, 0, 0, 0], 'all removed after the unsubscribe at frame 4');
});

test('signals$ is shared: two subscribers see the same signals through one listener each, removed when the last leaves', () => {
  const ts = scheduler();
  let f!: ReturnType<typeof fakeProcess>;
  ts.run(({ expectObservable }) => {
    f = fakeProcess(ts, '-u--t---i', [2, 6, 8]);
    const signals$ = createSignals$(f.proc);
    expectObservable(signals$, '^----!   ').toBe('-u--t    ', sig);
    expectObservable(signals$, '^------! ').toBe('-u--t--  ', sig);
  });
  assert.deepEqual(f.listeners[2], [1, 1, 1, 1, 1], 'one listener per signal for two subscribers');
  assert.deepEqual(f.listeners[6], [1, 1, 1, 1, 1], 'the first left at frame 5: the second still holds them');
  assert.deepEqual(f.listeners[8], [0, 0, 0, 0, 0], 'the last left at frame 7: every handler removed');
});
