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

/** One key per process; injective, so no exec id (not even the container's own id) meets the init's. */
export const processKey = (containerId: string, execId: string) => JSON.stringify([containerId, execId]);

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

interface Running {
  /** container id -> exec id -> pid, of the execs started and not yet exited. */
  execs: Map<string, Map<string, unknown>>;
  /** container id -> its init's TaskExit, held while execs are still running. */
  held: Map<string, TaskEvent>;
  out: TaskEvent[];
}

/**
 * initExitAfterExecExits: when a container's init exits, the TaskExit of every exec still
 * running in it (the kernel, or our kill --all, ends them) is published before the init's own
 * TaskExit; the container's TaskDelete releases a held init exit first, whatever happens.
 * Applies to the already start-ordered events; completes when they complete; cold.
 */
export const initExitAfterExecExits = (events$: Observable<TaskEvent>): Observable<TaskEvent> =>
  events$.pipe(
    scan(
      (st: Running, ev: TaskEvent): Running => {
        const out: TaskEvent[] = [];
        const cid = ev.containerId;
        const execs = st.execs.get(cid);
        const flushInit = () => {
          const held = st.held.get(cid);
          if (held) {
            st.held.delete(cid);
            out.push(held);
          }
        };
        if (ev.topic === '/tasks/exec-started') {
          st.execs.set(cid, (execs ?? new Map()).set(String(ev.event.exec_id), ev.event.pid));
          out.push(ev);
        } else if (
          ev.topic === '/tasks/exit' &&
          // TaskExit.id of an exec is its exec id, which may equal the container id: then its pid
          // tells it from the init.
          (ev.event.id !== cid || (execs?.has(cid) && execs.get(cid) === ev.event.pid))
        ) {
          execs?.delete(String(ev.event.id));
          out.push(ev);
          if (!execs?.size) flushInit();
        } else if (ev.topic === '/tasks/exit') {
          if (execs?.size) st.held.set(cid, ev);
          else out.push(ev);
        } else if (ev.topic === '/tasks/delete') {
          flushInit();
          st.execs.delete(cid);
          out.push(ev);
        } else {
          out.push(ev);
        }
        return { ...st, out };
      },
      { execs: new Map<string, Map<string, unknown>>(), held: new Map<string, TaskEvent>(), out: [] },
    ),
    concatMap((st) => from(st.out)),
  );
