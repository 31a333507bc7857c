import { test } from 'node:test';
import { exitAfterStart$ } from '../../src/ordering/exit-after-start';
import { initExitAfterExecExits } from '../../src/ordering/init-exit-after-exec-exits';
import { byLetter, items, n, name, scheduler, t, topics } from './ordering-fixtures';

// Kept by the two rules it crosses: exitAfterStart$ lets a deleted process's held exit go before
// the `delete` item's TaskDelete (TaskService.delete says `delete` for every process, started or
// not), and initExitAfterExecExits flushes a held init exit on the container's TaskDelete.

test('TaskDelete flushes what is held: an init never started, its exit held, is deleted: TaskExit, then TaskDelete', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('c-x-d---|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---(XD)|', t);
    expectSubscriptions(input.subscriptions).toBe('^-------!');
  });
});

test('TaskDelete flushes what is held: a release (Start failed) lets a held exit go at once, before TaskDelete', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-x-r-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---X-D|', t);
  });
});

test('TaskDelete flushes what is held: the init\'s delete lets go an exec exit still held (its start never came)', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-s-A-X-d---|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C-S-A---(XD)|', t);
  });
});

test('TaskDelete flushes what is held: TaskDelete releases a held init exit even if an exec never reported', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('s-e-i-d-----|', byLetter);
    expectObservable(name(initExitAfterExecExits(input))).toBe('S-E---(ID)--|', n);
    expectSubscriptions(input.subscriptions).toBe('^-----------!');
  });
});
