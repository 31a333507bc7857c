import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { StartOrder } from '../../../src/ordering/exit-after-start';
import { fn } from '../../../src/sys/libc';
import { Container } from '../../../src/task/container';
import { stateDump } from '../../../src/task/dump';
import { Process } from '../../../src/task/process';

const stdio = { stdin: '', stdout: '', stderr: '', terminal: false };

test('the state dump: each container\'s processes with state, pid, exit; held exits; publisher queue; fds and RSS', async () => {
  const init = new Process('init', 'c1', '', stdio);
  init.pid = 101;
  await init.run('start', async () => {});
  const starts = new StartOrder();
  const out: string[] = [];
  starts.step({ kind: 'start', process: { containerId: 'c1', execId: '' }, event: { topic: '/tasks/start', type: 'x', containerId: 'c1', event: {} } }, (e) => out.push(e.topic));
  const c = new Container('c1', '/run/b/c1', init, null);
  // An exec reaped before its start was published: its TaskExit is held back.
  const early = new Process('exec', 'c1', 'e1', stdio);
  early.pid = 102;
  early.setExited(3, new Date('2026-12-01T00:00:00Z'));
  c.execs.set('e1', early);
  starts.step({ kind: 'exit', process: { containerId: 'c1', execId: 'e1' }, event: { topic: '/tasks/exit', type: 'x', containerId: 'c1', event: {} } }, (e) => out.push(e.topic));
  assert.deepEqual(out, ['/tasks/start'], 'the exec\'s exit is held');
  const dump = stateDump({
    starts,
    service: { snapshot: () => ({ containers: [c], creating: ['c2'], exitClaims: 1 }) },
    publisher: { snapshot: () => ({ published: 5, delivered: 3, lost: 0, pending: 2 }) },
  });
  assert.deepEqual(dump.containers, [
    {
      id: 'c1',
      bundle: '/run/b/c1',
      processes: [
        { exec: '', state: 'running', pid: 101, startPublished: true },
        { exec: 'e1', state: 'stopped', pid: 102, startPublished: false, exitStatus: 3, exitedAt: '2026-12-01T00:00:00.000Z' },
      ],
    },
  ]);
  assert.deepEqual(dump.creating, ['c2']);
  assert.equal(dump.exitClaims, 1);
  assert.equal(dump.heldExits, 1);
  assert.equal(dump.publisher.pending, 2);
  assert.equal(dump.pid, process.pid);
  assert.ok(dump.fds > 2 && dump.rssBytes > 1e6);
  assert.ok(!dump.inheritableFds.some((fd) => fd <= 2));
  // One log line: plain data, no cycles.
  assert.doesNotThrow(() => JSON.stringify(dump));
});

test('the state dump names each fd from 3 up that lacks close-on-exec (a child would inherit it)', () => {
  const base = openSync('/dev/null', 'r');
  const leaky: number = fn('int dup(int)')(base);
  const none = { snapshot: () => ({ containers: [], creating: [], exitClaims: 0 }) };
  const publisher = { snapshot: () => ({ published: 0, delivered: 0, lost: 0, pending: 0 }) };
  const starts = new StartOrder();
  const dump = stateDump({ service: none, publisher, starts });
  assert.ok(dump.inheritableFds.includes(leaky), `${leaky} in ${dump.inheritableFds}`);
  assert.ok(!dump.inheritableFds.includes(base), 'fs.openSync fds are close-on-exec');
  closeSync(leaky);
  closeSync(base);
  assert.ok(!stateDump({ service: none, publisher, starts }).inheritableFds.includes(leaky));
});
