/**
 * Close-on-exec through fcntl(2): every fd the serving process holds must stay out of the runc,
 * container init and logging binaries it spawns (a child gets only what its stdio array names).
 */
import { readdirSync } from 'node:fs';
import { check, fn } from './libc';

const F_DUPFD_CLOEXEC = 1030;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** fcntl is variadic: koffi takes the third argument as a (type, value) pair. */
const fcntl = (fd: number, cmd: number, arg: number): number => fn('int fcntl(int, int, ...)')(fd, cmd, 'int', arg);

/** Whether fd has FD_CLOEXEC set. */
export const isCloexec = (fd: number): boolean => (check('fcntl(F_GETFD)', fcntl(fd, F_GETFD, 0), `fd ${fd}`) & FD_CLOEXEC) !== 0;

/** Set FD_CLOEXEC on an fd we were handed without it (the listening socket inherited as fd 3). */
export function setCloexec(fd: number): void {
  const flags = check('fcntl(F_GETFD)', fcntl(fd, F_GETFD, 0), `fd ${fd}`);
  if (!(flags & FD_CLOEXEC)) check('fcntl(F_SETFD)', fcntl(fd, F_SETFD, flags | FD_CLOEXEC), `fd ${fd}`);
}

/** dup(2), close-on-exec from birth (no window in which a concurrent spawn could inherit it). */
export const dupCloexec = (fd: number): number => check('fcntl(F_DUPFD_CLOEXEC)', fcntl(fd, F_DUPFD_CLOEXEC, 0), `fd ${fd}`);

/**
 * Set close-on-exec on every open fd from `lowest` up: what we inherited (the listening socket as
 * fd 3, and whatever containerd's own parent left open without the flag) is ours to use, not to
 * pass on. Node's and libuv's own fds have it already; setting it again is harmless.
 */
export function cloexecFrom(lowest: number): void {
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd < lowest) continue;
    try {
      setCloexec(fd);
    } catch {
      // readdir's own fd, closed by now
    }
  }
}
