import type { Observable } from 'rxjs';
import type { TaskEvent } from '../publisher/envelope';
import { holdUntil } from './hold-until';
import type { Lifecycle } from './lifecycle';

interface Held {
  /** Keys whose start has been published and whose exit has not yet. */
  started: Set<string>;
  /** Exits that came before their process's start, by key. */
  held: Map<string, TaskEvent>;
  /** Keys released before their exit came: the exit passes at once. A start clears it, since an
   * exec id may be reused after a failed start or a delete (release, start, exit, exit, start). */
  released: Set<string>;
}

/**
 * exitAfterStart$: the task events to publish, where a process's TaskExit never precedes its
 * TaskStart / TaskExecStarted, even when the process exits before Start returns. Everything
 * else keeps its order. Completes when lifecycle$ completes; cold.
 *
 * This is the rule containerd's Go shim keeps with a mutex (eventSendMu, which regressed in
 * containerd#7111 and #9719); here it is a fold over one ordered stream.
 *
 * Two rules need no mechanism here, as the service's emission order gives them and this
 * operator passes `event` items in order: TaskExecAdded precedes TaskExecStarted (Exec emits
 * it before Start can find the exec), and TaskDelete flushes what is held (Delete emits
 * `release` for a process never started before its TaskDelete). Their marble tests prove the
 * order is kept.
 */
export const exitAfterStart$ = (lifecycle$: Observable<Lifecycle>): Observable<TaskEvent> =>
  lifecycle$.pipe(
    holdUntil<Lifecycle, Held, TaskEvent>(
      () => ({ started: new Set(), held: new Map(), released: new Set() }),
      (st, item, emit) => {
        switch (item.kind) {
          case 'event':
            emit(item.event);
            break;
          case 'start': {
            emit(item.event);
            st.released.delete(item.key);
            const exit = st.held.get(item.key);
            if (exit) {
              st.held.delete(item.key);
              emit(exit);
            } else {
              st.started.add(item.key);
            }
            break;
          }
          case 'exit':
            if (st.started.delete(item.key) || st.released.delete(item.key)) emit(item.event);
            else st.held.set(item.key, item.event);
            break;
          case 'release': {
            const exit = st.held.get(item.key);
            if (exit) {
              st.held.delete(item.key);
              emit(exit);
            } else if (!st.started.has(item.key)) {
              st.released.add(item.key);
            }
            break;
          }
        }
      },
    ),
  );
