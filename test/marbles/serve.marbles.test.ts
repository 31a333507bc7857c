import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import type { HotObservable } from 'rxjs/internal/testing/HotObservable';
import { TestScheduler, type RunHelpers } from 'rxjs/testing';
import { registerStop, serve$, STOP_STAGES, type ServeOutcome } from '../../src/serve$';
import { createShutdown, STOP_BUDGET_MS, type Shutdown } from '../../src/streams/shutdown$';
import type { ShimSignal } from '../../src/streams/signals$';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const sig: Record<string, ShimSignal> = { t: 'SIGTERM', i: 'SIGINT', p: 'SIGPIPE', c: 'SIGCHLD' };
const CUT = { connections: 1, calls: 1 };

interface Stages {
  accept: string;
  events: string;
  drain: string;
  conns: string;
}

/**
 * The stop path as the serving process builds it, with each stage a cold observable (an
 * asynchronous effect that takes its marble's time) and the signals a hot one; `closedAt`
 * records the virtual time of server.close().
 */
function stopPath(h: RunHelpers, signals: string, stages: Stages) {
  const effects: Record<keyof Stages, ColdObservable<string>> = {
    accept: h.cold(stages.accept),
    events: h.cold(stages.events),
    drain: h.cold(stages.drain),
    conns: h.cold(stages.conns),
  };
  const failures: string[] = [];
  const shutdown = createShutdown({ log: (msg) => failures.push(msg) });
  registerStop(shutdown, {
    stopAccepting: () => effects.accept,
    closeEvents: () => effects.events,
    drainPublisher: () => effects.drain,
    closeConnections: () => effects.conns,
  });
  const signals$: HotObservable<ShimSignal> = h.hot<ShimSignal>(signals, sig);
  const closedAt: number[] = [];
  const out$ = serve$({ signals$, shutdown, closeAll: () => (closedAt.push(now()), CUT) });
  return { effects, shutdown, signals$, out$, closedAt, failures };
}
/** Virtual time of the scheduler running now (set by run). */
let now = () => 0;
const run = (fn: (h: RunHelpers) => void) => {
  const s = scheduler();
  now = () => s.now();
  s.run(fn);
};
const outcome = (o: Partial<ServeOutcome>): ServeOutcome => ({ reason: 'SIGTERM', outcome: 'done', failed: [], cut: CUT, at: undefined, ...o });

test('stop order: stop accepting, then close the event queue, then drain the publisher, then close connections, each after the one before completed', () => {
  run((h) => {
    const { effects, out$, closedAt } = stopPath(h, '--t', { accept: '--s|', events: '-s|', drain: '---s|', conns: '-s|' });
    h.expectObservable(out$).toBe('-------------(x|)', { x: outcome({}) });
    h.expectSubscriptions(effects.accept.subscriptions).toBe('--^--!');
    h.expectSubscriptions(effects.events.subscriptions).toBe('-----^-!');
    h.expectSubscriptions(effects.drain.subscriptions).toBe('-------^---!');
    h.expectSubscriptions(effects.conns.subscriptions).toBe('-----------^-!');
    h.flush();
    assert.deepEqual(closedAt, [13], 'connections left are closed once the stages are done');
  });
  assert.deepEqual(STOP_STAGES, ['stop accepting', 'close the event queue', 'drain the publisher', 'close connections']);
});

test('the 5 s bound covers the whole stop: a connection whose call never ends (a Wait) still ends at 5 s from the signal, counted as timeout, and is unsubscribed there', () => {
  run((h) => {
    // The earlier stages take 9 frames: the budget counts from the signal, not from the drain.
    const { effects, out$, closedAt } = stopPath(h, '--t', { accept: '--s|', events: '--s|', drain: '--s|', conns: '-' });
    h.expectObservable(out$).toBe(`-- ${STOP_BUDGET_MS}ms (x|)`, { x: outcome({ outcome: 'timeout', at: 'close connections' }) });
    h.expectSubscriptions(effects.conns.subscriptions).toBe(`-- 9ms ^ ${STOP_BUDGET_MS - 10}ms !`);
    h.flush();
    assert.deepEqual(closedAt, [2 + STOP_BUDGET_MS], 'server.close() at the bound');
  });
});

test('the bound: a stop accepting that never completes ends at 5 s, and the later stages never run', () => {
  run((h) => {
    const { effects, out$, closedAt } = stopPath(h, '--t', { accept: '-', events: '-|', drain: '-|', conns: '-|' });
    h.expectObservable(out$).toBe(`-- ${STOP_BUDGET_MS}ms (x|)`, { x: outcome({ outcome: 'timeout', at: 'stop accepting' }) });
    h.expectSubscriptions(effects.accept.subscriptions).toBe(`--^ ${STOP_BUDGET_MS - 1}ms !`);
    h.expectSubscriptions(effects.events.subscriptions).toBe([]);
    h.expectSubscriptions(effects.drain.subscriptions).toBe([]);
    h.expectSubscriptions(effects.conns.subscriptions).toBe([]);
    h.flush();
    assert.deepEqual(closedAt, [2 + STOP_BUDGET_MS]);
  });
});

