/** One accepted ttrpc connection (containerd/ttrpc server.go serverConn): its reading, dispatch, bounds and answers. */
import { setMaxListeners } from 'node:events';
import type net from 'node:net';
import { Code } from '../errors';
import { encodeFrame, FrameDecoder, MessageType, oversizeMessage, type DecodedItem } from './frame';
import { bytesInFlightMessage, callsInFlightMessage, writeBufferMessage, type ConnectionLimits } from './limits';
import type { ServiceRegistry } from './services';
import { decodeRequest, encodeResponse, type Request, type Status } from './wire';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, msg: string, fields?: object) => void;

/** One answered call: what was asked, its status code and how long it took. */
export type OnCall = (call: { service: string; method: string; payload: Buffer; code: number; ms: number }) => void;

/** What one connection holds now (for tests and state dumps). */
export interface ConnectionStats {
  callsInFlight: number;
  /** Request payload bytes held by the calls in flight. */
  bytesInFlight: number;
  /** Response bytes waiting to be written. */
  writeBuffered: number;
  /** Bytes read or readable but not yet dispatched: the socket's buffer, a partial frame, held frames. */
  readBuffered: number;
  /** Not reading now: its write buffer is over its bound. */
  paused: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * One client connection: reads frames, runs requests, writes responses by stream id. Not read
 * while its write buffer is over its bound (frames already decoded wait here, the rest in the
 * socket); a call beyond the bounds on calls in flight is refused (limits.ts).
 */
export class Connection {
  private readonly decoder = new FrameDecoder();
  /** Request payload bytes by stream id, for the calls in flight. */
  private readonly inflight = new Map<number, number>();
  private inflightBytes = 0;
  /** Decoded but not yet dispatched, while the write buffer is full; `held` is their bytes. */
  private pending: DecodedItem[] = [];
  /** Index of the next pending item: one dispatched per call that ends must not copy the rest. */
  private next = 0;
  private held = 0;
  private paused = false;
  /** A call refused for a bound is logged once per connection at warn, then at debug. */
  private warned = false;
  /** Aborted when the socket closes: the handlers in flight see their caller go. */
  private readonly gone = new AbortController();
  private draining = false;
  private readonly closedPromise: Promise<void>;
  /** Above Node's highWaterMark, so a write over it has asked for the 'drain' that resumes us. */
  private readonly maxWriteBuffer: number;

