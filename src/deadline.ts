import { asyncScheduler, concatMap, endWith, from, ignoreElements, lastValueFrom, map, type Observable, race, type SchedulerLike, take, timer } from 'rxjs';

/**
 * The one deadline helper: every bound on work in the serving process (the stop budget, a
 * call's deadline, an output drain, a console's connect) is a within$ or a within.
 */

/** Whether work ended inside its budget. */
export type Deadline = 'met' | 'missed';

/**
 * The longest delay one timer takes (setTimeout's and setInterval's 2^31-1 ms, ~24.8 days): a
 * longer one overflows and fires after 1 ms (Node's TimeoutOverflowWarning).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** longTimer$: emits once `ms` has passed, however long (a chain of timers of at most MAX_TIMER_MS), and completes; cold. */
const longTimer$ = (ms: number, scheduler: SchedulerLike): Observable<unknown> =>
  ms <= MAX_TIMER_MS ? timer(ms, scheduler) : timer(MAX_TIMER_MS, scheduler).pipe(concatMap(() => longTimer$(ms - MAX_TIMER_MS, scheduler)));

/**
 * within$: runs source$ to its end against a budget of `ms`. Emits 'met' when source$
 * completes first, or 'missed' when the budget runs out first — and then unsubscribes source$,
 * so the work still running is torn down at the bound. source$'s values are ignored; its error
 * passes through. Emits once and completes; cold (the clock starts at subscription).
 */
export const within$ = (source$: Observable<unknown>, ms: number, scheduler: SchedulerLike = asyncScheduler): Observable<Deadline> =>
  race(
    source$.pipe(ignoreElements(), endWith<Deadline>('met')),
    longTimer$(ms, scheduler).pipe(map((): Deadline => 'missed')),
  ).pipe(take(1));

/**
 * within: within$ over a promise. Resolves 'met' when `work` settles first (its rejection passes
 * through), 'missed' when the budget runs out first; the work itself runs on either way (a
 * promise cannot be torn down: pair it with an AbortSignal to stop it). The timer is cleared
 * when `work` wins.
 */
export const within = (work: PromiseLike<unknown>, ms: number, scheduler: SchedulerLike = asyncScheduler): Promise<Deadline> =>
  lastValueFrom(within$(from(work), ms, scheduler));

/** within, for work whose failure is not this caller's to report: a rejection counts as met. */
export const settledWithin = (work: PromiseLike<unknown> | undefined, ms: number): Promise<Deadline> =>
  work ? within(Promise.resolve(work).catch(() => undefined), ms) : Promise.resolve('met');