test('SIGTERM, SIGINT and the Task API\'s Shutdown take the same path: the same stages at the same times under the same bound', () => {
  const stages: Stages = { accept: '-s|', events: '-s|', drain: '--s|', conns: '-' };
  const traces: string[] = [];
  for (const via of ['SIGTERM', 'SIGINT', 'shutdown'] as const) {
    run((h) => {
      const signals = via === 'SIGTERM' ? '--t' : via === 'SIGINT' ? '--i' : '---';
      const { effects, shutdown, out$ } = stopPath(h, signals, stages);
      // The Task API's Shutdown (TaskService.shutdown) calls shutdown.shutdown() at frame 2.
      if (via === 'shutdown') h.cold('--x').subscribe(() => shutdown.shutdown());
      h.expectObservable(out$).toBe(`-- ${STOP_BUDGET_MS}ms (x|)`, { x: outcome({ reason: via, outcome: 'timeout', at: 'close connections' }) });
      h.flush();
      traces.push(JSON.stringify(Object.values(effects).map((e) => e.subscriptions)));
    });
  }
  assert.equal(traces[1], traces[0], 'SIGINT as SIGTERM');
  assert.equal(traces[2], traces[0], 'Shutdown as SIGTERM');
});

test('SIGPIPE and SIGCHLD are no reasons to stop: no stage runs and serve keeps waiting', () => {
  run((h) => {
    const { effects, out$, signals$ } = stopPath(h, '-p-c-p-c-', { accept: '-|', events: '-|', drain: '-|', conns: '-|' });
    h.expectObservable(out$).toBe('---------');
    h.expectSubscriptions(signals$.subscriptions).toBe('^');
    h.expectSubscriptions(effects.accept.subscriptions).toBe([]);
  });
});

test('the first stop reason wins: a SIGINT after Shutdown started neither restarts the stages nor changes the reason; signals are released at the end', () => {
  run((h) => {
    const { effects, shutdown, out$, signals$ } = stopPath(h, '---i', { accept: '--s|', events: '-|', drain: '-|', conns: '-|' });
    h.cold('-x').subscribe(() => shutdown.shutdown());
    h.expectObservable(out$).toBe('-------(x|)', { x: outcome({ reason: 'shutdown' }) });
    h.expectSubscriptions(effects.accept.subscriptions).toBe('-^--!');
    h.expectSubscriptions(signals$.subscriptions).toBe('^------!');
  });
});

test('a stage that fails is logged and the later ones still run; the stop counts as failed (Go exits 1 on a callback error)', () => {
  run((h) => {
    const { effects, out$, failures } = stopPath(h, '-t', { accept: '-|', events: '-#', drain: '-|', conns: '-|' });
    h.expectObservable(out$).toBe('-----(x|)', { x: outcome({ outcome: 'failed', failed: ['close the event queue'] }) });
    h.expectSubscriptions(effects.drain.subscriptions).toBe('---^!');
    h.flush();
    assert.deepEqual(failures, ['shutdown callback failed: close the event queue']);
  });
});

test('a shutdown service with no callbacks is done at once (the task service alone, as in its unit tests)', async () => {
  const shutdown: Shutdown = createShutdown();
  assert.equal(shutdown.requested, false);
  shutdown.shutdown();
  assert.equal(shutdown.requested, true);
  assert.deepEqual(await shutdown.done(), { reason: 'shutdown', outcome: 'done', at: undefined, failed: [] });
});

test('a callback another plugin registers without a name runs in its place in the order (before the stop stages when registered first); a plain value it returns is done', () => {
  run((h) => {
    const ran: number[] = [];
    const shutdown = createShutdown();
    shutdown.register(() => (ran.push(now()), true) as unknown as void);
    const accept$ = h.cold('--|');
    registerStop(shutdown, { stopAccepting: () => accept$, closeEvents: () => undefined, drainPublisher: () => undefined, closeConnections: () => undefined });
    const out$ = serve$({ signals$: h.hot<ShimSignal>('-t', sig), shutdown, closeAll: () => CUT });
    h.expectObservable(out$).toBe('---(x|)', { x: outcome({}) });
    h.expectSubscriptions(accept$.subscriptions).toBe('-^-!');
    h.flush();
    assert.deepEqual(ran, [1]);
  });
});
