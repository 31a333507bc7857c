import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { exitAfterStart$, initExitAfterExecExits, processKey, type Lifecycle } from '../../src/task/lifecycle$';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

const ev = (topic: string, id = 'c1') => ({ topic, type: 'x', containerId: id, event: {} });
/** The lifecycle items the marbles name, by letter. */
const items: Record<string, Lifecycle> = {
  c: { kind: 'event', event: ev('/tasks/create') },
  s: { kind: 'start', key: processKey('c1', ''), event: ev('/tasks/start') },
  x: { kind: 'exit', key: processKey('c1', ''), event: ev('/tasks/exit') },
  d: { kind: 'event', event: ev('/tasks/delete') },
  r: { kind: 'release', key: processKey('c1', '') },
  E: { kind: 'start', key: processKey('c1', 'e1'), event: ev('/tasks/exec-started') },
  X: { kind: 'exit', key: processKey('c1', 'e1'), event: ev('/tasks/exit') },
  a: { kind: 'event', event: ev('/tasks/create', 'c2') },
  b: { kind: 'start', key: processKey('c2', ''), event: ev('/tasks/start', 'c2') },
  y: { kind: 'exit', key: processKey('c2', ''), event: ev('/tasks/exit', 'c2') },
};
const topics = (o: ReturnType<typeof exitAfterStart$>) => o.pipe(map((e) => `${e.containerId}${e.topic}`));
const t: Record<string, string> = {
  C: 'c1/tasks/create',
  S: 'c1/tasks/start',
  X: 'c1/tasks/exit',
  D: 'c1/tasks/delete',
  E: 'c1/tasks/exec-started',
  A: 'c2/tasks/create',
  B: 'c2/tasks/start',
  Y: 'c2/tasks/exit',
};

test('exit after start: an init that exits before its Start returns has TaskExit published after TaskStart', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    // A group "(SX)" spans four frames, so the input leaves room after s.
    const input = cold('c-x--s-----d|', items);
    const expected = '  C----(SX)--D|';
    expectObservable(topics(exitAfterStart$(input))).toBe(expected, t);
    expectSubscriptions(input.subscriptions).toBe('^-----------!');
  });
});

test('exit after start: an exec that exits at once has TaskExecStarted before its TaskExit', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('s-X-E-----|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('S---(EX)--|', t);
  });
});

test('exit after start: an exit after its start passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-s-x-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C-S-X-D|', t);
  });
});

test('exit after start: a release (Start failed, or Delete without a start) lets a held exit go before TaskDelete', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-x-r-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---X-D|', t);
  });
});

test('exit after start: an exit that comes after a release passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('c-r-x-d|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('C---X-D|', t);
  });
});

test('events of one container keep their order while another container waits for its start', () => {
  scheduler().run(({ cold, expectObservable }) => {
    // c2 exits early and waits for its start; c1's events flow past in their own order.
    const input = cold('a-y-c-s-x-b-----|', items);
    expectObservable(topics(exitAfterStart$(input))).toBe('A---C-S-X-(BY)--|', t);
  });
});

const tev = (topic: string, event: Record<string, unknown>) => ({ topic, type: 'x', containerId: 'c1', event });
const byLetter = {
  s: tev('/tasks/start', {}),
  e: tev('/tasks/exec-started', { exec_id: 'e1' }),
  f: tev('/tasks/exec-started', { exec_id: 'e2' }),
  i: tev('/tasks/exit', { id: 'c1' }),
  x: tev('/tasks/exit', { id: 'e1' }),
  y: tev('/tasks/exit', { id: 'e2' }),
  d: tev('/tasks/delete', {}),
};
const name = (o: ReturnType<typeof initExitAfterExecExits>) =>
  o.pipe(map((e) => (e.topic === '/tasks/exit' ? `exit:${e.event.id}` : e.topic.replace('/tasks/', ''))));
const n = { S: 'start', E: 'exec-started', F: 'exec-started', I: 'exit:c1', X: 'exit:e1', Y: 'exit:e2', D: 'delete' };

test('init exit after exec exits: every exec\'s TaskExit is published before the init\'s, then TaskDelete', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('s-e-f-i-x-y-----d|', byLetter);
    expectObservable(name(initExitAfterExecExits(input))).toBe('S-E-F---X-(YI)--D|', n);
  });
});

test('init exit after exec exits: with no exec running, the init exit passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('s-e-x-i-d|', byLetter);
    expectObservable(name(initExitAfterExecExits(input))).toBe('S-E-X-I-D|', n);
  });
});

test('init exit after exec exits: TaskDelete releases a held init exit even if an exec never reported', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('s-e-i-d-----|', byLetter);
    expectObservable(name(initExitAfterExecExits(input))).toBe('S-E---(ID)--|', n);
  });
});

test('init exit after exec exits: an exec named like its container is told from the init by its pid, and neither exit is lost', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const same = {
      s: tev('/tasks/start', { pid: 10 }),
      e: tev('/tasks/exec-started', { exec_id: 'c1', pid: 11 }),
      x: tev('/tasks/exit', { id: 'c1', pid: 11 }),
      i: tev('/tasks/exit', { id: 'c1', pid: 10 }),
      d: tev('/tasks/delete', {}),
    };
    const byPid = (o: ReturnType<typeof initExitAfterExecExits>) =>
      o.pipe(map((e) => (e.topic === '/tasks/exit' ? `exit:${e.event.pid}` : e.topic.replace('/tasks/', ''))));
    expectObservable(byPid(initExitAfterExecExits(cold('s-e-x-i-d|', same)))).toBe('S-E-X-I-D|', {
      S: 'start', E: 'exec-started', X: 'exit:11', I: 'exit:10', D: 'delete',
    });
  });
});

test('exit after start: the init and an exec named like its container have distinct keys', () => {
  assert.notEqual(processKey('c1', ''), processKey('c1', 'c1'));
  assert.notEqual(processKey('a/', 'b'), processKey('a', '/b'));
});
