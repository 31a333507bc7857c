/**
 * The debug stage of shim$ as serve.ts builds it: the socket beside the ttrpc one
 * (`<ttrpc socket>.debug`, 0600, same-user peers), the hub that the taps and calls feed, and
 * the metrics. One Debug per serving process.
 */
import { statSync, unlinkSync } from 'node:fs';
import type net from 'node:net';
import { EMPTY, ignoreElements, merge, type Observable } from 'rxjs';
import { debugSocketPath } from '../cli/address';
import { listen } from '../cli/start';
import { peerCred, refuseOtherUser } from '../sys/peercred';
import { stateDump, type DumpSources } from '../task/dump';
import type { OnCall } from '../ttrpc/connection';
import { DebugHub, defaultAttribute } from './hub';
import { metricsHttp$ } from './http';
import { eventLoopLag, Metrics, requestId } from './metrics';
import type { StreamName } from './protocol';
import { debugServer$ } from './server';

/** sun_path holds 108 bytes with its NUL (unix(7)). */
const MAX_SUN_PATH = 107;

export interface DebugOptions {
  /** our ttrpc socket's address (-socket, or the bundle's address file), or null when unknown */
  address: string | null;
  namespace: string;
  containerdAddress: string;
  /** our config's metrics_address: /metrics over HTTP there too; '' for none */
  metricsAddress?: string;
  log(level: 'debug' | 'info' | 'warn', msg: string, fields?: object): void;
}

export interface Debug {
  hub: DebugHub;
  metrics: Metrics;
  /** For Taps: every tapped value of a named stream. */
  sink(name: string, value: unknown): void;
  /** For the ttrpc server: every answered call. */
  onCall: OnCall;
  /** shim$'s debug stage (ShimDeps.debug): serves the debug socket (and /metrics) while subscribed; never emits nor completes; cold. */
  stage(sources: DumpSources): Observable<never>;
}

export function createDebug(opts: DebugOptions): Debug {
  const hub = new DebugHub();
  const metrics = new Metrics();
  return {
    hub,
    metrics,
    sink: (name, value) => {
      if (name === 'exits') metrics.observeExit();
      hub.record(name as StreamName, value);
    },
    onCall: ({ service, method, payload, code, ms }) => {
      const call = { service, method, code, ms, id: requestId(payload) };
      metrics.observeCall(call);
      hub.record('calls', call);
    },
    stage: (sources) => {
      // An exit carries only its pid: the container is the one holding a process of that pid.
      hub.attribute = (stream, value) => {
        if (stream !== 'exits') return defaultAttribute(stream, value);
        const pid = (value as { pid?: number }).pid;
        const owner = sources.service.snapshot().containers.find((c) => c.all().some((p) => p.pid === pid));
        return owner?.id ?? '';
      };
      const file = opts.address ? debugSocketPath(opts.address) : '';
      let ino = -1;
      const render = async () => metrics.render(stateDump(sources), await eventLoopLag());
      // http$: GET /metrics while subscribed (or nothing); emits nothing, never completes; cold.
      const http$ = opts.metricsAddress ? metricsHttp$(opts.metricsAddress, render, (msg, fields) => opts.log('warn', msg, fields)).pipe(ignoreElements()) : EMPTY;
      // socket$: the debug socket while subscribed; never emits nor completes; cold.
      const socket$ = debugServer$({
        hub,
        listen: async () => {
          if (!file) throw new Error('no shim socket address to put the debug socket beside');
          if (Buffer.byteLength(file) > MAX_SUN_PATH) throw new Error(`debug socket path ${file} is longer than a unix socket path can be`);
          let server: net.Server;
          try {
            server = await listen(`unix://${file}`);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
            // Ours is the ttrpc socket of this address, so a debug socket there is a dead shim's.
            unlinkSync(file);
            server = await listen(`unix://${file}`);
          }
          ino = statSync(file).ino;
          opts.log('debug', 'debug socket listening', { path: file });
          return server;
        },
        unlink: () => {
          // Only if it is still ours: a new shim for this address may have made its own.
          try {
            if (ino >= 0 && statSync(file).ino === ino) unlinkSync(file);
          } catch {
            // already gone
          }
        },
        hello: () => ({
          pid: process.pid,
          namespace: opts.namespace,
          address: opts.containerdAddress,
          containers: sources.service.snapshot().containers.map((c) => c.id),
        }),
        state: () => stateDump(sources),
        metrics: render,
        refuse: (socket) => refuseOtherUser(peerCred(socket)),
        log: opts.log,
      });
      return merge(socket$, http$);
    },
  };
}
