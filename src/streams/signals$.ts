import { fromEvent, map, merge, Observable, share } from 'rxjs';

export type ShimSignal = 'SIGTERM' | 'SIGINT' | 'SIGPIPE' | 'SIGCHLD';
export const SHIM_SIGNALS: readonly ShimSignal[] = ['SIGTERM', 'SIGINT', 'SIGPIPE', 'SIGCHLD'];

/**
 * signals$: one merged stream of the OS signals a shim handles, as their names.
 * Never completes; hot (one process listener per signal while subscribed, shared).
 * Subscribing installs handlers, so SIGTERM/SIGINT no longer kill the process and SIGPIPE is
 * seen (and ignored) instead of being Node's default no-op — serve decides what each means.
 */
export function createSignals$(
  source: NodeJS.EventEmitter = process,
  names: readonly ShimSignal[] = SHIM_SIGNALS,
): Observable<ShimSignal> {
  return merge(...names.map((name) => fromEvent(source, name).pipe(map(() => name)))).pipe(share());
}
