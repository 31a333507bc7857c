import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand, type RunOpts, type Stdio3 } from './command';
import { defaultSpawner, type Spawner } from './spawner';

export interface RuncConfig {
  binary?: string;
  root?: string;
  /** runc's --log file; read after a failure for runc's own words (containerd getLastRuntimeError). */
  log?: string;
  logFormat?: 'json' | 'text';
  systemdCgroup?: boolean;
  /** criu binary for checkpoint/restore (runc --criu). */
  criu?: string;
  spawner?: Spawner;
}

export interface RuncState {
  id: string;
  pid: number;
  status: string;
  bundle: string;
}

/**
 * A command that starts a container process (create, exec, restore) never gets our pipes: the
 * process would inherit them and hold the call open for its whole life. Without stdio it gets
 * /dev/null, and runc's own words come from its --log file.
 */
const NO_STDIO: Stdio3 = [null, null, null];

export interface CreateOpts {
  pidFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  stdio?: Stdio3;
  /** Called once runc is spawned (it holds the stdio fds by then). */
  onSpawn?: () => void;
}

export interface ExecOpts {
  pidFile: string;
  consoleSocket?: string;
  detach?: boolean;
  stdio?: Stdio3;
  onSpawn?: () => void;
}

export interface CheckpointOpts {
  imagePath: string;
  workPath?: string;
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  extUnixSockets?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  cgroupsMode?: string;
  emptyNamespaces?: string[];
}

function checkpointArgs(o: CheckpointOpts): string[] {
  const out = ['--image-path', o.imagePath];
  if (o.workPath) out.push('--work-path', o.workPath);
  if (o.tcpEstablished) out.push('--tcp-established');
  if (o.extUnixSockets) out.push('--ext-unix-sk');
  if (o.shellJob) out.push('--shell-job');
  if (o.fileLocks) out.push('--file-locks');
  if (o.cgroupsMode) out.push('--manage-cgroups-mode', o.cgroupsMode);
  for (const ns of o.emptyNamespaces ?? []) out.push('--empty-ns', ns);
  return out;
}

/** The runc command line, as go-runc drives it: global flags, then the command. */
export class Runc {
  readonly binary: string;
  private readonly spawner: Spawner;

  constructor(private readonly cfg: RuncConfig = {}) {
    this.binary = cfg.binary || 'runc';
    this.spawner = cfg.spawner ?? defaultSpawner;
  }

  globalArgs(): string[] {
    const out: string[] = [];
    if (this.cfg.root) out.push('--root', this.cfg.root);
    if (this.cfg.log) out.push('--log', this.cfg.log);
    if (this.cfg.logFormat) out.push('--log-format', this.cfg.logFormat);
    if (this.cfg.systemdCgroup) out.push('--systemd-cgroup');
    if (this.cfg.criu) out.push('--criu', this.cfg.criu);
    return out;
  }

  /*
   * Each command takes the call's AbortSignal last (Go passes ctx first): aborted, runc is
   * SIGKILLed, as exec.CommandContext does.
   */

  async create(id: string, bundle: string, o: CreateOpts, signal?: AbortSignal): Promise<void> {
    const args = ['create', '--bundle', bundle, '--pid-file', o.pidFile];
    if (o.consoleSocket) args.push('--console-socket', o.consoleSocket);
    if (o.noPivot) args.push('--no-pivot');
    if (o.noNewKeyring) args.push('--no-new-keyring');
    await this.run(args.concat(id), { stdio: o.stdio ?? NO_STDIO, onSpawn: o.onSpawn, signal });
  }

  async start(id: string, signal?: AbortSignal): Promise<void> {
    await this.run(['start', id], { signal });
  }

  /**
   * runc exec --process <file>: a path is used as it is; an OCI process spec object is written
   * to a temp file for the call and removed after (go-runc Exec).
   */
  async exec(id: string, spec: string | object, o: ExecOpts, signal?: AbortSignal): Promise<void> {
    let file = typeof spec === 'string' ? spec : '';
    let tmp = '';
    if (!file) {
      tmp = await mkdtemp(path.join(process.env.XDG_RUNTIME_DIR || tmpdir(), 'runc-process-'));
      file = path.join(tmp, 'process.json');
      await writeFile(file, JSON.stringify(spec), { mode: 0o600 });
    }
    try {
      const args = ['exec', '--process', file];
      if (o.consoleSocket) args.push('--console-socket', o.consoleSocket);
      if (o.detach) args.push('--detach');
      args.push('--pid-file', o.pidFile);
      await this.run(args.concat(id), { stdio: o.stdio ?? NO_STDIO, onSpawn: o.onSpawn, signal });
    } finally {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }
  }

  async kill(id: string, signo: number, o: { all?: boolean } = {}, signal?: AbortSignal): Promise<void> {
    await this.run(['kill', ...(o.all ? ['--all'] : []), id, String(signo)], { signal });
  }

  async delete(id: string, o: { force?: boolean } = {}, signal?: AbortSignal): Promise<void> {
    await this.run(['delete', ...(o.force ? ['--force'] : []), id], { signal });
  }

  async state(id: string, signal?: AbortSignal): Promise<RuncState> {
    return JSON.parse((await this.run(['state', id], { signal })).toString('utf8'));
  }

  async ps(id: string, signal?: AbortSignal): Promise<number[]> {
    const out = (await this.run(['ps', '--format', 'json', id], { signal })).toString('utf8').trim();
    const pids = out ? JSON.parse(out) : [];
    return Array.isArray(pids) ? pids.map(Number) : [];
  }

  /** One `runc events --stats` sample: the container's cgroup stats (runc's types.Stats). */
  async stats(id: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const out = JSON.parse((await this.run(['events', '--stats', id], { signal })).toString('utf8'));
    return out.data ?? {};
  }

  async pause(id: string, signal?: AbortSignal): Promise<void> {
    await this.run(['pause', id], { signal });
  }

  async resume(id: string, signal?: AbortSignal): Promise<void> {
    await this.run(['resume', id], { signal });
  }

  /** runc update --resources - with the OCI LinuxResources as JSON on stdin. */
  async update(id: string, resources: object, signal?: AbortSignal): Promise<void> {
    await this.run(['update', '--resources', '-', id], { input: Buffer.from(JSON.stringify(resources)), signal });
  }

  /** runc checkpoint, flags as go-runc's CheckpointOpts. */
  async checkpoint(id: string, o: CheckpointOpts, signal?: AbortSignal): Promise<void> {
    await this.run(['checkpoint', ...checkpointArgs(o), ...(o.leaveRunning ? ['--leave-running'] : []), id], { signal });
  }

  /** runc restore --detach: the restored init re-parents to us like a created one. */
  async restore(id: string, bundle: string, o: CheckpointOpts & CreateOpts, signal?: AbortSignal): Promise<void> {
    const args = ['restore', ...checkpointArgs(o), '--detach', '--pid-file', o.pidFile];
    if (o.consoleSocket) args.push('--console-socket', o.consoleSocket);
    if (o.noPivot) args.push('--no-pivot');
    args.push('--bundle', bundle, id);
    await this.run(args, { stdio: o.stdio ?? NO_STDIO, onSpawn: o.onSpawn, signal });
  }

  private run(args: string[], o: RunOpts = {}): Promise<Buffer> {
    const cfg = { binary: this.binary, spawner: this.spawner, log: this.cfg.log, logFormat: this.cfg.logFormat };
    return runCommand(cfg, args[0], [...this.globalArgs(), ...args], o);
  }
}
