import type { Logger } from '../log';
import { first, timer } from 'rxjs';
import { within, within$ } from '../deadline';
import { failedPrecondition, internal, notFound, unimplemented } from '../errors';
import { timestamp, type Any } from '../proto';
import type { Shutdown } from '../streams/shutdown$';
import { metricsAny } from '../runc/metrics';
import { cgroupStats, hierarchies, holderCgroup, makeCgroup, podCgroupsPath, recordCgroups, removeCgroup, type Hierarchy } from './cgroup';
import { holderCommand, startHolder, type Holder } from './holder';
import { platform } from './platform';
import { podConfig, type PodConfig } from './pod-config';
import { podSpec } from './pod-spec';
import { check, criState, type PodCall, type PodState } from './state';

type Req = Record<string, any>;
type Exit = { status: number; time: Date };

export interface SandboxServiceDeps {
  /** the sandbox id containerd started us for (`start -id`: the controller's sandbox id) */
  id: string;
  /** how many containers the task service still holds: Shutdown waits for none */
  containers: () => number;
  shutdown: Shutdown;
  log: Logger;
  /** starts the namespace holder (tests inject one) */
  startHolder?: (cmd: { file: string; args: string[] }) => Promise<Holder>;
  /** ttrpc connections open now: ShutdownSandbox ends the process once containerd has closed them */
  openConnections?: () => number;
  /** how long ShutdownSandbox waits for that before it ends the process anyway */
  closeGraceMs?: number;
  now?: () => Date;
  /** the host's cgroup hierarchies (tests inject a temp dir) */
  hierarchies?: () => Hierarchy[];
}

/** How long ShutdownSandbox waits by default for containerd to close its connections. */
const CLOSE_GRACE_MS = 2000;

/**
 * containerd.runtime.sandbox.v1.Sandbox: the serving process is the pod. containerd's shim
 * sandbox controller (v2.3.7 plugins/sandbox/controller.go) starts us with the sandbox id, then
 * calls CreateSandbox and StartSandbox; CRI connects the pod's containers to this same process
 * (core/runtime/v2/shim_manager.go Start: a version-3 sandbox shim is used directly, no `start`).
 */
export class SandboxService {
  private state: PodState = 'new';
  private config: PodConfig | undefined;
  private netnsPath = '';
  /** the sandbox's bundle, as CreateSandbox names it (the controller's state dir) */
  private bundle = '';
  private annotations: Record<string, string> = {};
  private holder: Holder | undefined;
  private createdAt: Date | undefined;
  private exit: Exit | undefined;
  /** ShutdownSandbox was called: the pod no longer keeps the process alive */
  private shuttingDown = false;
  /** settles once the holder's cgroup is removed (at once when it has none) */
  private cgroupGone: Promise<void> = Promise.resolve();
  private readonly hierarchies: () => Hierarchy[];
  /** settles when the pod stops: its holder exits, or StopSandbox comes before it ever started */
  private readonly ended: Promise<Exit>;
  private end!: (e: Exit) => void;
  private readonly now: () => Date;

  constructor(private readonly deps: SandboxServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.hierarchies = deps.hierarchies ?? (() => hierarchies());
    this.ended = new Promise((res) => (this.end = res));
    // However the process ends, the pod's holder ends with it (it also has a parent-death signal).
    deps.shutdown.register(() => this.holder?.kill('SIGKILL'));
  }

  /** The id check every call makes first: one serving process holds exactly one sandbox. */
  private enter(r: Req, call: PodCall): void {
    if (r.sandbox_id !== this.deps.id) {
      // One pod per serving process: with grouping = "namespace" a second pod's `start` lands here.
      throw notFound(`sandbox ${JSON.stringify(r.sandbox_id)} not found: this serving process holds sandbox ${this.deps.id} (the sandbox API needs grouping = "pod")`);
    }
    check(this.deps.id, this.state, call);
  }

  /** A pod was created here and ShutdownSandbox has not come: the task API's Shutdown must not end the process. */
  holdsPod(): boolean {
    return this.state !== 'new' && !this.shuttingDown;
  }

