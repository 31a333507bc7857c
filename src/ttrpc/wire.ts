/**
 * The ttrpc envelope messages (containerd/ttrpc request.proto / types.go), encoded by hand
 * with protobufjs's minimal Reader/Writer: Request {service=1, method=2, payload=3,
 * timeout_nano=4, metadata=5 KeyValue{key=1, value=2}}; Response {status=1 google.rpc.Status
 * {code=1, message=2, details=3}, payload=2}.
 * Decoding bad bytes throws an Error (truncation, a wrong wire type, field 0), as Go's
 * generated Unmarshal returns one; it never reads past the buffer.
 */
import { Reader, Writer } from 'protobufjs/minimal';

export interface Request {
  service: string;
  method: string;
  payload: Buffer;
  /** 0 is no deadline (containerd/ttrpc server.go getRequestContext). */
  timeoutNano: number;
  /** In wire order; a key may repeat. */
  metadata: Array<[string, string]>;
}

export interface Status {
  code: number;
  message: string;
}

export interface Response {
  status: Status;
  payload: Buffer;
}

const VARINT = 0;
const BYTES = 2;

export function encodeRequest(r: Request): Buffer {
  const w = Writer.create();
  if (r.service) w.uint32((1 << 3) | BYTES).string(r.service);
  if (r.method) w.uint32((2 << 3) | BYTES).string(r.method);
  if (r.payload.length) w.uint32((3 << 3) | BYTES).bytes(r.payload);
  if (r.timeoutNano) w.uint32((4 << 3) | VARINT).int64(r.timeoutNano);
  for (const [k, v] of r.metadata) {
    w.uint32((5 << 3) | BYTES).fork();
    if (k) w.uint32((1 << 3) | BYTES).string(k);
    if (v) w.uint32((2 << 3) | BYTES).string(v);
    w.ldelim();
  }
  return Buffer.from(w.finish());
}

export function decodeRequest(data: Uint8Array): Request {
  const req: Request = { service: '', method: '', payload: Buffer.alloc(0), timeoutNano: 0, metadata: [] };
  fields(data, 'Request', (field, wt, r) => {
    switch (field) {
      case 1:
        req.service = expect(wt, BYTES, 'Request.service') && readString(r);
        return true;
      case 2:
        req.method = expect(wt, BYTES, 'Request.method') && readString(r);
        return true;
      case 3:
        req.payload = expect(wt, BYTES, 'Request.payload') && Buffer.from(r.bytes());
        return true;
      case 4:
        req.timeoutNano = expect(wt, VARINT, 'Request.timeout_nano') && longToNumber(r.int64());
        return true;
      case 5:
        req.metadata.push(expect(wt, BYTES, 'Request.metadata') && decodeKeyValue(r.bytes()));
        return true;
    }
    return false;
  });
  return req;
}

function decodeKeyValue(data: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  fields(data, 'KeyValue', (field, wt, r) => {
    if (field === 1) key = expect(wt, BYTES, 'KeyValue.key') && readString(r);
    else if (field === 2) value = expect(wt, BYTES, 'KeyValue.value') && readString(r);
    else return false;
    return true;
  });
  return [key, value];
}

export function encodeResponse(res: Response): Buffer {
  const w = Writer.create();
  // Status is always written, as Go's generated Marshal does for a non-nil *Status.
  w.uint32((1 << 3) | BYTES).fork();
  if (res.status.code) w.uint32((1 << 3) | VARINT).int32(res.status.code);
  if (res.status.message) w.uint32((2 << 3) | BYTES).string(res.status.message);
  w.ldelim();
  if (res.payload.length) w.uint32((2 << 3) | BYTES).bytes(res.payload);
  return Buffer.from(w.finish());
}

export function decodeResponse(data: Uint8Array): Response {
  const res: Response = { status: { code: 0, message: '' }, payload: Buffer.alloc(0) };
  fields(data, 'Response', (field, wt, r) => {
    if (field === 1) res.status = expect(wt, BYTES, 'Response.status') && decodeStatus(r.bytes());
    else if (field === 2) res.payload = expect(wt, BYTES, 'Response.payload') && Buffer.from(r.bytes());
    else return false;
    return true;
  });
  return res;
}

/** google.rpc.Status; details (field 3, repeated Any) are skipped: containerd reads code and message. */
function decodeStatus(data: Uint8Array): Status {
  const s: Status = { code: 0, message: '' };
  fields(data, 'Status', (field, wt, r) => {
    if (field === 1) s.code = expect(wt, VARINT, 'Status.code') && r.int32();
    else if (field === 2) s.message = expect(wt, BYTES, 'Status.message') && readString(r);
    else return false;
    return true;
  });
  return s;
}

/** Walks the fields of one message; `read` returns false for a field it does not know. */
function fields(data: Uint8Array, message: string, read: (field: number, wireType: number, r: Reader) => boolean): void {
  const r = Reader.create(data);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 0) throw new Error(`proto: ${message}: illegal tag 0`);
    if (!read(field, wt, r)) {
      if (wt === 4) throw new Error(`proto: ${message}: unexpected end group`);
      r.skipType(wt);
    }
  }
}

/** `true` when the wire type matches; throws otherwise (gogo's "wrong wireType" error). */
function expect(got: number, want: number, field: string): true {
  if (got !== want) throw new Error(`proto: wrong wireType = ${got} for field ${field}`);
  return true;
}

/** BufferReader.string clamps a length past the end; bytes() throws, as a truncation should. */
function readString(r: Reader): string {
  const b = r.bytes();
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
}

/** int64 arrives as a Long when the long package is present, as a number otherwise. */
function longToNumber(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}
