import { errno, fn, SysError } from './libc';

const WNOHANG = 1;
const EINTR = 4;
const ECHILD = 10;

/**
 * waitpid(pid, WNOHANG): the raw status if `pid` has exited (it is now reaped), else null; null
 * too when `pid` is not our child (ECHILD). Always by pid: waitpid(-1) would steal libuv's.
 */
export function waitNoHang(pid: number): { pid: number; status: number } | null {
  const status = [0];
  const waitpid = fn('int waitpid(int, _Out_ int *, int)');
  for (;;) {
    const r = waitpid(pid, status, WNOHANG) as number;
    if (r > 0) return { pid: r, status: status[0] };
    if (r === 0) return null;
    const e = errno();
    if (e === EINTR) continue;
    if (e === ECHILD) return null;
    throw new SysError('waitpid', e, String(pid));
  }
}

/**
 * A wait status as containerd reports it: the exit code, or 128+signal when killed (Go's
 * runc shim and rust-extensions' reaper both report a signalled exit this way).
 */
export function exitStatus(raw: number): number {
  const sig = raw & 0x7f;
  if (sig === 0) return (raw >> 8) & 0xff;
  return 128 + sig;
}
