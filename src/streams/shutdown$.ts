import {
  asyncScheduler,
  catchError,
  concat,
  defer,
  EMPTY,
  firstValueFrom,
  from,
  ignoreElements,
  isObservable,
  type Observable,
  of,
  ReplaySubject,
  type SchedulerLike,
} from 'rxjs';
import { within$, type Deadline } from '../deadline';

/** Why the serving process stops: the Task API's Shutdown, or a signal. */
export type StopReason = 'shutdown' | 'SIGTERM' | 'SIGINT';

/**
 * The budget for the whole stop, callbacks and calls in flight included. The Go shim gives
 * everything after serve returns 5 s (pkg/shim/shim.go run: `time.After(5 * time.Second)`,
 * then "shim shutdown timeout").
 */
export const STOP_BUDGET_MS = 5000;

/** A callback's effect: an Observable or Promise runs until it completes; nothing is done at once. */
export type ShutdownCallback = () => Observable<unknown> | Promise<unknown> | void;

/** How a stop ended: every callback in the budget ('done'), one or more failed, or the bound. */
export interface Stopped {
  reason: StopReason;
  outcome: 'done' | 'failed' | 'timeout';
  /** The callback still running when the budget ran out (outcome 'timeout'). */
  at?: string;
  /** Callbacks that failed, by name; the rest still ran. */
  failed: string[];
}

/**
 * The shutdown service, as containerd's (pkg/shutdown): plugins register callbacks; the first
 * shutdown(reason) — from the Task API's Shutdown or a signal — runs them, and later ones are
 * no-ops. Unlike Go's (an errgroup: all at once), the callbacks run one after another in
 * registration order: ours depend on each other (the event queue closes before the publisher
 * drains, connections close last), where Go's are independent (remove the socket, close the
 * platform) and Go never waits for its server.
 */
export interface Shutdown {
  /** Adds a callback, run after those registered before it; `name` is how logs and outcomes call it. */
  register(name: string, cb: ShutdownCallback): void;
  register(cb: ShutdownCallback): void;
  shutdown(reason?: StopReason): void;
  readonly requested: boolean;
  /** requested$: the reason, once, at the first shutdown(), then completes; hot (replays to late subscribers). */
  readonly requested$: Observable<StopReason>;
  /** done$: one Stopped once every callback settled or the budget ran out, then completes; hot (replays). */
  readonly done$: Observable<Stopped>;
  done(): Promise<Stopped>;
}

export interface ShutdownOptions {
  log?: (msg: string, err: unknown) => void;
  budgetMs?: number;
  scheduler?: SchedulerLike;
}

export function createShutdown(opts: ShutdownOptions = {}): Shutdown {
  const callbacks: Array<{ name: string; cb: ShutdownCallback }> = [];
  const requested$ = new ReplaySubject<StopReason>(1);
  const done$ = new ReplaySubject<Stopped>(1);
  let requested = false;

  /** run$: each callback after the previous one settled; emits nothing, completes after the last; cold; `at` names the one running. */
  const run$ = (state: { at?: string; failed: string[] }): Observable<never> =>
    concat(
      ...callbacks.map(({ name, cb }) =>
        defer(() => {
          state.at = name;
          const r: unknown = cb();
          // A plain value (a kill()'s boolean) is done at once, as nothing is.
          return isObservable(r) || r instanceof Promise ? from(r) : of(undefined);
        }).pipe(
          ignoreElements(),
          // One that fails is logged and does not stop the others (as Go's errgroup runs them all).
          catchError((err) => {
            state.failed.push(name);
            opts.log?.(`shutdown callback failed: ${name}`, err);
            return EMPTY;
          }),
        ),
      ),
    );

  return {
    register(nameOrCb: string | ShutdownCallback, cb?: ShutdownCallback) {
      if (typeof nameOrCb === 'string') callbacks.push({ name: nameOrCb, cb: cb! });
      else callbacks.push({ name: `callback ${callbacks.length + 1}`, cb: nameOrCb });
    },
    shutdown(reason = 'shutdown') {
      if (requested) return;
      requested = true;
      requested$.next(reason);
      requested$.complete();
      const state: { at?: string; failed: string[] } = { failed: [] };
      within$(run$(state), opts.budgetMs ?? STOP_BUDGET_MS, opts.scheduler ?? asyncScheduler).subscribe((d: Deadline) => {
        const outcome = d === 'missed' ? 'timeout' : state.failed.length ? 'failed' : 'done';
        done$.next({ reason, outcome, at: d === 'missed' ? state.at : undefined, failed: state.failed });
        done$.complete();
      });
    },
    get requested() {
      return requested;
    },
    requested$: requested$.asObservable(),
    done$: done$.asObservable(),
    done: () => firstValueFrom(done$),
  };
}

