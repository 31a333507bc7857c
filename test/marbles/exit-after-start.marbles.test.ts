import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitAfterStart$ } from '../../src/ordering/exit-after-start';
import { processKey } from '../../src/ordering/lifecycle';
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

test('exit after start: the init and an exec named like its container have distinct keys', () => {
  assert.notEqual(processKey('c1', ''), processKey('c1', 'c1'));
  assert.notEqual(processKey('a/', 'b'), processKey('a', '/b'));
});
