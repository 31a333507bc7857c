/** timeout_nano past setTimeout's 2^31-1 ms (~24.8 days): waited for, not fired at once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../../src/errors';
import { ServiceRegistry } from '../../../src/ttrpc/services';
import { NEVER, timer, VirtualTimeScheduler, type SchedulerAction, type Subscription } from 'rxjs';
import { MAX_TIMER_MS, within, within$, type Deadline } from '../../../src/deadline';
import type { Request } from '../../../src/ttrpc/wire';

const DAY_NS = 86_400e9;

test('a call with a 30-day timeout_nano answers OK, its signal never aborted', async () => {
  const r = new ServiceRegistry();
  let signal: AbortSignal | undefined;
  r.register('test.S', {
    M: async (p, ctx) => {
      signal = ctx.signal;
      await new Promise((res) => setTimeout(res, 50));
      return p;
    },
  });
  const req: Request = { service: 'test.S', method: 'M', payload: Buffer.from('in'), timeoutNano: 30 * DAY_NS, metadata: [] };
  const res = await r.dispatch(req);
  assert.deepEqual(res.status, { code: Code.OK, message: '' });
  assert.equal(res.payload.toString(), 'in');
  assert.equal(signal?.aborted, false);
});

/** Virtual time that records each delay asked of it: no one timer may be longer than a real one can be. */
class RecordingScheduler extends VirtualTimeScheduler {
  readonly delays: number[] = [];
  override schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    this.delays.push(delay);
    return super.schedule(work, delay, state);
  }
}

test('within$: a budget past one timer\'s limit (30 days) is missed only once it has passed whole, each timer within the limit', () => {
  const scheduler = new RecordingScheduler();
  const budget = 2 * MAX_TIMER_MS + 10;
  const seen: Array<[Deadline, number]> = [];
  within$(NEVER, budget, scheduler).subscribe((d) => seen.push([d, scheduler.frame]));
  scheduler.flush();
  assert.deepEqual(seen, [['missed', budget]]);
  assert.ok(scheduler.delays.every((d) => d <= MAX_TIMER_MS), `delays ${scheduler.delays}`);
  assert.equal(scheduler.delays.length, 3, 'a chain of three timers');
});

test('within$: work that ends inside a long budget is met, and the rest of the timer chain is dropped', () => {
  const scheduler = new RecordingScheduler();
  const seen: Array<[Deadline, number]> = [];
  within$(timer(MAX_TIMER_MS + 5, scheduler), 3 * MAX_TIMER_MS, scheduler).subscribe((d) => seen.push([d, scheduler.frame]));
  scheduler.flush();
  assert.deepEqual(seen, [['met', MAX_TIMER_MS + 5]]);
});

test('within: a short budget is one plain timer; work still pending at it is missed', async () => {
  const scheduler = new RecordingScheduler();
  const result = within(new Promise(() => {}), 30, scheduler);
  scheduler.flush();
  assert.equal(await result, 'missed');
  assert.deepEqual(scheduler.delays, [30]);
});
