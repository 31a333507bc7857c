import { BehaviorSubject, filter, firstValueFrom, map, Observable, take } from 'rxjs';

/** The distinct error serve ends with when shutdown was asked for (containerd's shutdown.ErrShutdown). */
export class ShutdownError extends Error {
  constructor() {
    super('shutdown');
    this.name = 'ShutdownError';
  }
}

export type ShutdownCallback = () => Promise<void> | void;

/**
 * A shutdown service as plugins see it: register callbacks, ask for shutdown, observe done.
 * done$: emits once (after every registered callback has settled) and completes; hot (replays
 * to late subscribers).
 */
export interface Shutdown {
  register(cb: ShutdownCallback): void;
  shutdown(): void;
  readonly requested: boolean;
  readonly done$: Observable<void>;
  done(): Promise<void>;
}

export function createShutdown(log?: (msg: string, err: unknown) => void): Shutdown {
  const callbacks: ShutdownCallback[] = [];
  const phase$ = new BehaviorSubject<'serving' | 'stopping' | 'done'>('serving');
  const done$ = phase$.pipe(
    filter((p) => p === 'done'),
    take(1),
    map(() => undefined),
  );
  return {
    register(cb) {
      callbacks.push(cb);
    },
    shutdown() {
      if (phase$.value !== 'serving') return;
      phase$.next('stopping');
      // Callbacks run concurrently; one that fails is logged and does not stop the others.
      Promise.allSettled(
        callbacks.map(async (cb) => {
          try {
            await cb();
          } catch (err) {
            log?.('shutdown callback failed', err);
            throw err;
          }
        }),
      ).then(() => phase$.next('done'));
    },
    get requested() {
      return phase$.value !== 'serving';
    },
    done$,
    done: () => firstValueFrom(done$),
  };
}
