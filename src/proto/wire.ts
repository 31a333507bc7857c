/**
 * The protobuf wire format by hand, for the per-container command-line paths (`start`, `-info`):
 * their few small messages do not justify loading protobufjs (~100 ms with the schema).
 * Wire types and encodings from the protobuf encoding guide (protobuf.dev/programming-guides/encoding).
 */

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

export interface WireField {
  no: number;
  wire: number;
  /** VARINT fields; I64/I32 as their unsigned value */
  int?: bigint;
  /** LEN fields */
  bytes?: Buffer;
}

export class WireError extends Error {}

function readVarint(buf: Buffer, at: number): [bigint, number] {
  let v = 0n;
  for (let shift = 0n, i = at; i < buf.length && shift < 70n; i++, shift += 7n) {
    v |= BigInt(buf[i] & 0x7f) << shift;
    if ((buf[i] & 0x80) === 0) return [v, i + 1];
  }
  throw new WireError(`truncated or overlong varint at byte ${at}`);
}

/** The top-level fields of one message, in order; throws WireError on anything malformed. */
export function readFields(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let at = 0;
  while (at < buf.length) {
    const [tag, next] = readVarint(buf, at);
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (no < 1 || no > 0x1fffffff) throw new WireError(`invalid field number ${no} at byte ${at}`);
    at = next;
    if (wire === VARINT) {
      const [v, n] = readVarint(buf, at);
      out.push({ no, wire, int: v });
      at = n;
    } else if (wire === LEN) {
      const [len, n] = readVarint(buf, at);
      if (len > BigInt(buf.length - n)) throw new WireError(`field ${no} claims ${len} bytes, ${buf.length - n} left`);
      out.push({ no, wire, bytes: buf.subarray(n, n + Number(len)) });
      at = n + Number(len);
    } else if (wire === I64 || wire === I32) {
      const size = wire === I64 ? 8 : 4;
      if (at + size > buf.length) throw new WireError(`field ${no} truncated`);
      out.push({ no, wire, int: wire === I64 ? buf.readBigUInt64LE(at) : BigInt(buf.readUInt32LE(at)) });
      at += size;
    } else {
      // 3 and 4 are the deprecated groups, which no containerd message uses; 6 and 7 do not exist.
      throw new WireError(`unsupported wire type ${wire} for field ${no} at byte ${at}`);
    }
  }
  return out;
}

/** A VARINT read as a proto int32 (negative values travel as 64-bit two's complement). */
export const asInt32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** Strict UTF-8: a proto3 string that is not valid UTF-8 is a decode error (as in Go's protobuf). */
const utf8 = new TextDecoder('utf-8', { fatal: true });
export function asString(b: Buffer): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new WireError('string field is not valid UTF-8');
  }
}

function varint(v: bigint): number[] {
  const out: number[] = [];
  let u = BigInt.asUintN(64, v);
  do {
    let byte = Number(u & 0x7fn);
    u >>= 7n;
    if (u > 0n) byte |= 0x80;
    out.push(byte);
  } while (u > 0n);
  return out;
}

/** Builds one message; proto3 defaults (0, "", empty) are left out as protobuf encoders do. */
export class Writer {
  private parts: Buffer[] = [];

  int(no: number, value: number | bigint): this {
    if (BigInt(value) !== 0n) this.parts.push(Buffer.from([...varint(BigInt(no << 3)), ...varint(BigInt(value))]));
    return this;
  }

  bool(no: number, value: boolean): this {
    return this.int(no, value ? 1 : 0);
  }

  bytes(no: number, value: Buffer | string, always = false): this {
    const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (b.length > 0 || always) this.parts.push(Buffer.from([...varint(BigInt((no << 3) | LEN)), ...varint(BigInt(b.length))]), b);
    return this;
  }

  /** A message field, written even when empty (presence matters for messages). */
  message(no: number, value: Buffer): this {
    return this.bytes(no, value, true);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
