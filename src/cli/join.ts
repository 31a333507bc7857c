/**
 * Group/Join: how `start` asks a grouped serving process to take one more container before it
 * hands containerd that process's address. A bare connect (Go's CanConnect) says only that the
 * process listens now: one that gets its Shutdown a moment later ends before containerd's Create
 * arrives, and the Create fails `ttrpc: closed` (or its dial finds no socket). An answered Join
 * is a promise: the process waits for that Create before it ends (task/joins.ts). Our own
 * service, not containerd's; its messages go through the hand-written codec (proto/wire.ts), so
 * `start` loads no protobuf library (start-up is product cost).
 */
import net from 'node:net';
import { asInt32, asString, readFields, Writer } from '../proto/wire';
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

/** JoinRequest {string id = 1}. */
export const encodeJoinRequest = (id: string): Buffer => new Writer().bytes(1, id).finish();

const field = (buf: Buffer, no: number) => readFields(buf).find((f) => f.no === no);

export function decodeJoinRequest(buf: Buffer): { id: string } {
  const id = field(buf, 1)?.bytes;
  return { id: id ? asString(id) : '' };
}

/** ttrpc Request {service = 1, method = 2, payload = 3} (containerd/ttrpc request.proto). */
const encodeRequest = (payload: Buffer): Buffer => new Writer().bytes(1, GROUP_SERVICE).bytes(2, JOIN_METHOD).message(3, payload).finish();

/** Response {google.rpc.Status status = 1 {int32 code = 1, string message = 2}}: its code and message. */
function responseStatus(payload: Buffer): { code: number; message: string } {
  const status = field(payload, 1)?.bytes ?? Buffer.alloc(0);
  const code = field(status, 1)?.int;
  const message = field(status, 2)?.bytes;
  return { code: code === undefined ? OK : asInt32(code), message: message ? asString(message) : '' };
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
          const { code, message } = responseStatus(item.frame.payload);
          return done(code === OK || code === UNIMPLEMENTED ? 'joined' : code === FAILED_PRECONDITION ? 'leaving' : new Error(`join ${address}: answered code ${code}: ${message}`));
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
