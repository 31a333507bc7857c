import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './run';
import { registerHarnessDir, snapshotLeaks, unmountUnder } from './leaks';
import { announceHost, CTR_ENV, HOST, hostAt } from './host';

export interface CtrOptions {
  input?: Buffer | string;
  /** close ctr's stdin only once this settles (see RunOptions: ctr loses an early EOF) */
  endInputAfter?: Promise<unknown>;
  timeoutMs?: number;
  namespace?: string;
}

/** A private containerd and the means to drive it with ctr. */
export interface Containerd {
  /** the temp dir holding config, sockets, root, state and log */
  dir: string;
  /** containerd's grpc socket (what ctr -a and the shim's -address name) */
  address: string;
  ttrpcAddress: string;
  root: string;
  state: string;
  pid(): number;
  /** containerd's log so far (the shims' logs are copied into it) */
  log(): string;
  /** `ctr -a <address> -n <namespace> ...args`, to its end; never rejects for a non-zero exit */
  ctr(args: string[], opts?: CtrOptions): Promise<RunResult>;
  /** the same, left running (for `ctr events`, `ctr run -d`, a long `ctr task exec`) */
  ctrSpawn(args: string[], namespace?: string): ChildProcess;
  /** SIGKILL containerd and start it again on the same dirs (shims keep running) */
  restart(): Promise<void>;
  /** kill and delete what is left, stop containerd, unmount, remove the temp dir */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(proc: ChildProcess, ms: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** `ctr -a <address> ...args` with the ctr of the containerd under test (helpers/host.ts). */
export const runCtr = (address: string, args: string[], o: CtrOptions & { ctr?: string } = {}): Promise<RunResult> =>
  run(o.ctr ?? HOST.ctr, ['-a', address, ...(o.namespace === undefined ? [] : ['-n', o.namespace]), ...args], { input: o.input, endInputAfter: o.endInputAfter, timeoutMs: o.timeoutMs ?? 60000, env: CTR_ENV });

/**
 * A private containerd (the one under test, helpers/host.ts) on its own root, state and sockets
 * in a temp dir — never the machine's default one (/run/containerd/containerd.sock). CRI is off
 * unless asked for. Resolves once `ctr version` answers.
 */
export async function startContainerd(opts: { cri?: boolean; configExtra?: string; name?: string; env?: NodeJS.ProcessEnv; logLevel?: 'debug' | 'info'; bin?: string; exactPath?: boolean; nofile?: string } = {}): Promise<Containerd> {
  // bin: a directory holding the containerd and ctr to use instead of the host's (helpers/host.ts).
  const host = opts.bin ? hostAt(opts.bin) : HOST;
  const dir = mkdtempSync(path.join(os.tmpdir(), `rx-${opts.name ?? 'ctd'}-`));
  registerHarnessDir(dir);
  const address = path.join(dir, 'containerd.sock');
  const ttrpcAddress = `${address}.ttrpc`;
  const root = path.join(dir, 'root');
  const state = path.join(dir, 'state');
  const configPath = path.join(dir, 'config.toml');
  announceHost(host);
  // CRI would start CNI and image services we do not need and take seconds.
  const disabled = [...host.disabledAlways, ...(opts.cri ? [] : host.disabledWithoutCri)];
  const config = [
    `version = ${host.configVersion}`,
    `root = "${root}"`,
    `state = "${state}"`,
    disabled.length ? `disabled_plugins = ${JSON.stringify(disabled)}` : '',
    '',
    '[grpc]',
    `  address = "${address}"`,
    '',
    '[ttrpc]',
    `  address = "${ttrpcAddress}"`,
    '',
    '[debug]',
    // debug makes containerd start shims with -debug (runtime/v2/binary.go): every stream tapped.
    `  level = "${opts.logLevel ?? 'debug'}"`,
    '',
    opts.configExtra ?? '',
  ].join('\n');
  writeFileSync(configPath, config);
  const logFile = path.join(dir, 'containerd.log');
  const log = () => readFileSync(logFile, 'utf8');
  let proc: ChildProcess;

  const ctr = (args: string[], o: CtrOptions = {}) => runCtr(address, args, { ...o, namespace: o.namespace ?? 'default', ctr: host.ctr });
  // The host's own directory first: containerd looks a runtime's shim binary up on PATH
  // (v2.3.7 core/runtime/v2/shim_manager.go resolveRuntimePath), and runc's must be its own version's.
  // exactPath: containerd's PATH is opts.env.PATH alone (a test that proves the shim needs nothing else on it).
  const env = { ...process.env, ...opts.env };
  if (!opts.exactPath) env.PATH = `${host.binDir}:${env.PATH ?? ''}`;

  const launch = async () => {
    const fd = openSync(logFile, 'a');
    // nofile "soft:hard": containerd starts with that RLIMIT_NOFILE, as under a systemd unit
    // (prlimit execs it: the pid is containerd's). Ours, the test runner's, is Node's raised one.
    // RX_CONTAINERD_NOFILE does it for every containerd of a run (the shim then runs runc
    // through prlimit, src/sys/nofile.ts).
    const nofile = opts.nofile ?? process.env.RX_CONTAINERD_NOFILE;
    const command = [host.containerd, '--config', configPath];
    const [file, ...args] = nofile ? ['prlimit', `--nofile=${nofile}`, '--', ...command] : command;
    proc = spawn(file, args, { stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    const until = Date.now() + 30000;
    while (Date.now() < until) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`containerd exited at start (${proc.exitCode ?? proc.signalCode}); its log ends:\n${log().slice(-3000)}`);
      const r = await runCtr(address, ['version'], { timeoutMs: 5000, ctr: host.ctr }).catch(() => null);
      if (r?.code === 0) return;
      await sleep(100);
    }
    proc.kill('SIGKILL');
    throw new Error(`containerd did not answer ctr version in 30 s; its log ends:\n${log().slice(-3000)}`);
  };
  await launch();

  const ctd: Containerd = {
    dir,
    address,
    ttrpcAddress,
    root,
    state,
    pid: () => proc.pid!,
    log,
    ctr,
    ctrSpawn: (args, namespace = 'default') => spawn(host.ctr, ['-a', address, '-n', namespace, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: CTR_ENV }),
    async restart() {
      proc.kill('SIGKILL');
      await exited(proc, 10000);
      await launch();
    },
    async stop() {
      // Best effort, so no container outlives the test: kill and delete every task, then the containers.
      if (proc.exitCode === null && proc.signalCode === null) {
        const nss = (await ctr(['namespaces', 'ls', '-q']).catch(() => null))?.stdout.toString().split('\n').filter(Boolean) ?? ['default'];
        for (const ns of nss) {
          const tasks = (await ctr(['task', 'ls', '-q'], { namespace: ns }).catch(() => null))?.stdout.toString().split('\n').filter(Boolean) ?? [];
          for (const id of tasks) await ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id], { namespace: ns, timeoutMs: 10000 }).catch(() => null);
          for (const id of tasks) {
            for (let i = 0; i < 20; i++) {
              const r = await ctr(['task', 'delete', '-f', id], { namespace: ns, timeoutMs: 10000 }).catch(() => null);
              if (!r || r.code === 0 || /not found/.test(r.stderr)) break;
              await sleep(100);
            }
          }
          const containers = (await ctr(['containers', 'ls', '-q'], { namespace: ns }).catch(() => null))?.stdout.toString().split('\n').filter(Boolean) ?? [];
          for (const id of containers) await ctr(['containers', 'delete', id], { namespace: ns, timeoutMs: 10000 }).catch(() => null);
        }
        proc.kill('SIGTERM');
        if (!(await exited(proc, 10000))) {
          proc.kill('SIGKILL');
          await exited(proc, 5000);
        }
      }
      // A shim still serving this containerd is a leak the test reports; here it must not outlive the dir.
      for (const pid of snapshotLeaks(dir).shims) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ctd;
}
