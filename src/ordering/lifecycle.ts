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
