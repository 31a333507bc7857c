import { concatMap, defer, from, type OperatorFunction } from 'rxjs';

/**
 * holdUntil: the skeleton of an ordering rule, a fold whose step may hold an item back and emit
 * it (or others) later. Emits, for each source item, what `step` emitted for it, in that order
 * and at that item's frame; completes (or errors) when the source does; cold, with fresh state
 * per subscription (`init`), so a resubscription starts with nothing held.
 */
export const holdUntil =
  <I, S, O>(init: () => S, step: (state: S, item: I, emit: (out: O) => void) => void): OperatorFunction<I, O> =>
  (source$) =>
    defer(() => {
      const state = init();
      return source$.pipe(
        concatMap((item) => {
          const out: O[] = [];
          step(state, item, (o) => out.push(o));
          return from(out);
        }),
      );
    });
