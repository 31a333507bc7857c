import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { serve$, stopRequest$, DRAIN_TIMEOUT_MS } from '../../src/pipeline';
import type { ShimSignal } from '../../src/streams/signals$';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const sig: Record<string, ShimSignal> = { t: 'SIGTERM', i: 'SIGINT', p: 'SIGPIPE', c: 'SIGCHLD' };

test('SIGTERM leads to shutdown, and serve completes only after the publisher drains', () => {
  scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    const signals$ = hot<ShimSignal>('--t----', sig);
    const drained$ = cold('---d|');
    let stopped = 0;
    const out$ = serve$({
      signals$,
      shutdownDone$: hot<void>('-------'),
      stopServing: () => void stopped++,
      drainPublisher: () => drained$,
      scheduler: undefined,
    });
    expectObservable(out$).toBe('-----(x|)', { x: { reason: 'SIGTERM', drain: 'drained' } });
    // The publisher is asked to drain right after the signal and released when it is done.
    expectSubscriptions(drained$.subscriptions).toBe('--^--!');
    expectSubscriptions(signals$.subscriptions).toBe('^-!');
  });
});

test('SIGTERM leads to shutdown, and serve completes when the 5 s race fires if the publisher never drains', () => {
  scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    const signals$ = hot<ShimSignal>('--t', sig);
    const never$ = cold('-');
    const out$ = serve$({
      signals$,
      shutdownDone$: hot<void>('-'),
      stopServing: () => undefined,
      drainPublisher: () => never$,
    });
    expectObservable(out$).toBe(`-- ${DRAIN_TIMEOUT_MS}ms (x|)`, { x: { reason: 'SIGTERM', drain: 'timeout' } });
    expectSubscriptions(never$.subscriptions).toBe(`--^ ${DRAIN_TIMEOUT_MS - 1}ms !`);
  });
});

test('SIGPIPE changes nothing: serve keeps waiting, and SIGCHLD is no reason to stop either', () => {
  scheduler().run(({ hot, expectObservable }) => {
    const signals$ = hot<ShimSignal>('-p-c-p-c-', sig);
    expectObservable(stopRequest$({ signals$, shutdownDone$: hot<void>('---------') })).toBe('---------');
  });
});

test('shutdown through the Task API (shutdown service done) stops serving like a signal does', () => {
  scheduler().run(({ hot, cold, expectObservable }) => {
    const out$ = serve$({
      signals$: hot<ShimSignal>('-p-------', sig),
      shutdownDone$: hot<void>('---s-----', { s: undefined }),
      stopServing: () => undefined,
      drainPublisher: () => cold('-d|'),
    });
    expectObservable(out$).toBe('----(x|)', { x: { reason: 'shutdown', drain: 'drained' } });
  });
});

test('the first stop reason wins: SIGINT after shutdown started is ignored', () => {
  scheduler().run(({ hot, expectObservable }) => {
    const out$ = stopRequest$({ signals$: hot<ShimSignal>('---i', sig), shutdownDone$: hot<void>('-s--', { s: undefined }) });
    expectObservable(out$).toBe('-(s|)', { s: 'shutdown' });
  });
});
