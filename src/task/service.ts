import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Observable, Subscription } from 'rxjs';
import { settledWithin } from '../deadline';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from '../errors';
import type { Logger } from '../log';
import { timestamp, type Any } from '../proto';
import type { TaskEvent } from '../publisher/envelope';
import type { Exit } from '../streams/exits$';
import type { Shutdown } from '../streams/shutdown$';
import { Container } from './container';
import { ExitRouter, type StartWindow } from './exit-router';
import { processKey, type Lifecycle } from '../ordering/lifecycle';
import { NOT_EXITED_AT, Process } from './process';
import { parseStdioUri } from './io/stdio';
import { statusNumber } from './state';
import type { ContainerDriver, ContainerRuntime } from './runtime';

/** The proto-shaped requests and responses (snake_case, as containerd's shim.proto). */
type Req = Record<string, any>;

export interface TaskServiceDeps {
  namespace: string;
  exits$: Observable<Exit>;
  /** Where the service says what happened; the pipeline orders and publishes it. */
  emit: (item: Lifecycle) => void;
  runtime: ContainerRuntime;
  shutdown: Shutdown;
  log: Logger;
  version: string;
}

export interface TaskServiceSnapshot {
  containers: readonly Container[];
  /** Ids whose Create is under way. */
  creating: readonly string[];
  /** Pids whose exit is awaited. */
  exitClaims: number;
}

const TOPIC = {
  create: '/tasks/create',
  start: '/tasks/start',
  exit: '/tasks/exit',
  delete: '/tasks/delete',
  execAdded: '/tasks/exec-added',
  execStarted: '/tasks/exec-started',
} as const;

/**
 * How long Delete waits for a process's output to be copied out when something else still holds
 * its pipes: Go's init.delete and execProcess.delete wait their io WaitGroup (waitTimeout) 2 s in
 * 1.6 (pkg/process) and 10 s in 2.x (cmd/containerd-shim-runc-v2/process); we keep 1.6's.
 * Wait waits for it too, within the same bound, where Go's Wait answers at the exit: the client
 * cancels its FIFO copy when it deletes right after Wait (client task.Delete: io.Cancel, then
 * io.Wait), and a copy still opening its FIFO then loses the output. Without this wait a fresh-clone
 * CI run lost one `ctr run --rm echo`'s output in 200 (leaks.test), as an exec's once in 50 before.
 */
const OUTPUT_DRAIN_MS = 2000;

/**
 * containerd.task.v2.Task over a container runtime (runc, injected by the composition root). One instance serves every container of this shim process
 * (one per container, or per pod / namespace when grouped).
 */
export class TaskService {
  private readonly containers = new Map<string, Container>();
  private readonly creating = new Set<string>();
  private readonly router = new ExitRouter();
  private readonly subscription: Subscription;
  private readonly drivers = new Map<string, ContainerDriver>();
  /** Shutdowns waiting for the Creates in flight to settle. */
  private readonly createsSettled: Array<() => void> = [];

  constructor(private readonly deps: TaskServiceDeps) {
    this.subscription = deps.exits$.subscribe((e) => this.router.exit(e));
  }

  get size(): number {
    return this.containers.size;
  }

  dispose(): void {
    this.subscription.unsubscribe();
  }

  /** What the service holds, for reading only (task/dump.ts turns it into the state dump). */
  snapshot(): TaskServiceSnapshot {
    return { containers: [...this.containers.values()], creating: [...this.creating], exitClaims: this.router.pendingClaims };
  }

