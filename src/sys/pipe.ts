import { check, fn } from './libc';

const O_CLOEXEC = 0o2000000;

/**
 * A real pipe (pipe2 with O_CLOEXEC), as the Go shim's os.Pipe for container stdio: a child
 * spawned with one end in its stdio array gets it dup2'd without CLOEXEC. Node reads and
 * writes such fds on the event loop through net.Socket({ fd }) (a libuv pipe handle).
 */
export function pipe(): [readFd: number, writeFd: number] {
  const fds = new Int32Array(2);
  check('pipe2', fn('int pipe2(int *, int)')(fds, O_CLOEXEC));
  return [fds[0], fds[1]];
}
