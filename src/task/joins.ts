import { failedPrecondition, invalidArgument } from '../errors';
import { decodeJoinRequest, JOIN_METHOD } from '../cli/join';
import type { Shutdown } from '../streams/shutdown$';
import type { Handler } from '../ttrpc/services';

/**
 * How long a joined container's Create is waited for. containerd sends it right after `start`
 * answers; this bounds only a start whose containerd never came (it died, or its dial failed).
 */
export const JOIN_TIMEOUT_MS = 30000;

export interface JoinsDeps {
  shutdown: Pick<Shutdown, 'requested' | 'shutdown'>;
  /** No container left and no Create under way (the task service's count). */
  idle(): boolean;
  timeoutMs?: number;
}

/**
 * The containers a `start` promised to this grouped process (Group/Join, cli/join.ts) whose
 * Create has not arrived yet. While one is awaited a Shutdown does not end the process: with
 * grouping, the last container's Shutdown and a new container's `start` cross all the time, and
 * a process that ended then closed the new container's connection under its Create ("failed to
 * create shim task: ttrpc: closed", test/e2e/stress.test.ts). A Shutdown held so ends the
 * process once nothing is awaited and no container is left.
 */
export class Joins {
  private readonly awaited = new Map<string, NodeJS.Timeout>();
  /** A Shutdown came while a Create was awaited: end once the last awaited one settles. */
  private held = false;

  constructor(private readonly deps: JoinsDeps) {}

  get size(): number {
    return this.awaited.size;
  }

  /** Join(id): refused once this process is stopping (the caller then makes a new socket). */
  join(id: string): void {
    if (!id) throw invalidArgument('join: container id is empty');
    if (this.deps.shutdown.requested) throw failedPrecondition(`join ${id}: this shim is shutting down`);
    clearTimeout(this.awaited.get(id));
    const timer = setTimeout(() => this.settle(id), this.deps.timeoutMs ?? JOIN_TIMEOUT_MS);
    // The listener keeps the process up; a pending join alone must not.
    timer.unref();
    this.awaited.set(id, timer);
  }

  /** The Create of `id` came (whatever its outcome: containerd sends a Shutdown after a failed one). */
  arrived(id: string): void {
    if (!this.awaited.has(id)) return;
    clearTimeout(this.awaited.get(id));
    this.awaited.delete(id);
  }

  /** A Shutdown found no container: true when it must wait for the awaited Creates instead. */
  holdShutdown(): boolean {
    if (this.awaited.size === 0) return false;
    this.held = true;
    return true;
  }

  dispose(): void {
    for (const timer of this.awaited.values()) clearTimeout(timer);
    this.awaited.clear();
  }

  private settle(id: string): void {
    this.awaited.delete(id);
    if (this.held && this.awaited.size === 0 && this.deps.idle()) this.deps.shutdown.shutdown();
  }
}

/** The Group service's handlers (binding Join to Joins); the reply is an empty message. */
export const groupHandlers = (joins: Joins): Record<string, Handler> => ({
  [JOIN_METHOD]: async (payload) => {
    joins.join(decodeJoinRequest(payload).id);
    return Buffer.alloc(0);
  },
});