  async create(r: Req, signal?: AbortSignal): Promise<Req> {
    const id: string = r.id;
    if (!id) throw invalidArgument('create: container id is empty');
    if (!r.bundle || !path.isAbsolute(r.bundle)) {
      throw invalidArgument(`create ${id}: bundle must be an absolute path, got ${JSON.stringify(r.bundle)}`);
    }
    checkPath(`create ${id}: bundle`, r.bundle);
    checkStdio(`create ${id}`, r);
    if (this.containers.has(id) || this.creating.has(id)) throw alreadyExists(`container ${id} already exists in this shim`);
    // A container created now would die with this process, which is already on its way out.
    if (this.deps.shutdown.requested) throw failedPrecondition(`create ${id}: this shim is shutting down`);
    if (r.checkpoint) checkPath(`create ${id}: checkpoint`, r.checkpoint);
    const driver = this.deps.runtime.driver(r.bundle, r.options as Any | undefined);
    this.creating.add(id);
    // Exits reaped from here until the init's pid is claimed may be its own.
    const window = this.router.starting();
    try {
      const stdio = { stdin: r.stdin ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', terminal: !!r.terminal };
      const mounts: Array<{ type: string; source: string; options: string[] }> = r.rootfs ?? [];
      let mountedRootfs: string | null = null;
      if (mounts.length > 0) {
        mountedRootfs = path.join(r.bundle, 'rootfs');
        await mkdir(mountedRootfs, { recursive: true });
        this.deps.runtime.mountAll(mounts, mountedRootfs);
      }
      const init = new Process('init', id, '', stdio);
      try {
        if (r.checkpoint) {
          // As Go's createdCheckpoint state: nothing runs until Start restores it.
          init.restoreFrom = r.checkpoint;
        } else {
          const { pid, resources } = await driver.create(id, r.bundle, stdio, signal);
          init.pid = pid;
          init.resources = resources;
        }
      } catch (err) {
        if (mountedRootfs) await this.deps.runtime.unmountAll(mountedRootfs).catch((e) => this.deps.log.warn({ id, err: String(e) }, 'failed to cleanup rootfs mount'));
        throw err;
      }
      const container = new Container(id, r.bundle, init, mountedRootfs);
      this.drivers.set(id, driver);
      this.containers.set(id, container);
      if (init.pid) {
        this.watch(container, init, window);
        // As the Go shim (v2.3.7 task/service.go Create): OOM is watched from create on, so an
        // init that hits its limit as soon as it starts still gets its TaskOOM.
        this.watchOOM(container);
      }
      this.event(TOPIC.create, 'containerd.events.TaskCreate', id, {
        container_id: id,
        bundle: r.bundle,
        rootfs: mounts,
        io: { stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr, terminal: stdio.terminal },
        checkpoint: r.checkpoint ?? '',
        pid: init.pid,
      });
      this.deps.log.info({ id, pid: init.pid, bundle: r.bundle }, 'task created');
      return { pid: init.pid };
    } finally {
      window.close();
      this.creating.delete(id);
      if (this.creating.size === 0) for (const settled of this.createsSettled.splice(0)) settled();
    }
  }

  async start(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, r.exec_id);
    const driver = this.driverOf(container.id);
    const window = this.router.starting();
    try {
      await proc.run('start', async () => {
        if (proc.kind === 'init' && proc.restoreFrom) {
          const restored = await driver.restore(container.id, container.bundle, proc.stdio, proc.restoreFrom, signal);
          proc.pid = restored.pid;
          proc.resources = restored.resources;
          this.watch(container, proc, window);
        } else if (proc.kind === 'init') {
          await driver.start(container.id, signal);
        } else {
          const started = await driver.exec(container.id, proc.execId, container.bundle, proc.stdio, proc.spec, signal);
          proc.pid = started.pid;
          proc.resources = started.resources;
          if (proc.stdinClosed) started.resources.closeStdin();
          this.watch(container, proc, window);
        }
      });
    } catch (err) {
      // No start will be published for this process: let an exit held for it go.
      this.deps.emit({ kind: 'release', key: processKey(container.id, proc.execId) });
      if (proc.kind === 'exec') proc.releaseWait();
      throw err;
    } finally {
      window.close();
    }
    const key = processKey(container.id, proc.execId);
    if (proc.kind === 'init') {
      // A restored init gets its pid only now.
      if (!container.oom) this.watchOOM(container);
      this.deps.emit({
        kind: 'start',
        key,
        event: this.taskEvent(TOPIC.start, 'containerd.events.TaskStart', container.id, { container_id: container.id, pid: proc.pid }),
      });
    } else {
      this.deps.emit({
        kind: 'start',
        key,
        event: this.taskEvent(TOPIC.execStarted, 'containerd.events.TaskExecStarted', container.id, {
          container_id: container.id,
          exec_id: proc.execId,
          pid: proc.pid,
        }),
      });
    }
    proc.started = true;
    return { pid: proc.pid };
  }

  async exec(r: Req): Promise<Req> {
    const { container } = this.lookup(r.id, '');
    const execId: string = r.exec_id;
    if (!execId) throw invalidArgument(`exec in ${container.id}: exec id is empty`);
    if (container.execs.has(execId)) throw alreadyExists(`exec ${execId} already exists in container ${container.id}`);
    checkStdio(`exec ${execId} in ${container.id}`, r);
    container.init.check('exec');
    const spec = execSpec(r.spec as Any | undefined, `exec ${execId} in ${container.id}`);
    const proc = new Process('exec', container.id, execId, {
      stdin: r.stdin ?? '',
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      terminal: !!r.terminal,
    });
    // As Go's Init.exec: the request's terminal wins over the spec's (spec.Terminal = r.Terminal).
    spec.terminal = proc.stdio.terminal;
    proc.spec = spec;
    container.execs.set(execId, proc);
    this.event(TOPIC.execAdded, 'containerd.events.TaskExecAdded', container.id, { container_id: container.id, exec_id: execId });
    return {};
  }

