/**
 * eventfd(2) on the event loop, and the OOM notifications of a memory cgroup built on it.
 * rxjs stays out: callers wrap these in observables.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, watch } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { check, errno, fn, SysError } from './libc';

export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;
const EAGAIN = 11;

/** A new eventfd; non-blocking and close-on-exec unless told otherwise. */
export function eventfd(initval = 0, flags = EFD_CLOEXEC | EFD_NONBLOCK): number {
  return check('eventfd', fn('int eventfd(unsigned int, int)')(initval, flags));
}

export interface EventfdWatch {
  /** Stop watching and close the eventfd (the watch owns it). */
  close(): void;
}

/**
 * Call cb each time the eventfd's counter becomes non-zero (the counter is read, so reset),
 * from the event loop, holding no thread-pool thread. The watch owns efd from then on.
 *
 * 'pipe': net.Socket({ fd }) refuses an eventfd (libuv cannot tell its type), but a libuv pipe
 * handle opened on it reads it like a pipe. That handle comes from Node's internal pipe_wrap
 * binding, through the deprecated process.binding: isolated here, the one place that uses it.
 * 'poll': the fallback if that binding ever goes: a non-blocking read every pollMs on a timer.
 */
export function watchEventfd(efd: number, cb: () => void, opts: { mode?: 'pipe' | 'poll'; pollMs?: number } = {}): EventfdWatch {
  const mode = opts.mode ?? (pipeWrap() ? 'pipe' : 'poll');
  if (mode === 'pipe') {
    const { Pipe, constants } = pipeWrap()!;
    const handle = new Pipe(constants.SOCKET);
    const err = handle.open(efd);
    if (err) throw new SysError('uv_pipe_open', -err, `eventfd ${efd}`);
    const sock = new net.Socket({ handle, readable: true, writable: false } as net.SocketConstructorOpts);
    sock.on('data', () => cb());
    sock.on('error', () => sock.destroy());
    return { close: () => sock.destroy() }; // closing the handle closes efd
  }
  const counter = Buffer.alloc(8);
  const read = fn('long read(int, _Out_ void *, size_t)');
  const timer = setInterval(() => {
    if ((read(efd, counter, 8) as number) === 8) return cb();
    if (errno() !== EAGAIN) stop();
  }, opts.pollMs ?? 250);
  timer.unref();
  let closed = false;
  const stop = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    closeSync(efd);
  };
  return { close: stop };
}

type PipeWrap = { Pipe: new (type: number) => { open(fd: number): number }; constants: { SOCKET: number } };
let pipeWrapCache: PipeWrap | null | undefined;
function pipeWrap(): PipeWrap | null {
  if (pipeWrapCache === undefined) {
    try {
      pipeWrapCache = (process as unknown as { binding(name: string): PipeWrap }).binding('pipe_wrap');
    } catch {
      pipeWrapCache = null;
    }
  }
  return pipeWrapCache;
}

/** OOM notifications of one memory cgroup: call onOOM to listen, close to stop. */
export interface OOMWatch {
  onOOM(cb: () => void): void;
  close(): void;
}

/**
 * cgroup v1 (containerd pkg/oom/v1, cgroups v1 memory.go OOMEventFD): an eventfd registered
 * through cgroup.event_control as "<efd> <fd of memory.oom_control>" is signalled on each OOM
 * in the cgroup, and once more when the cgroup is removed: that one ends the watch.
 */
export function oomWatchV1(cgroupMemoryPath: string): OOMWatch {
  const efd = eventfd();
  let control: number;
  try {
    control = openSync(path.join(cgroupMemoryPath, 'memory.oom_control'), 'r');
  } catch (err) {
    closeSync(efd);
    throw err;
  }
  try {
    writeFileSync(path.join(cgroupMemoryPath, 'cgroup.event_control'), `${efd} ${control}`);
  } catch (err) {
    closeSync(efd);
    closeSync(control);
    throw err;
  }
  const listeners: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    w.close();
    closeSync(control);
  };
  const w = watchEventfd(efd, () => {
    if (!existsSync(cgroupMemoryPath)) return close();
    for (const cb of listeners) cb();
  });
  return { onOOM: (cb) => void listeners.push(cb), close };
}

/** cgroup v2 (containerd pkg/oom/v2): inotify on memory.events, an OOM each time oom_kill grows. */
export function oomWatchV2(cgroupPath: string): OOMWatch {
  const file = path.join(cgroupPath, 'memory.events');
  const count = () => Number(/^oom_kill (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 0);
  let seen = count();
  const listeners: (() => void)[] = [];
  const w = watch(file, () => {
    let now: number;
    try {
      now = count();
    } catch {
      return w.close(); // the cgroup is gone
    }
    if (now <= seen) return;
    seen = now;
    for (const cb of listeners) cb();
  });
  return { onOOM: (cb) => void listeners.push(cb), close: () => w.close() };
}

/** The memory cgroup directory of a process on cgroup v1 (/proc/<pid>/cgroup "N:memory:/path"). */
export function memoryCgroupV1(pid: number): string | null {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes('memory'));
  if (!line) return null;
  return path.join('/sys/fs/cgroup/memory', line.split(':').slice(2).join(':'));
}

/** The cgroup v2 directory of a process (/proc/<pid>/cgroup "0::/path"). */
export function cgroupV2(pid: number): string | null {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  return line ? path.join('/sys/fs/cgroup', line.slice(3)) : null;
}

export const isCgroupV2 = () => existsSync('/sys/fs/cgroup/cgroup.controllers');

/** Call onOOM each time the memory cgroup of `pid` hits its limit, on cgroup v1 or v2. */
export function watchOOM(pid: number, onOOM: () => void): { close(): void } {
  const dir = isCgroupV2() ? cgroupV2(pid) : memoryCgroupV1(pid);
  if (!dir) throw new Error(`no memory cgroup for pid ${pid}`);
  const w = isCgroupV2() ? oomWatchV2(dir) : oomWatchV1(dir);
  w.onOOM(onOOM);
  return w;
}
