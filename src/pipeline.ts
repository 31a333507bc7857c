/**
 * The composition of the serving process: sources (signals$, exits$, shutdown) in, the task
 * service's lifecycle out to the publisher, and the one stream serve waits on.
 * Each stage is an epic, `(input$, deps) => output$`, with its effects injected so marble
 * tests can drive it.
 */
import {
  concat,
  concatMap,
  defer,
  filter,
  from,
  of,
  ignoreElements,
  map,
  merge,
  type Observable,
  race,
  type SchedulerLike,
  asyncScheduler,
  take,
  timer,
} from 'rxjs';
import type { ShimSignal } from './streams/signals$';

export type StopReason = 'shutdown' | 'SIGTERM' | 'SIGINT';
export type DrainOutcome = 'drained' | 'timeout';

export interface ServeOutcome {
  reason: StopReason;
  drain: DrainOutcome;
}

export interface ServeDeps {
  signals$: Observable<ShimSignal>;
  /** Emits once when the shutdown service has run its callbacks. */
  shutdownDone$: Observable<void>;
  /** Stop accepting and close the listening socket (and remove its file). */
  stopServing(): Observable<unknown> | Promise<unknown> | void;
  /** Emits (or resolves) when every queued event has been delivered or counted as lost. */
  drainPublisher(): Observable<unknown> | Promise<unknown>;
  drainTimeoutMs?: number;
  scheduler?: SchedulerLike;
}

/** An injected effect's result as an observable: a Promise or Observable as is, nothing as done. */
const effect = (r: Observable<unknown> | Promise<unknown> | void): Observable<unknown> =>
  r === undefined ? of(undefined) : from(r);

/** The drain budget containerd's Go shim gives its publisher after serve returns. */
export const DRAIN_TIMEOUT_MS = 5000;

/**
 * stopRequest$: the first reason to stop — the shutdown service finished, or SIGTERM/SIGINT.
 * SIGPIPE and SIGCHLD are not reasons. Emits once and completes; as hot as its sources.
 */
export const stopRequest$ = (deps: Pick<ServeDeps, 'signals$' | 'shutdownDone$'>): Observable<StopReason> =>
  merge(
    deps.shutdownDone$.pipe(map((): StopReason => 'shutdown')),
    deps.signals$.pipe(
      filter((s): s is 'SIGTERM' | 'SIGINT' => s === 'SIGTERM' || s === 'SIGINT'),
      map((s): StopReason => s),
    ),
  ).pipe(take(1));

/**
 * drain$: 'drained' when the publisher has delivered or given up every queued event, or
 * 'timeout' when the budget runs out first. Emits once and completes; cold.
 */
export const drain$ = (deps: Pick<ServeDeps, 'drainPublisher' | 'drainTimeoutMs' | 'scheduler'>): Observable<DrainOutcome> =>
  race(
    defer(() => effect(deps.drainPublisher())).pipe(take(1), map((): DrainOutcome => 'drained')),
    timer(deps.drainTimeoutMs ?? DRAIN_TIMEOUT_MS, deps.scheduler ?? asyncScheduler).pipe(map((): DrainOutcome => 'timeout')),
  ).pipe(take(1));

/**
 * serve$: waits for a stop request, then stops serving and drains the publisher, raced against
 * a 5 s timer. Emits one ServeOutcome and completes — only after the drain or the timer,
 * whichever is first. Cold: subscribing is serving.
 */
export const serve$ = (deps: ServeDeps): Observable<ServeOutcome> =>
  stopRequest$(deps).pipe(
    concatMap((reason) =>
      concat(defer(() => effect(deps.stopServing())).pipe(ignoreElements()), drain$(deps)).pipe(
        map((drain): ServeOutcome => ({ reason, drain })),
      ),
    ),
  );
