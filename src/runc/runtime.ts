import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { notFound, ShimError } from '../errors';
import type { Logger } from '../log';
import { encode, type Any } from '../proto';
import { Runc } from './runc';
import { runcRoot } from './root';
import { readPidFile } from './pid-file';
import { setprivPath } from './spawner';
import { mountAll, unmountAllAsync } from '../sys/mount';
import { isCgroupV2, watchOOM } from '../sys/eventfd';
import { blockDevices, metricsAny, type RuncStats } from './metrics';
import { openIO } from '../task/io';
import type { Stdio } from '../task/io/stdio';
import type { RuncOptions } from './options';
import type { CheckpointOptions, RuncDriver, Spawned, TaskRuntime } from '../task/runtime';


/** The task runtime over the runc binary: one driver per container, configured by its options. */
export function runcRuntime(deps: { namespace: string; log: Logger }): TaskRuntime {
  return {
    driver: (bundle, opts) => new RuncContainerDriver(bundle, opts, deps.namespace, deps.log),
    mountAll: (mounts, target) => mountAll(mounts, target),
    unmountAll: (target) => unmountAllAsync(target).catch((err) => Promise.reject(rootfsUnmountError(err))),
    watchOOM: (pid, onOOM) => watchOOM(pid, onOOM),
    packProcessDetails: (execId): Any => ({
      type_url: 'containerd.runc.v1.ProcessDetails',
      value: encode('containerd.runc.v1.ProcessDetails', { exec_id: execId }),
    }),
  };
}

/**
 * As Go's Init.delete (cmd/containerd-shim-runc-v2/process/init.go): "failed rootfs umount"
 * wrapping the cause, a plain error there, so Unknown on the wire; ours names the path and errno.
 */
function rootfsUnmountError(err: unknown): ShimError {
  // sys/mount's errors name the path they unmounted and the errno (EBUSY after the retries).
  return new ShimError('Unknown', `failed rootfs umount: ${err instanceof Error ? err.message : String(err)}`, err);
}

/** Said once per process: without setpriv, runc children can outlive a crash of the shim. */
let toldNoSetpriv = false;

class RuncContainerDriver implements RuncDriver {
  private readonly runc: Runc;

