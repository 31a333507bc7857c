/**
 * Group/Join: how `start` asks a grouped serving process to take one more container before it
 * hands containerd that process's address. A bare connect (Go's CanConnect) says only that the
 * process listens now: one that gets its Shutdown a moment later ends before containerd's Create
 * arrives, and the Create fails `ttrpc: closed` (or its dial finds no socket). An answered Join
 * is a promise: the process waits for that Create before it ends (task/joins.ts). Our own
 * service, not containerd's; the messages are encoded here by hand so `start` loads no protobuf
 * library (start-up is product cost).
 */
import net from 'node:net';
import { encodeFrame, FrameDecoder, MessageType } from '../ttrpc/frame';
import { socketPath } from './address';

export const GROUP_SERVICE = 'containerd.shim.rx.v1.Group';
export const JOIN_METHOD = 'Join';
/** gRPC codes Join answers with (src/errors.ts Code; not imported: start stays small). */
const OK = 0;
const FAILED_PRECONDITION = 9;
const UNIMPLEMENTED = 12;
/** How long `start` waits for a Join's answer from a live process. */
export const JOIN_ANSWER_MS = 10000;

/**
 * What a Join found: `joined` (the process waits for this container's Create), `leaving` (it
 * is stopping, or closed the connection unanswered: make a new socket), `refused` (nothing
 * listens on the socket file: stale, or its process is between closing and unlinking it).
 */
export type JoinResult = 'joined' | 'leaving' | 'refused';

/** A length-delimited protobuf field (wire type 2); tags and lengths here fit one varint. */
function field(tag: number, value: Buffer): Buffer {
  return Buffer.concat([varint((tag << 3) | 2), varint(value.length), value]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/** JoinRequest {string id = 1}. */
export const encodeJoinRequest = (id: string): Buffer => field(1, Buffer.from(id));

/** The fields of a protobuf message, by tag: varints as numbers, length-delimited as bytes. */
function fields(buf: Buffer): Map<number, number | Buffer> {
  const out = new Map<number, number | Buffer>();
  let at = 0;
  const readVarint = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= buf.length || shift > 49) throw new Error('join: truncated varint');
      const b = buf[at++];
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
  };
  while (at < buf.length) {
    const key = readVarint();
    const [tag, type] = [Math.floor(key / 8), key & 7];
    if (type === 0) out.set(tag, readVarint());
    else if (type === 2) {
      const len = readVarint();
      if (at + len > buf.length) throw new Error('join: truncated field');
      out.set(tag, buf.subarray(at, (at += len)));
    } else throw new Error(`join: unexpected wire type ${type}`);
  }
  return out;
}

export function decodeJoinRequest(buf: Buffer): { id: string } {
  const id = fields(buf).get(1);
  return { id: Buffer.isBuffer(id) ? id.toString() : '' };
}

/** ttrpc Request {service = 1, method = 2, payload = 3} (containerd/ttrpc request.proto). */
const encodeRequest = (payload: Buffer): Buffer =>
  Buffer.concat([field(1, Buffer.from(GROUP_SERVICE)), field(2, Buffer.from(JOIN_METHOD)), field(3, payload)]);

/** Response {Status status = 1 {int32 code = 1}}: the code (0 when absent). */
function responseCode(payload: Buffer): number {
  const status = fields(payload).get(1);
  const code = Buffer.isBuffer(status) ? fields(status).get(1) : undefined;
  return typeof code === 'number' ? code : OK;
}

/** The status message of a Response, for an error that names it. */
function statusMessage(payload: Buffer): string {
  const status = fields(payload).get(1);
  const message = Buffer.isBuffer(status) ? fields(status).get(2) : undefined;
  return Buffer.isBuffer(message) ? message.toString() : '';
}

/**
 * Ask the process serving `address` to take container `id`. An Unimplemented answer is a
 * serving process that predates Join: it is used as before, on a connect alone. Rejects only
 * when a live process does not answer within `answerMs`.
 */
export function join(address: string, id: string, answerMs = JOIN_ANSWER_MS): Promise<JoinResult> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath(address));
    const decoder = new FrameDecoder();
    let settled = false;
    const done = (r: JoinResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const timer = setTimeout(() => done(new Error(`join ${address}: no answer in ${answerMs} ms`)), answerMs);
    sock.once('connect', () => sock.write(encodeFrame({ streamId: 1, type: MessageType.Request, flags: 0, payload: encodeRequest(encodeJoinRequest(id)) })));
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const item of decoder.write(chunk)) {
          if (item.kind !== 'frame' || item.frame.streamId !== 1 || item.frame.type !== MessageType.Response) continue;
          const code = responseCode(item.frame.payload);
          return done(code === OK || code === UNIMPLEMENTED ? 'joined' : code === FAILED_PRECONDITION ? 'leaving' : new Error(`join ${address}: answered code ${code}: ${statusMessage(item.frame.payload)}`));
        }
      } catch (err) {
        done(err as Error);
      }
    });
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'leaving'));
    // Closed unanswered: the listener closed under a connection it had not accepted yet.
    sock.once('close', () => done('leaving'));
  });
}
