/**
 * The composition root of the serving process. Read shim$ (at the end) top to bottom: the
 * sources (signals$, exits$) in, the plugins, the task service's lifecycle through the
 * ordering rules to the publisher, the listen, and serve$, the one stop path (serve$.ts).
 * Each stage is an epic, `(input$, deps) => output$`, with its effects injected so tests can
 * drive it; cli/serve.ts only creates the sources and effects and turns the outcome into an
 * exit code.
 */
import type net from 'node:net';
import {
  concatMap,
  defer,
  EMPTY,
  filter,
  finalize,
  from,
  ignoreElements,
  map,
  merge,
  type MonoTypeOperatorFunction,
  type Observable,
  type ObservableInput,
  take,
  tap,
} from 'rxjs';
import type { Logger } from './log';
import { loadAll$, type Registration } from './plugins';
import type { TaskEvent } from './publisher/envelope';
import type { Publisher, PublisherStats } from './publisher/publisher';
import type { Exit } from './streams/exits$';
import type { ShimSignal } from './streams/signals$';
import { createShutdown, type Shutdown, type ShutdownOptions } from './streams/shutdown$';
import { registerStop, serve$, type ServeOutcome } from './serve$';
import { exitAfterStart$, StartOrder } from './ordering/exit-after-start';
import { exitToProcess } from './ordering/exit-to-process';
import { initExitAfterExecExits } from './ordering/init-exit-after-exec-exits';
import type { Exited, Lifecycle, LifecycleSource, Reaped } from './ordering/lifecycle';
import type { TaskService } from './task/service';
import type { Server } from './ttrpc/server';

export type { StopReason } from './streams/shutdown$';

/** The hot sources the serving process is made of, created by cli/serve.ts (they hold OS handlers). */
export interface ShimSources {
  /** signals$: the OS signals a shim handles; hot, shared. */
  signals$: Observable<ShimSignal>;
  /** exits$: reaped children (the reaper runs while subscribed); hot, shared. */
  exits$: Observable<Exit>;
}

/** What the plugins and the server are to shim$: only what it calls. */
export type ShimPublisher = Pick<Publisher, 'publish' | 'drain' | 'snapshot'>;
export type ShimService = Pick<TaskService, 'dispose' | 'snapshot'> & LifecycleSource<any>;
export type ShimServer = Pick<Server, 'serve' | 'stopAccepting' | 'shutdown' | 'close'>;

/** The effects shim$ is wired from, injected so tests replace each. */
export interface ShimDeps<S extends ShimService = ShimService> {
  log: Logger;
  /** The tap of a named stream into the log (streams/tap.ts). */
  tap<T>(name: string): MonoTypeOperatorFunction<T>;
  /** The event publisher plugin's instance. */
  publisher(): ShimPublisher;
  /** The task service plugin's instance, given what it shares with the rest of the process. */
  taskService(shared: { shutdown: Shutdown }): S;
  /** Our ttrpc server for the loaded service (its registry and peer check); other services may ask the shutdown service too. */
  server(service: S, shutdown: Shutdown): ShimServer;
  /** The listener containerd's `start` bound for us (fd 3): one value. */
  listen(): ObservableInput<net.Server>;
  /** Remove our socket file (once we stop accepting). */
  removeSocket(): void;
  /** The SIGUSR1 state dump (task/dump.ts stateDump). */
  dump(sources: { service: S; publisher: ShimPublisher; starts: StartOrder }): unknown;
  /** The debug socket (debug/server.ts debugServer$): serves while subscribed, closed at the end of the stop. */
  debug?(sources: { service: S; publisher: ShimPublisher; starts: StartOrder }): Observable<never>;
  shutdownOptions?: ShutdownOptions;
}

export interface ShimOutcome extends ServeOutcome {
  events: PublisherStats;
}

const SHUTDOWN_PLUGIN = 'io.containerd.internal.v1';
const EVENT_PLUGIN = 'io.containerd.event.v1';
const TTRPC_PLUGIN = 'io.containerd.ttrpc.v1';

/**
 * events$: the one stream from the reaper to the publisher. Every reaped exit joins what the
 * service says, in the order both happen; each is matched to the process that claimed its pid
 * (exitToProcess) and recorded on it (its Wait answers, its state is stopped); then the ordering
 * rules (an exit after its start, an init's exit after its execs'), as the publisher takes them.
 * `starts`: the start rule's state, given to read (the state dump). Completes when both
 * sources do; as hot as they are.
 */
export const events$ = <P>(exits$: Observable<Exit>, service: LifecycleSource<P>, tap$: ShimDeps['tap'], starts?: StartOrder): Observable<TaskEvent> => {
  // recorded$: the service's lifecycle with each reaped exit in its place, matched and recorded
  // (a second report of an exit dropped); completes when both sources do; as hot as they are.
  const recorded$ = merge(exits$.pipe(map((exit): Reaped => ({ kind: 'reaped', exit }))), service.lifecycle$).pipe(
    exitToProcess<P, Lifecycle>(),
    concatMap((item: Lifecycle | Exited<P>) => {
      const out = item.kind === 'exited' ? service.recordExit(item.process, item.exit) : item;
      return out ? [out] : [];
    }),
    tap$<Lifecycle>('lifecycle'),
  );
  return ordered$(recorded$, starts).pipe(tap$<TaskEvent>('events'));
};

