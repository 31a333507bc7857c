import { test } from 'node:test';
import { map, type Observable } from 'rxjs';
import { exitToProcess } from '../../src/ordering/exit-to-process';
import type { Exited, ExitWatch, Lifecycle, Reaped } from '../../src/ordering/lifecycle';
import { scheduler } from './ordering-fixtures';

type In = Lifecycle | ExitWatch<string> | Reaped;
const reaped = (pid: number, status: number): Reaped => ({ kind: 'reaped', exit: { pid, status, time: new Date(0) } });
const claim = (window: number, pid: number, process: string): In => ({ kind: 'claim', window, pid, process });
/** By letter: o/p open windows 1/2, z/Z close them; digits are reaped exits; k/K/m claims. */
const v: Record<string, In> = {
  o: { kind: 'opening', window: 1 },
  p: { kind: 'opening', window: 2 },
  z: { kind: 'closing', window: 1 },
  Z: { kind: 'closing', window: 2 },
  1: reaped(1001, 7),
  2: reaped(1001, 0),
  3: reaped(1002, 9),
  4: reaped(1003, 1),
  k: claim(1, 1001, 'A'),
  K: claim(2, 1002, 'B'),
  m: claim(2, 1003, 'B'),
  n: claim(1, 1003, 'A'),
  u: { kind: 'unclaim', pid: 1001 },
  c: { kind: 'event', event: { topic: '/tasks/create', type: 'x', containerId: 'c1', event: {} } },
};
/** Each output as `process:status`, or an event's topic. */
const shown = (o: Observable<Lifecycle | Exited<string>>) =>
  o.pipe(map((x) => (x.kind === 'exited' ? `${x.process}:${x.exit.status}` : x.kind === 'event' ? x.event.topic : x.kind)));
const out = { a: 'A:7', b: 'A:0', B: 'B:9', c: '/tasks/create', d: 'A:1', e: 'B:1' };

test('exit to process: an exit reaped while a start is in flight (before its pid file is read) is handed to that pid\'s claim', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('o-1-k-z|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('----a--|', out);
    expectSubscriptions(input.subscriptions).toBe('^------!');
  });
});

test('exit to process: an exit reaped while no start is in flight is dropped; a later claim of that (recycled) pid gets only its own exit', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('1-o-k-z-2|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('--------b|', out);
  });
});

test('exit to process: exits a start did not claim are dropped when it closes', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('o-3-z-p-K-Z|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('-----------|', out);
  });
});

test('exit to process: an exit kept by two starts goes to the first that claims it, never to the other given the same pid', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('o-p-4-n-z-m-Z|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('------d------|', out);
  });
});

test('exit to process: a start that opened after an exit was reaped does not keep it (a pid recycled into it is another process)', () => {
  scheduler().run(({ cold, expectObservable }) => {
    // Window 1 keeps 1002's exit; window 2 opened later claims 1002: not its exit.
    const input = cold('o-3-p-K-z-Z|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('-----------|', out);
  });
});

test('exit to process: a claimed pid gets its exit as it is reaped, once, whether or not a start is in flight', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('o-k-z-1-2-|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('------a---|', out);
  });
});

test('exit to process: an unclaimed pid (its process deleted) gets no exit', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('o-k-z-u-1-|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('----------|', out);
  });
});

test('exit to process: a window keeps at most `keep` exits, dropping the oldest', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const many = { ...v, x: reaped(1, 1), y: reaped(2, 2), w: reaped(3, 3), X: claim(1, 1, 'P'), Y: claim(1, 2, 'P'), W: claim(1, 3, 'P') };
    const input = cold('o-x-y-w-X-Y-W-z|', many);
    expectObservable(shown(exitToProcess<string, Lifecycle>(2)(input))).toBe('----------q-r--|', { q: 'P:2', r: 'P:3' });
  });
});

test('exit to process: the service\'s other items pass in their order, between the exits they came among', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('o-1-c-k-z|', v);
    expectObservable(shown(exitToProcess<string, Lifecycle>()(input))).toBe('----c-a--|', out);
  });
});
