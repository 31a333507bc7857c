/**
 * ttrpc framing (containerd/ttrpc channel.go): a 10-byte big-endian header — uint32 payload
 * length, uint32 stream id, uint8 message type, uint8 flags — then the payload.
 * Knows nothing of protobuf or sockets: bytes in, frames out.
 */

export const HEADER_LENGTH = 10;
/** Go ttrpc's messageLengthMax (channel.go). */
export const MAX_MESSAGE_LENGTH = 4 << 20;
/** ttrpc v1.1, the version containerd 1.6 speaks, has only these two (channel.go). */
export const MessageType = { Request: 1, Response: 2 } as const;

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Buffer;
}

export type DecodedItem =
  | { kind: 'frame'; frame: Frame }
  /** A frame whose payload exceeds the limit; its bytes are skipped, not buffered. */
  | { kind: 'oversize'; streamId: number; type: number; length: number };

/**
 * A message over the 4 MiB limit: gRPC's ResourceExhausted (8), worded as Go's channel.recv.
 * Plain Error with the code on it, so this module stays free of the shim's error kinds.
 */
export class OversizeError extends Error {
  readonly code = 8;
  constructor(readonly length: number, readonly max = MAX_MESSAGE_LENGTH) {
    super(oversizeMessage(length, max));
    this.name = 'OversizeError';
  }
}

/** Go's wording (channel.go), naming both lengths. */
export function oversizeMessage(length: number, max = MAX_MESSAGE_LENGTH): string {
  return `message length ${length} exceed maximum message size of ${max}`;
}

export function encodeFrame(f: Frame): Buffer {
  if (f.payload.length > MAX_MESSAGE_LENGTH) throw new OversizeError(f.payload.length);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + f.payload.length);
  out.writeUInt32BE(f.payload.length, 0);
  out.writeUInt32BE(f.streamId >>> 0, 4);
  out.writeUInt8(f.type & 0xff, 8);
  out.writeUInt8(f.flags & 0xff, 9);
  f.payload.copy(out, HEADER_LENGTH);
  return out;
}

/**
 * Reassembles frames from arbitrary chunks of a byte stream. Chunks are joined only once a
 * whole frame is there, so a 4 MiB message arriving in 64 KiB reads is copied once, not 64 times.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Bytes of an oversize payload still to drop (Go's channel.recv Discard). */
  private skip = 0;

  constructor(private readonly maxLength = MAX_MESSAGE_LENGTH) {}

  write(chunk: Buffer): DecodedItem[] {
    const out: DecodedItem[] = [];
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    while (this.length >= HEADER_LENGTH) {
      const head = this.peek(HEADER_LENGTH);
      const length = head.readUInt32BE(0);
      const streamId = head.readUInt32BE(4);
      const type = head.readUInt8(8);
      const flags = head.readUInt8(9);
      if (length > this.maxLength) {
        out.push({ kind: 'oversize', streamId, type, length });
        const held = Math.min(this.length, HEADER_LENGTH + length);
        this.consume(held);
        this.skip = HEADER_LENGTH + length - held;
        // Anything after the oversize payload is already in hand or in later chunks.
        continue;
      }
      if (this.length < HEADER_LENGTH + length) break;
      const whole = this.peek(HEADER_LENGTH + length);
      // Copy out, so a frame does not pin the whole chunk it arrived in.
      const payload = Buffer.from(whole.subarray(HEADER_LENGTH, HEADER_LENGTH + length));
      this.consume(HEADER_LENGTH + length);
      out.push({ kind: 'frame', frame: { streamId, type, flags, payload } });
    }
    return out;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.length;
  }

  /** The first n held bytes as one buffer, joining chunks only as far as needed. */
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0];
    const joined = Buffer.concat(this.chunks, this.length);
    this.chunks = [joined];
    return joined;
  }

  private consume(n: number): void {
    this.length -= n;
    while (n > 0) {
      const first = this.chunks[0];
      if (first.length <= n) {
        this.chunks.shift();
        n -= first.length;
      } else {
        this.chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}
