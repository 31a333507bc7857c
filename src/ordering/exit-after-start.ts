import type { Observable } from 'rxjs';
import type { TaskEvent } from '../publisher/envelope';
import { holdUntil } from './hold-until';
import type { Lifecycle, ProcessRef } from './lifecycle';

/** Where one process is in the rule; a process the rule knows nothing of has no entry. */
interface Entry {
  /** Its start passed and its exit has not yet. */
  started: boolean;
  /** Its Start failed: its exit passes at once. */
  released: boolean;
  /** Its exit, come before its start. */
  held?: TaskEvent;
  /** A start of it passed (for the state dump). */
  published: boolean;
}

/**
 * The rule's memory, one entry per process it has seen, by container then exec id; a process's
 * entry goes with its `delete`, a container's with its init's, so nothing outlives its process.
 * Readable (the state dump asks it): the one record of which starts were published.
 */
export class StartOrder {
  private readonly containers = new Map<string, Map<string, Entry>>();

  /** Whether a start of this process was published. */
  published(p: ProcessRef): boolean {
    return this.containers.get(p.containerId)?.get(p.execId)?.published ?? false;
  }

  /** How many exits wait for their process's start. */
  get held(): number {
    let n = 0;
    for (const c of this.containers.values()) for (const e of c.values()) if (e.held) n++;
    return n;
  }

  /** Every process it holds an entry for (bounded by the live processes). */
  get size(): number {
    let n = 0;
    for (const c of this.containers.values()) n += c.size;
    return n;
  }

  step(item: Lifecycle, emit: (e: TaskEvent) => void): void {
    if (item.kind === 'event') return emit(item.event);
    const p = item.process;
    switch (item.kind) {
      case 'start': {
        const e = this.entry(p);
        emit(item.event);
        e.published = true;
        e.released = false;
        if (e.held) {
          emit(e.held);
          e.held = undefined;
        } else {
          e.started = true;
        }
        return;
      }
      case 'exit': {
        const e = this.entry(p);
        if (e.started || e.released) {
          e.started = e.released = false;
          return emit(item.event);
        }
        // One exit per process: a second held one could only be a recycled id's; lose neither.
        if (e.held) emit(e.held);
        e.held = item.event;
        return;
      }
      case 'release': {
        const e = this.entry(p);
        if (e.held) {
          emit(e.held);
          e.held = undefined;
        } else if (!e.started) {
          e.released = true;
        }
        return;
      }
      case 'delete': {
        const execs = this.containers.get(p.containerId);
        // The init's delete ends the container: whatever its processes hold goes before TaskDelete.
        const gone = p.execId === '' ? [...(execs?.values() ?? [])] : [execs?.get(p.execId)];
        for (const e of gone) if (e?.held) emit(e.held);
        if (p.execId === '') this.containers.delete(p.containerId);
        else execs?.delete(p.execId);
        if (item.event) emit(item.event);
        return;
      }
    }
  }

  private entry(p: ProcessRef): Entry {
    let execs = this.containers.get(p.containerId);
    if (!execs) this.containers.set(p.containerId, (execs = new Map()));
    let e = execs.get(p.execId);
    if (!e) execs.set(p.execId, (e = { started: false, released: false, published: false }));
    return e;
  }
}

/**
 * exitAfterStart$: the task events to publish, where a process's TaskExit never precedes its
 * TaskStart / TaskExecStarted, even when the process exits before Start returns, and an exec id
 * used again (after a delete, or a failed start) starts afresh. Everything else keeps its order.
 * Completes when lifecycle$ completes; cold, with a fresh StartOrder per subscription unless one
 * is given to read (the serving process gives its own, for the state dump).
 *
 * This is the rule containerd's Go shim keeps with a mutex (eventSendMu, which regressed in
 * containerd#7111 and #9719); here it is a fold over one ordered stream.
 *
 * Two rules need no other mechanism: TaskExecAdded precedes TaskExecStarted (Exec emits it before
 * Start can find the exec, and `event` items pass in order), and TaskDelete flushes what is held
 * (a `delete` lets its process's held exit go, then its TaskDelete). Their marble tests prove it.
 */
export const exitAfterStart$ = (lifecycle$: Observable<Lifecycle>, order?: StartOrder): Observable<TaskEvent> =>
  lifecycle$.pipe(
    holdUntil<Lifecycle, StartOrder, TaskEvent>(
      () => order ?? new StartOrder(),
      (st, item, emit) => st.step(item, emit),
    ),
  );
