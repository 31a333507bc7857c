/**
 * The debug socket's server: one more listener of the serving process, beside the ttrpc one,
 * speaking protocol.ts's newline-delimited JSON. Same-user peers only, as the ttrpc socket.
 * It never takes the serving process down: a failed listen or a broken peer is logged and the
 * shim serves on without it.
 */
import type net from 'node:net';
import { Observable, type Subscription } from 'rxjs';
import type { DebugHub } from './hub';
import { encodeLine, LineDecoder, parseRequest, type Hello, type Request, type Response } from './protocol';

export interface DebugServerDeps {
  /** The listening socket (created 0600 beside the ttrpc socket). */
  listen(): Promise<net.Server>;
  /** Remove our socket file, if it is still ours. */
  unlink(): void;
  hub: DebugHub;
  hello(): Hello;
  /** The state dump (task/dump.ts stateDump): the same object SIGUSR1 logs. */
  state(): unknown;
  metrics(): Promise<string>;
  /** Why this peer is refused, or null (sys/peercred.ts refuseOtherUser). */
  refuse(socket: net.Socket): string | null;
  log(level: 'debug' | 'info' | 'warn', msg: string, fields?: object): void;
}

/** Response bytes a tap may leave unread before events are dropped (and counted) for it. */
export const MAX_TAP_BACKLOG = 1 << 20;

/**
 * debugServer$: listens while subscribed, serving each connection; never emits, never
 * completes, never errors; unsubscribing closes the listener and every connection and removes
 * the socket file. Cold.
 */
export const debugServer$ = (deps: DebugServerDeps): Observable<never> =>
  new Observable<never>(() => {
    const conns = new Set<net.Socket>();
    let listener: net.Server | undefined;
    let closed = false;
    deps.listen().then(
      (l) => {
        listener = l;
        if (closed) return void l.close();
        l.on('connection', (socket: net.Socket) => {
          conns.add(socket);
          socket.once('close', () => conns.delete(socket));
          serveConnection(socket, deps);
        });
        l.on('error', (err) => deps.log('warn', 'debug socket: listener error', { err: String(err) }));
      },
      (err) => deps.log('warn', 'debug socket: cannot listen; serving without it', { err: String(err) }),
    );
    return () => {
      closed = true;
      listener?.close();
      for (const c of conns) c.destroy();
      deps.unlink();
    };
  });

function serveConnection(socket: net.Socket, deps: DebugServerDeps): void {
  socket.on('error', (err) => deps.log('debug', 'debug socket: connection error', { err: String(err) }));
  let why: string | null;
  try {
    why = deps.refuse(socket);
  } catch (err) {
    why = `peer check failed: ${String(err)}`;
  }
  if (why) {
    deps.log('warn', 'debug socket: connection refused', { reason: why });
    return void socket.destroy();
  }
  const decoder = new LineDecoder();
  let tap: Subscription | undefined;
  let dropped = 0;
  const send = (r: Response) => {
    if (socket.writable) socket.write(encodeLine(r));
  };
  const handle = async (req: Request) => {
    switch (req.op) {
      case 'hello':
        return send({ op: 'hello', ...deps.hello() });
      case 'state':
        return send({ op: 'state', state: deps.state() });
      case 'metrics':
        return send({ op: 'metrics', text: await deps.metrics() });
      case 'tap':
        // A new tap replaces the one before: switching streams on and off is live.
        tap?.unsubscribe();
        tap = undefined;
        send(req.id ? { op: 'ack', streams: req.streams, id: req.id } : { op: 'ack', streams: req.streams });
        if (req.streams.length === 0) return;
        tap = deps.hub.watch$(req.streams, req.id).subscribe((e) => {
          // A peer that does not read must not grow our memory: drop, count, tell it later.
          if (socket.writableLength > MAX_TAP_BACKLOG) return void dropped++;
          if (dropped > 0) send({ op: 'dropped', count: dropped });
          dropped = 0;
          send({ op: 'event', ...e });
        });
    }
  };
  socket.on('data', (chunk: Buffer) => {
    for (const item of decoder.write(chunk)) {
      if (item.kind === 'oversize') {
        send({ op: 'error', message: `request line of ${item.length} bytes is over the limit` });
        continue;
      }
      if (item.text.trim() === '') continue;
      const req = parseRequest(item.text);
      if ('error' in req) send({ op: 'error', message: req.error });
      else handle(req).catch((err) => send({ op: 'error', message: String(err) }));
    }
  });
  socket.once('close', () => tap?.unsubscribe());
}
