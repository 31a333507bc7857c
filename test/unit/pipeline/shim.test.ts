/**
 * shim$, the serving process's composition (pipeline.ts), with every effect faked. Real time,
 * not marbles: plugins load through promises (plugins.ts), which virtual time cannot step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { lastValueFrom, Observable, Subject } from 'rxjs';
import { silentLogger } from '../../../src/log';
import { shim$, type ShimDeps, type ShimPublisher, type ShimService } from '../../../src/pipeline';
import type { TaskEvent } from '../../../src/publisher/envelope';
import type { Exit } from '../../../src/streams/exits$';
import type { ShimSignal } from '../../../src/streams/signals$';
import type { Said } from '../../../src/ordering/lifecycle';

const STATS = { published: 2, delivered: 2, lost: 0, pending: 0 };
const ev = (topic: string): TaskEvent => ({ topic, type: 'x', containerId: 'c1', event: {} });
const tick = () => new Promise((r) => setTimeout(r, 10));

/** A hot source that counts its subscribers: `active` is how many are subscribed now. */
function tracked<T>() {
  const subject = new Subject<T>();
  const t = {
    active: 0,
    subject,
    obs: new Observable<T>((sub) => {
      t.active++;
      const s = subject.subscribe(sub);
      return () => {
        t.active--;
        s.unsubscribe();
      };
    }),
  };
  return t;
}

/** The serving process with every effect faked; `calls` records what shim$ asked for, in order. */
function fake(opts: { connectionsEnd?: boolean } = {}) {
  const calls: string[] = [];
  const published: string[] = [];
  const signals = tracked<ShimSignal>();
  const exits = tracked<Exit>();
  const said = new Subject<Said<string>>();
  let shutdown: () => void = () => undefined;
  const publisher: ShimPublisher = {
    publish: (e) => void published.push(e.topic),
    drain: () => (calls.push('drain'), Promise.resolve()),
    snapshot: () => STATS,
  };
  const service: ShimService = {
    dispose: () => void calls.push('dispose'),
    snapshot: () => ({ containers: [], creating: [], exitClaims: 0 }),
    lifecycle$: said,
    // The fake's processes are their exec ids; the init is ''.
    recordExit: (execId: string, e: Exit) => (calls.push(`exited ${execId || 'init'} ${e.status}`), { kind: 'exit', process: { containerId: 'c1', execId }, event: ev('/tasks/exit') }),
  };
  const deps: ShimDeps = {
    log: silentLogger(),
    tap: () => (s) => s,
    publisher: () => (calls.push(`load publisher (reaper held: ${exits.active > 0})`), publisher),
    taskService: (shared) => {
      calls.push('load task');
      shutdown = () => shared.shutdown.shutdown();
      return service;
    },
    server: () => ({
      serve: () => void calls.push('serve'),
      stopAccepting: () => void calls.push('stop accepting'),
      // A connection with a Wait in flight never drains.
      shutdown: () => (calls.push('shutdown'), opts.connectionsEnd ? Promise.resolve() : new Promise<void>(() => undefined)),
      close: () => (calls.push('close'), opts.connectionsEnd ? { connections: 0, calls: 0 } : { connections: 1, calls: 1 }),
    }),
    listen: () => Promise.resolve({} as net.Server),
    removeSocket: () => void calls.push('remove socket'),
    dump: () => (calls.push('dump'), {}),
    shutdownOptions: { budgetMs: 100 },
  };
  const out$ = shim$({ signals$: signals.obs, exits$: exits.obs }, deps);
  return { out$, calls, published, signals, exits, said, shutdown: () => shutdown() };
}

test('shim$ holds the reaper before any plugin loads, serves after the listen, and publishes the service\'s lifecycle through the ordering rules', async () => {
  const f = fake();
  const sub = f.out$.subscribe();
  await tick();
  assert.deepEqual(f.calls, ['load publisher (reaper held: true)', 'load task', 'serve']);
  // The init's pid claimed, its exit reaped (the reaper's stream, not a call), then its start.
  f.said.next({ kind: 'opening', window: 1 });
  f.said.next({ kind: 'claim', window: 1, pid: 42, process: '' });
  f.said.next({ kind: 'closing', window: 1 });
  f.exits.subject.next({ pid: 42, status: 3, time: new Date() });
  assert.equal(f.calls.at(-1), 'exited init 3', 'the reaped exit reaches the process that claimed its pid');
  f.said.next({ kind: 'start', process: { containerId: 'c1', execId: '' }, event: ev('/tasks/start') });
  assert.deepEqual(f.published, ['/tasks/start', '/tasks/exit'], 'an exit before its start waits for it');
  f.signals.subject.next('SIGUSR1');
  assert.equal(f.calls.at(-1), 'dump');
  sub.unsubscribe();
});

test('unsubscribing shim$ tears everything down: the reaper, the signal handlers, the server\'s connections, the service', async () => {
  const f = fake();
  const sub = f.out$.subscribe();
  await tick();
  assert.ok(f.exits.active > 0 && f.signals.active > 0, 'serving: reaper and signal handlers held');
  sub.unsubscribe();
  assert.equal(f.exits.active, 0, 'reaper released');
  assert.equal(f.signals.active, 0, 'signal handlers released');
  assert.deepEqual(f.calls.slice(-2), ['close', 'dispose']);
});

test('a SIGTERM runs the stop path under its budget: shim$ ends with the outcome, what it cut and the publisher\'s counts, torn down', async () => {
  const f = fake();
  const end = lastValueFrom(f.out$);
  await tick();
  f.signals.subject.next('SIGTERM');
  const outcome = await end;
  assert.deepEqual(outcome, { reason: 'SIGTERM', outcome: 'timeout', at: 'close connections', failed: [], cut: { connections: 1, calls: 1 }, events: STATS });
  assert.deepEqual(f.calls.slice(3), ['stop accepting', 'remove socket', 'drain', 'drain', 'shutdown', 'close', 'close', 'dispose']);
  assert.equal(f.exits.active + f.signals.active, 0, 'everything released at the end');
});

test('the Task API\'s Shutdown (the task service asks the shutdown service it was given) ends shim$ as a signal does; drained, the outcome is done', async () => {
  const f = fake({ connectionsEnd: true });
  const end = lastValueFrom(f.out$);
  await tick();
  f.shutdown();
  assert.deepEqual(await end, { reason: 'shutdown', outcome: 'done', at: undefined, failed: [], cut: { connections: 0, calls: 0 }, events: STATS });
  assert.deepEqual(f.calls.slice(3), ['stop accepting', 'remove socket', 'drain', 'drain', 'shutdown', 'close', 'close', 'dispose']);
});
