import { setMaxListeners } from 'node:events';
import type net from 'node:net';
import { Code } from '../errors';
import { encodeFrame, FrameDecoder, MessageType, oversizeMessage } from './frame';
import type { ServiceRegistry } from './services';
import { decodeRequest, encodeResponse, type Request, type Status } from './wire';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, msg: string, fields?: object) => void;

export interface ServerOptions {
  log?: Log;
  /** Refuse a connection before reading from it (the same-user check through SO_PEERCRED). */
  peerCheck?: (socket: net.Socket) => boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * A ttrpc server (containerd/ttrpc server.go): many connections, many calls in flight on
 * each, answered in any order by stream id. A bad frame or request gets an error status on
 * its stream; a broken connection is dropped alone; nothing crashes the process.
 */
export class Server {
  private readonly conns = new Set<Connection>();
  private readonly listeners: net.Server[] = [];
  private closing = false;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly opts: ServerOptions = {},
  ) {}

  serve(listener: net.Server): void {
    this.listeners.push(listener);
    listener.on('connection', (socket: net.Socket) => this.accept(socket));
    listener.on('error', (err) => this.log('error', 'ttrpc: listener error', { err: String(err) }));
  }

  /** Connections open now. */
  connections(): number {
    return this.conns.size;
  }

  /**
   * Stop accepting; let each connection finish its calls in flight and close once idle
   * (Go's Shutdown closes idle connections); resolves when every connection is gone.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    // net.Server.close calls back only once every connection has ended: start it, don't wait yet.
    const listenersClosed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    await Promise.all([...this.conns].map((c) => c.drain()));
    await listenersClosed;
  }

  /** Close the listeners and every connection now; handlers in flight see their signal abort. */
  close(): void {
    this.closing = true;
    for (const l of this.listeners) l.close();
    for (const c of this.conns) c.close();
  }

  private accept(socket: net.Socket): void {
    // Before any listener on the socket: an error here must not become an uncaught one.
    socket.on('error', (err) => this.log('debug', 'ttrpc: connection error', { err: String(err) }));
    if (this.closing) return void socket.destroy();
    let allowed = true;
    try {
      allowed = !this.opts.peerCheck || this.opts.peerCheck(socket);
    } catch (err) {
      this.log('warn', 'ttrpc: peer check failed', { err: String(err) });
      allowed = false;
    }
    if (!allowed) {
      this.log('warn', 'ttrpc: connection refused by peer check');
      return void socket.destroy();
    }
    const conn = new Connection(socket, this.registry, (l, m, f) => this.log(l, m, f));
    this.conns.add(conn);
    socket.once('close', () => this.conns.delete(conn));
  }

  private log(level: LogLevel, msg: string, fields?: object): void {
    try {
      this.opts.log?.(level, msg, fields);
    } catch {
      // A failing logger must not take a connection down with it.
    }
  }
}

/** One client connection: reads frames, runs requests, writes responses by stream id. */
class Connection {
  private readonly decoder = new FrameDecoder();
  private readonly inflight = new Set<number>();
  /** Aborted when the socket closes: the handlers in flight see their caller go. */
  private readonly gone = new AbortController();
  private draining = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly registry: ServiceRegistry,
    private readonly log: Log,
  ) {
    // One listener per call in flight: many calls on one connection is the normal case.
    setMaxListeners(0, this.gone.signal);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.once('close', () => this.gone.abort(new Error('ttrpc: connection closed')));
  }

  /** Close once no call is in flight; resolves when the socket is closed. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inflight.size === 0) this.close();
    return this.closedPromise;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const item of this.decoder.write(chunk)) {
      if (item.kind === 'oversize') {
        // Go answers on the same stream and keeps the connection (channel.go recv).
        this.respond(item.streamId, { code: Code.ResourceExhausted, message: oversizeMessage(item.length) });
        continue;
      }
      const { frame } = item;
      if (frame.type !== MessageType.Request) {
        // "we must ignore this for future compat" (server.go).
        this.log('debug', 'ttrpc: ignoring message of unknown type', { type: frame.type, stream: frame.streamId });
        continue;
      }
      let req: Request;
      try {
        req = decodeRequest(frame.payload);
      } catch (err) {
        this.respond(frame.streamId, { code: Code.InvalidArgument, message: `unmarshal request error: ${(err as Error).message}` });
        continue;
      }
      if (frame.streamId % 2 !== 1) {
        this.respond(frame.streamId, { code: Code.InvalidArgument, message: 'StreamID must be odd for client initiated streams' });
        continue;
      }
      if (this.inflight.has(frame.streamId)) {
        // Go would run both and answer twice; a second answer on one stream helps no client.
        this.respond(frame.streamId, { code: Code.InvalidArgument, message: `StreamID ${frame.streamId} is already in use` });
        continue;
      }
      this.call(frame.streamId, req);
    }
  }

  private call(streamId: number, req: Request): void {
    this.inflight.add(streamId);
    this.registry
      .dispatch(req, this.gone.signal)
      .then(
        ({ status, payload }) => this.respond(streamId, status, payload),
        (err) => this.respond(streamId, { code: Code.Internal, message: String(err) }),
      )
      .finally(() => {
        this.inflight.delete(streamId);
        if (this.draining && this.inflight.size === 0) this.close();
      });
  }

  private respond(streamId: number, status: Status, payload: Buffer = EMPTY): void {
    if (this.socket.destroyed || this.gone.signal.aborted || !this.socket.writable) return;
    let frame: Buffer;
    try {
      frame = encodeFrame({ streamId, type: MessageType.Response, flags: 0, payload: encodeResponse({ status, payload }) });
    } catch (err) {
      // A response over the limit: the caller gets ResourceExhausted instead of a broken stream.
      this.log('warn', 'ttrpc: response too large', { stream: streamId, err: String(err) });
      const tooBig = { code: Code.ResourceExhausted, message: (err as Error).message };
      frame = encodeFrame({ streamId, type: MessageType.Response, flags: 0, payload: encodeResponse({ status: tooBig, payload: EMPTY }) });
    }
    this.socket.write(frame);
  }
}
