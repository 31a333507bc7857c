import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { map, type Observable } from 'rxjs';
import type { TaskEvent } from '../../src/publisher/envelope';
import type { Lifecycle, ProcessRef } from '../../src/ordering/lifecycle';

/** Shared by the ordering rules' marble tests (one file per rule). */
export const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

const ev = (topic: string, id = 'c1') => ({ topic, type: 'x', containerId: id, event: {} });
const init = (containerId: string): ProcessRef => ({ containerId, execId: '' });
const e1: ProcessRef = { containerId: 'c1', execId: 'e1' };
/** The lifecycle items the marbles name, by letter. */
export const items: Record<string, Lifecycle> = {
  c: { kind: 'event', event: ev('/tasks/create') },
  s: { kind: 'start', process: init('c1'), event: ev('/tasks/start') },
  x: { kind: 'exit', process: init('c1'), event: ev('/tasks/exit') },
  d: { kind: 'delete', process: init('c1'), event: ev('/tasks/delete') },
  r: { kind: 'release', process: init('c1') },
  A: { kind: 'event', event: ev('/tasks/exec-added') },
  E: { kind: 'start', process: e1, event: ev('/tasks/exec-started') },
  X: { kind: 'exit', process: e1, event: ev('/tasks/exit') },
  R: { kind: 'release', process: e1 },
  D: { kind: 'delete', process: e1 },
  a: { kind: 'event', event: ev('/tasks/create', 'c2') },
  b: { kind: 'start', process: init('c2'), event: ev('/tasks/start', 'c2') },
  y: { kind: 'exit', process: init('c2'), event: ev('/tasks/exit', 'c2') },
};
export const topics = (o: Observable<TaskEvent>) => o.pipe(map((e) => `${e.containerId}${e.topic}`));
export const t: Record<string, string> = {
  C: 'c1/tasks/create',
  S: 'c1/tasks/start',
  X: 'c1/tasks/exit',
  D: 'c1/tasks/delete',
  A: 'c1/tasks/exec-added',
  E: 'c1/tasks/exec-started',
  a: 'c2/tasks/create',
  B: 'c2/tasks/start',
  Y: 'c2/tasks/exit',
};

const tev = (topic: string, event: Record<string, unknown>) => ({ topic, type: 'x', containerId: 'c1', event });
/** Already start-ordered task events, for initExitAfterExecExits. */
export const byLetter = {
  s: tev('/tasks/start', {}),
  e: tev('/tasks/exec-started', { exec_id: 'e1' }),
  f: tev('/tasks/exec-started', { exec_id: 'e2' }),
  i: tev('/tasks/exit', { id: 'c1' }),
  x: tev('/tasks/exit', { id: 'e1' }),
  y: tev('/tasks/exit', { id: 'e2' }),
  d: tev('/tasks/delete', {}),
};
export const name = (o: Observable<TaskEvent>) =>
  o.pipe(map((e) => (e.topic === '/tasks/exit' ? `exit:${e.event.id}` : e.topic.replace('/tasks/', ''))));
export const n = { S: 'start', E: 'exec-started', F: 'exec-started', I: 'exit:c1', X: 'exit:e1', Y: 'exit:e2', D: 'delete' };
export { tev };
