import { test } from 'node:test';
import { exitAfterStart$ } from '../../src/ordering/exit-after-start';
import { items, scheduler, t, topics } from './ordering-fixtures';

// No mechanism of its own: the service emits TaskExecAdded in Exec, before Start can find the
// exec to emit TaskExecStarted (TaskService.exec / start); exitAfterStart$ passes `event` items
// in their order and holds only exits, so it keeps it.

test('exec-added before exec-started: TaskExecAdded stays before TaskExecStarted, and before an exit held for the exec', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('A-X-E---|', items);
    const expected = '  A---(EX)|';
    expectObservable(topics(exitAfterStart$(input))).toBe(expected, t);
    expectSubscriptions(input.subscriptions).toBe('^-------!');
  });
});
