import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Observable, Subject } from 'rxjs';
import { settledWithin } from '../deadline';
import { alreadyExists, failedPrecondition, invalidArgument } from '../errors';
import { timestamp, type Any } from '../proto';
import type { Exit } from '../streams/exits$';
import type { Lifecycle, Said } from '../ordering/lifecycle';
import { Container } from './container';
import { TaskControl, type TaskServiceDeps } from './control';
import * as events from './events';
import { processExited, refOf } from './exited';
import { Joins } from './joins';
import { NOT_EXITED_AT, Process } from './process';
import { checkCreate, checkStdio, execSpec, type Req } from './validate';

export type { TaskServiceDeps } from './control';

export interface TaskServiceSnapshot {
  containers: readonly Container[];
  /** Ids whose Create is under way. */
  creating: readonly string[];
  /** Pids whose exit is awaited. */
  exitClaims: number;
}

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
 * containerd.task.v2.Task over a container runtime (runc, injected by the composition root). One
 * instance serves every container of this shim process (one per container, or per pod /
 * namespace when grouped). Here the calls where processes begin
 * and end (Create, Start, Exec, Delete, Wait, Shutdown) and their exits; the others in
 * control.ts. What happens is said on lifecycle$; the pipeline (events$) matches each reaped exit
 * to its process and hands it back to recordExit.
 */
export class TaskService extends TaskControl {
  private readonly creating = new Set<string>();
  /** Shutdowns waiting for the Creates in flight to settle. */
  private readonly createsSettled: Array<() => void> = [];
  /** Containers a grouped `start` promised us, whose Create is still to come (the Group service). */
  readonly joins: Joins;

  /** lifecycle$: what the service says happened and which exits it awaits, in order; hot; completes at dispose. */
  readonly lifecycle$: Observable<Said<Process>>;

  constructor(deps: TaskServiceDeps) {
    const said = new Subject<Said<Process>>();
    super(deps, said);
    this.lifecycle$ = said.asObservable();
    this.joins = new Joins({ shutdown: deps.shutdown, idle: () => this.containers.size === 0 && this.creating.size === 0 });
  }

  get size(): number {
    return this.containers.size;
  }

  dispose(): void {
    this.said.complete();
    this.joins.dispose();
  }

  /** What the service holds, for reading only (task/dump.ts turns it into the state dump). */
  snapshot(): TaskServiceSnapshot {
    const all = [...this.containers.values()].flatMap((c) => c.all());
    return { containers: [...this.containers.values()], creating: [...this.creating], exitClaims: all.filter((p) => p.pid > 0 && !p.exit).length };
  }

  /**
   * A reaped exit matched to one of our processes (exited.ts): what to publish, or nothing for a
   * second report of the same exit.
   */
  recordExit(proc: Process, e: Exit): Lifecycle | undefined {
    return processExited(proc, e, { container: this.containers.get(proc.containerId), driver: this.drivers.get(proc.containerId), log: this.deps.log });
  }

