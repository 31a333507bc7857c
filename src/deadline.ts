import { asyncScheduler, endWith, ignoreElements, map, type Observable, race, type SchedulerLike, take, timer } from 'rxjs';

/** Whether work ended inside its budget. */
export type Deadline = 'met' | 'missed';

/**
 * within$: runs source$ to its end against a budget of `ms`. Emits 'met' when source$
 * completes first, or 'missed' when the budget runs out first — and then unsubscribes source$,
 * so the work still running is torn down at the bound. source$'s values are ignored; its error
 * passes through. Emits once and completes; cold (the clock starts at subscription).
 */
export const within$ = (source$: Observable<unknown>, ms: number, scheduler: SchedulerLike = asyncScheduler): Observable<Deadline> =>
  race(
    source$.pipe(ignoreElements(), endWith<Deadline>('met')),
    timer(ms, scheduler).pipe(map((): Deadline => 'missed')),
  ).pipe(take(1));
