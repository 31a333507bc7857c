import { fromEvent, map, merge, Observable, share } from 'rxjs';

export type ShimSignal = 'SIGTERM' | 'SIGINT' | 'SIGPIPE' | 'SIGCHLD' | 'SIGUSR1';
export const SHIM_SIGNALS: readonly ShimSignal[] = ['SIGTERM', 'SIGINT', 'SIGPIPE', 'SIGCHLD', 'SIGUSR1'];

/**
 * signals$: one merged stream of the OS signals a shim handles, as their names.
 * Never completes; hot (one process listener per signal while subscribed, shared).
 * Subscribing installs handlers, so SIGTERM/SIGINT no longer kill the process and SIGPIPE is
 * seen (and ignored) instead of being Node's default no-op — serve decides what each means.
 * SIGUSR1 asks for a state dump (as the Go shim dumps its stacks, pkg/shim dumpStacks); with a
 * listener on it Node never opens its inspector (the launcher installs one first of all).
 */
export function createSignals$(
  source: NodeJS.EventEmitter = process,
  names: readonly ShimSignal[] = SHIM_SIGNALS,
): Observable<ShimSignal> {
  return merge(...names.map((name) => fromEvent(source, name).pipe(map(() => name)))).pipe(share());
}
