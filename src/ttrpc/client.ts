import net from 'node:net';
import { within } from '../deadline';
import { fromStatus, ShimError } from '../errors';
import { ConnectionClosedError } from './errors';
import { encodeFrame, FrameDecoder, MessageType, OversizeError, oversizeMessage } from './frame';
import { decodeResponse, encodeRequest } from './wire';

export interface CallOptions {
  /** Sent as timeout_nano; the server aborts the handler at the deadline. */
  timeoutMs?: number;
  metadata?: Record<string, string>;
}

interface Pending {
  resolve(b: Buffer): void;
  reject(e: Error): void;
}

/**
 * Grace past the deadline before the client gives up on its own: the server's
 * DeadlineExceeded normally arrives first and is the answer the caller sees.
 */
const LOCAL_DEADLINE_GRACE_MS = 50;

/** How long dial waits for the socket to connect. */
const DIAL_TIMEOUT_MS = 5000;

/**
 * A ttrpc client on one connection (containerd/ttrpc client.go): stream ids odd and
 * increasing from 1, many calls in flight, answers matched by stream id. Once the connection
 * is gone every pending and later call rejects with the one ConnectionClosedError.
 */
export class Client {
  private nextStreamId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private closedError?: ConnectionClosedError;
  /** Resolves when the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;

  constructor(private readonly socket: net.Socket) {
    let markClosed!: () => void;
    this.closed = new Promise((resolve) => (markClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // EOF, EPIPE, ECONNRESET and the rest fold into one error, as Go's filterCloseErr.
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code ?? err.message));
    socket.on('close', () => {
      this.fail('connection closed');
      markClosed();
    });
    if (socket.destroyed) this.fail('connection closed');
  }

  call(service: string, method: string, payload: Buffer, opts: CallOptions = {}): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    const streamId = this.nextStreamId;
    this.nextStreamId += 2;
    let frame: Buffer;
    try {
      const req = encodeRequest({
        service,
        method,
        payload,
        timeoutNano: opts.timeoutMs ? Math.round(opts.timeoutMs * 1e6) : 0,
        metadata: Object.entries(opts.metadata ?? {}),
      });
      frame = encodeFrame({ streamId, type: MessageType.Request, flags: 0, payload: req });
    } catch (err) {
      if (err instanceof OversizeError) return Promise.reject(new ShimError('ResourceExhausted', err.message));
      return Promise.reject(new ShimError('InvalidArgument', `ttrpc: encoding request: ${(err as Error).message}`, err));
    }
    const answer = new Promise<Buffer>((resolve, reject) => {
      this.pending.set(streamId, { resolve, reject });
      // A write on a dying socket reports through 'error'/'close', which reject this call.
      this.socket.write(frame);
    });
    if (!opts.timeoutMs) return answer;
    // The server answers at the deadline; this bound is for a server that does not.
    void within(answer, opts.timeoutMs + LOCAL_DEADLINE_GRACE_MS).then(
      (d) => d === 'missed' && this.settle(streamId, new ShimError('DeadlineExceeded', `${service}/${method}: context deadline exceeded`)),
      () => undefined,
    );
    return answer;
  }

  /** Close the connection; pending calls reject with ConnectionClosedError. */
  close(): void {
    this.fail('closed by client');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const item of this.decoder.write(chunk)) {
      if (item.kind === 'oversize') {
        this.settle(item.streamId, new ShimError('ResourceExhausted', oversizeMessage(item.length)));
        continue;
      }
      const { frame } = item;
      // Go's client ignores what it does not expect (client.go recv loop).
      if (frame.type !== MessageType.Response) continue;
      let res;
      try {
        res = decodeResponse(frame.payload);
      } catch (err) {
        this.settle(frame.streamId, new ShimError('Internal', `ttrpc: invalid response: ${(err as Error).message}`));
        continue;
      }
      if (res.status.code !== 0) this.settle(frame.streamId, fromStatus(res.status.code, res.status.message));
      else this.settle(frame.streamId, res.payload);
    }
  }

  private settle(streamId: number, result: Buffer | Error): void {
    const p = this.pending.get(streamId);
    if (!p) return;
    this.pending.delete(streamId);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }

  private fail(detail: string): void {
    this.closedError ??= new ConnectionClosedError(detail);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
        p.reject(this.closedError);
    }
  }
}

/**
 * The socket path of a shim or containerd address: `unix:///abs/path`, `/abs/path`, or a Linux
 * abstract name written `\0name`, `@name` or `unix://@name` (containerd's shim addresses).
 */
export function socketPathOf(address: string): string {
  if (address.startsWith('unix://')) address = address.slice('unix://'.length);
  if (address.startsWith('@')) return '\0' + address.slice(1);
  return address;
}

/** Connect to a ttrpc server; a refused, missing or slow socket is a ConnectionClosedError. */
export async function dial(address: string, timeoutMs = DIAL_TIMEOUT_MS): Promise<Client> {
  const socket = net.connect(socketPathOf(address));
  const connected = new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new ConnectionClosedError(`dial ${address}: ${err.code ?? err.message}`));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      resolve();
    });
  });
  if ((await within(connected, timeoutMs)) === 'missed') {
    socket.destroy();
    throw new ConnectionClosedError(`dial ${address}: timed out after ${timeoutMs}ms`);
  }
  return new Client(socket);
}
