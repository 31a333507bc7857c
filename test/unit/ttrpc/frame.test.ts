import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder, HEADER_LENGTH, MAX_MESSAGE_LENGTH, OversizeError, type DecodedItem, type Frame } from '../../../src/ttrpc/frame';

const frames: Frame[] = [
  { streamId: 1, type: 1, flags: 0, payload: Buffer.from('hello') },
  { streamId: 3, type: 2, flags: 7, payload: Buffer.alloc(0) },
  { streamId: 0xfffffffd, type: 1, flags: 0, payload: Buffer.from('x'.repeat(300)) },
  { streamId: 5, type: 9, flags: 0xff, payload: Buffer.from([0, 1, 2]) },
];
const wire = Buffer.concat(frames.map(encodeFrame));

const framesOf = (items: DecodedItem[]) =>
  items.map((i) => {
    assert.equal(i.kind, 'frame');
    return (i as Extract<DecodedItem, { kind: 'frame' }>).frame;
  });

/** A header announcing `length` bytes, without them. */
function header(length: number, streamId: number, type = 1): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt32BE(length, 0);
  h.writeUInt32BE(streamId, 4);
  h.writeUInt8(type, 8);
  return h;
}

test('the header is 10 bytes big-endian: length, stream id, type, flags', () => {
  const b = encodeFrame({ streamId: 0x01020304, type: 2, flags: 1, payload: Buffer.from('ab') });
  assert.deepEqual([...b], [0, 0, 0, 2, 1, 2, 3, 4, 2, 1, 0x61, 0x62]);
});

test('the decoder returns the same frames wherever the stream is split (every offset)', () => {
  for (let cut = 0; cut <= wire.length; cut++) {
    const d = new FrameDecoder();
    const out = [...d.write(wire.subarray(0, cut)), ...d.write(wire.subarray(cut))];
    assert.deepEqual(framesOf(out), frames, `split at ${cut}`);
    assert.equal(d.buffered, 0, `nothing held after split at ${cut}`);
  }
});

test('the decoder returns the same frames when split twice (every pair of offsets)', () => {
  for (let a = 0; a <= wire.length; a += 3) {
    for (let b = a; b <= wire.length; b += 5) {
      const d = new FrameDecoder();
      const out = [...d.write(wire.subarray(0, a)), ...d.write(wire.subarray(a, b)), ...d.write(wire.subarray(b))];
      assert.deepEqual(framesOf(out), frames, `split at ${a} and ${b}`);
    }
  }
});

test('the decoder handles one byte at a time', () => {
  const d = new FrameDecoder();
  const out: DecodedItem[] = [];
  for (const byte of wire) out.push(...d.write(Buffer.from([byte])));
  assert.deepEqual(framesOf(out), frames);
});

test('a decoded payload does not share memory with the chunk it came in', () => {
  const chunk = Buffer.from(encodeFrame(frames[0]));
  const [item] = new FrameDecoder().write(chunk);
  chunk.fill(0);
  assert.equal((item as Extract<DecodedItem, { kind: 'frame' }>).frame.payload.toString(), 'hello');
});

test('an oversize frame is reported with its stream id, its bytes skipped, and the next frame decodes (every offset)', () => {
  const big = Buffer.concat([header(40, 5), Buffer.alloc(40, 0xee)]);
  const next = encodeFrame({ streamId: 7, type: 1, flags: 0, payload: Buffer.from('ok') });
  const all = Buffer.concat([big, next]);
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new FrameDecoder(16);
    const out = [...d.write(all.subarray(0, cut)), ...d.write(all.subarray(cut))];
    assert.deepEqual(out[0], { kind: 'oversize', streamId: 5, type: 1, length: 40 }, `cut ${cut}`);
    assert.equal(out.length, 2, `cut ${cut}`);
    assert.equal((out[1] as Extract<DecodedItem, { kind: 'frame' }>).frame.payload.toString(), 'ok');
    assert.equal(d.buffered, 0);
  }
});

test('an oversize payload is skipped without being buffered', () => {
  const d = new FrameDecoder();
  assert.deepEqual(d.write(header(MAX_MESSAGE_LENGTH + 1, 1)), [{ kind: 'oversize', streamId: 1, type: 1, length: MAX_MESSAGE_LENGTH + 1 }]);
  const chunk = Buffer.alloc(64 * 1024);
  let fed = 0;
  while (fed + chunk.length <= MAX_MESSAGE_LENGTH) {
    assert.deepEqual(d.write(chunk), []);
    fed += chunk.length;
    assert.equal(d.buffered, 0);
  }
  // The last skipped byte and the next frame in one chunk.
  const tail = Buffer.concat([Buffer.alloc(MAX_MESSAGE_LENGTH + 1 - fed), encodeFrame(frames[0])]);
  assert.deepEqual(framesOf(d.write(tail)), [frames[0]]);
});

test('a 4 MiB frame arriving in 64 KiB chunks decodes whole', () => {
  const payload = Buffer.alloc(MAX_MESSAGE_LENGTH);
  for (let i = 0; i < payload.length; i += 4096) payload.writeUInt32BE(i, i);
  const bytes = encodeFrame({ streamId: 9, type: 2, flags: 0, payload });
  const d = new FrameDecoder();
  const out: DecodedItem[] = [];
  for (let off = 0; off < bytes.length; off += 65536) out.push(...d.write(bytes.subarray(off, off + 65536)));
  assert.equal(out.length, 1);
  assert.ok((out[0] as Extract<DecodedItem, { kind: 'frame' }>).frame.payload.equals(payload));
});

test('encoding a payload over 4 MiB throws OversizeError (ResourceExhausted, both lengths named); exactly 4 MiB is fine', () => {
  assert.throws(
    () => encodeFrame({ streamId: 1, type: 1, flags: 0, payload: Buffer.alloc(MAX_MESSAGE_LENGTH + 1) }),
    (e: unknown) => e instanceof OversizeError && e.code === 8 && e.message === `message length ${MAX_MESSAGE_LENGTH + 1} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`,
  );
  assert.equal(encodeFrame({ streamId: 1, type: 1, flags: 0, payload: Buffer.alloc(MAX_MESSAGE_LENGTH) }).length, MAX_MESSAGE_LENGTH + HEADER_LENGTH);
});
