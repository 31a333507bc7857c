import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { ShimError } from '../errors';
import { runcEnv } from './env';
import { RuncError, kindOf } from './errors';
import { defaultSpawner, lookPath, type Spawner } from './spawner';

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

type Stdio3 = [number | null, number | null, number | null];

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

  /**
   * Run one runc command; resolve with its stdout, or reject with a RuncError in runc's words.
   * An aborted `signal` SIGKILLs runc (Go's exec.CommandContext) and rejects once it is reaped,
   * with the kind of the abort: DeadlineExceeded at the call's deadline, else Canceled.
   */
  private async run(
    args: string[],
    o: { stdio?: Stdio3; onSpawn?: () => void; input?: Buffer; signal?: AbortSignal } = {},
  ): Promise<Buffer> {
    const command = args[0];
    const signal = o.signal;
    if (signal?.aborted) throw abortError(command, null, signal.reason);
    const env = runcEnv();
    // Found before the spawn, as Go's exec.Command: a missing runc is named, not a failing setpriv.
    const file = lookPath(this.binary, env);
    if (!file) throw new RuncError('Internal', command, null, '', `cannot run ${this.binary}: executable file not found (ENOENT)`);
    // Measured before the spawn: this call's words are the ones logged after this offset.
    const logStart = await this.logSize();
    return new Promise<Buffer>((resolve, reject) => {
      const stdio = o.stdio
        ? [o.stdio[0] ?? 'ignore', o.stdio[1] ?? 'ignore', o.stdio[2] ?? 'ignore']
        : [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'];
      let child;
      try {
        child = this.spawner(file, [...this.globalArgs(), ...args], { stdio: stdio as any, env });
      } catch (err) {
        return reject(new RuncError('Internal', command, null, '', String((err as Error).message)));
      }
      let aborted: ShimError | null = null;
      const onAbort = () => {
        aborted = abortError(command, 137, signal!.reason);
        child.kill('SIGKILL');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      // When runc holds the container's stdio, its own complaints go to its --log file only.
      const outStream = o.stdio ? null : child.stdout;
      const errStream = o.stdio ? null : child.stderr;
      const out: Buffer[] = [];
      let err = '';
      outStream?.on('data', (d: Buffer) => out.push(d));
      errStream?.on('data', (d: Buffer) => (err += d));
      if (o.input && child.stdin) {
        child.stdin.on('error', () => undefined);
        child.stdin.end(o.input);
      }
      child.once('spawn', () => o.onSpawn?.());
      child.once('error', (e) => {
        done();
        reject(new RuncError('Internal', command, null, err, `cannot run ${this.binary}: ${e.message}`));
      });
      // Killed, runc is answered for at its exit: a child it left may hold its pipes open.
      child.once('exit', () => {
        done();
        if (aborted) reject(aborted);
      });
      child.once('close', async (code, sig) => {
        if (aborted) return;
        if (code === 0) return resolve(Buffer.concat(out));
        const words = (await this.lastLogError(logStart)) || err.trim();
        // A signalled runc reports 128 + signo, as go-runc's exitStatus.
        const status = code ?? (sig ? 128 + (osConstants.signals[sig] ?? 0) : null);
        reject(new RuncError(kindOf(words), command, status, err, words));
      });
    });
  }

  private async logSize(): Promise<number> {
    if (!this.cfg.log) return 0;
    try {
      return (await stat(this.cfg.log)).size;
    } catch {
      return 0;
    }
  }

  /** The last error-level message runc logged since `from` (JSON lines: level, msg). */
  private async lastLogError(from: number): Promise<string> {
    if (!this.cfg.log) return '';
    let text: string;
    try {
      text = (await readFile(this.cfg.log)).subarray(from).toString('utf8');
    } catch {
      return '';
    }
    let msg = '';
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line);
        if (entry.level === 'error' && entry.msg) msg = String(entry.msg).trim();
      } catch {
        if (this.cfg.logFormat !== 'json') msg = line.trim();
      }
    }
    return msg;
  }
}


/**
 * The error of a call aborted under runc: DeadlineExceeded when the reason is the deadline's
 * (src/ttrpc/services.ts aborts with one), else Canceled (the caller went away), as Go's
 * context.DeadlineExceeded / context.Canceled reach ttrpc's status.
 */
function abortError(command: string, status: number | null, reason: unknown): RuncError {
  const kind = reason instanceof ShimError && reason.kind === 'DeadlineExceeded' ? 'DeadlineExceeded' : 'Canceled';
  const why = reason instanceof Error ? reason.message : kind === 'Canceled' ? 'context canceled' : 'context deadline exceeded';
  return new RuncError(kind, command, status, '', why);
}
