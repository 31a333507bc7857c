import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type Request } from '../../../src/ttrpc/wire';

test('a request encodes to the bytes of ttrpc request.proto (fields 1-5)', () => {
  const bytes = encodeRequest({ service: 's', method: 'm', payload: Buffer.from('p'), timeoutNano: 1000, metadata: [['k', 'v']] });
  // 0a 01 's' | 12 01 'm' | 1a 01 'p' | 20 e8 07 | 2a 06 (0a 01 'k' 12 01 'v')
  assert.equal(bytes.toString('hex'), '0a0173' + '12016d' + '1a0170' + '20e807' + '2a06' + '0a016b' + '120176');
});

test('a request round-trips, repeated metadata keys kept in order', () => {
  const req: Request = {
    service: 'containerd.task.v2.Task',
    method: 'State',
    payload: Buffer.from([0, 1, 2, 255]),
    timeoutNano: 30e9,
    metadata: [['a', '1'], ['b', '2'], ['a', '3']],
  };
  assert.deepEqual(decodeRequest(encodeRequest(req)), req);
});

test('a response round-trips with an OK status and with an error status', () => {
  const ok = { status: { code: 0, message: '' }, payload: Buffer.from('x') };
  assert.deepEqual(decodeResponse(encodeResponse(ok)), ok);
  const bad = { status: { code: 5, message: 'container x: not found' }, payload: Buffer.alloc(0) };
  assert.deepEqual(decodeResponse(encodeResponse(bad)), bad);
});

test('an OK response still carries an (empty) status field, as Go writes it', () => {
  assert.equal(encodeResponse({ status: { code: 0, message: '' }, payload: Buffer.alloc(0) }).toString('hex'), '0a00');
});

test('status details (google.rpc.Status field 3) and unknown fields are skipped', () => {
  // Response{status{code=9, message="m", details=[Any{type_url="t"}]}, field 7 varint 1, payload="p"}
  const status = Buffer.from('0809' + '12016d' + '1a03' + '0a0174', 'hex');
  const bytes = Buffer.concat([Buffer.from([0x0a, status.length]), status, Buffer.from('3801' + '120170', 'hex')]);
  assert.deepEqual(decodeResponse(bytes), { status: { code: 9, message: 'm' }, payload: Buffer.from('p') });
});

test('garbage throws an Error: truncation, wrong wire type, tag 0, bad wire type, stray end group', () => {
  const cases: Record<string, string> = {
    'length past the end': '0a05616263',
    'truncated varint': '20ff',
    'service as a varint': '0801',
    'timeout as bytes': '220161',
    'field 0': '0001',
    'wire type 7': '0f',
    'end group at top level': '0c',
    'bad metadata inside': '2a020801',
  };
  for (const [name, hex] of Object.entries(cases)) {
    assert.throws(() => decodeRequest(Buffer.from(hex, 'hex')), Error, name);
  }
  assert.throws(() => decodeResponse(Buffer.from('0a020801ff', 'hex')), Error, 'response with a bad tail');
  assert.throws(() => decodeResponse(Buffer.from('0a03120561', 'hex')), Error, 'status message past its end');
});

test('random bytes either decode or throw an Error, never anything else', () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  for (let i = 0; i < 5000; i++) {
    const buf = Buffer.alloc(1 + Math.floor(rand() * 40));
    for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
    for (const decode of [decodeRequest, decodeResponse]) {
      try {
        decode(buf);
      } catch (err) {
        assert.ok(err instanceof Error, `input ${buf.toString('hex')}`);
      }
    }
  }
});
