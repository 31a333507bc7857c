import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { notFound } from '../errors';
import type { Logger } from '../log';
import type { Any } from '../proto';
import { isCgroupV2 } from '../sys/eventfd';
import { processNofileRestore } from '../sys/nofile';
import { openIO, type RuncIO } from '../task/io';
import type { Stdio } from '../task/io/stdio';
import type { ContainerDriver, Spawned } from '../task/runtime';
import { checkpoint, checkpointOptions, restore } from './checkpoint';
import { abortError } from './errors';
import { execFileName, killFoundNothing, sharesPidNamespace } from './facts';
import { blockDevices, metricsAny, type RuncStats } from './metrics';
import type { RuncOptions } from './options';
import { readPidFile } from './pid-file';
import { runcRoot } from './root';
import { Runc } from './runc';
import { setprivPath, type Spawner } from './spawner';

/** Said once per process: without setpriv, runc children can outlive a crash of the shim. */
let toldNoSetpriv = false;
/** Said once per process: without prlimit, containers get Node's raised RLIMIT_NOFILE soft limit. */
let toldNoPrlimit = false;

/** One container's driver over the runc binary, configured by the container's runtime options. */
export class RuncContainerDriver implements ContainerDriver {
  private readonly runc: Runc;
  private readonly namespace: string;
  private readonly log: Logger;

  constructor(
    bundle: string,
    private readonly opts: RuncOptions,
    deps: { namespace: string; log: Logger; spawner?: Spawner },
  ) {
    this.namespace = deps.namespace;
    this.log = deps.log;
    this.runc = new Runc({
      binary: opts.binary_name || 'runc',
      root: runcRoot(opts.root, deps.namespace),
      log: path.join(bundle, 'log.json'),
      logFormat: 'json',
      systemdCgroup: opts.systemd_cgroup,
      criu: opts.criu_path || undefined,
      spawner: deps.spawner,
    });
    if (!deps.spawner && !toldNoSetpriv && !setprivPath()) {
      toldNoSetpriv = true;
      this.log.warn('setpriv not found: runc runs without a parent-death signal and can outlive this process');
    }
    const { soft, prlimit } = processNofileRestore();
    if (!deps.spawner && !toldNoPrlimit && soft !== null && !prlimit) {
      toldNoPrlimit = true;
      this.log.warn({ soft }, 'prlimit not found: runc and containers keep the raised RLIMIT_NOFILE soft limit, not containerd\'s');
    }
  }