  constructor(
    private readonly socket: net.Socket,
    private readonly registry: ServiceRegistry,
    private readonly limits: ConnectionLimits,
    private readonly log: Log,
    private readonly onCall?: OnCall,
  ) {
    // One listener per call in flight: many calls on one connection is the normal case.
    setMaxListeners(0, this.gone.signal);
    this.maxWriteBuffer = Math.max(limits.maxWriteBuffer, socket.writableHighWaterMark);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
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

  stats(): ConnectionStats {
    return {
      callsInFlight: this.inflight.size,
      bytesInFlight: this.inflightBytes,
      writeBuffered: this.socket.writableLength,
      readBuffered: this.socket.readableLength + this.decoder.buffered + this.held,
      paused: this.paused,
    };
  }

  private onData(chunk: Buffer): void {
    for (const item of this.decoder.write(chunk)) {
      this.pending.push(item);
      this.held += item.kind === 'frame' ? item.frame.payload.length : 0;
    }
    this.pump();
  }

  /**
   * Dispatches held frames while the write buffer is under its bound, then pauses or resumes
   * reading. Only the write buffer pauses: while it is non-empty the socket is watched for
   * writability, so a peer that goes away is still seen (EPIPE/ECONNRESET); a paused socket
   * with nothing to write would never see its peer close, and its calls would never abort.
   */
  private pump(): void {
    while (this.next < this.pending.length && !this.socket.destroyed && !this.writeFull()) {
      const item = this.pending[this.next++];
      if (item.kind === 'frame') this.held -= item.frame.payload.length;
      this.handle(item);
    }
    if (this.next === this.pending.length) {
      this.pending = [];
      this.next = 0;
    }
    const stop = this.writeFull();
    if (stop && !this.paused) {
      this.socket.pause();
      // A peer slow to read is ordinary (one big answer does it): debug.
      this.log('debug', writeBufferMessage(this.socket.writableLength, this.maxWriteBuffer));
    } else if (!stop && this.paused) {
      this.socket.resume();
    }
    this.paused = stop;
  }

  private writeFull(): boolean {
    return this.socket.writableLength > this.maxWriteBuffer;
  }

  /** Why a new call of `bytes` request bytes is refused (limits.ts), or undefined. */
  private overLimit(bytes: number): string | undefined {
    const { maxCallsInFlight, maxBytesInFlight } = this.limits;
    if (this.inflight.size >= maxCallsInFlight) return callsInFlightMessage(this.inflight.size);
    // One call always fits, however big: a legal 4 MiB request is always served alone.
    if (this.inflight.size > 0 && this.inflightBytes + bytes > maxBytesInFlight) return bytesInFlightMessage(this.inflightBytes, bytes, maxBytesInFlight);
    return undefined;
  }

  private handle(item: DecodedItem): void {
    if (item.kind === 'oversize') {
      // Go answers on the same stream and keeps the connection (channel.go recv).
      this.respond(item.streamId, { code: Code.ResourceExhausted, message: oversizeMessage(item.length) });
      return;
    }
    const { frame } = item;
    if (frame.type !== MessageType.Request) {
      // "we must ignore this for future compat" (server.go).
      this.log('debug', 'ttrpc: ignoring message of unknown type', { type: frame.type, stream: frame.streamId });
      return;
    }
    let req: Request;
    try {
      req = decodeRequest(frame.payload);
    } catch (err) {
      this.respond(frame.streamId, { code: Code.InvalidArgument, message: `unmarshal request error: ${(err as Error).message}` });
      return;
    }
    if (frame.streamId % 2 !== 1) {
      this.respond(frame.streamId, { code: Code.InvalidArgument, message: 'StreamID must be odd for client initiated streams' });
      return;
    }
    if (this.inflight.has(frame.streamId)) {
      // Go would run both and answer twice; a second answer on one stream helps no client.
      this.respond(frame.streamId, { code: Code.InvalidArgument, message: `StreamID ${frame.streamId} is already in use` });
      return;
    }
    const refused = this.overLimit(req.payload.length);
    if (refused) {
      // Unusual for an honest client: warn once per connection, then debug.
      this.log(this.warned ? 'debug' : 'warn', refused, { stream: frame.streamId });
      this.warned = true;
      this.respond(frame.streamId, { code: Code.ResourceExhausted, message: refused });
      // Counted as a call (metrics, the calls tap): a refusal is what an operator needs to see.
      this.told(req, Code.ResourceExhausted, performance.now());
      return;
    }
    this.call(frame.streamId, req);
  }

  private call(streamId: number, req: Request): void {
    this.inflight.set(streamId, req.payload.length);
    this.inflightBytes += req.payload.length;
    const began = performance.now();
    this.registry
      .dispatch(req, this.gone.signal)
      .then(
        ({ status, payload }) => {
          this.respond(streamId, status, payload);
          this.told(req, status.code, began);
        },
        (err) => {
          this.respond(streamId, { code: Code.Internal, message: String(err) });
          this.told(req, Code.Internal, began);
        },
      )
      .finally(() => {
        this.inflightBytes -= this.inflight.get(streamId) ?? 0;
        this.inflight.delete(streamId);
        if (this.draining && this.inflight.size === 0) this.close();
        else this.pump();
      });
  }

  private told(req: Request, code: number, began: number): void {
    if (!this.onCall) return;
    try {
      this.onCall({ service: req.service, method: req.method, payload: req.payload, code, ms: performance.now() - began });
    } catch (err) {
      this.log('debug', 'ttrpc: onCall failed', { err: String(err) });
    }
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
