import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitAfterStart$, StartOrder } from '../../src/ordering/exit-after-start';
import { items, scheduler, t, topics } from './ordering-fixtures';

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
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('s-X-E-----|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('S---(EX)--|', t);
    expectSubscriptions(input.subscriptions).toBe('   ^---------!');
  });
});

test('exit after start: an exit after its start passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-s-x-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C-S-X-D|', t);
  });
});

test('exit after start: an exit that comes after a release passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-r-x-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---X-D|', t);
  });
});

test('exit after start: a reused exec id (release, start, exit, exit, start) has its second exit after its second TaskExecStarted, as a start clears the release', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('R-E-X-X---E---|', items);
    const expected = '  --E-X-----(EX)|';
    expectObservable(topics(exitAfterStart$(input))).toBe(expected, t);
    expectSubscriptions(input.subscriptions).toBe('^-------------!');
  });
});

test('events of one container keep their order while another container waits for its start', () => {
  scheduler().run(({ cold, expectObservable }) => {
    // c2 exits early and waits for its start; c1's events flow past in their own order.
    const input = cold('a-y-c-s-x-b-----|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('a---C-S-X-(BY)--|', t);
  });
});

test('exit after start: an exec deleted without a start leaves nothing released, so the reused id\'s exit, come before its start, waits for it', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('A-D-A-X-E---|', items);
    const expected = '  A---A---(EX)|';
    expectObservable(topics(exitAfterStart$(input))).toBe(expected, t);
    expectSubscriptions(input.subscriptions).toBe('^-----------!');
  });
});

test('exit after start: an exec whose Start failed, deleted, and added again: its exit waits for its new start', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('A-R-D-A-X-E---|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('A-----A---(EX)|', t);
  });
});

test('exit after start: an exec deleted with its exit held lets it go (TaskDelete flushes); the rule then holds no entry for it', () => {
  const order = new StartOrder();
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('A-X-D-|', items);
    expectObservable(topics(exitAfterStart$(input, order))).toBe('A---X-|', t);
  });
  assert.equal(order.size, 0);
});

test('exit after start: the rule\'s memory does not grow with execs deleted without a start, nor with finished containers', () => {
  const order = new StartOrder();
  const out: string[] = [];
  const emit = (e: { topic: string }) => out.push(e.topic);
  for (let i = 0; i < 1000; i++) {
    const p = { containerId: 'c1', execId: `e${i}` };
    if (i % 2) order.step({ kind: 'release', process: p }, emit); // its Start failed
    order.step({ kind: 'delete', process: p }, emit);
  }
  order.step(items.s, emit);
  order.step(items.E, emit);
  order.step(items.x, emit);
  order.step(items.d, emit);
  assert.equal(order.size, 0, 'no entry left');
  assert.equal(order.held, 0);
});

test('exit after start: the init and an exec named like its container are different processes', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const named = { kind: 'start' as const, process: { containerId: 'c1', execId: 'c1' }, event: { topic: '/tasks/exec-started', type: 'x', containerId: 'c1', event: {} } };
    const input = cold('x-n-s---|', { ...items, n: named });
    expectObservable(topics(exitAfterStart$(input))).toBe('--E-(SX)|', t);
  });
});
