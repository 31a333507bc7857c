import type { Subject } from 'rxjs';
import { invalidArgument, notFound } from '../errors';
import type { Logger } from '../log';
import { timestamp, type Any } from '../proto';
import type { Shutdown } from '../streams/shutdown$';
import type { Said } from '../ordering/lifecycle';
import type { TaskEvent } from '../publisher/envelope';
import type { Container } from './container';
import * as events from './events';
import { NOT_EXITED_AT, type Process } from './process';
import { statusNumber } from './state';
import type { ContainerDriver, ContainerRuntime } from './runtime';
import { checkPath, linuxResources, type Req } from './validate';

/** A start in flight, as the service sees it: claim the pid of what it started through it. */
interface StartWindow {
  claim(proc: Process): void;
  close(): void;
}

export interface TaskServiceDeps {
  namespace: string;
  runtime: ContainerRuntime;
  shutdown: Shutdown;
  log: Logger;
  version: string;
  /** true while this process holds a pod for the Sandbox API: its end is ShutdownSandbox's, not Shutdown's */
  holdsPod?: () => boolean;
}

/**
 * The Task API calls that act on processes as they are: State, Kill, Pause, Resume, Update,
 * Stats, Checkpoint, Pids, ResizePty, CloseIO, Connect; and what every call shares (the
 * containers, lookup, the start windows that claim exits, the OOM watch). No process begins or
 * ends here: that is TaskService, which extends this. Each call asks the state table through its
 * process.
 */
export abstract class TaskControl {
  protected readonly containers = new Map<string, Container>();
  protected readonly drivers = new Map<string, ContainerDriver>();
  private windows = 0;

  constructor(
    protected readonly deps: TaskServiceDeps,
    /** Where the calls say what happened (TaskService.lifecycle$). */
    protected readonly said: Subject<Said<Process>>,
  ) {}

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
    // The table refuses what Go refuses: a stopped init (NotFound, what Go's checkKillError makes
    // of runc's "container not running", answered here without the runc call: on 1.6, CRI's
    // SIGKILL after the grace races the exit's Delete, after which containerd closes the task's
    // ttrpc client under a Kill still waiting on runc), a never-started exec (FailedPrecondition),
    // a finished one (NotFound).
    proc.check(proc.kind === 'init' && r.all ? 'killAll' : 'kill');
    if (proc.kind === 'exec') {
      try {
        process.kill(proc.pid, signo);
      } catch (err: any) {
        if (err?.code === 'ESRCH') throw notFound(`process ${proc.name} already finished`);
        throw err;
      }
      return {};
    }
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
  }

  async pause(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    await proc.run('pause', () => this.driverOf(container.id).pause(container.id, signal));
    this.event(events.taskPaused(container.id));
    return {};
  }

  async resume(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    await proc.run('resume', () => this.driverOf(container.id).resume(container.id, signal));
    this.event(events.taskResumed(container.id));
    return {};
  }

  async update(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    const resources = linuxResources(r.resources as Any | undefined, container.id);
    await proc.run('update', () => this.driverOf(container.id).update(container.id, resources, signal));
    return {};
  }

  async stats(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    proc.check('stats');
    return { stats: await this.driverOf(container.id).stats(container.id, signal) };
  }

  async checkpoint(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container, proc } = this.lookup(r.id, '');
    checkPath(`checkpoint ${container.id}: path`, r.path);
    const checkpoint = this.driverOf(container.id).checkpoint(container.id, container.bundle, r.path, r.options as Any | undefined);
    await proc.run('checkpoint', () => checkpoint(signal));
    this.event(events.taskCheckpointed(container.id, r.path));
    return {};
  }

  async pids(r: Req, signal?: AbortSignal): Promise<Req> {
    const { container } = this.lookup(r.id, '');
    const pids = await this.driverOf(container.id).ps(container.id, signal);
    const execByPid = new Map<number, string>();
    for (const e of container.execs.values()) if (e.pid) execByPid.set(e.pid, e.execId);
    return {
      processes: pids.map((pid) => {
        const execId = execByPid.get(pid);
        return execId ? { pid, info: this.deps.runtime.packProcessDetails(execId) } : { pid };
      }),
    };
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

  async connect(r: Req): Promise<Req> {
    const container = r.id ? this.containers.get(r.id) : undefined;
    return { shim_pid: process.pid, task_pid: container?.init.pid ?? 0, version: this.deps.version };
  }

  /** TaskOOM whenever the container's memory cgroup hits its limit (as the Go shim's epoller). */
  protected watchOOM(container: Container): void {
    try {
      container.oom = this.deps.runtime.watchOOM(container.init.pid, () => {
        this.deps.log.info({ id: container.id }, 'oom');
        this.event(events.taskOOM(container.id));
      });
    } catch (err) {
      this.deps.log.warn({ id: container.id, err: String(err) }, 'cannot watch for OOM');
    }
  }

  /**
   * Open a start window before spawning runc (create, exec, restore): exits reaped from now on
   * are kept until the started process's pid is claimed through it, and dropped at close.
   */
  protected starting(): StartWindow {
    const window = ++this.windows;
    this.said.next({ kind: 'opening', window });
    return {
      claim: (proc) => this.said.next({ kind: 'claim', window, pid: proc.pid, process: proc }),
      close: () => this.said.next({ kind: 'closing', window }),
    };
  }

  protected lookup(id: string, execId: string | undefined): { container: Container; proc: Process } {
    if (!id) throw invalidArgument('container id is empty');
    const container = this.containers.get(id);
    if (!container) throw notFound(`container ${id} not found in this shim`);
    const proc = container.process(execId ?? '');
    if (!proc) throw notFound(`exec ${execId} not found in container ${id}`);
    return { container, proc };
  }

  protected driverOf(id: string): ContainerDriver {
    const d = this.drivers.get(id);
    if (!d) throw notFound(`container ${id} not found in this shim`);
    return d;
  }

  protected event(event: TaskEvent): void {
    this.said.next({ kind: 'event', event });
  }
}