  constructor(
    bundle: string,
    private readonly opts: RuncOptions,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {
    this.runc = new Runc({
      binary: opts.binary_name || 'runc',
      root: runcRoot(opts.root, namespace),
      log: path.join(bundle, 'log.json'),
      logFormat: 'json',
      systemdCgroup: opts.systemd_cgroup,
      criu: opts.criu_path || undefined,
    });
    if (!toldNoSetpriv && !setprivPath()) {
      toldNoSetpriv = true;
      log.warn('setpriv not found: runc runs without a parent-death signal and can outlive this process');
    }
  }

  async create(id: string, bundle: string, stdio: Stdio, opts: RuncOptions, signal?: AbortSignal): Promise<Spawned> {
    // The `delete` action runs in a fresh process and finds runc's binary and root here.
    await writeFile(path.join(bundle, 'options.json'), JSON.stringify(opts));
    const io = await openIO(stdio, { uid: opts.io_uid, gid: opts.io_gid, id, namespace: this.namespace });
    const pidFile = path.join(bundle, 'init.pid');
    try {
      await this.runc.create(id, bundle, {
        pidFile,
        consoleSocket: io.consoleSocket,
        noPivot: opts.no_pivot_root,
        noNewKeyring: opts.no_new_keyring,
        stdio: io.runcStdio,
        onSpawn: () => io.afterSpawn(),
      }, signal);
      await io.ready();
    } catch (err) {
      io.resources.close();
      await this.runc.delete(id, { force: true }).catch(() => undefined);
      throw err;
    }
    return { pid: await readPidFile(pidFile), resources: io.resources };
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
      const io = await openIO(stdio, { uid: this.opts.io_uid, gid: this.opts.io_gid, id, namespace: this.namespace });
      try {
        await this.runc.exec(id, specFile, { pidFile, detach: true, consoleSocket: io.consoleSocket, stdio: io.runcStdio, onSpawn: () => io.afterSpawn() }, signal);
        await io.ready();
      } catch (err) {
        io.resources.close();
        throw err;
      }
      return { pid: await readPidFile(pidFile), resources: io.resources };
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

  async checkpoint(id: string, bundle: string, imagePath: string, o: CheckpointOptions, signal?: AbortSignal): Promise<void> {
    const work = o.work_path || path.join(bundle, 'criu-work');
    try {
      await this.runc.checkpoint(id, {
        imagePath,
        workPath: work,
        leaveRunning: !o.exit,
        tcpEstablished: o.open_tcp,
        extUnixSockets: o.external_unix_sockets,
        shellJob: o.terminal,
        fileLocks: o.file_locks,
        cgroupsMode: o.cgroups_mode,
        emptyNamespaces: o.empty_namespaces,
      }, signal);
    } catch (err) {
      // As the Go shim: keep criu's log beside the bundle and name it; its errors are criu's words.
      const dumpLog = path.join(bundle, 'criu-dump.log');
      const criu = await readFile(path.join(work, 'dump.log'), 'utf8').catch(() => '');
      if (criu) await writeFile(dumpLog, criu).catch(() => undefined);
      const words = criuErrors(criu);
      throw wrap(err, `${words ? `criu: ${words}; ` : ''}path= ${dumpLog}`);
    } finally {
      if (!o.work_path) await rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  async restore(id: string, bundle: string, stdio: Stdio, opts: RuncOptions, imagePath: string, signal?: AbortSignal): Promise<Spawned> {
    const io = await openIO(stdio, { uid: opts.io_uid, gid: opts.io_gid, id, namespace: this.namespace });
    const pidFile = path.join(bundle, 'init.pid');
    const work = path.join(bundle, 'criu-work');
    try {
      await this.runc.restore(id, bundle, {
        imagePath,
        workPath: work,
        pidFile,
        consoleSocket: io.consoleSocket,
        noPivot: opts.no_pivot_root,
        stdio: io.runcStdio,
        onSpawn: () => io.afterSpawn(),
      }, signal);
      await io.ready();
    } catch (err) {
      io.resources.close();
      const criu = await readFile(path.join(work, 'restore.log'), 'utf8').catch(() => '');
      const words = criuErrors(criu);
      throw wrap(err, words ? `criu: ${words}` : '');
    }
    return { pid: await readPidFile(pidFile), resources: io.resources };
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
}

/** The last error lines of a criu log, joined: criu's own reasons. */
function criuErrors(log: string): string {
  return log.split('\n').filter((l) => /Error/.test(l)).slice(-3).map((l) => l.trim()).join('; ');
}

/** The same error kind, with more words: criu's reasons reach ctr intact. */
function wrap(err: unknown, more: string): ShimError {
  if (err instanceof ShimError) return new ShimError(err.kind, more ? `${err.message}: ${more}` : err.message, err);
  return new ShimError('Unknown', `${String((err as Error)?.message ?? err)}${more ? ': ' + more : ''}`, err);
}

/** True unless the spec gives the container a pid namespace of its own (runc.ShouldKillAllOnExit). */
export async function sharesPidNamespace(bundle: string): Promise<boolean> {
  try {
    const spec = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8'));
    const namespaces: Array<{ type: string; path?: string }> = spec?.linux?.namespaces ?? [];
    return !namespaces.some((ns) => ns.type === 'pid' && !ns.path);
  } catch {
    return true;
  }
}

/**
 * A file name for an exec id that stays inside the bundle and is injective: every byte outside
 * [A-Za-z0-9_.-] becomes %XX (so `a/b` is a%2Fb, `a_b` stays a_b), and a leading dot is escaped
 * too, so `.` and `..` name no directory.
 */
export function execFileName(execId: string): string {
  const escaped = Array.from(Buffer.from(execId, 'utf8'), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return escaped.startsWith('.') ? `%2E${escaped.slice(1)}` : escaped;
}

/** runc's words for a kill that found no process, as Go's checkKillError reads them. */
export function killFoundNothing(message: string): boolean {
  return /os: process already finished|container not running|no such process|does not exist/i.test(message);
}
