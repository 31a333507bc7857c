import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder, HEADER_LENGTH, MAX_MESSAGE_LENGTH, OversizeError, type Decoded } from '../../../src/ttrpc/frame';

const frames = [
  { streamId: 1, type: 1, flags: 0, payload: Buffer.from('hello') },
  { streamId: 3, type: 2, flags: 7, payload: Buffer.alloc(0) },
  { streamId: 0xfffffffd, type: 1, flags: 0, payload: Buffer.from('x'.repeat(300)) },
];
const wire = Buffer.concat(frames.map(encodeFrame));

test('header is 10 bytes big-endian: length, stream id, type, flags', () => {
  const b = encodeFrame({ streamId: 0x01020304, type: 2, flags: 1, payload: Buffer.from('ab') });
  assert.deepEqual([...b.subarray(0, HEADER_LENGTH)], [0, 0, 0, 2, 1, 2, 3, 4, 2, 1]);
});

test('decoder returns the same frames however the stream is split (every offset)', () => {
  for (let cut = 0; cut <= wire.length; cut++) {
    const d = new FrameDecoder();
    const out = [...d.write(wire.subarray(0, cut)), ...d.write(wire.subarray(cut))];
    assert.deepEqual(out.map((o) => (o as Extract<Decoded, { kind: 'frame' }>).frame), frames, `split at ${cut}`);
    assert.equal(d.buffered, 0);
  }
});

test('decoder handles one byte at a time', () => {
  const d = new FrameDecoder();
  const out: Decoded[] = [];
  for (const byte of wire) out.push(...d.write(Buffer.from([byte])));
  assert.equal(out.length, 3);
});

test('an oversize frame is reported with its stream id and its bytes skipped, and the next frame decodes', () => {
  const d = new FrameDecoder(16);
  const big = Buffer.alloc(HEADER_LENGTH + 40);
  big.writeUInt32BE(40, 0);
  big.writeUInt32BE(5, 4);
  big.writeUInt8(1, 8);
  const next = encodeFrame({ streamId: 7, type: 1, flags: 0, payload: Buffer.from('ok') });
  const all = Buffer.concat([big, next]);
  for (let cut = 0; cut <= all.length; cut++) {
    const dd = new FrameDecoder(16);
    const out = [...dd.write(all.subarray(0, cut)), ...dd.write(all.subarray(cut))];
    assert.deepEqual(out[0], { kind: 'oversize', streamId: 5, type: 1, length: 40 }, `cut ${cut}`);
    assert.equal(out.length, 2);
    assert.equal((out[1] as Extract<Decoded, { kind: 'frame' }>).frame.payload.toString(), 'ok');
  }
  assert.ok(d);
});

test('encoding a payload over 4 MiB is refused', () => {
  assert.throws(() => encodeFrame({ streamId: 1, type: 1, flags: 0, payload: Buffer.alloc(MAX_MESSAGE_LENGTH + 1) }), OversizeError);
});