  async checkpoint(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    checkPath(`checkpoint ${container.id}: path`, r.path);
    const checkpoint = this.driverOf(container.id).checkpoint(container.id, container.bundle, r.path, r.options as Any | undefined);
    await proc.run('checkpoint', () => checkpoint(signal));
    this.event('/tasks/checkpointed', 'containerd.events.TaskCheckpointed', container.id, { container_id: container.id, checkpoint: r.path });
    return {};
  }

  async stats(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    if (proc.state === 'stopped' || proc.state === 'deleted') throw failedPrecondition(`stats of ${container.id}: it is ${proc.state}`);
    return { stats: await this.driverOf(container.id).stats(container.id, signal) };
  }

  async update(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    const any = r.resources as Any | undefined;
    let resources: object;
    try {
      resources = JSON.parse(Buffer.from(any?.value ?? []).toString('utf8'));
      if (!resources || typeof resources !== 'object' || Array.isArray(resources)) throw new Error('not an object');
    } catch (err) {
      throw invalidArgument(`update ${container.id}: resources (${any?.type_url || 'none'}) must be OCI LinuxResources as JSON: ${(err as Error).message}`);
    }
    await proc.run('update', () => this.driverOf(container.id).update(container.id, resources, signal));
    return {};
  }

  async pause(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    await proc.run('pause', async () => {
      proc.state = 'pausing';
      try {
        await this.driverOf(container.id).pause(container.id, signal);
      } catch (err) {
        if (proc.state === 'pausing') proc.state = 'running';
        throw err;
      }
    });
    this.event('/tasks/paused', 'containerd.events.TaskPaused', container.id, { container_id: container.id });
    return {};
  }

  async resume(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    await proc.run('resume', () => this.driverOf(container.id).resume(container.id, signal));
    this.event('/tasks/resumed', 'containerd.events.TaskResumed', container.id, { container_id: container.id });
    return {};
  }

  async resizePty(r: Req): Promise<Req> {
    const { proc } = this.lookup(r.id, r.exec_id);
    proc.check('resize');
    // No console, nothing to resize: Go's Init.Resize and execProcess.resize return nil.
    if (!proc.stdio.terminal) return {};
    proc.resources?.resize?.(r.width, r.height);
    return {};
  }

  async closeIO(r: Req): Promise<Req> {
    const { proc } = this.lookup(r.id, r.exec_id);
    proc.check('closeIO');
    if (r.stdin) {
      // ctr sends CloseIO as soon as its stdin ends, which can be before an exec is started:
      // remember it, so the stdin opened at start is closed at once.
      proc.stdinClosed = true;
      proc.resources?.closeStdin();
    }
    return {};
  }

