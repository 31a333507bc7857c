import { concatMap, from, Observable, scan } from 'rxjs';
import type { TaskEvent } from '../publisher/envelope';

/**
 * What the task service says happened, in the order it happened. `start` and `exit` carry the
 * key of their process (container id + exec id); `release` says no start will come for a key
 * (its Start failed, or it is deleted without one), so an exit held for it may go.
 */
export type Lifecycle =
  | { kind: 'event'; event: TaskEvent }
  | { kind: 'start'; key: string; event: TaskEvent }
  | { kind: 'exit'; key: string; event: TaskEvent }
  | { kind: 'release'; key: string };

export const processKey = (containerId: string, execId: string) => `${containerId}/${execId}`;

interface Held {
  /** Keys whose start has been published and whose exit has not yet. */
  started: Set<string>;
  /** Exits that came before their process's start, by key. */
  held: Map<string, TaskEvent>;
  /** Keys released before their exit came: the exit passes at once. */
  released: Set<string>;
  out: TaskEvent[];
}

/**
 * exitAfterStart$: the task events to publish, where a process's TaskExit never precedes its
 * TaskStart / TaskExecStarted, even when the process exits before Start returns. Everything
 * else keeps its order. Completes when lifecycle$ completes; cold.
 *
 * This is the rule containerd's Go shim keeps with a mutex (eventSendMu, which regressed in
 * containerd#7111 and #9719); here it is a fold over one ordered stream.
 */
export const exitAfterStart$ = (lifecycle$: Observable<Lifecycle>): Observable<TaskEvent> =>
  lifecycle$.pipe(
    scan(
      (st: Held, item: Lifecycle): Held => {
        const out: TaskEvent[] = [];
        switch (item.kind) {
          case 'event':
            out.push(item.event);
            break;
          case 'start': {
            out.push(item.event);
            const exit = st.held.get(item.key);
            if (exit) {
              st.held.delete(item.key);
              out.push(exit);
            } else {
              st.started.add(item.key);
            }
            break;
          }
          case 'exit':
            if (st.started.delete(item.key) || st.released.delete(item.key)) out.push(item.event);
            else st.held.set(item.key, item.event);
            break;
          case 'release': {
            const exit = st.held.get(item.key);
            if (exit) {
              st.held.delete(item.key);
              out.push(exit);
            } else if (!st.started.has(item.key)) {
              st.released.add(item.key);
            }
            break;
          }
        }
        return { ...st, out };
      },
      { started: new Set<string>(), held: new Map<string, TaskEvent>(), released: new Set<string>(), out: [] },
    ),
    concatMap((st) => from(st.out)),
  );