  /**
   * runc create. A failed create leaves no container (runc delete --force). Its call aborted
   * after runc made the container (too late to kill runc): the container is deleted again and
   * the call fails as aborted. containerd cleans up after a failed Create by the task id alone
   * (core/runtime/v2 cleanupShimTask: Delete, then Shutdown), which would find nothing here: a
   * container left would be one nobody knows of, keeping this process alive.
   */
  async create(id: string, bundle: string, stdio: Stdio, signal?: AbortSignal): Promise<Spawned> {
    const opts = this.opts;
    // The `delete` action runs in a fresh process and finds runc's binary and root here.
    await writeFile(path.join(bundle, 'options.json'), JSON.stringify(opts));
    const pidFile = path.join(bundle, 'init.pid');
    let made: Spawned | undefined;
    try {
      made = await this.spawned(id, stdio, pidFile, (io) =>
        this.runc.create(id, bundle, { pidFile, consoleSocket: io.consoleSocket, noPivot: opts.no_pivot_root, noNewKeyring: opts.no_new_keyring, stdio: io.runcStdio, onSpawn: () => io.afterSpawn() }, signal),
      );
      if (signal?.aborted) throw abortError('create', null, signal.reason);
      return made;
    } catch (err) {
      made?.resources.close();
      // Never under the call's signal: the clean-up runs to its end.
      await this.runc.delete(id, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  start(id: string, signal?: AbortSignal): Promise<void> {
    return this.runc.start(id, signal);
  }

  /**
   * runc exec --detach. Its process spec (it holds the env: 0600, created O_EXCL) and pid file
   * live only for the call, as go-runc's Exec removes its temp process.json and Go's exec
   * delete its <id>.pid: a Kubernetes exec probe every few seconds leaves nothing behind.
   */
  async exec(id: string, execId: string, bundle: string, stdio: Stdio, spec: unknown, signal?: AbortSignal): Promise<Spawned> {
    const dir = path.join(bundle, 'execs');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const specFile = path.join(dir, `${execFileName(execId)}.json`);
    const pidFile = path.join(dir, `${execFileName(execId)}.pid`);
    try {
      // Left over only by a serving process killed mid-exec; its exec id is ours to reuse.
      await rm(specFile, { force: true });
      await rm(pidFile, { force: true });
      await writeFile(specFile, JSON.stringify(spec), { mode: 0o600, flag: 'wx' });
      return await this.spawned(id, stdio, pidFile, (io) =>
        this.runc.exec(id, specFile, { pidFile, detach: true, consoleSocket: io.consoleSocket, stdio: io.runcStdio, onSpawn: () => io.afterSpawn() }, signal),
      );
    } finally {
      await rm(specFile, { force: true });
      await rm(pidFile, { force: true });
    }
  }

  async kill(id: string, signo: number, all: boolean, exited: boolean, signal?: AbortSignal): Promise<void> {
    try {
      await this.runc.kill(id, signo, { all }, signal);
    } catch (err) {
      // As Go's checkKillError (process/utils.go): a process gone, even before its exit is
      // reaped here, is NotFound — the one code CRI's StopContainer ignores.
      if (exited || killFoundNothing(String((err as Error)?.message ?? err))) throw notFound(`process ${id} already finished: ${(err as Error)?.message ?? err}`);
      throw err;
    }
  }

  async delete(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.runc.delete(id, { force: true }, signal);
    } catch (err) {
      this.log.warn({ id, err: String(err) }, 'runc delete failed');
      throw err;
    }
  }

  ps(id: string, signal?: AbortSignal): Promise<number[]> {
    return this.runc.ps(id, signal);
  }

  async initExited(id: string, bundle: string): Promise<void> {
    if (!(await sharesPidNamespace(bundle))) return;
    await this.runc.kill(id, 9, { all: true }).catch((err) => this.log.warn({ id, err: String(err) }, "failed to kill init's children"));
  }

  checkpoint(id: string, bundle: string, imagePath: string, options: Any | undefined): (signal?: AbortSignal) => Promise<void> {
    const o = checkpointOptions(options);
    return (signal) => checkpoint(this.runc, id, bundle, imagePath, o, signal);
  }

  restore(id: string, bundle: string, stdio: Stdio, imagePath: string, signal?: AbortSignal): Promise<Spawned> {
    const pidFile = path.join(bundle, 'init.pid');
    return this.spawned(id, stdio, pidFile, (io) =>
      restore(this.runc, id, bundle, imagePath, { pidFile, consoleSocket: io.consoleSocket, noPivot: this.opts.no_pivot_root, stdio: io.runcStdio, onSpawn: () => io.afterSpawn() }, signal),
    );
  }

  async stats(id: string, signal?: AbortSignal): Promise<Any> {
    const stats = (await this.runc.stats(id, signal)) as RuncStats;
    if (isCgroupV2()) return metricsAny(stats, true);
    // v1 blkio entries name their device, as the Go shim's cgroup1 stats do.
    const partitions = stats.blkio && Object.keys(stats.blkio).length ? await readFile('/proc/partitions', 'utf8').catch(() => '') : '';
    return metricsAny(stats, false, blockDevices(partitions));
  }

  update(id: string, resources: object, signal?: AbortSignal): Promise<void> {
    return this.runc.update(id, resources, signal);
  }

  pause(id: string, signal?: AbortSignal): Promise<void> {
    return this.runc.pause(id, signal);
  }

  resume(id: string, signal?: AbortSignal): Promise<void> {
    return this.runc.resume(id, signal);
  }

  /**
   * A process runc starts with the container's stdio: the io opened for `run` (the runc
   * command), taken over once it succeeded, closed when it failed; its pid from `pidFile`.
   */
  private async spawned(id: string, stdio: Stdio, pidFile: string, run: (io: RuncIO) => Promise<void>): Promise<Spawned> {
    const io = await openIO(stdio, { uid: this.opts.io_uid, gid: this.opts.io_gid, id, namespace: this.namespace });
    try {
      await run(io);
      await io.ready();
    } catch (err) {
      io.resources.close();
      throw err;
    }
    return { pid: await readPidFile(pidFile), resources: io.resources };
  }
}
