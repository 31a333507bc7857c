import type net from 'node:net';
import { Code } from '../errors';
import { encodeFrame, FrameDecoder, MessageType } from './frame';
import type { ServiceRegistry } from './services';
import { decodeRequest, encodeResponse, type Status } from './wire';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: object) => void;

export interface ServerOptions {
  log?: Log;
  /** Refuse a connection before reading from it (same-user check through SO_PEERCRED). */
  peerCheck?: (socket: net.Socket) => boolean;
}

/**
 * A ttrpc server (containerd/ttrpc server.go): many connections, many calls in flight on
 * each, answered in any order by stream id. A bad frame or request gets an error status on
 * its stream; a broken connection is dropped alone; nothing crashes the process.
 */
export class Server {
  private readonly conns = new Set<Connection>();
  private listeners: net.Server[] = [];
  private closing = false;

  constructor(private readonly registry: ServiceRegistry, private readonly opts: ServerOptions = {}) {}

  serve(listener: net.Server): void {
    this.listeners.push(listener);
    listener.on('connection', (socket: net.Socket) => {
      if (this.closing) return void socket.destroy();
      if (this.opts.peerCheck && !this.opts.peerCheck(socket)) {
        this.log('warn', 'ttrpc: connection refused by peer check');
        return void socket.destroy();
      }
      const conn = new Connection(socket, this.registry, (l, m, f) => this.log(l, m, f));
      this.conns.add(conn);
      socket.once('close', () => this.conns.delete(conn));
    });
    listener.on('error', (err) => this.log('error', 'ttrpc: listener error', { err: String(err) }));
  }

  connections(): number {
    return this.conns.size;
  }

  /** Stop accepting; wait for calls in flight to be answered; then close every connection. */
  async shutdown(): Promise<void> {
    this.closing = true;
    // net.Server.close calls back only once every connection has ended: start it, don't wait.
    const listenersClosed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    await Promise.all([...this.conns].map((c) => c.idle()));
    for (const c of this.conns) c.close();
    await listenersClosed;
  }

  close(): void {
    this.closing = true;
    for (const l of this.listeners) l.close();
    for (const c of this.conns) c.close();
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: object): void {
    this.opts.log?.(level, msg, fields);
  }
}

class Connection {
  private readonly decoder = new FrameDecoder();
  private readonly inflight = new Map<number, AbortController>();
  private idleWaiters: Array<() => void> = [];
  private readonly gone = new AbortController();

  constructor(private readonly socket: net.Socket, private readonly registry: ServiceRegistry, private readonly log: Log) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log('debug', 'ttrpc: connection error', { err: String(err) }));
    socket.on('close', () => {
      // A caller that went away: its handlers see their signal abort.
      this.gone.abort(new Error('connection closed'));
      for (const c of this.inflight.values()) c.abort(new Error('connection closed'));
    });
  }

  idle(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const item of this.decoder.write(chunk)) {
      if (item.kind === 'oversize') {
        this.respond(item.streamId, {
          code: Code.ResourceExhausted,
          message: `message length ${item.length} exceed maximum message size of ${4 << 20}`,
        });
        continue;
      }
      const { frame } = item;
      if (frame.type !== MessageType.Request) {
        // As Go's server: message types it does not know are ignored.
        this.log('debug', 'ttrpc: ignoring frame of unknown type', { type: frame.type, stream: frame.streamId });
        continue;
      }
      if (frame.streamId % 2 === 0) {
        this.respond(frame.streamId, { code: Code.InvalidArgument, message: `stream id ${frame.streamId} must be odd (client-initiated)` });
        continue;
      }
      if (this.inflight.has(frame.streamId)) {
        this.respond(frame.streamId, { code: Code.InvalidArgument, message: `stream id ${frame.streamId} is already in use` });
        continue;
      }
      let req;
      try {
        req = decodeRequest(frame.payload);
      } catch (err) {
        this.respond(frame.streamId, { code: Code.InvalidArgument, message: `ttrpc: invalid request: ${(err as Error).message}` });
        continue;
      }
      this.call(frame.streamId, req);
    }
  }

  private call(streamId: number, req: ReturnType<typeof decodeRequest>): void {
    const controller = new AbortController();
    this.inflight.set(streamId, controller);
    this.registry
      .dispatch(req, controller.signal)
      .then(({ status, payload }) => this.respond(streamId, status, payload))
      .catch((err) => this.respond(streamId, { code: Code.Internal, message: String(err) }))
      .finally(() => {
        this.inflight.delete(streamId);
        if (this.inflight.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private respond(streamId: number, status: Status, payload: Buffer = Buffer.alloc(0)): void {
    if (this.socket.destroyed || this.gone.signal.aborted) return;
    let frame: Buffer;
    try {
      frame = encodeFrame({ streamId, type: MessageType.Response, flags: 0, payload: encodeResponse({ status, payload }) });
    } catch (err) {
      frame = encodeFrame({
        streamId,
        type: MessageType.Response,
        flags: 0,
        payload: encodeResponse({ status: { code: Code.ResourceExhausted, message: String((err as Error).message) }, payload: Buffer.alloc(0) }),
      });
    }
    this.socket.write(frame);
  }
}