  async createSandbox(r: Req): Promise<Req> {
    this.enter(r, 'create');
    // CRI sends none (sandbox_run.go: options and netns only); a rootfs is for sandboxers that boot one (a VM).
    if (r.rootfs?.length) throw unimplemented(`CreateSandbox: sandbox ${this.deps.id} was given ${r.rootfs.length} rootfs mount(s); containerd-shim-rx holds a pod's namespaces without a rootfs and takes none`);
    this.config = podConfig(r.options as Any | null);
    this.netnsPath = r.netns_path ?? '';
    this.bundle = r.bundle_path ?? '';
    this.annotations = r.annotations ?? {};
    this.state = 'created';
    this.deps.log.info({ netns: this.netnsPath || 'host', ...this.config }, 'sandbox created');
    return {};
  }

  async startSandbox(r: Req): Promise<Req> {
    this.enter(r, 'start');
    const start = this.deps.startHolder ?? ((cmd) => startHolder(cmd));
    // The holder is in the pod's cgroup as the pause container would be: <cgroup_parent>/<id>.
    const cgroup = holderCgroup(this.config!.cgroupParent, this.deps.id);
    const hs = cgroup ? this.hierarchies() : [];
    if (this.config!.cgroupParent && !cgroup) this.deps.log.warn({ cgroupParent: this.config!.cgroupParent }, 'a systemd slice parent: the holder stays in the serving process\'s cgroup');
    let holder: Holder;
    try {
      let procs: string[] = [];
      try {
        procs = cgroup ? makeCgroup(hs, cgroup) : [];
        if (procs.length) recordCgroups(this.bundle, procs);
      } catch (err) {
        throw internal(`StartSandbox: cannot make the pod's cgroup ${cgroup}: ${(err as Error).message}`, err);
      }
      holder = await start(holderCommand(this.config!, this.netnsPath, procs));
    } catch (err) {
      if (cgroup) await removeCgroup(hs, cgroup).catch(() => {});
      throw err;
    }
    this.holder = holder;
    if (cgroup) {
      this.cgroupGone = holder.exited.then(() => removeCgroup(hs, cgroup)).catch((err) => this.deps.log.warn({ cgroup, err: String(err) }, 'cannot remove the holder\'s cgroup'));
    }
    this.createdAt = this.now();
    this.state = 'running';
    void holder.exited.then((e) => {
      this.deps.log.info({ pid: holder.pid, status: e.status }, 'sandbox stopped');
      this.stop(e);
    });
    this.deps.log.info({ pid: holder.pid }, 'sandbox started');
    return { pid: holder.pid, created_at: timestamp(this.createdAt), spec: podSpec(this.config!, this.netnsPath, holder.pid, this.annotations, podCgroupsPath(this.config!.cgroupParent, this.deps.id)) };
  }

  async platform(r: Req): Promise<Req> {
    this.enter(r, 'platform');
    return { platform: platform() };
  }

  /**
   * CRI has stopped the pod's containers before it calls this (internal/cri/server/sandbox_stop.go);
   * controller.go passes timeout_secs only when its caller set one. 0: SIGKILL now; otherwise
   * SIGTERM (pid 1 exits 0) and SIGKILL once the timeout has passed.
   */
  async stopSandbox(r: Req): Promise<Req> {
    this.enter(r, 'stop');
    const holder = this.holder;
    if (this.state === 'created' || this.state === 'new') {
      this.stop({ status: 0, time: this.now() });
      return {};
    }
    if (!holder?.alive) {
      await holder?.exited;
      await this.cgroupGone;
      return {};
    }
    const timeoutMs = (r.timeout_secs ?? 0) * 1000;
    if (timeoutMs > 0) {
      holder.kill('SIGTERM');
      if ((await within(holder.exited, timeoutMs)) === 'met') {
        await this.cgroupGone;
        return {};
      }
    }
    holder.kill('SIGKILL');
    await holder.exited;
    await this.cgroupGone;
    return {};
  }