  async create(r: Req, signal?: AbortSignal): Promise<Req> {
    // Before the checks: a refused Create has arrived too, and no longer holds a Shutdown back.
    this.joins.arrived(String(r.id ?? ''));
    const id = checkCreate(r);
    if (this.containers.has(id) || this.creating.has(id)) throw alreadyExists(`container ${id} already exists in this shim`);
    // A container created now would die with this process, which is already on its way out.
    if (this.deps.shutdown.requested) throw failedPrecondition(`create ${id}: this shim is shutting down`);
    const driver = this.deps.runtime.driver(r.bundle, r.options as Any | undefined);
    this.creating.add(id);
    // Exits reaped from here until the init's pid is claimed may be its own.
    const window = this.starting();
    try {
      const stdio = { stdin: r.stdin ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', terminal: !!r.terminal };
      const mounts: Array<{ type: string; source: string; options: string[] }> = r.rootfs ?? [];
      let mountedRootfs: string | null = null;
      if (mounts.length > 0) {
        mountedRootfs = path.join(r.bundle, 'rootfs');
        await mkdir(mountedRootfs, { recursive: true });
        this.deps.runtime.mountAll(mounts, mountedRootfs);
      }
      // With a checkpoint, as Go's createdCheckpoint state: nothing runs until Start restores it.
      const init = new Process('init', id, '', stdio, r.checkpoint || undefined);
      if (!init.checkpoint) {
        try {
          const { pid, resources } = await driver.create(id, r.bundle, stdio, signal);
          init.pid = pid;
          init.resources = resources;
        } catch (err) {
          if (mountedRootfs) await this.deps.runtime.unmountAll(mountedRootfs).catch((e) => this.deps.log.warn({ id, err: String(e) }, 'failed to cleanup rootfs mount'));
          throw err;
        }
      }
      const container = new Container(id, r.bundle, init, mountedRootfs);
      this.drivers.set(id, driver);
      this.containers.set(id, container);
      if (init.pid) {
        window.claim(init);
        // As the Go shim (v2.3.7 task/service.go Create): OOM is watched from create on, so an
        // init that hits its limit as soon as it starts still gets its TaskOOM.
        this.watchOOM(container);
      }
      this.event(events.taskCreate(id, r.bundle, mounts, stdio, r.checkpoint ?? '', init.pid));
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
    const window = this.starting();
    try {
      await proc.run('start', async () => {
        if (proc.kind === 'init' && proc.state === 'createdCheckpoint') {
          const restored = await driver.restore(container.id, container.bundle, proc.stdio, proc.checkpoint!, signal);
          proc.pid = restored.pid;
          proc.resources = restored.resources;
          window.claim(proc);
        } else if (proc.kind === 'init') {
          await driver.start(container.id, signal);
        } else {
          const started = await driver.exec(container.id, proc.execId, container.bundle, proc.stdio, proc.spec, signal);
          proc.pid = started.pid;
          proc.resources = started.resources;
          if (proc.stdinClosed) started.resources.closeStdin();
          window.claim(proc);
        }
      });
    } catch (err) {
      // No start will be published for this process: let an exit held for it go.
      this.said.next({ kind: 'release', process: refOf(proc) });
      if (proc.kind === 'exec') proc.releaseWait();
      throw err;
    } finally {
      window.close();
    }
    // A restored init gets its pid only now.
    if (proc.kind === 'init' && !container.oom) this.watchOOM(container);
    const event = proc.kind === 'init' ? events.taskStart(container.id, proc.pid) : events.execStarted(container.id, proc.execId, proc.pid);
    this.said.next({ kind: 'start', process: refOf(proc), event });
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
    const proc = new Process('exec', container.id, execId, { stdin: r.stdin ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', terminal: !!r.terminal });
    // As Go's Init.exec: the request's terminal wins over the spec's (spec.Terminal = r.Terminal).
    spec.terminal = proc.stdio.terminal;
    proc.spec = spec;
    container.execs.set(execId, proc);
    this.event(events.execAdded(container.id, execId));
    return {};
  }

  async delete(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, r.exec_id);
    await proc.run('delete', async () => {
      // Its pid is no longer ours from here. (A running exec of a deleted init keeps its claim: its Wait answers.)
      if (proc.pid && !proc.exit) this.said.next({ kind: 'unclaim', pid: proc.pid });
      await settledWithin(proc.resources?.drained(), OUTPUT_DRAIN_MS);
      proc.resources?.close();
      if (proc.kind === 'init') {
        await this.driverOf(container.id).delete(container.id, signal);
        if (container.mountedRootfs) await this.deps.runtime.unmountAll(container.mountedRootfs);
      }
    });
    const exit = proc.exit ?? { status: 0, at: NOT_EXITED_AT };
    if (proc.kind === 'init') {
      container.oom?.close();
      for (const exec of container.execs.values()) exec.resources?.close();
      this.containers.delete(container.id);
      this.drivers.delete(container.id);
      this.said.next({ kind: 'delete', process: refOf(proc), event: events.taskDelete(container.id, proc.pid, exit.status, exit.at) });
      this.deps.log.info({ id: container.id, status: exit.status }, 'task deleted');
    } else {
      container.execs.delete(proc.execId);
      this.said.next({ kind: 'delete', process: refOf(proc) });
    }
    return { pid: proc.pid, exit_status: exit.status, exited_at: timestamp(exit.at) };
  }

  async wait(r: Req): Promise<Req> {
    const { proc } = this.lookup(r.id, r.exec_id);
    const exit = await proc.wait();
    await settledWithin(proc.resources?.drained(), OUTPUT_DRAIN_MS);
    return { exit_status: exit.status, exited_at: timestamp(exit.at) };
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
    // A grouped `start` handed our address out for a Create still to come: end after it (joins.ts).
    if (this.joins.holdShutdown()) return {};
    // A pod's serving process outlives its containers: containerd's shim sandbox controller ends
    // it with ShutdownSandbox (v2.3.7 plugins/sandbox/controller.go), and sends no Shutdown for a
    // sandboxed container on task API v3 (core/runtime/v2/shim.go shimTask.delete).
    if (this.deps.holdsPod?.()) {
      this.deps.log.info({}, 'shutdown ignored: this process holds a pod (ShutdownSandbox ends it)');
      return {};
    }
    this.deps.log.info({ now: !!r.now, containers: this.containers.size }, 'shutdown requested');
    this.deps.shutdown.shutdown();
    return {};
  }
}
