import { test } from 'node:test';
import { map } from 'rxjs';
import { initExitAfterExecExits } from '../../src/ordering/init-exit-after-exec-exits';
import { byLetter, n, name, scheduler, tev } from './ordering-fixtures';

test('init exit after exec exits: every exec\'s TaskExit is published before the init\'s, then TaskDelete', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('s-e-f-i-x-y-----d|', byLetter);
    expectObservable(name(initExitAfterExecExits(input))).toBe('S-E-F---X-(YI)--D|', n);
    expectSubscriptions(input.subscriptions).toBe('           ^----------------!');
  });
});

test('init exit after exec exits: with no exec running, the init exit passes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const input = cold('s-e-x-i-d|', byLetter);
    expectObservable(name(initExitAfterExecExits(input))).toBe('S-E-X-I-D|', n);
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
