import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { formatMarbles, marbleTest, parseRecording, preludeOf, toMarbles, type Recorded } from '../../../src/debug/marbles';
import type { Lifecycle } from '../../../src/ordering/lifecycle';
import { ordered$ } from '../../../src/pipeline';
import type { StateDump } from '../../../src/task/dump';

const ev = (topic: string, extra: object = {}) => ({ topic, type: 'x', containerId: 'c1', event: { container_id: 'c1', ...extra } });
const started = ev('/tasks/exec-started', { exec_id: 'e1' });
const exited = ev('/tasks/exit', { id: 'e1', exit_status: 3 });
let t = 1000;
const at = (stream: Recorded['stream'], value: unknown): Recorded => ({ t: t++, stream, id: 'c1', value });
/** An exec that exits before its Start returns: its exit is held, then both go at its start. */
const recording: Recorded[] = [
  at('calls', { method: 'Exec', code: 0 }),
  at('signals', 'SIGCHLD'),
  at('exits', { pid: 7, status: 3 }),
  at('lifecycle', { kind: 'exit', process: { containerId: 'c1', execId: 'e1' }, event: exited }),
  at('lifecycle', { kind: 'start', process: { containerId: 'c1', execId: 'e1' }, event: started }),
  at('events', started),
  at('events', exited),
  at('signals', 'SIGCHLD'),
];

test('toMarbles: one column per value, events$ in the column of the lifecycle item before it, groups padded so columns align', () => {
  const m = toMarbles(recording);
  const line = (s: string) => m.lines.find((l) => l.stream === s)!;
  assert.deepEqual(m.lines.map((l) => l.stream), ['signals', 'exits', 'lifecycle', 'events', 'calls'], 'in STREAMS order, only streams with values');
  // Columns: Exec, SIGCHLD, exit 7, held TaskExit, start with (TaskExecStarted TaskExit), SIGCHLD.
  assert.equal(line('calls').marble, '     a--------------'.trim());
  assert.equal(line('signals').marble, '--a----------a-');
  assert.equal(line('exits').marble, '----a----------');
  assert.equal(line('lifecycle').marble, '------a-b------');
  assert.equal(line('events').marble, '--------(ab)---');
  assert.equal(line('signals').values.a, 'SIGCHLD', 'one letter per distinct value');
  assert.deepEqual(m.times, [1000, 1001, 1002, 1003, 1004, 1007]);
});

test('the recorded lifecycle through events$ in virtual time gives the recorded events$ line: what the skeleton asserts', () => {
  const m = toMarbles(recording);
  const line = (s: string) => m.lines.find((l) => l.stream === s)!;
  new TestScheduler((a, e) => assert.deepEqual(a, e)).run(({ hot, expectObservable }) => {
    const lifecycle$ = hot<Lifecycle>(line('lifecycle').marble, line('lifecycle').values as Record<string, Lifecycle>);
    expectObservable(ordered$(lifecycle$)).toBe(line('events').marble.replace(/-+$/, ''), line('events').values);
  });
});

test('marbleTest writes both marbles, the values and the import path; formatMarbles a legend per stream', () => {
  const m = toMarbles(recording);
  const src = marbleTest(m, { id: 'c1', src: '../x/src' });
  assert.match(src, /hot\("------a-b------", lifecycle\)/);
  assert.match(src, /const expected = "--------\(ab\)";/);
  assert.match(src, /from '\.\.\/x\/src\/pipeline'/);
  assert.match(src, /"exec_id": "e1"/);
  const text = formatMarbles(m, (stream, v) => `${stream}:${JSON.stringify(v).length}`);
  assert.match(text, /^lifecycle  ------a-b------$/m);
  assert.match(text, /^signals:\n {2}a = signals:9$/m);
  assert.throws(() => marbleTest(toMarbles([at('calls', {})]), { id: 'c1' }), /no lifecycle values/);
});

test('parseRecording reads what record writes, keeps the prelude mark, skips dropped notes, and names a bad line', () => {
  const text = recording.map((r) => JSON.stringify(r)).join('\n') + '\n{"op":"dropped","count":2}\n' + JSON.stringify({ ...recording[0], prelude: true }) + '\n';
  const back = parseRecording(text);
  assert.deepEqual(back.slice(0, recording.length), recording);
  assert.equal(back.length, recording.length + 1);
  assert.equal(back[back.length - 1].prelude, true);
  assert.throws(() => parseRecording('{"t":1}\n'), /line 1: not a recorded event/);
  assert.throws(() => parseRecording('\nnope'), /line 2: not JSON/);
});

test('preludeOf: a start for each process of the container started and not exited, none for others', () => {
  const state = {
    containers: [
      { id: 'c1', bundle: '/b', processes: [
        { exec: '', state: 'running', pid: 10, startPublished: true },
        { exec: 'e1', state: 'running', pid: 11, startPublished: true },
        { exec: 'e2', state: 'stopped', pid: 12, startPublished: true, exitStatus: 0 },
        { exec: 'e3', state: 'created', pid: 0, startPublished: false },
      ] },
      { id: 'c2', bundle: '/b2', processes: [{ exec: '', state: 'running', pid: 20, startPublished: true }] },
    ],
  } as unknown as StateDump;
  const p = preludeOf(state, 'c1', 5);
  assert.deepEqual(p.map((r) => { const v = r.value as { process?: { containerId: string; execId: string }; topic: string }; return `${r.stream} ${v.process ? `${v.process.containerId}/${v.process.execId}` : v.topic}`; }), [
    'lifecycle c1/', 'events /tasks/start', 'lifecycle c1/e1', 'events /tasks/exec-started',
  ]);
  assert.ok(p.every((r) => r.prelude && r.t === 5 && r.id === 'c1'));
  // An exit of a process started before the recording is not held: it passes in the test.
  const exit = at('lifecycle', { kind: 'exit', process: { containerId: 'c1', execId: 'e1' }, event: exited });
  const m = toMarbles([...p, exit, at('events', exited)]);
  new TestScheduler((a, e) => assert.deepEqual(a, e)).run(({ hot, expectObservable }) => {
    const l = m.lines.find((x) => x.stream === 'lifecycle')!;
    const e = m.lines.find((x) => x.stream === 'events')!;
    expectObservable(ordered$(hot<Lifecycle>(l.marble, l.values as Record<string, Lifecycle>))).toBe(e.marble.replace(/-+$/, ''), e.values);
  });
});
