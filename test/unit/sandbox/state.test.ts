import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShimError } from '../../../src/errors';
import { check, criState, type PodCall, type PodState } from '../../../src/sandbox/state';

const kindOf = (state: PodState, call: PodCall) => {
  try {
    check('sb1', state, call);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof ShimError);
    assert.match(err.message, /sb1/, 'the message names the sandbox');
    return err.kind;
  }
};

test('a second CreateSandbox is AlreadyExists in every state after new', () => {
  for (const s of ['created', 'running', 'stopped'] as const) assert.equal(kindOf(s, 'create'), 'AlreadyExists', s);
  assert.equal(kindOf('new', 'create'), 'ok');
});

test('StartSandbox only from created: before CreateSandbox, running or stopped it is FailedPrecondition', () => {
  assert.equal(kindOf('created', 'start'), 'ok');
  for (const s of ['new', 'running', 'stopped'] as const) assert.equal(kindOf(s, 'start'), 'FailedPrecondition', s);
});

test('WaitSandbox before CreateSandbox is FailedPrecondition (nothing to wait for), legal after', () => {
  assert.equal(kindOf('new', 'wait'), 'FailedPrecondition');
  for (const s of ['created', 'running', 'stopped'] as const) assert.equal(kindOf(s, 'wait'), 'ok', s);
});

test('SandboxMetrics only while running', () => {
  for (const s of ['new', 'created', 'stopped'] as const) assert.equal(kindOf(s, 'metrics'), 'FailedPrecondition', s);
});

test('Stop, Status, Ping, Platform and Shutdown are legal in every state (controller.go calls them on cleanup paths)', () => {
  for (const s of ['new', 'created', 'running', 'stopped'] as const)
    for (const c of ['stop', 'status', 'ping', 'platform', 'shutdown'] as const) assert.equal(kindOf(s, c), 'ok', `${c} in ${s}`);
});

test('CRI reads SANDBOX_READY only while running', () => {
  assert.deepEqual((['new', 'created', 'running', 'stopped'] as const).map(criState), ['SANDBOX_NOTREADY', 'SANDBOX_NOTREADY', 'SANDBOX_READY', 'SANDBOX_NOTREADY']);
});
