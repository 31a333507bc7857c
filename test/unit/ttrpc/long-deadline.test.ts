/** timeout_nano past setTimeout's 2^31-1 ms (~24.8 days): waited for, not fired at once. */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../../src/errors';
import { ServiceRegistry } from '../../../src/ttrpc/services';
import { MAX_TIMEOUT_MS, setLongTimeout } from '../../../src/ttrpc/timer';
import type { Request } from '../../../src/ttrpc/wire';

const DAY_NS = 86_400e9;

test('a call with a 30-day timeout_nano answers OK, its signal never aborted', async () => {
  const r = new ServiceRegistry();
  let signal: AbortSignal | undefined;
  r.register('test.S', {
    M: async (p, ctx) => {
      signal = ctx.signal;
      await new Promise((res) => setTimeout(res, 50));
      return p;
    },
  });
  const req: Request = { service: 'test.S', method: 'M', payload: Buffer.from('in'), timeoutNano: 30 * DAY_NS, metadata: [] };
  const res = await r.dispatch(req);
  assert.deepEqual(res.status, { code: Code.OK, message: '' });
  assert.equal(res.payload.toString(), 'in');
  assert.equal(signal?.aborted, false);
});

test('setLongTimeout fires once the whole delay has passed, across setTimeout\'s limit, and not before', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fire = mock.fn();
  setLongTimeout(fire, 2 * MAX_TIMEOUT_MS + 10);
  t.mock.timers.tick(MAX_TIMEOUT_MS);
  t.mock.timers.tick(MAX_TIMEOUT_MS);
  assert.equal(fire.mock.callCount(), 0);
  t.mock.timers.tick(9);
  assert.equal(fire.mock.callCount(), 0);
  t.mock.timers.tick(1);
  assert.equal(fire.mock.callCount(), 1);
});

test('setLongTimeout cancelled in the middle of its chain never fires', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fire = mock.fn();
  const cancel = setLongTimeout(fire, 3 * MAX_TIMEOUT_MS);
  t.mock.timers.tick(MAX_TIMEOUT_MS + 5);
  cancel();
  t.mock.timers.tick(3 * MAX_TIMEOUT_MS);
  assert.equal(fire.mock.callCount(), 0);
});

test('a short delay is one plain timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fire = mock.fn();
  setLongTimeout(fire, 30);
  t.mock.timers.tick(29);
  assert.equal(fire.mock.callCount(), 0);
  t.mock.timers.tick(1);
  assert.equal(fire.mock.callCount(), 1);
});