  async delete(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, r.exec_id);
    await proc.run('delete', async () => {
      if (proc.pid && !proc.exit) this.router.unclaim(proc.pid);
      await settledWithin(proc.resources?.drained(), OUTPUT_DRAIN_MS);
      proc.resources?.close();
      if (proc.kind === 'init') {
        await this.driverOf(container.id).delete(container.id, signal);
        if (container.mountedRootfs) await this.deps.runtime.unmountAll(container.mountedRootfs);
      }
    });
    if (!proc.started) this.deps.emit({ kind: 'release', key: processKey(container.id, proc.execId) });
    const exit = proc.exit ?? { status: 0, at: NOT_EXITED_AT };
    if (proc.kind === 'init') {
      container.oom?.close();
      for (const exec of container.execs.values()) exec.resources?.close();
      this.containers.delete(container.id);
      this.drivers.delete(container.id);
      this.event(TOPIC.delete, 'containerd.events.TaskDelete', container.id, {
        container_id: container.id,
        pid: proc.pid,
        exit_status: exit.status,
        exited_at: timestamp(exit.at),
        id: container.id,
      });
      this.deps.log.info({ id: container.id, status: exit.status }, 'task deleted');
    } else {
      container.execs.delete(proc.execId);
    }
    return { pid: proc.pid, exit_status: exit.status, exited_at: timestamp(exit.at) };
  }

  async state(r: Req): Promise<Req> {
    const { container, proc } = this.lookup(r.id, r.exec_id);
    // While the container is paused so is each of its processes: Go's execProcess.Status reports
    // the init's pausing / paused over the exec's own state.
    const parent = container.init.state;
    const state = proc.kind === 'exec' && (parent === 'paused' || parent === 'pausing') ? parent : proc.state;
    return {
      id: proc.id,
      bundle: container.bundle,
      pid: proc.pid,
      status: statusNumber[state],
      stdin: proc.stdio.stdin,
      stdout: proc.stdio.stdout,
      stderr: proc.stdio.stderr,
      terminal: proc.stdio.terminal,
      exit_status: proc.exit?.status ?? 0,
      exited_at: timestamp(proc.exit?.at ?? NOT_EXITED_AT),
      exec_id: proc.execId,
    };
  }

  async kill(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, r.exec_id);
    // Signal 0 probes (kill(2)); Go hands it to runc kill / unix.Kill as it is.
    const signo: number = r.signal ?? 0;
    proc.check('kill');
    if (proc.kind === 'init') {
      // An init whose exit is recorded: runc kill (without --all) can only say "container not
      // running", which Go's checkKillError makes NotFound; answer that without the runc call.
      // On 1.6, CRI's SIGKILL after the grace races the exit's Delete, after which containerd
      // closes the task's ttrpc client: a Kill still waiting on runc then fails "ttrpc: closed".
      if (proc.exit && !r.all) throw notFound(`process ${proc.name} already finished`);
      const killing = this.driverOf(container.id).kill(container.id, signo, !!r.all, !!proc.exit, signal);
      if (r.all || signo === 0) {
        await killing;
        return {};
      }
      // The same race from the other side: the init exits while runc kill still runs. Its target
      // gone, the Kill answers at once (one of Go's answers in that race), before containerd 1.6
      // acts on the TaskExit and closes the connection under a Kill still waiting on runc.
      const { exited, forget } = proc.exitOrForget();
      try {
        await Promise.race([killing, exited]);
      } finally {
        forget();
        killing.catch((err) => this.deps.log.debug({ id: container.id, err: String(err) }, 'runc kill after the exit'));
      }
      return {};
    } else {
      // As Go's execProcess.kill: not started is FailedPrecondition, finished is NotFound.
      if (!proc.pid) throw failedPrecondition(`process ${proc.name} is not started`);
      if (proc.exit) throw notFound(`process ${proc.name} already finished`);
      try {
        process.kill(proc.pid, signo);
      } catch (err: any) {
        if (err?.code === 'ESRCH') throw notFound(`process ${proc.name} already finished`);
        throw err;
      }
    }
    return {};
  }

  async wait(r: Req): Promise<Req> {
    const { proc } = this.lookup(r.id, r.exec_id);
    const exit = await proc.wait();
    await settledWithin(proc.resources?.drained(), OUTPUT_DRAIN_MS);
    return { exit_status: exit.status, exited_at: timestamp(exit.at) };
  }

  async pids(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container } = this.lookup(r.id, '');
    const pids = await this.driverOf(container.id).ps(container.id, signal);
    const execByPid = new Map<number, string>();
    for (const e of container.execs.values()) if (e.pid) execByPid.set(e.pid, e.execId);
    return {
      processes: pids.map((pid) => {
        const execId = execByPid.get(pid);
        return execId
          ? { pid, info: this.deps.runtime.packProcessDetails(execId) }
          : { pid };
      }),
    };
  }

  async connect(r: Req): Promise<Req> {
    const container = r.id ? this.containers.get(r.id) : undefined;
    return { shim_pid: process.pid, task_pid: container?.init.pid ?? 0, version: this.deps.version };
  }

  async shutdown(r: Req): Promise<Req> {
    // Go 1.6 holds s.mu across Create, so its Shutdown counts containers only once a Create in
    // flight is done: a grouped process must not end under a container being created.
    while (this.creating.size > 0) await new Promise<void>((settled) => this.createsSettled.push(settled));
    // A shim with containers left keeps serving, whatever `now` says: Go's Shutdown (1.6
    // runtime/v2/runc/task/service.go, 2.x cmd/containerd-shim-runc-v2/task/service.go) never
    // reads it, and no containerd caller sets it (runtime/v2 shim.go shimTask.Shutdown sends only
    // the id; ctr shim shutdown sends nothing). Here `now` would end every other container of a
    // grouped process with this one.
    if (this.containers.size > 0) return {};
    this.deps.log.info({ now: !!r.now, containers: this.containers.size }, 'shutdown requested');
    this.deps.shutdown.shutdown();
    return {};
  }

  /** TaskOOM whenever the container's memory cgroup hits its limit (as the Go shim's epoller). */
  private watchOOM(container: Container): void {
    try {
      container.oom = this.deps.runtime.watchOOM(container.init.pid, () => {
        this.deps.log.info({ id: container.id }, 'oom');
        this.event('/tasks/oom', 'containerd.events.TaskOOM', container.id, { container_id: container.id });
      });
    } catch (err) {
      this.deps.log.warn({ id: container.id, err: String(err) }, 'cannot watch for OOM');
    }
  }

  /** Claim the exit of a process that has a pid; on exit, record it and say so. */
  private watch(container: Container, proc: Process, window: StartWindow): void {
    window.claim(proc.pid, (e) => {
      if (!proc.setExited(e.status, e.time)) return;
      if (proc.kind === 'init') void this.drivers.get(container.id)?.initExited(container.id, container.bundle);
      this.deps.log.info({ id: container.id, exec: proc.execId || undefined, pid: e.pid, status: e.status }, 'process exited');
      // Output keeps flowing until the last holder of the pipes is gone; close what is ours after.
      this.deps.emit({
        kind: 'exit',
        key: processKey(container.id, proc.execId),
        event: this.taskEvent(TOPIC.exit, 'containerd.events.TaskExit', container.id, {
          container_id: container.id,
          id: proc.id,
          pid: e.pid,
          exit_status: e.status,
          exited_at: timestamp(e.time),
        }),
      });
    });
  }

  private lookup(id: string, execId: string | undefined): { container: Container; proc: Process } {
    if (!id) throw invalidArgument('container id is empty');
    const container = this.containers.get(id);
    if (!container) throw notFound(`container ${id} not found in this shim`);
    const proc = container.process(execId ?? '');
    if (!proc) throw notFound(`exec ${execId} not found in container ${id}`);
    return { container, proc };
  }

  private driverOf(id: string): ContainerDriver {
    const d = this.drivers.get(id);
    if (!d) throw notFound(`container ${id} not found in this shim`);
    return d;
  }

  private taskEvent(topic: string, type: string, containerId: string, event: Record<string, unknown>): TaskEvent {
    return { topic, type, containerId, event };
  }

  private event(topic: string, type: string, containerId: string, event: Record<string, unknown>): void {
    this.deps.emit({ kind: 'event', event: this.taskEvent(topic, type, containerId, event) });
  }
}

