/**
 * ttrpc framing (containerd/ttrpc channel.go): a 10-byte big-endian header — uint32 payload
 * length, uint32 stream id, uint8 message type, uint8 flags — then the payload.
 * Knows nothing of protobuf or sockets: bytes in, frames out.
 */

export const HEADER_LENGTH = 10;
/** Go ttrpc's messageLengthMax. */
export const MAX_MESSAGE_LENGTH = 4 << 20;
/** ttrpc v1.1, the version containerd 1.6 speaks, has only these two. */
export const MessageType = { Request: 1, Response: 2 } as const;

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Buffer;
}

export type Decoded =
  | { kind: 'frame'; frame: Frame }
  /** A frame whose payload exceeds the limit; its bytes are skipped, not buffered. */
  | { kind: 'oversize'; streamId: number; type: number; length: number };

export class OversizeError extends Error {
  constructor(readonly length: number) {
    super(`message length ${length} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`);
    this.name = 'OversizeError';
  }
}

export function encodeFrame(f: Frame): Buffer {
  if (f.payload.length > MAX_MESSAGE_LENGTH) throw new OversizeError(f.payload.length);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + f.payload.length);
  out.writeUInt32BE(f.payload.length, 0);
  out.writeUInt32BE(f.streamId >>> 0, 4);
  out.writeUInt8(f.type, 8);
  out.writeUInt8(f.flags, 9);
  f.payload.copy(out, HEADER_LENGTH);
  return out;
}

/** Reassembles frames from arbitrary chunks of a byte stream. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Bytes of an oversize payload still to skip. */
  private skip = 0;

  constructor(private readonly maxLength = MAX_MESSAGE_LENGTH) {}

  write(chunk: Buffer): Decoded[] {
    const out: Decoded[] = [];
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
    }
    if (chunk.length === 0) return out;
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLength);
    let off = 0;
    while (buf.length - off >= HEADER_LENGTH) {
      const length = buf.readUInt32BE(off);
      const streamId = buf.readUInt32BE(off + 4);
      const type = buf.readUInt8(off + 8);
      const flags = buf.readUInt8(off + 9);
      if (length > this.maxLength) {
        out.push({ kind: 'oversize', streamId, type, length });
        const available = buf.length - off - HEADER_LENGTH;
        if (available >= length) {
          off += HEADER_LENGTH + length;
          continue;
        }
        this.skip = length - available;
        off = buf.length;
        break;
      }
      if (buf.length - off - HEADER_LENGTH < length) break;
      // Copy out, so a frame does not pin the whole chunk it arrived in.
      const payload = Buffer.from(buf.subarray(off + HEADER_LENGTH, off + HEADER_LENGTH + length));
      out.push({ kind: 'frame', frame: { streamId, type, flags, payload } });
      off += HEADER_LENGTH + length;
    }
    const rest = buf.subarray(off);
    this.pending = rest.length ? [rest] : [];
    this.pendingLength = rest.length;
    return out;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.pendingLength;
  }
}
