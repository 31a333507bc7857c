import type { Observable } from 'rxjs';
import type { TaskEvent } from '../publisher/envelope';
import type { Exit } from '../streams/exits$';

/** A process of the shim: its container and exec id ('' for the init). */
export interface ProcessRef {
  containerId: string;
  execId: string;
}

/**
 * What the task service says happened, in the order it happened, once each exit is matched to
 * its process. `start` and `exit` name their process; `release` says no start will come for it
 * (its Start failed), so an exit held for it may go, now or later; `delete` says nothing more
 * comes for it (an init's carries the TaskDelete, and ends the whole container).
 */
export type Lifecycle =
  | { kind: 'event'; event: TaskEvent }
  | { kind: 'start'; process: ProcessRef; event: TaskEvent }
  | { kind: 'exit'; process: ProcessRef; event: TaskEvent }
  | { kind: 'release'; process: ProcessRef }
  | { kind: 'delete'; process: ProcessRef; event?: TaskEvent };

/**
 * How the service asks for exits, by pid, of the process `P` it starts (exitToProcess). A start
 * opens a window before runc is spawned (exits reaped from then on may be its process's, whose
 * pid runc has not told yet), claims the pid through it, and closes it when the start is over.
 */
export type ExitWatch<P> =
  | { kind: 'opening'; window: number }
  | { kind: 'claim'; window: number; pid: number; process: P }
  | { kind: 'closing'; window: number }
  /** The process is gone by other means (deleted before its exit): its pid is no longer ours. */
  | { kind: 'unclaim'; pid: number };

/** What the service emits: its lifecycle and its exit watches. */
export type Said<P> = Lifecycle | ExitWatch<P>;

/** A reaped child, as it enters the service's stream. */
export interface Reaped {
  kind: 'reaped';
  exit: Exit;
}

/** A reaped exit matched to the process that claimed its pid. */
export interface Exited<P> {
  kind: 'exited';
  process: P;
  exit: Exit;
}

/** What the task service is to the pipeline's events$: what it says, and where a matched exit is recorded. */
export interface LifecycleSource<P> {
  /** lifecycle$: what the service says happened and which exits it awaits, in order; hot; completes when the service is disposed. */
  lifecycle$: Observable<Said<P>>;
  /** Record a matched exit on its process; what to publish of it, if anything. */
  recordExit(process: P, exit: Exit): Lifecycle | undefined;
}
