import { check, fn } from './libc';

const O_CLOEXEC = 0o2000000;

/**
 * A real pipe (pipe2 with O_CLOEXEC), as the Go shim's os.Pipe for container stdio: a child
 * spawned with one end in its stdio array gets it dup2'd without CLOEXEC, and no other child
 * inherits either end. The end we keep is read or written on the event loop with
 * `new net.Socket({ fd, readable | writable })` (a libuv pipe handle; the socket closes the fd
 * when destroyed). Wrap only our end: libuv makes the fd O_NONBLOCK, a flag of the open file
 * that a child holding the same end would share.
 */
export function pipe(): [readFd: number, writeFd: number] {
  const fds = new Int32Array(2);
  check('pipe2', fn('int pipe2(int *, int)')(fds, O_CLOEXEC));
  return [fds[0], fds[1]];
}
