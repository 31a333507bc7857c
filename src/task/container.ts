import type { Process } from './process';

/** A container the shim serves: its bundle, its init, its execs, and what it mounted. */
export class Container {
  readonly execs = new Map<string, Process>();
  /** The OOM watch on its memory cgroup, while it runs. */
  oom?: { close(): void };

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly init: Process,
    /** bundle/rootfs when we mounted the rootfs ourselves (to unmount on delete), else null. */
    readonly mountedRootfs: string | null,
  ) {}

  process(execId: string): Process | undefined {
    return execId ? this.execs.get(execId) : this.init;
  }

  all(): Process[] {
    return [this.init, ...this.execs.values()];
  }
}
