import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineDecoder, parseRequest, parseStreams, STREAMS } from '../../../src/debug/protocol';

const input = Buffer.from('{"op":"state"}\n{"op":"tap","streams":["exits"],"id":"c1"}\r\n\n{"op":"metrics"}\n');
const lines = ['{"op":"state"}', '{"op":"tap","streams":["exits"],"id":"c1"}', '', '{"op":"metrics"}'];

test('LineDecoder returns the same lines however the input is split, at every offset', () => {
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      const d = new LineDecoder();
      const out = [input.subarray(0, i), input.subarray(i, j), input.subarray(j)].flatMap((c) => d.write(c));
      assert.deepEqual(out, lines.map((text) => ({ kind: 'line', text })), `split at ${i}, ${j}`);
    }
  }
});

test('LineDecoder reports a line over its limit once, drops it to its newline, and reads the next line whole', () => {
  const d = new LineDecoder(8);
  assert.deepEqual(d.write(Buffer.from('0123456')), []);
  assert.deepEqual(d.write(Buffer.from('789')), [{ kind: 'oversize', length: 10 }]);
  assert.deepEqual(d.write(Buffer.from('abcdefghijkl')), [], 'the rest of the long line is dropped silently');
  assert.deepEqual(d.write(Buffer.from('xyz\n{"op":1}\n')), [{ kind: 'line', text: '{"op":1}' }]);
});

test('parseRequest takes the four ops and names what is wrong with anything else', () => {
  assert.deepEqual(parseRequest('{"op":"state"}'), { op: 'state' });
  assert.deepEqual(parseRequest('{"op":"hello","extra":1}'), { op: 'hello' });
  assert.deepEqual(parseRequest('{"op":"tap"}'), { op: 'tap', streams: [...STREAMS] });
  assert.deepEqual(parseRequest('{"op":"tap","streams":[],"id":"c1"}'), { op: 'tap', streams: [], id: 'c1' });
  assert.match((parseRequest('state') as { error: string }).error, /not JSON/);
  assert.match((parseRequest('[1]') as { error: string }).error, /JSON object/);
  assert.match((parseRequest('{"op":"dump"}') as { error: string }).error, /unknown op "dump"/);
  assert.match((parseRequest('{"op":"tap","streams":["stdout"]}') as { error: string }).error, /streams must be a list of signals, exits/);
  assert.match((parseRequest('{"op":"tap","id":7}') as { error: string }).error, /id must be a string/);
});

test('parseStreams reads a comma list and all, and names an unknown stream', () => {
  assert.deepEqual(parseStreams('exits, calls'), ['exits', 'calls']);
  assert.deepEqual(parseStreams('all'), [...STREAMS]);
  assert.throws(() => parseStreams('exits,stdout'), /unknown stream "stdout"/);
});
