import type { Observable } from 'rxjs';
import type { Exit } from '../streams/exits$';
import { holdUntil } from './hold-until';
import type { Exited, ExitWatch, Reaped } from './lifecycle';

interface Claims<P> {
  /** pid -> the process whose exit it is. */
  claims: Map<number, P>;
  /** One per start in flight: the unclaimed exits reaped since it opened, by pid. */
  windows: Map<number, Map<number, Exit>>;
}

/** How many unclaimed exits one start window holds at most (the oldest go first). */
export const WINDOW_KEEP = 1024;

/**
 * exitToProcess: each reaped exit to the process that claimed its pid, as an `exited` item in
 * the exit's place (or the claim's, for an exit reaped before its claim); the watch items are
 * consumed, everything else passes in order. Completes when the source does; cold, with fresh
 * claims per subscription.
 *
 * A process can exit, and be reaped, before runc's --pid-file is read, so while a start is in
 * flight every unclaimed exit is kept for it; once no start that could own it is in flight an
 * unclaimed exit is dropped: no process of ours has that pid, and a later process given the
 * same (recycled) pid must not receive it. Not for a fixed time, which a recycled pid defeats.
 * As the Go shim (containerd-shim-runc-v2 task/service.go: preStart subscribes to exits for one
 * start, handleStarted looks its pid up there, cleanup unsubscribes; processExits hands every
 * other exit only to s.running). A pid recycled within one runc call cannot be told apart (nor
 * can Go's shim tell it).
 */
export const exitToProcess =
  <P, I extends { kind: string }>(keep = WINDOW_KEEP) =>
  (source$: Observable<I | ExitWatch<P> | Reaped>): Observable<I | Exited<P>> =>
    source$.pipe(
      holdUntil<I | ExitWatch<P> | Reaped, Claims<P>, I | Exited<P>>(
        () => ({ claims: new Map(), windows: new Map() }),
        (st, item, emit) => {
          const watch = item as ExitWatch<P> | Reaped;
          switch (watch.kind) {
            case 'reaped': {
              const { exit } = watch;
              const process = st.claims.get(exit.pid);
              if (process !== undefined) {
                st.claims.delete(exit.pid);
                emit({ kind: 'exited', process, exit });
                return;
              }
              for (const seen of st.windows.values()) {
                // A pid reaped twice in one window was recycled: the newest exit is the likelier ours.
                seen.delete(exit.pid);
                seen.set(exit.pid, exit);
                if (seen.size > keep) seen.delete(seen.keys().next().value as number);
              }
              return;
            }
            case 'opening':
              st.windows.set(watch.window, new Map());
              return;
            case 'claim': {
              const early = st.windows.get(watch.window)?.get(watch.pid);
              if (!early) return void st.claims.set(watch.pid, watch.process);
              // This exit is this process's now: no other start may take it.
              for (const other of st.windows.values()) if (other.get(watch.pid) === early) other.delete(watch.pid);
              emit({ kind: 'exited', process: watch.process, exit: early });
              return;
            }
            case 'closing':
              st.windows.delete(watch.window);
              return;
            case 'unclaim':
              st.claims.delete(watch.pid);
              return;
            default:
              emit(item as I);
          }
        },
      ),
    );
