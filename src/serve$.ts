/**
 * The one stop path, which shim$ (pipeline.ts) ends with: the stages the shutdown service runs,
 * in their order, and serve$, which routes SIGTERM/SIGINT to it and cuts what is left at its end.
 */
import { filter, ignoreElements, map, merge, type Observable, take, tap } from 'rxjs';
import type { ShimSignal } from './streams/signals$';
import type { Shutdown, ShutdownCallback, Stopped, StopReason } from './streams/shutdown$';

/**
 * The stop path's stages, registered with the shutdown service in this order, each run once the
 * one before it has settled, the whole within the 5 s budget (STOP_BUDGET_MS):
 * 1. stop accepting: no new connection, and the socket file is gone (containerd cannot dial a
 *    stopping shim; Go's task service registers RemoveSocket as a shutdown callback).
 * 2. close the event queue: what the service emits from now on is counted as lost, so the
 *    drain below has an end.
 * 3. drain the publisher: every queued event delivered or given up.
 * 4. close connections: each once its calls in flight are answered. A Wait on a running task
 *    is never answered: the budget ends it, and serve$ then cuts what is left.
 */
export interface StopEffects {
  stopAccepting: ShutdownCallback;
  closeEvents: ShutdownCallback;
  drainPublisher: ShutdownCallback;
  closeConnections: ShutdownCallback;
}

/** The stages' names as the shutdown service logs them, in the order they run. */
export const STOP_STAGES = ['stop accepting', 'close the event queue', 'drain the publisher', 'close connections'] as const;

/** Registers the stop path's stages with the shutdown service, in their order (see StopEffects). */
export function registerStop(shutdown: Pick<Shutdown, 'register'>, effects: StopEffects): void {
  const [accepting, events, drain, connections] = STOP_STAGES;
  shutdown.register(accepting, effects.stopAccepting);
  shutdown.register(events, effects.closeEvents);
  shutdown.register(drain, effects.drainPublisher);
  shutdown.register(connections, effects.closeConnections);
}

/** What was still open when the stop ended, cut off then (counted as lost). */
export interface Cut {
  connections: number;
  calls: number;
}

export interface ServeOutcome extends Stopped {
  cut: Cut;
}

export interface ServeDeps {
  signals$: Observable<ShimSignal>;
  shutdown: Pick<Shutdown, 'shutdown' | 'done$'>;
  /** Close every connection now (server.close()); says what it cut off. */
  closeAll(): Cut;
}

/**
 * exitSignal$: SIGTERM and SIGINT, the signals that mean stop (SIGPIPE and SIGCHLD do not).
 * Completes when signals$ does; as hot as signals$.
 */
export const exitSignal$ = (signals$: Observable<ShimSignal>): Observable<StopReason> =>
  signals$.pipe(filter((s): s is 'SIGTERM' | 'SIGINT' => s === 'SIGTERM' || s === 'SIGINT'));

/**
 * serve$: the one stop path. A SIGTERM/SIGINT asks the shutdown service to stop, as the Task
 * API's Shutdown does (Go: handleExitSignals calls sd.Shutdown, pkg/shim/shim_unix.go), so both
 * run the same stages in the same order under the same budget; once the service is done (or
 * its budget ran out) every connection left is closed. Emits one ServeOutcome and completes;
 * cold: subscribing listens for the signals.
 */
export const serve$ = (deps: ServeDeps): Observable<ServeOutcome> =>
  merge(
    exitSignal$(deps.signals$).pipe(
      tap((reason) => deps.shutdown.shutdown(reason)),
      ignoreElements(),
    ),
    deps.shutdown.done$,
  ).pipe(
    take(1),
    map((stopped): ServeOutcome => ({ ...stopped, cut: deps.closeAll() })),
  );
