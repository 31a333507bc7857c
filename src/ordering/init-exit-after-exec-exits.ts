import type { Observable } from 'rxjs';
import type { TaskEvent } from '../publisher/envelope';
import { TOPIC } from '../task/events';
import { holdUntil } from './hold-until';

interface Running {
  /** container id -> exec id -> pid, of the execs started and not yet exited. */
  execs: Map<string, Map<string, unknown>>;
  /** container id -> its init's TaskExit, held while execs are still running. */
  held: Map<string, TaskEvent>;
}

/**
 * initExitAfterExecExits: when a container's init exits, the TaskExit of every exec still
 * running in it (the kernel, or our kill --all, ends them) is published before the init's own
 * TaskExit; the container's TaskDelete releases a held init exit first, whatever happens.
 * Applies to the already start-ordered events; completes when they complete; cold.
 */
export const initExitAfterExecExits = (events$: Observable<TaskEvent>): Observable<TaskEvent> =>
  events$.pipe(
    holdUntil<TaskEvent, Running, TaskEvent>(
      () => ({ execs: new Map(), held: new Map() }),
      (st, ev, emit) => {
        const cid = ev.containerId;
        const execs = st.execs.get(cid);
        const flushInit = () => {
          const held = st.held.get(cid);
          if (held) {
            st.held.delete(cid);
            emit(held);
          }
        };
        if (ev.topic === TOPIC.execStarted) {
          st.execs.set(cid, (execs ?? new Map()).set(String(ev.event.exec_id), ev.event.pid));
          emit(ev);
        } else if (
          ev.topic === TOPIC.exit &&
          // TaskExit.id of an exec is its exec id, which may equal the container id: then its pid
          // tells it from the init.
          (ev.event.id !== cid || (execs?.has(cid) && execs.get(cid) === ev.event.pid))
        ) {
          execs?.delete(String(ev.event.id));
          emit(ev);
          if (!execs?.size) flushInit();
        } else if (ev.topic === TOPIC.exit) {
          if (execs?.size) st.held.set(cid, ev);
          else emit(ev);
        } else if (ev.topic === TOPIC.delete) {
          flushInit();
          st.execs.delete(cid);
          emit(ev);
        } else {
          emit(ev);
        }
      },
    ),
  );