  /** Blocks until the pod stops (the holder exits, or a stop before it ever started). */
  async waitSandbox(r: Req): Promise<Req> {
    this.enter(r, 'wait');
    const e = await this.ended;
    return { exit_status: e.status, exited_at: timestamp(e.time) };
  }

  async sandboxStatus(r: Req): Promise<Req> {
    this.enter(r, 'status');
    const res: Req = { sandbox_id: this.deps.id, pid: this.holder?.pid ?? 0, state: criState(this.state) };
    if (this.createdAt) res.created_at = timestamp(this.createdAt);
    if (this.exit) res.exited_at = timestamp(this.exit.time);
    // CRI parses info["info"] as its podsandbox SandboxInfo JSON (sandbox_status.go setUpdatedResources): keep to its field names.
    if (r.verbose) res.info = { info: JSON.stringify({ pid: this.holder?.pid ?? 0, processStatus: this.state }) };
    return res;
  }

  async pingSandbox(r: Req): Promise<Req> {
    this.enter(r, 'ping');
    return {};
  }

  /**
   * The last call (controller.go Shutdown, cleanupShim): end the pod and then the serving process,
   * through the same shutdown service as the task API's Shutdown. Containers left would lose their
   * serving process: refused, naming how many (CRI removes them before RemovePodSandbox gets here).
   */
  async shutdownSandbox(r: Req): Promise<Req> {
    this.enter(r, 'shutdown');
    const left = this.deps.containers();
    if (left > 0) throw failedPrecondition(`sandbox ${this.deps.id} still has ${left} container(s) in this serving process; delete them before ShutdownSandbox`);
    this.shuttingDown = true;
    if (this.holder?.alive) {
      this.holder.kill('SIGKILL');
      await this.holder.exited;
    }
    await this.cgroupGone;
    this.deps.log.info({}, 'sandbox shutdown requested');
    // Not at once: containerd's ttrpc client picks at random between a response and a closed
    // connection that are both ready (ttrpc@v1.2.8 client.go dispatch's select), and controller.go
    // Shutdown fails RemovePodSandbox on ErrClosed. It closes its connections itself right after
    // (shims.Delete), so the process ends once they are gone, or after a grace.
    this.afterClients(() => this.deps.shutdown.shutdown());
    return {};
  }

  private afterClients(fn: () => void): void {
    const open = this.deps.openConnections;
    if (!open) return void setImmediate(fn);
    // gone$: emits once, when no connection is left, and completes; cold (a 20 ms poll per
    // subscription: the ttrpc server says nothing when a connection goes).
    const gone$ = timer(0, 20).pipe(first(() => open() === 0));
    within$(gone$, this.deps.closeGraceMs ?? CLOSE_GRACE_MS).subscribe(() => fn());
  }

  /**
   * The pod's cgroup (CRI's cgroup_parent, which holds the holder and every container, as CRI's
   * own pod stats read it: v2.3.7 internal/cri/server/sandbox_stats_linux.go) as a types.Metric
   * whose data is what a task's Stats gives (io.containerd.cgroups.v1/v2.Metrics).
   */
  async sandboxMetrics(r: Req): Promise<Req> {
    this.enter(r, 'metrics');
    const parent = this.config?.cgroupParent;
    if (!parent) throw unimplemented(`SandboxMetrics: sandbox ${this.deps.id} has no cgroup of its own (CRI gave no cgroup_parent); each container's metrics come from its task (Stats)`);
    const hs = this.hierarchies();
    const stats = cgroupStats(hs, parent);
    if (!stats.cpu && !stats.memory && !stats.pids) throw unimplemented(`SandboxMetrics: sandbox ${this.deps.id}'s cgroup ${parent} is not readable here`);
    const v2 = hs.length === 1 && hs[0].v2;
    return { metrics: { timestamp: timestamp(this.now()), id: this.deps.id, data: metricsAny(stats, v2) } };
  }

  private stop(e: Exit): void {
    if (this.exit) return;
    this.exit = e;
    this.state = 'stopped';
    this.end(e);
  }
}
