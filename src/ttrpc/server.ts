import type net from 'node:net';
import { Connection, type ConnectionStats, type Log, type LogLevel, type OnCall } from './connection';
import { DEFAULT_LIMITS, type ConnectionLimits } from './limits';
import type { ServiceRegistry } from './services';

export type { ConnectionStats, Log, LogLevel } from './connection';

export interface ServerOptions {
  log?: Log;
  /** Refuse a connection before reading from it (the same-user check through SO_PEERCRED). */
  peerCheck?: (socket: net.Socket) => boolean;
  /** Per-connection bounds (limits.ts says why each default is what it is). */
  limits?: Partial<ConnectionLimits>;
  /** Told of each dispatched call once it is answered (the debug socket's calls stream and metrics). */
  onCall?: OnCall;
}

/**
 * A ttrpc server (containerd/ttrpc server.go): many connections, many calls in flight on
 * each, answered in any order by stream id. A bad frame or request gets an error status on
 * its stream; a broken connection is dropped alone; nothing crashes the process.
 */
export class Server {
  private readonly conns = new Set<Connection>();
  private readonly listeners: net.Server[] = [];
  private closing = false;
  private listenersClosed?: Promise<unknown>;

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

  /** What each open connection holds now. */
  connectionStats(): ConnectionStats[] {
    return [...this.conns].map((c) => c.stats());
  }

  /**
   * Stop accepting: the listeners close now (a connection that still arrives is dropped);
   * connections open now keep being served. Idempotent.
   */
  stopAccepting(): void {
    if (this.listenersClosed) return;
    this.closing = true;
    // net.Server.close calls back only once every connection has ended: start it, don't wait.
    this.listenersClosed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
  }

  /**
   * Stop accepting; let each connection finish its calls in flight and close once idle
   * (Go's Shutdown closes idle connections); resolves when every connection is gone. With a
   * call that never ends (a Wait on a running task) it never resolves: the caller bounds it.
   */
  async shutdown(): Promise<void> {
    this.stopAccepting();
    await Promise.all([...this.conns].map((c) => c.drain()));
    await this.listenersClosed;
  }

  /**
   * Close the listeners and every connection now; handlers in flight see their signal abort.
   * Returns what was cut off: the connections still open and the calls in flight on them.
   */
  close(): { connections: number; calls: number } {
    this.stopAccepting();
    const cut = { connections: this.conns.size, calls: 0 };
    for (const c of this.conns) {
      cut.calls += c.stats().callsInFlight;
      c.close();
    }
    return cut;
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
    const conn = new Connection(socket, this.registry, { ...DEFAULT_LIMITS, ...this.opts.limits }, (l, m, f) => this.log(l, m, f), this.opts.onCall);
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
