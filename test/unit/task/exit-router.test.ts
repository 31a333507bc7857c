import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Exit } from '../../../src/streams/exits$';
import { ExitRouter } from '../../../src/task/exit-router';

const exit = (pid: number, status: number): Exit => ({ pid, status, time: new Date() });
const collect = () => {
  const got: number[] = [];
  return { got, onExit: (e: Exit) => got.push(e.status) };
};

test('an exit reaped while a start is in flight (before its pid file is read) is handed to that pid\'s claim', () => {
  const router = new ExitRouter();
  const w = router.starting();
  router.exit(exit(1001, 7));
  const c = collect();
  w.claim(1001, c.onExit);
  assert.deepEqual(c.got, [7]);
  w.close();
});

test('an exit reaped while no start is in flight is dropped: a later claim of the same (recycled) pid does not get it', () => {
  const router = new ExitRouter();
  router.exit(exit(1001, 7));
  const w = router.starting();
  const c = collect();
  w.claim(1001, c.onExit);
  w.close();
  assert.deepEqual(c.got, [], 'the stale exit is not delivered');
  router.exit(exit(1001, 0));
  assert.deepEqual(c.got, [0], 'the process\'s own exit is');
});

test('exits a start did not claim are dropped when it closes', () => {
  const router = new ExitRouter();
  const w1 = router.starting();
  router.exit(exit(1002, 9)); // not w1's process
  w1.close();
  const w2 = router.starting();
  const c = collect();
  w2.claim(1002, c.onExit);
  assert.deepEqual(c.got, []);
  w2.close();
});

test('an exit claimed through one start is not handed again to another start given the same pid later', () => {
  const router = new ExitRouter();
  const a = router.starting();
  const b = router.starting();
  router.exit(exit(1003, 1));
  const ca = collect();
  a.claim(1003, ca.onExit);
  a.close();
  const cb = collect();
  b.claim(1003, cb.onExit);
  assert.deepEqual([ca.got, cb.got], [[1], []]);
  b.close();
});

test('a claimed pid gets its exit directly, whether or not a start is in flight', () => {
  const router = new ExitRouter();
  const w = router.starting();
  const c = collect();
  w.claim(1004, c.onExit);
  w.close();
  router.exit(exit(1004, 3));
  router.exit(exit(1004, 4)); // once only
  assert.deepEqual(c.got, [3]);
  assert.equal(router.pendingClaims, 0);
});

test('a window keeps at most `keep` exits, dropping the oldest', () => {
  const router = new ExitRouter(2);
  const w = router.starting();
  for (const pid of [1, 2, 3]) router.exit(exit(pid, pid));
  const c = collect();
  for (const pid of [1, 2, 3]) w.claim(pid, c.onExit);
  assert.deepEqual(c.got, [2, 3]);
  w.close();
});
