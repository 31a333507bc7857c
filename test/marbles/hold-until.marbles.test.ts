import { test } from 'node:test';
import { holdUntil } from '../../src/ordering/hold-until';
import { scheduler } from './ordering-fixtures';

// The skeleton every ordering rule folds with: a step that holds letters until a 'g' lets them go
// (and passes 'g' itself after them).
const holdUntilGo = holdUntil<string, string[], string>(
  () => [],
  (held, item, emit) => {
    if (item !== 'g') return void held.push(item);
    for (const h of held.splice(0)) emit(h);
    emit(item);
  },
);

test('hold until: held items come out at the frame of the item that lets them go, in their order', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('a-b-g-c---|');
    expectObservable(input.pipe(holdUntilGo)).toBe('----(abg)-|');
    expectSubscriptions(input.subscriptions).toBe('^---------!');
  });
});

test('hold until: completes when the source does, dropping what is still held; errors pass through', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('a-b|').pipe(holdUntilGo)).toBe('---|');
    expectObservable(cold('a-g----#').pipe(holdUntilGo)).toBe('--(ag)-#');
  });
});

test('hold until: cold, with fresh state per subscription: a second subscriber does not see the first one\'s held items', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('a-g---|');
    const held = input.pipe(holdUntilGo);
    expectObservable(held).toBe('--(ag)|');
    expectObservable(held).toBe('--(ag)|');
  });
});
