import { readFile, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { ShimError } from '../errors';
import { runcEnv } from './env';
import { abortError, RuncError, kindOf } from './errors';
import { lookPath } from '../sys/look-path';
import { type Spawner } from './spawner';

/** The container's stdio fds handed to runc as its 0, 1, 2 (null: /dev/null). */
export type Stdio3 = [number | null, number | null, number | null];

/** How runc runs: which binary, through which spawner, where its --log file is. */
export interface CommandConfig {
  binary: string;
  spawner: Spawner;
  /** runc's --log file; read after a failure for runc's own words (containerd getLastRuntimeError). */
  log?: string;
  logFormat?: 'json' | 'text';
}

export interface RunOpts {
  /** runc holds the container's stdio: its own words then come from its --log file only. */
  stdio?: Stdio3;
  /** Called once runc is spawned (it holds the stdio fds by then). */
  onSpawn?: () => void;
  input?: Buffer;
  signal?: AbortSignal;
}

/**
 * Run one runc command (`args` already holds the global flags); resolve with its stdout, or
 * reject with a RuncError in runc's words. An aborted `signal` SIGKILLs runc (Go's
 * exec.CommandContext) and rejects once it is reaped, with the kind of the abort:
 * DeadlineExceeded at the call's deadline, else Canceled.
 */
export async function runCommand(cfg: CommandConfig, command: string, args: string[], o: RunOpts = {}): Promise<Buffer> {
  const signal = o.signal;
  if (signal?.aborted) throw abortError(command, null, signal.reason);
  const env = runcEnv();
  // Found before the spawn, as Go's exec.Command: a missing runc is named, not a failing setpriv.
  const file = lookPath(cfg.binary, env);
  if (!file) throw new RuncError('Internal', command, null, '', `cannot run ${cfg.binary}: executable file not found (ENOENT)`);
  // Measured before the spawn: this call's words are the ones logged after this offset.
  const logStart = await logSize(cfg.log);
  return new Promise<Buffer>((resolve, reject) => {
    const stdio = o.stdio
      ? [o.stdio[0] ?? 'ignore', o.stdio[1] ?? 'ignore', o.stdio[2] ?? 'ignore']
      : [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    let child;
    try {
      child = cfg.spawner(file, args, { stdio: stdio as any, env });
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
      reject(new RuncError('Internal', command, null, err, `cannot run ${cfg.binary}: ${e.message}`));
    });
    // Killed, runc is answered for at its exit: a child it left may hold its pipes open.
    child.once('exit', () => {
      done();
      if (aborted) reject(aborted);
    });
    child.once('close', async (code, sig) => {
      if (aborted) return;
      if (code === 0) return resolve(Buffer.concat(out));
      const words = (await lastLogError(cfg, logStart)) || err.trim();
      // A signalled runc reports 128 + signo, as go-runc's exitStatus.
      const status = code ?? (sig ? 128 + (osConstants.signals[sig] ?? 0) : null);
      reject(new RuncError(kindOf(words), command, status, err, words));
    });
  });
}

async function logSize(log: string | undefined): Promise<number> {
  if (!log) return 0;
  try {
    return (await stat(log)).size;
  } catch {
    return 0;
  }
}

/** The last error-level message runc logged since `from` (JSON lines: level, msg). */
async function lastLogError(cfg: CommandConfig, from: number): Promise<string> {
  if (!cfg.log) return '';
  let text: string;
  try {
    text = (await readFile(cfg.log)).subarray(from).toString('utf8');
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
      if (cfg.logFormat !== 'json') msg = line.trim();
    }
  }
  return msg;
}
