import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brief, describe, formatEvent, formatState } from '../../../src/debug/format';
import { parseDebugArgs } from '../../../src/cli/debug';
import type { StateDump } from '../../../src/task/dump';

test('describe: one short phrase per stream', () => {
  assert.equal(describe({ stream: 'signals', value: 'SIGCHLD' }), 'SIGCHLD');
  assert.equal(describe({ stream: 'exits', value: { pid: 7, status: 137, time: 'x' } }), 'pid 7 exited, status 137');
  assert.equal(describe({ stream: 'calls', value: { service: 'containerd.task.v3.Task', method: 'Kill', code: 5, ms: 1.234 } }), 'Kill NotFound 1.2 ms');
  assert.equal(describe({ stream: 'calls', value: { service: 'containerd.runtime.sandbox.v1.Sandbox', method: 'Ping', code: 0, ms: 0.1 } }), 'containerd.runtime.sandbox.v1.Sandbox/Ping OK 0.1 ms');
  const exit = { topic: '/tasks/exit', type: 'x', containerId: 'c1', event: { container_id: 'c1', id: 'e1', pid: 7, exit_status: 3, exited_at: { seconds: 1 } } };
  assert.equal(describe({ stream: 'events', value: exit }), '/tasks/exit id=e1 pid=7 exit_status=3');
  assert.equal(describe({ stream: 'lifecycle', value: { kind: 'exit', process: { containerId: 'c1', execId: 'e1' }, event: exit } }), 'exit /tasks/exit id=e1 pid=7 exit_status=3');
  assert.equal(describe({ stream: 'lifecycle', value: { kind: 'release', process: { containerId: 'c1', execId: 'e1' } } }), 'release c1/e1');
});

test('brief leaves out the container\'s own id (TaskExit of an init), empty values and nested objects', () => {
  assert.equal(brief({ container_id: 'c1', id: 'c1', pid: 5, exit_status: 0, exited_at: {}, stdin: '' }), 'pid=5 exit_status=0');
  assert.equal(brief(null), '');
});

test('formatEvent: time, stream, container (or -), what happened', () => {
  const line = formatEvent({ t: new Date(2026, 0, 2, 3, 4, 5, 67).getTime(), stream: 'signals', id: '', value: 'SIGTERM' });
  assert.equal(line, '03:04:05.067 signals   -            SIGTERM');
});

test('formatState: the process, the counts, each container with its processes', () => {
  const s: StateDump = {
    pid: 9, uptimeS: 3, rssBytes: 50 << 20, fds: 20, inheritableFds: [], creating: [], exitClaims: 1, heldExits: 0,
    publisher: { published: 4, delivered: 3, lost: 0, pending: 1, queues: { c1: 1 } },
    containers: [{ id: 'c1', bundle: '/b/c1', processes: [
      { exec: '', state: 'running', pid: 100, startPublished: true },
      { exec: 'e1', state: 'stopped', pid: 101, startPublished: true, exitStatus: 3, exitedAt: '2026-01-01T00:00:00.000Z' },
    ] }],
  };
  assert.equal(formatState(s), [
    'serving process 9: up 3 s, rss 50.0 MiB, 20 fds',
    'events: 4 published, 3 delivered, 0 lost, 1 queued',
    'exits awaited: 1, held until their start: 0',
    'container c1  queue 1  bundle /b/c1',
    '  init             running  pid 100',
    '  exec e1          stopped  pid 101  exit 3 at 2026-01-01T00:00:00.000Z',
    '',
  ].join('\n'));
  assert.match(formatState({ ...s, containers: [] }), /\nno containers\n$/);
});

test('debug arguments: a subcommand, Go-syntax flags anywhere, and one clear line for what is wrong', () => {
  const a = parseDebugArgs(['tap', '-address', '/a.sock', '--namespace=k8s.io', '-id', 'c1', '--stream', 'exits,calls', '--json']);
  assert.deepEqual([a.sub, a.address, a.namespace, a.id, a.stream, a.json], ['tap', '/a.sock', 'k8s.io', 'c1', 'exits,calls', true]);
  assert.equal(parseDebugArgs(['state', '-bundle', '/b']).namespace, 'default');
  assert.deepEqual([parseDebugArgs(['marbles', 'f.jsonl', '--out', 't.ts']).file, parseDebugArgs(['marbles', 'f.jsonl']).out], ['f.jsonl', '']);
  assert.throws(() => parseDebugArgs(['dance']), /debug: unknown subcommand "dance"/);
  assert.throws(() => parseDebugArgs(['record', '-id', 'c1']), /pass --out <file>/);
  assert.throws(() => parseDebugArgs(['marbles']), /name the recording/);
  assert.throws(() => parseDebugArgs(['state', 'extra']), /unexpected arguments extra/);
  assert.throws(() => parseDebugArgs(['tap', '--bogus']), /flag provided but not defined: -bogus/);
});
