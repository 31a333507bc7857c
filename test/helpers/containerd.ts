import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './run';
import { unmountUnder } from './leaks';

export interface Containerd {
  dir: string;
  address: string;
  ttrpcAddress: string;
  root: string;
  state: string;
  pid(): number;
  log(): string;
  ctr(args: string[], opts?: { input?: Buffer | string; timeoutMs?: number; namespace?: string }): Promise<RunResult>;
  ctrSpawn(args: string[], namespace?: string): ChildProcess;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private containerd on its own root, state and sockets in a temp dir — never the machine's
 * default one. CRI is off unless asked for.
 */
export async function startContainerd(opts: { cri?: boolean; configExtra?: string; name?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Containerd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `rx-${opts.name ?? 'ctd'}-`));
  const address = path.join(dir, 'containerd.sock');
  const ttrpcAddress = `${address}.ttrpc`;
  const root = path.join(dir, 'root');
  const state = path.join(dir, 'state');
  const config = [
    'version = 2',
    `root = "${root}"`,
    `state = "${state}"`,
    opts.cri ? '' : 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${address}"`,
    '[ttrpc]',
    `  address = "${ttrpcAddress}"`,
    '[debug]',
    '  level = "debug"',
    opts.configExtra ?? '',
  ].join('\n');
  writeFileSync(path.join(dir, 'config.toml'), config);
  const logFile = path.join(dir, 'containerd.log');
  let proc: ChildProcess;

  const launch = async () => {
    const { openSync } = await import('node:fs');
    const fd = openSync(logFile, 'a');
    proc = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', fd, fd], detached: false, env: { ...process.env, ...opts.env } });
    for (let i = 0; i < 200; i++) {
      const r = await run('ctr', ['-a', address, 'version'], { timeoutMs: 5000 }).catch(() => null);
      if (r && r.code === 0) return;
      if (proc.exitCode !== null) throw new Error(`containerd exited: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('containerd did not answer in 20 s');
  };
  await launch();

  const ctd: Containerd = {
    dir,
    address,
    ttrpcAddress,
    root,
    state,
    pid: () => proc.pid!,
    log: () => readFileSync(logFile, 'utf8'),
    ctr: (args, o = {}) => run('ctr', ['-a', address, '-n', o.namespace ?? 'default', ...args], { input: o.input, timeoutMs: o.timeoutMs ?? 60000 }),
    ctrSpawn: (args, namespace = 'default') => spawn('ctr', ['-a', address, '-n', namespace, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    async restart() {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      await launch();
    },
    async stop() {
      // Best effort: kill and delete whatever tasks are left, so no container outlives the test.
      for (const ns of ['default', 'k8s.io']) {
        const ls = await ctd.ctr(['task', 'ls', '-q'], { namespace: ns }).catch(() => null);
        for (const id of ls?.stdout.toString().split('\n').filter(Boolean) ?? []) {
          await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id], { namespace: ns }).catch(() => null);
          await new Promise((r) => setTimeout(r, 200));
          await ctd.ctr(['task', 'delete', '-f', id], { namespace: ns }).catch(() => null);
        }
      }
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ctd;
}
