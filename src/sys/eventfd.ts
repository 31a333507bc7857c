import { closeSync, existsSync, openSync, readFileSync, writeFileSync, watch } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { check, fn } from './libc';

const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

export function eventfd(): number {
  return check('eventfd', fn('int eventfd(unsigned int, int)')(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

/**
 * Wake on an eventfd from the event loop, holding no thread-pool thread. net.Socket({ fd })
 * refuses an eventfd (libuv cannot guess its type), so a libuv pipe handle is opened on it
 * through pipe_wrap — Node's internal binding; isolated here, the one place that needs it.
 */
export function onEventfd(efd: number, cb: () => void): net.Socket {
  const { Pipe, constants } = (process as unknown as { binding(name: string): any }).binding('pipe_wrap');
  const handle = new Pipe(constants.SOCKET);
  const err = handle.open(efd);
  if (err) throw new Error(`cannot watch eventfd ${efd}: uv error ${err}`);
  const sock = new net.Socket({ handle, readable: true, writable: false } as net.SocketConstructorOpts);
  sock.on('data', () => cb());
  sock.on('error', () => sock.destroy());
  return sock;
}

export interface OOMWatch {
  close(): void;
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

/**
 * Call `onOOM` each time the memory cgroup of `pid` hits its limit. cgroup v1: an eventfd
 * registered with cgroup.event_control for memory.oom_control (containerd pkg/oom/v1);
 * cgroup v2: inotify on memory.events, reporting when oom_kill grows (pkg/oom/v2).
 */
export function watchOOM(pid: number, onOOM: () => void): OOMWatch {
  if (isCgroupV2()) {
    const dir = cgroupV2(pid);
    if (!dir) throw new Error(`no cgroup v2 for pid ${pid}`);
    const file = path.join(dir, 'memory.events');
    const count = () => Number(/^oom_kill (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 0);
    let seen = count();
    const w = watch(file, () => {
      try {
        const now = count();
        if (now > seen) {
          seen = now;
          onOOM();
        }
      } catch {
        w.close();
      }
    });
    return { close: () => w.close() };
  }
  const dir = memoryCgroupV1(pid);
  if (!dir) throw new Error(`no memory cgroup for pid ${pid}`);
  const efd = eventfd();
  const control = openSync(path.join(dir, 'memory.oom_control'), 'r');
  try {
    writeFileSync(path.join(dir, 'cgroup.event_control'), `${efd} ${control}`);
  } catch (err) {
    closeSync(efd);
    closeSync(control);
    throw err;
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    sock.destroy(); // closes efd
    try {
      closeSync(control);
    } catch {
      // already closed
    }
  };
  const sock = onEventfd(efd, () => {
    // The eventfd also fires when the cgroup is removed: that is the end, not an OOM.
    if (!existsSync(dir)) return close();
    onOOM();
  });
  return { close };
}
