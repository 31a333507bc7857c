/**
 * /metrics over HTTP, for Prometheus, on the listen address our TOML config names
 * (metrics_address; off by default): the same text the debug socket's `metrics` returns.
 * Only GET /metrics; anything else is 404. It never takes the serving process down.
 */
import type http from 'node:http';
import { Observable } from 'rxjs';

/** text/plain; version=0.0.4: the text exposition format's content type. */
export const EXPOSITION_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** "host:port" or "[v6]:port" as listen options. */
export function listenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!m) throw new Error(`metrics address ${JSON.stringify(address)}: expected host:port`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/**
 * metricsHttp$: serves GET /metrics while subscribed; emits the bound port once listening (0
 * asks for any), never completes; a failed listen is logged, not an error. Unsubscribing
 * closes the server and its connections. Cold.
 */
export const metricsHttp$ = (address: string, render: () => Promise<string>, log: (msg: string, fields?: object) => void): Observable<number> =>
  new Observable<number>((sub) => {
    // Required here, not at the top: node:http costs every serving process ~10 ms of CPU to load
    // (Node 26, --lite-mode), and metrics_address is off by default.
    const server = (require('node:http') as typeof http).createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      render().then(
        (text) => res.writeHead(200, { 'content-type': EXPOSITION_TYPE }).end(text),
        (err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
      );
    });
    server.on('error', (err) => log('metrics listener: cannot serve; the shim serves on without it', { address, err: String(err) }));
    try {
      server.listen(listenAddress(address), () => {
        const bound = server.address();
        sub.next(typeof bound === 'object' && bound ? bound.port : 0);
      });
    } catch (err) {
      log('metrics listener: cannot serve; the shim serves on without it', { address, err: String(err) });
    }
    return () => {
      server.close();
      server.closeAllConnections?.();
    };
  });