/**
 * ordered$: the ordering rules over the recorded lifecycle (an exit after its start, an init's
 * exit after its execs'), what a recorded lifecycle's marble test replays (debug/marbles.ts).
 * Completes when lifecycle$ does; cold.
 */
export const ordered$ = (lifecycle$: Observable<Lifecycle>, starts?: StartOrder): Observable<TaskEvent> =>
  exitAfterStart$(lifecycle$, starts).pipe(initExitAfterExecExits);

/**
 * shim$: the serving process, top to bottom (Go: pkg/shim/shim.go run). The reaper first, so
 * no child's exit is missed; the plugins in dependency order (shutdown, publisher, task); the
 * service's lifecycle through ordering to the publisher; the SIGUSR1 dump; the listen; then
 * serve$, the one stop path. Emits one ShimOutcome and completes; cold: subscribing is
 * serving, and unsubscribing (or the end) tears everything down — the server's connections,
 * the service, the reaper and the signal handlers.
 */
export const shim$ = <S extends ShimService>(sources: ShimSources, deps: ShimDeps<S>): Observable<ShimOutcome> =>
  defer(() => {
    const shutdown = createShutdown({ log: (msg, err) => deps.log.error({ err: String(err) }, msg), ...deps.shutdownOptions });
    const registrations: Registration[] = [
      { type: SHUTDOWN_PLUGIN, id: 'shutdown', init: () => shutdown },
      { type: EVENT_PLUGIN, id: 'publisher', init: () => deps.publisher() },
      {
        type: TTRPC_PLUGIN,
        id: 'task',
        requires: [EVENT_PLUGIN, SHUTDOWN_PLUGIN],
        init: (loaded) => deps.taskService({ shutdown: loaded.get(SHUTDOWN_PLUGIN) as Shutdown }),
      },
    ];
    return merge(
      // Held for the life of shim$: the reaper (and with it the signal handlers).
      sources.exits$.pipe(ignoreElements()),
      loadAll$(registrations, deps.log).pipe(concatMap((plugins) => serving$(sources, deps, shutdown, plugins))),
    ).pipe(take(1));
  });

/**
 * serving$: from loaded plugins to the end of the stop: events$ into the publisher, the SIGUSR1
 * dump, the listen, serve$. Emits one ShimOutcome and completes when serve$ does; cold (each
 * subscription serves); tears the server and the service down at its end or unsubscription.
 */
function serving$<S extends ShimService>(sources: ShimSources, deps: ShimDeps<S>, shutdown: Shutdown, plugins: Map<string, unknown>): Observable<ShimOutcome> {
  const publisher = plugins.get(EVENT_PLUGIN) as ShimPublisher;
  const service = plugins.get(TTRPC_PLUGIN) as S;
  const starts = new StartOrder();
  const server = deps.server(service, shutdown);
  registerStop(shutdown, {
    stopAccepting: () => {
      server.stopAccepting();
      deps.removeSocket();
    },
    // The publisher takes no more events (each one after is counted as lost) ...
    closeEvents: () => void publisher.drain().catch(() => undefined),
    // ... and delivers or gives up what it holds.
    drainPublisher: () => publisher.drain(),
    closeConnections: () => server.shutdown(),
  });
  // published$: each ordered event handed to the publisher; emits nothing; completes with events$; hot.
  const published$ = events$(sources.exits$, service, deps.tap, starts).pipe(
    tap((ev) => publisher.publish(ev)),
    ignoreElements(),
  );
  // dumps$: SIGUSR1 writes the state dump into our log (as the Go shim's stack dump; never Node's
  // inspector); emits nothing; never completes; hot (signals$).
  const dumps$ = sources.signals$.pipe(
    filter((s) => s === 'SIGUSR1'),
    tap(() => deps.log.info({ dump: deps.dump({ service, publisher, starts }) }, 'state dump')),
    ignoreElements(),
  );
  // listening$: the listen, then serve$ on it; emits one ShimOutcome and completes; cold.
  const listening$ = from(deps.listen()).pipe(
    take(1),
    concatMap((listener) => {
      server.serve(listener);
      return serve$({ signals$: sources.signals$, shutdown, closeAll: () => server.close() });
    }),
    map((outcome): ShimOutcome => ({ ...outcome, events: publisher.snapshot() })),
  );
  // published$ first: subscribed before the listen, so no call can emit before the ordering rules listen.
  return merge(
    published$,
    dumps$,
    // The debug socket, beside ours: up with the service, down with the rest at the stop's end.
    deps.debug?.({ service, publisher, starts }) ?? EMPTY,
    listening$,
  ).pipe(
    finalize(() => {
      server.close();
      service.dispose();
    }),
  );
}
