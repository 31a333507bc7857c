import type { Any } from '../proto';
import type { Stdio } from './io/stdio';
import type { RuncOptions } from '../runc/options';
import type { ProcessResources } from './process';

/** containerd.runc.v1.CheckpointOptions (runtime/v2/runc/options/oci.proto). */
export interface CheckpointOptions {
  exit: boolean;
  open_tcp: boolean;
  external_unix_sockets: boolean;
  terminal: boolean;
  file_locks: boolean;
  empty_namespaces: string[];
  cgroups_mode: string;
  image_path: string;
  work_path: string;
}

/** A process runc has made, and what the shim holds for it. */
export interface Spawned {
  pid: number;
  resources: ProcessResources;
}

/**
 * What the task service needs of the container runtime for one container. The real one drives
 * runc (src/runc/runtime.ts); tests pass a fake, so the service is tested without runc. `signal` is
 * the call's (aborted at its deadline or when its client goes): the runc it runs is killed then.
 */
export interface RuncDriver {
  create(id: string, bundle: string, stdio: Stdio, opts: RuncOptions, signal?: AbortSignal): Promise<Spawned>;
  start(id: string, signal?: AbortSignal): Promise<void>;
  exec(id: string, execId: string, bundle: string, stdio: Stdio, spec: unknown, signal?: AbortSignal): Promise<Spawned>;
  /** `exited`: the init is known to be dead, so "not running" from runc is the expected answer. */
  kill(id: string, signo: number, all: boolean, exited: boolean, signal?: AbortSignal): Promise<void>;
  delete(id: string, signal?: AbortSignal): Promise<void>;
  ps(id: string, signal?: AbortSignal): Promise<number[]>;
  /**
   * The init exited: when the container shares a pid namespace (so the kernel does not end the
   * rest), kill what is left, as Go's ShouldKillAllOnExit + KillAll.
   */
  initExited(id: string, bundle: string): Promise<void>;
  /** Checkpoint into `imagePath`; a failure carries criu's own words. */
  checkpoint(id: string, bundle: string, imagePath: string, opts: CheckpointOptions, signal?: AbortSignal): Promise<void>;
  /** Restore a container created from a checkpoint (its Start). */
  restore(id: string, bundle: string, stdio: Stdio, opts: RuncOptions, imagePath: string, signal?: AbortSignal): Promise<Spawned>;
  /** Cgroup metrics as an Any containerd decodes (io.containerd.cgroups.v1/v2.Metrics). */
  stats(id: string, signal?: AbortSignal): Promise<Any>;
  /** Apply new linux resources (OCI LinuxResources, JSON). */
  update(id: string, resources: object, signal?: AbortSignal): Promise<void>;
  pause(id: string, signal?: AbortSignal): Promise<void>;
  resume(id: string, signal?: AbortSignal): Promise<void>;
}

export interface TaskRuntime {
  driver(bundle: string, opts: RuncOptions): RuncDriver;
  mountAll(mounts: Array<{ type: string; source: string; options: string[] }>, target: string): void;
  /** EBUSY retries wait on timers (the event loop runs on); rejects with a ShimError naming the path. */
  unmountAll(target: string): Promise<void>;
  packProcessDetails(execId: string): Any;
  /** Call `onOOM` when the memory cgroup of `pid` hits its limit; throws when it cannot watch. */
  watchOOM(pid: number, onOOM: () => void): { close(): void };
}
