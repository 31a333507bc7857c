import { errno, fn, SysError, koffi } from './libc';

const WNOHANG = 1;
const ECHILD = 10;

/** waitpid(pid, WNOHANG): the raw status if `pid` has exited (and is now reaped), else null. */
export function waitNoHang(pid: number): { pid: number; status: number } | null {
  const status = [0];
  const waitpid = fn('int waitpid(int, _Out_ int *, int)');
  for (;;) {
    const r = waitpid(pid, status, WNOHANG) as number;
    if (r > 0) return { pid: r, status: status[0] };
    if (r === 0) return null;
    const e = errno();
    if (e === 4) continue; // EINTR
    if (e === ECHILD) return null;
    throw new SysError('waitpid', e, String(pid));
  }
}

/** A wait status as containerd reports it: the exit code, or 128+signal when killed. */
export function exitStatus(raw: number): number {
  const sig = raw & 0x7f;
  if (sig === 0) return (raw >> 8) & 0xff;
  return 128 + sig;
}

export { koffi };
