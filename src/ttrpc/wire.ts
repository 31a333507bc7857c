/**
 * The ttrpc envelope messages (containerd/ttrpc request.proto / types.go), encoded by hand
 * with protobufjs's minimal Reader/Writer: Request {service=1, method=2, payload=3,
 * timeout_nano=4, metadata=5 KeyValue{key=1, value=2}}; Response {status=1 google.rpc.Status
 * {code=1, message=2, details=3}, payload=2}.
 */
import { Reader, Writer } from 'protobufjs/minimal';

export interface Request {
  service: string;
  method: string;
  payload: Buffer;
  timeoutNano: number;
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

export function encodeRequest(r: Request): Buffer {
  const w = Writer.create();
  if (r.service) w.uint32(0x0a).string(r.service);
  if (r.method) w.uint32(0x12).string(r.method);
  if (r.payload.length) w.uint32(0x1a).bytes(r.payload);
  if (r.timeoutNano) w.uint32(0x20).int64(r.timeoutNano);
  for (const [k, v] of r.metadata) {
    w.uint32(0x2a).fork();
    w.uint32(0x0a).string(k).uint32(0x12).string(v);
    w.ldelim();
  }
  return Buffer.from(w.finish());
}

export function decodeRequest(data: Uint8Array): Request {
  const r = Reader.create(data);
  const req: Request = { service: '', method: '', payload: Buffer.alloc(0), timeoutNano: 0, metadata: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        req.service = r.string();
        break;
      case 2:
        req.method = r.string();
        break;
      case 3:
        req.payload = Buffer.from(r.bytes());
        break;
      case 4:
        req.timeoutNano = toNumber(r.int64() as unknown as number | { toNumber(): number });
        break;
      case 5:
        req.metadata.push(decodeKeyValue(r.bytes()));
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return req;
}

function decodeKeyValue(data: Uint8Array): [string, string] {
  const r = Reader.create(data);
  let key = '';
  let value = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) key = r.string();
    else if (tag >>> 3 === 2) value = r.string();
    else r.skipType(tag & 7);
  }
  return [key, value];
}

export function encodeResponse(res: Response): Buffer {
  const w = Writer.create();
  w.uint32(0x0a).fork();
  if (res.status.code) w.uint32(0x08).int32(res.status.code);
  if (res.status.message) w.uint32(0x12).string(res.status.message);
  w.ldelim();
  if (res.payload.length) w.uint32(0x12).bytes(res.payload);
  return Buffer.from(w.finish());
}

export function decodeResponse(data: Uint8Array): Response {
  const r = Reader.create(data);
  const res: Response = { status: { code: 0, message: '' }, payload: Buffer.alloc(0) };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        res.status = decodeStatus(r.bytes());
        break;
      case 2:
        res.payload = Buffer.from(r.bytes());
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return res;
}

function decodeStatus(data: Uint8Array): Status {
  const r = Reader.create(data);
  const s: Status = { code: 0, message: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) s.code = r.int32();
    else if (tag >>> 3 === 2) s.message = r.string();
    else r.skipType(tag & 7);
  }
  return s;
}

/** int64 arrives as a Long when the long package is present, as a number otherwise. */
function toNumber(v: number | { toNumber(): number }): number {
  return typeof v === 'number' ? v : v.toNumber();
}
