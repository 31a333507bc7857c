/**
 * The client end of the debug socket: requests answered in order, tapped events to a callback.
 */
import net from 'node:net';
import { encodeLine, LineDecoder, type Request, type Response } from './protocol';

export interface DebugClient {
  /** Sends one request; resolves with its answer (the next non-event line). */
  request(req: Request): Promise<Response>;
  /** Sends requests in one write, so the server runs them with nothing between (state, then tap). */
  requests(reqs: Request[]): Promise<Response[]>;
  /** Every event (and dropped) line, as it comes. */
  onEvent(fn: (r: Response) => void): void;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  close(): void;
}

/** Connects to the debug socket at `path`; rejects with the socket's error (ENOENT, ECONNREFUSED, EACCES). */
export function connectDebug(path: string): Promise<DebugClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const decoder = new LineDecoder(64 << 20);
    const waiting: Array<{ resolve: (r: Response) => void; reject: (e: Error) => void }> = [];
    let eventFn: (r: Response) => void = () => undefined;
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        for (const w of waiting.splice(0)) w.reject(new Error('the serving process closed the debug connection'));
        done();
      }),
    );
    socket.on('data', (chunk: Buffer) => {
      for (const item of decoder.write(chunk)) {
        if (item.kind !== 'line' || !item.text) continue;
        const r = JSON.parse(item.text) as Response;
        if (r.op === 'event' || r.op === 'dropped') eventFn(r);
        else waiting.shift()?.resolve(r);
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      const requests = (reqs: Request[]) => {
        const answers = reqs.map(() => new Promise<Response>((res, rej) => waiting.push({ resolve: res, reject: rej })));
        socket.write(reqs.map(encodeLine).join(''));
        return Promise.all(answers);
      };
      resolve({
        request: async (req) => (await requests([req]))[0],
        requests,
        onEvent: (fn) => void (eventFn = fn),
        closed,
        close: () => socket.destroy(),
      });
    });
  });
}