/**
 * A path a client hands us that we open, mount onto or give runc: absolute, no `..` segment, no
 * NUL (containerd only ever sends clean absolute paths; anything else is a caller reaching outside
 * the bundle or its state dirs).
 */
function checkPath(what: string, p: string): void {
  if (typeof p !== 'string' || p.includes('\0') || !path.isAbsolute(p) || p.split('/').includes('..')) {
    throw invalidArgument(`${what} ${JSON.stringify(p)}: must be a clean absolute path`);
  }
}

/** Each stdio that names a path (a fifo, file:// or binary://) names a clean absolute one. */
function checkStdio(what: string, r: Req): void {
  for (const name of ['stdin', 'stdout', 'stderr'] as const) {
    const value: string = r[name] ?? '';
    if (!value) continue;
    // A URL's own parsing would fold `..` away: look at the raw string too.
    if (value.split(/[/?#]/).includes('..')) throw invalidArgument(`${what}: ${name} ${JSON.stringify(value)}: must be a clean absolute path`);
    // And the path after percent-decoding (`%2e%2e` is `..` too).
    const target = parseStdioUri(value, `${what}: ${name}`);
    if (target.kind !== 'none') checkPath(`${what}: ${name}${target.path === value ? '' : ` ${JSON.stringify(value)} names path`}`, target.path);
  }
}

/** The OCI process spec of an exec: containerd sends it as JSON in an Any (runtime-spec Process). */
function execSpec(any: Any | undefined, what: string): Record<string, unknown> {
  if (!any || !any.value || any.value.length === 0) throw invalidArgument(`${what}: process spec is missing`);
  try {
    const spec = JSON.parse(Buffer.from(any.value).toString('utf8'));
    if (!spec || typeof spec !== 'object' || !Array.isArray(spec.args) || spec.args.length === 0) {
      throw new Error('expected a runtime-spec Process with non-empty args');
    }
    return spec;
  } catch (err) {
    throw invalidArgument(`${what}: process spec (${any.type_url}) is not a valid OCI process: ${(err as Error).message}`);
  }
}
