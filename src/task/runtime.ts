import type { Any } from '../proto';
import type { Stdio } from './io/stdio';
import type { ProcessResources } from './process';

/** A process the runtime has made, and what the shim holds for it. */
export interface Spawned {
  pid: number;
  resources: ProcessResources;
}

/**
 * What the task service needs of the container runtime for one container; it knows nothing of
 * the runtime behind it (runc: src/runc/runtime.ts; tests pass a fake). `signal` is the call's
 * (aborted at its deadline or when its client goes): the runtime's own child is killed then.
 */
export interface ContainerDriver {
  create(id: string, bundle: string, stdio: Stdio, signal?: AbortSignal): Promise<Spawned>;
  start(id: string, signal?: AbortSignal): Promise<void>;
  exec(id: string, execId: string, bundle: string, stdio: Stdio, spec: unknown, signal?: AbortSignal): Promise<Spawned>;
  /** `exited`: the init is known to be dead, so "not running" from the runtime is the expected answer. */
  kill(id: string, signo: number, all: boolean, exited: boolean, signal?: AbortSignal): Promise<void>;
  delete(id: string, signal?: AbortSignal): Promise<void>;
  ps(id: string, signal?: AbortSignal): Promise<number[]>;
  /**
   * The init exited: when the container shares a pid namespace (so the kernel does not end the
   * rest), kill what is left, as Go's ShouldKillAllOnExit + KillAll.
   */
  initExited(id: string, bundle: string): Promise<void>;
  /**
   * Reads Checkpoint's options now (a bad Any is InvalidArgument before any state is checked,
   * as Go's Container.Checkpoint decodes them first); the returned run checkpoints into
   * `imagePath`, and its failure carries the checkpointer's own words.
   */
  checkpoint(id: string, bundle: string, imagePath: string, options: Any | undefined): (signal?: AbortSignal) => Promise<void>;
  /** Restore a container created from a checkpoint (its Start). */
  restore(id: string, bundle: string, stdio: Stdio, imagePath: string, signal?: AbortSignal): Promise<Spawned>;
  /** Cgroup metrics as an Any containerd decodes (io.containerd.cgroups.v1/v2.Metrics). */
  stats(id: string, signal?: AbortSignal): Promise<Any>;
  /** Apply new linux resources (OCI LinuxResources, JSON). */
  update(id: string, resources: object, signal?: AbortSignal): Promise<void>;
  pause(id: string, signal?: AbortSignal): Promise<void>;
  resume(id: string, signal?: AbortSignal): Promise<void>;
}

/** The container runtime the task service is built with; the composition root picks it. */
export interface ContainerRuntime {
  /** The driver of one container, configured by its Create's options (read here: bad ones are InvalidArgument). */
  driver(bundle: string, options: Any | undefined): ContainerDriver;
  mountAll(mounts: Array<{ type: string; source: string; options: string[] }>, target: string): void;
  /** EBUSY retries wait on timers (the event loop runs on); rejects with a ShimError naming the path. */
  unmountAll(target: string): Promise<void>;
  /** Pids' `info` for an exec's process (containerd.runc.v1.ProcessDetails for runc). */
  packProcessDetails(execId: string): Any;
  /** Call `onOOM` when the memory cgroup of `pid` hits its limit; throws when it cannot watch. */
  watchOOM(pid: number, onOOM: () => void): { close(): void };
}
