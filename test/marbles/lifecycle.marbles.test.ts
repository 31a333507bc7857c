import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { exitAfterStart$, type Lifecycle } from '../../src/task/lifecycle$';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

const ev = (topic: string, id = 'c1') => ({ topic, type: 'x', containerId: id, event: {} });
/** The lifecycle items the marbles name, by letter. */
const items: Record<string, Lifecycle> = {
  c: { kind: 'event', event: ev('/tasks/create') },
  s: { kind: 'start', key: 'c1/', event: ev('/tasks/start') },
  x: { kind: 'exit', key: 'c1/', event: ev('/tasks/exit') },
  d: { kind: 'event', event: ev('/tasks/delete') },
  r: { kind: 'release', key: 'c1/' },
  E: { kind: 'start', key: 'c1/e1', event: ev('/tasks/exec-started') },
  X: { kind: 'exit', key: 'c1/e1', event: ev('/tasks/exit') },
  a: { kind: 'event', event: ev('/tasks/create', 'c2') },
  b: { kind: 'start', key: 'c2/', event: ev('/tasks/start', 'c2') },
  y: { kind: 'exit', key: 'c2/', event: ev('/tasks/exit', 'c2') },
};
const topics = (o: ReturnType<typeof exitAfterStart$>) => o.pipe(map((e) => `${e.containerId}${e.topic}`));
const t: Record<string, string> = {
  C: 'c1/tasks/create',
  S: 'c1/tasks/start',
  X: 'c1/tasks/exit',
  D: 'c1/tasks/delete',
  E: 'c1/tasks/exec-started',
  A: 'c2/tasks/create',
  B: 'c2/tasks/start',
  Y: 'c2/tasks/exit',
};

test('exit after start: an init that exits before its Start returns has TaskExit published after TaskStart', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    // A group "(SX)" spans four frames, so the input leaves room after s.
    const input = cold('c-x--s-----d|', items);
    const expected = '  C----(SX)--D|';
    expectObservable(topics(exitAfterStart$(input))).toBe(expected, t);
    expectSubscriptions(input.subscriptions).toBe('^-----------!');
  });
});

test('exit after start: an exec that exits at once has TaskExecStarted before its TaskExit', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('s-X-E-----|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('S---(EX)--|', t);
  });
});

test('exit after start: an exit after its start passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-s-x-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C-S-X-D|', t);
  });
});

test('exit after start: a release (Start failed, or Delete without a start) lets a held exit go before TaskDelete', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-x-r-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---X-D|', t);
  });
});

test('exit after start: an exit that comes after a release passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-r-x-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---X-D|', t);
  });
});

test('events of one container keep their order while another container waits for its start', () => {
  scheduler().run(({ cold, expectObservable }) => {
    // c2 exits early and waits for its start; c1's events flow past in their own order.
    const input = cold('a-y-c-s-x-b-----|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('A---C-S-X-(BY)--|', t);
  });
});
