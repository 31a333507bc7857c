import { asyncScheduler, catchError, concatMap, defaultIfEmpty, defer, map, Observable, type ObservableInput, of, retry, type SchedulerLike, take, timer } from 'rxjs';
import { ShimError } from '../errors';
import type { Envelope } from './envelope';

export interface ForwardResult {
  envelope: Envelope;
  delivered: boolean;
  attempts: number;
  error?: string;
}

export interface ForwardDeps {
  /** One Forward call to containerd; fails with a ShimError. A Promise, or an Observable in marble tests. */
  forward(env: Envelope): ObservableInput<unknown>;
  /** How many times a failed Forward is tried again before the event counts as lost. */
  retries: number;
  /** Delay before retry number `attempt` (1-based). */
  backoff(attempt: number): number;
  scheduler?: SchedulerLike;
}

/**
 * Retries and back-off. containerd's Go shim (pkg/shim/publisher.go, v2.3.7: maxRequeue = 5,
 * queue() sleeps 1 s x count) tries an event 6 times over 15 s, unordered. Ours keep order per
 * container, so a longer wait holds back only that container: 1 + 10 tries, 0.1 s doubling to
 * 5 s, 26.3 s in all, which outlasts a containerd restart (test/e2e/faults.test.ts).
 */
export const DEFAULT_RETRIES = 10;
export const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 5000);

/** Errors worth another try: containerd is away (closed, refused, timed out), not a refusal of the event. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ShimError && (err.kind === 'Unavailable' || err.kind === 'DeadlineExceeded');
}

/**
 * send$: one envelope's Forward, tried again after a back-off while containerd is away, at most
 * `retries` times. Emits one ForwardResult (delivered, or given up with the error), then
 * completes; never errors. Cold: each subscription sends.
 */
export const send$ = (envelope: Envelope, deps: ForwardDeps): Observable<ForwardResult> =>
  defer(() => {
    let attempts = 0;
    return defer(() => {
      attempts++;
      return deps.forward(envelope);
    }).pipe(
      // A Forward answers once: its first value (or a bare completion) is the answer.
      take(1),
      defaultIfEmpty(undefined),
      retry({
        count: deps.retries,
        delay: (err, n) => {
          if (!isRetryable(err)) throw err;
          return timer(deps.backoff(n), deps.scheduler ?? asyncScheduler);
        },
      }),
      map((): ForwardResult => ({ envelope, delivered: true, attempts })),
      catchError((err) => of<ForwardResult>({ envelope, delivered: false, attempts, error: String(err?.message ?? err) })),
    );
  });

/**
 * forward$: one container's queue. One result per envelope, in the order the envelopes came
 * (concatMap: an event is not sent before the one ahead of it is delivered or given up).
 * Completes when envelopes$ completes and the last one is settled. Cold.
 */
export const forward$ = (envelopes$: Observable<Envelope>, deps: ForwardDeps): Observable<ForwardResult> =>
  envelopes$.pipe(concatMap((envelope) => send$(envelope, deps)));
