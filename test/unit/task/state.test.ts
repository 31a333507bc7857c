import { test } from 'node:test';
import assert from 'node:assert/strict';
import { next, transition, type Operation, type ProcessState } from '../../../src/task/state';
import { ShimError } from '../../../src/errors';

const states: ProcessState[] = ['created', 'running', 'pausing', 'paused', 'stopped', 'deleted'];
const ops: Operation[] = ['start', 'delete', 'kill', 'pause', 'resume', 'update', 'checkpoint', 'exec', 'resize', 'closeIO', 'exited'];

/**
 * The whole init table, written out: row = state, one letter per operation in `ops` order.
 * Letters: the state it leads to (c r P p s d), '=' stays, '.' refused. As containerd's
 * pkg/process/init_state.go, with pausing as the transient state of a Pause under way.
 */
const initExpected: Record<ProcessState, string> = {
  //         start del kill pause resume update ckpt exec resize closeIO exited
  created: ['r', 'd', '=', '.', '.', '=', '.', '=', '=', '=', 's'].join(''),
  running: ['.', '.', '=', 'p', '.', '=', '=', '=', '=', '=', 's'].join(''),
  pausing: ['.', '.', '=', '.', '.', '.', '.', '.', '.', '.', 's'].join(''),
  paused: ['.', '.', '=', '.', 'r', '=', '=', '.', '=', '=', 's'].join(''),
  stopped: ['.', 'd', '=', '.', '.', '.', '.', '.', '=', '=', '='].join(''),
  deleted: ['.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.'].join(''),
};

const execExpected: Record<ProcessState, string> = {
  created: ['r', 'd', '=', '.', '.', '.', '.', '.', '=', '=', 's'].join(''),
  running: ['.', '.', '=', '.', '.', '.', '.', '.', '=', '=', 's'].join(''),
  pausing: ['.', '.', '=', '.', '.', '.', '.', '.', '.', '.', 's'].join(''),
  paused: ['.', '.', '=', '.', '.', '.', '.', '.', '.', '.', 's'].join(''),
  stopped: ['.', 'd', '=', '.', '.', '.', '.', '.', '=', '=', '='].join(''),
  deleted: ['.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.'].join(''),
};

const letter: Record<ProcessState, string> = { created: 'c', running: 'r', pausing: 'P', paused: 'p', stopped: 's', deleted: 'd' };

function actualRow(kind: 'init' | 'exec', state: ProcessState): string {
  return ops
    .map((op) => {
      const to = next(kind, state, op);
      if (to === null) return '.';
      return to === state ? '=' : letter[to];
    })
    .join('');
}

for (const state of states) {
  test(`init state table: ${state}`, () => assert.equal(actualRow('init', state), initExpected[state]));
  test(`exec state table: ${state}`, () => assert.equal(actualRow('exec', state), execExpected[state]));
}

test('a refused call is FailedPrecondition naming the process and its state', () => {
  assert.throws(
    () => transition('init', 'c1', 'running', 'delete'),
    (err: unknown) => err instanceof ShimError && err.kind === 'FailedPrecondition' && /cannot delete init process c1: it is running/.test(err.message),
  );
  assert.throws(
    () => transition('exec', 'c1/e1', 'running', 'start'),
    (err: unknown) => err instanceof ShimError && err.kind === 'FailedPrecondition' && /cannot start exec process c1\/e1: it is running/.test(err.message),
  );
});

test('containerd examples: Start twice, Exec in a stopped task, Pause of a stopped task, Delete of a running one', () => {
  assert.equal(next('init', 'running', 'start'), null);
  assert.equal(next('init', 'stopped', 'exec'), null);
  assert.equal(next('init', 'stopped', 'pause'), null);
  assert.equal(next('init', 'running', 'delete'), null);
  assert.equal(next('init', 'stopped', 'delete'), 'deleted');
});
