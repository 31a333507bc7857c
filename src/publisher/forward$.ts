import { catchError, concatMap, defer, map, Observable, of, retry, type SchedulerLike, timer, asyncScheduler } from 'rxjs';
import { ShimError } from '../errors';
import type { Envelope } from './envelope';

export interface ForwardResult {
  envelope: Envelope;
  delivered: boolean;
  attempts: number;
  error?: string;
}

export interface ForwardDeps {
  /** One Forward call to containerd; rejects with a ShimError. */
  forward(env: Envelope): Promise<void>;
  /** How many times a failed Forward is tried again before the event counts as lost. */
  retries: number;
  /** Delay before retry number `attempt` (1-based). */
  backoff(attempt: number): number;
  scheduler?: SchedulerLike;
}

/** Errors worth another try: containerd is away (closed, refused, timed out), not a refusal of the event. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ShimError && (err.kind === 'Unavailable' || err.kind === 'DeadlineExceeded');
}

/**
 * forward$: one result per envelope, in the order the envelopes came (concatMap: an event is
 * not sent before the one ahead of it is delivered or given up, so one container's events
 * keep their order). Completes when envelopes$ completes and the last one is settled — that
 * is the publisher's drain. Cold.
 */
export const forward$ = (envelopes$: Observable<Envelope>, deps: ForwardDeps): Observable<ForwardResult> =>
  envelopes$.pipe(
    concatMap((envelope) => {
      let attempts = 0;
      return defer(() => {
        attempts++;
        return deps.forward(envelope);
      }).pipe(
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
    }),
  );
