import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, notFound, ShimError } from '../../../src/errors';
import { ServiceRegistry, type CallContext, type Handler } from '../../../src/ttrpc/services';
import type { Request } from '../../../src/ttrpc/wire';

const req = (over: Partial<Request> = {}): Request => ({ service: 'test.S', method: 'M', payload: Buffer.from('in'), timeoutNano: 0, metadata: [], ...over });

function registry(M: Handler): ServiceRegistry {
  const r = new ServiceRegistry();
  r.register('test.S', { M });
  return r;
}

test('an unknown service or method is Unimplemented, named as Go names it', async () => {
  const r = registry(async (p) => p);
  assert.deepEqual((await r.dispatch(req({ service: 'no.S' }))).status, { code: Code.Unimplemented, message: 'service no.S not found' });
  assert.deepEqual((await r.dispatch(req({ method: 'Nope' }))).status, { code: Code.Unimplemented, message: 'method Nope not found' });
});

test('a handler result is the payload with an OK status', async () => {
  const r = registry(async (p) => Buffer.concat([p, Buffer.from('!')]));
  assert.deepEqual(await r.dispatch(req()), { status: { code: 0, message: '' }, payload: Buffer.from('in!') });
});

test('a handler error becomes the status of its kind; an untyped one is Unknown', async () => {
  assert.deepEqual((await registry(async () => Promise.reject(notFound('no such task'))).dispatch(req())).status, { code: Code.NotFound, message: 'no such task' });
  assert.deepEqual((await registry(async () => Promise.reject(new Error('boom'))).dispatch(req())).status, { code: Code.Unknown, message: 'boom' });
});

test('a handler that throws before returning a promise still gets a status', async () => {
  const sync = (() => {
    throw new ShimError('FailedPrecondition', 'not running');
  }) as unknown as Handler;
  assert.deepEqual((await registry(sync).dispatch(req())).status, { code: Code.FailedPrecondition, message: 'not running' });
});

test('a handler that resolves to nothing is Internal, as Go refuses to marshal nil', async () => {
  const r = registry((async () => undefined) as unknown as Handler);
  assert.equal((await r.dispatch(req())).status.code, Code.Internal);
});

test('the handler sees the service, method, every metadata value and the deadline', async () => {
  let seen: CallContext | undefined;
  const r = registry(async (p, ctx) => ((seen = ctx), p));
  const before = Date.now();
  await r.dispatch(req({ timeoutNano: 2e9, metadata: [['k', 'a'], ['j', 'x'], ['k', 'b']] }));
  assert.equal(seen?.service, 'test.S');
  assert.equal(seen?.method, 'M');
  assert.deepEqual([...(seen?.metadata ?? [])], [['k', ['a', 'b']], ['j', ['x']]]);
  assert.ok(seen?.deadline !== undefined && seen.deadline >= before + 2000 && seen.deadline <= Date.now() + 2000);
});

test('without timeout_nano there is no deadline', async () => {
  let seen: CallContext | undefined;
  await registry(async (p, ctx) => ((seen = ctx), p)).dispatch(req());
  assert.equal(seen?.deadline, undefined);
});

test('at the deadline the handler signal aborts and the status is DeadlineExceeded', async () => {
  let signal: AbortSignal | undefined;
  const r = registry((_p, ctx) => ((signal = ctx.signal), new Promise<Buffer>(() => {})));
  const started = Date.now();
  const res = await r.dispatch(req({ timeoutNano: 30e6 }));
  assert.equal(res.status.code, Code.DeadlineExceeded);
  assert.ok(Date.now() - started >= 25, 'not before the deadline');
  assert.equal(signal?.aborted, true);
  assert.ok(signal?.reason instanceof ShimError && signal.reason.kind === 'DeadlineExceeded');
});

test('a negative timeout_nano has already passed', async () => {
  const res = await registry(() => new Promise<Buffer>(() => {})).dispatch(req({ timeoutNano: -1 }));
  assert.equal(res.status.code, Code.DeadlineExceeded);
});

test('when the caller goes away the handler signal aborts', async () => {
  const gone = new AbortController();
  let signal: AbortSignal | undefined;
  const r = registry((_p, ctx) => {
    signal = ctx.signal;
    return new Promise<Buffer>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new ShimError('Canceled', 'gone'))));
  });
  const pending = r.dispatch(req(), gone.signal);
  await new Promise((r) => setImmediate(r));
  assert.equal(signal?.aborted, false);
  gone.abort();
  assert.equal((await pending).status.code, Code.Canceled);
  assert.equal(signal?.aborted, true);
});

test('registering a service twice throws', () => {
  const r = registry(async (p) => p);
  assert.throws(() => r.register('test.S', {}), /duplicate service test.S/);
});
