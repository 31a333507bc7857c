import { test } from 'node:test';
import { exitAfterStart$ } from '../../src/ordering/exit-after-start';
import { initExitAfterExecExits } from '../../src/ordering/init-exit-after-exec-exits';
import { byLetter, items, n, name, scheduler, t, topics } from './ordering-fixtures';

// No mechanism of its own: the service emits `release` for a process never started before its
// TaskDelete (TaskService.delete), and initExitAfterExecExits flushes a held init exit on the
// container's TaskDelete. These prove the operators keep it.

test('TaskDelete flushes what is held: a release (Start failed, or Delete without a start) lets a held exit go before TaskDelete', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('c-x-r-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---X-D|', t);
    expectSubscriptions(input.subscriptions).toBe('^------!');
  });
});

test('TaskDelete flushes what is held: TaskDelete releases a held init exit even if an exec never reported', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('s-e-i-d-----|', byLetter);
    expectObservable(name(initExitAfterExecExits(input))).toBe('S-E---(ID)--|', n);
    expectSubscriptions(input.subscriptions).toBe('^-----------!');
  });
});
