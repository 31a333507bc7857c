import net from 'node:net';
import { fromStatus, ShimError } from '../errors';
import { ConnectionClosedError, isCloseError } from './errors';
import { encodeFrame, FrameDecoder, MessageType } from './frame';
import { decodeResponse, encodeRequest } from './wire';

export interface CallOptions {
  timeoutMs?: number;
  metadata?: Record<string, string>;
}

interface Pending {
  resolve(b: Buffer): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

/** A ttrpc client on one connection (containerd/ttrpc client.go): odd stream ids from 1. */
export class Client {
  private nextStream = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private closedError?: ConnectionClosedError;
  readonly closed: Promise<void>;

  constructor(private readonly socket: net.Socket) {
    let markClosed!: () => void;
    this.closed = new Promise((resolve) => (markClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(isCloseError(err) ? String((err as NodeJS.ErrnoException).code) : String(err)));
    socket.on('close', () => {
      this.fail('connection closed');
      markClosed();
    });
  }

  call(service: string, method: string, payload: Buffer, opts: CallOptions = {}): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    const streamId = this.nextStream;
    this.nextStream += 2;
    const req = encodeRequest({
      service,
      method,
      payload,
      timeoutNano: opts.timeoutMs ? opts.timeoutMs * 1e6 : 0,
      metadata: Object.entries(opts.metadata ?? {}),
    });
    return new Promise<Buffer>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (opts.timeoutMs) {
        p.timer = setTimeout(() => {
          this.pending.delete(streamId);
          reject(new ShimError('DeadlineExceeded', `${service}/${method}: context deadline exceeded`));
        }, opts.timeoutMs + 50);
      }
      this.pending.set(streamId, p);
      try {
        this.socket.write(encodeFrame({ streamId, type: MessageType.Request, flags: 0, payload: req }));
      } catch (err) {
        this.pending.delete(streamId);
        if (p.timer) clearTimeout(p.timer);
        reject(err instanceof Error ? new ShimError('InvalidArgument', err.message) : err);
      }
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const item of this.decoder.write(chunk)) {
      if (item.kind === 'oversize') {
        this.settle(item.streamId, new ShimError('Internal', `response length ${item.length} exceeds the maximum`));
        continue;
      }
      if (item.frame.type !== MessageType.Response) continue;
      let res;
      try {
        res = decodeResponse(item.frame.payload);
      } catch (err) {
        this.settle(item.frame.streamId, new ShimError('Internal', `ttrpc: invalid response: ${(err as Error).message}`));
        continue;
      }
      if (res.status.code !== 0) this.settle(item.frame.streamId, fromStatus(res.status.code, res.status.message));
      else this.settle(item.frame.streamId, res.payload);
    }
  }

  private settle(streamId: number, result: Buffer | Error): void {
    const p = this.pending.get(streamId);
    if (!p) return;
    this.pending.delete(streamId);
    if (p.timer) clearTimeout(p.timer);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }

  private fail(detail: string): void {
    this.closedError ??= new ConnectionClosedError(detail);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.closedError);
    }
  }
}

/** The socket path of an address: unix:///path, /path, or an abstract name as \0name or @name. */
export function socketPathOf(address: string): string {
  if (address.startsWith('unix://')) address = address.slice('unix://'.length);
  if (address.startsWith('@')) return '\0' + address.slice(1);
  return address;
}

/** Connect to a ttrpc server; a refused or missing socket is a ConnectionClosedError (Unavailable). */
export function dial(address: string, timeoutMs = 5000): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPathOf(address));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectionClosedError(`dial ${address}: timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new Client(socket));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new ConnectionClosedError(`dial ${address}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
  });
}
