import { test } from 'node:test';
import assert from 'node:assert/strict';
import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createExits$, type Exit, type ReaperDeps } from '../../src/streams/exits$';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const T0 = new Date(0);

/**
 * A fake process table: pid -> [virtual time it exits, raw wait status]. waitNoHang reaps a pid
 * once, after its exit time, as waitpid(pid, WNOHANG) would; every call is recorded.
 */
function table(ts: TestScheduler, procs: Record<number, [number, number]>, own: number[] = []) {
  const reaped = new Set<number>();
  const sweeps: number[] = [];
  const ticks: number[] = [];
  const waited: number[] = [];
  const deps: ReaperDeps = {
    sweepIntervalMs: 10,
    // waitid(WNOWAIT) names an exited child not yet reaped, libuv's included (here the lowest pid).
    exitedChild: () => {
      ticks.push(ts.now());
      return Number(Object.entries(procs).find(([pid, [at]]) => !reaped.has(Number(pid)) && ts.now() >= at)?.[0] ?? 0);
    },
    childrenOf: () => {
      sweeps.push(ts.now());
      return Object.keys(procs).map(Number).filter((p) => !reaped.has(p));
    },
    waitNoHang: (pid) => {
      waited.push(pid);
      const [at, status] = procs[pid];
      if (ts.now() < at || own.includes(pid)) return null;
      reaped.add(pid);
      return { pid, status };
    },
    isNodeChild: (pid) => own.includes(pid),
    now: () => T0,
  };
  return { deps, sweeps, ticks, waited };
}

const exit = (pid: number, status: number): Exit => ({ pid, status, time: T0 });

test('exits$ looks once on subscribe, on every SIGCHLD and on the safety timer', () => {
  const ts = scheduler();
  const t = table(ts, {});
  ts.run(({ hot, expectObservable }) => {
    const sigchld = hot('--a---a');
    expectObservable(createExits$(sigchld, t.deps), '^ 24ms !').toBe('');
  });
  assert.deepEqual(t.ticks, [0, 2, 6, 10, 20]);
});

test('a tick that finds no exited child costs one peek: no children read, no waitpid, however many children', () => {
  const ts = scheduler();
  // 500 sleeping containers, one of them exits at 15.
  const procs: Record<number, [number, number]> = {};
  for (let pid = 1000; pid < 1500; pid++) procs[pid] = [pid === 1200 ? 15 : 1e9, 0];
  const t = table(ts, procs);
  ts.run(({ hot, expectObservable }) => {
    expectObservable(createExits$(hot('-a'), t.deps), '^ 34ms !').toBe('20ms a', { a: exit(1200, 0) });
  });
  assert.deepEqual(t.ticks, [0, 1, 10, 20, 20, 30], 'one peek a tick, and one more after each reap');
  assert.deepEqual(t.sweeps, [], 'the child list was never read');
  assert.deepEqual(t.waited, [1200], 'waitpid only for the one that exited');
});

test('exits$ emits each exit on the SIGCHLD that follows it, with the status as containerd reports it', () => {
  const ts = scheduler();
  const t = table(ts, { 10: [1, 3 << 8], 11: [4, 9], 12: [4, 15] });
  ts.run(({ hot, expectObservable }) => {
    const sigchld = hot('--a--a');
    expectObservable(createExits$(sigchld, t.deps), '^ 8ms !').toBe('--a--(bc)', { a: exit(10, 3), b: exit(11, 137), c: exit(12, 143) });
  });
});

test('exits$ never waits on node\'s own child_process children; behind one libuv has not reaped yet, it reads the child list', () => {
  const ts = scheduler();
  const t = table(ts, { 20: [0, 0], 21: [0, 1 << 8] }, [20]);
  ts.run(({ hot, expectObservable }) => {
    expectObservable(createExits$(hot('-a'), t.deps), '^ 3ms !').toBe('a', { a: exit(21, 1) });
  });
  assert.ok(!t.waited.includes(20), 'waitpid was never called on a libuv child');
  assert.deepEqual(t.sweeps, [0, 1], 'the peek named the libuv zombie, so each tick read the list');
});

test('exits$ is hot and multicast: two subscribers share one sweep per tick and see the same exits', () => {
  const ts = scheduler();
  const t = table(ts, { 30: [3, 2 << 8] });
  ts.run(({ hot, expectObservable }) => {
    const exits$ = createExits$(hot('---a'), t.deps);
    expectObservable(exits$, '^ 5ms !').toBe('---a', { a: exit(30, 2) });
    expectObservable(exits$, '^ 5ms !').toBe('---a', { a: exit(30, 2) });
  });
  assert.deepEqual(t.waited, [30], 'reaped once for both');
});

test('exits$ stops listening and sweeping when the last subscriber leaves', () => {
  const ts = scheduler();
  const t = table(ts, {});
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const sigchld = hot('-a-a----a');
    expectObservable(createExits$(sigchld, t.deps), '^ 4ms !').toBe('');
    expectSubscriptions(sigchld.subscriptions).toBe('^ 4ms !');
  });
  ts.flush();
  assert.deepEqual(t.ticks, [0, 1, 3]);
});

test('exits$ does not complete when SIGCHLD completes: the timer keeps sweeping', () => {
  const ts = scheduler();
  const t = table(ts, { 40: [12, 0] });
  ts.run(({ cold, expectObservable }) => {
    expectObservable(createExits$(cold('-a|'), t.deps), '^ 25ms !').toBe('20ms a', { a: exit(40, 0) });
  });
});

test('a subscriber leaving mid-sweep leaves the rest unreaped, and the next sweep reports them', () => {
  const ts = scheduler();
  const t = table(ts, { 50: [0, 0], 51: [0, 0] });
  ts.run(({ hot, expectObservable }) => {
    const exits$ = createExits$(hot(''), t.deps);
    expectObservable(exits$.pipe(take(1)), '^').toBe('(a|)', { a: exit(50, 0) });
    expectObservable(exits$, '-^ 5ms !').toBe('-a', { a: exit(51, 0) });
  });
  assert.deepEqual(t.waited, [50, 51], 'the first sweep stopped after the exit its only subscriber took');
});
