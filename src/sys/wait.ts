import { constants } from 'node:os';
import { errno, fn, SysError } from './libc';

const { EINTR, ECHILD } = constants.errno;
const WNOHANG = 1;
/**
 * waitid(2) (linux/wait.h): idtype P_ALL, options WEXITED and WNOWAIT; siginfo_t is 128 bytes
 * with si_pid at 16 on every 64-bit Linux ABI we ship (x86_64, arm64).
 */
const WAITID = { P_ALL: 0, WEXITED: 4, WNOWAIT: 0x01000000, SIGINFO_SIZE: 128, SI_PID_OFFSET: 16 } as const;

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

/**
 * The pid of a child of ours (libuv's included) that has exited and waits to be reaped, or 0:
 * waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT), which looks without reaping. One call whatever the
 * number of children. It keeps naming the same libuv child until libuv reaps it, so it cannot
 * be the reaper alone (../shared/LINUX-FROM-NODE.md); exits$' sweep reads the child list then.
 */
export function exitedChild(): number {
  const info = Buffer.alloc(WAITID.SIGINFO_SIZE); // zeroed: with WNOHANG and nothing waitable si_pid stays 0 (waitid(2))
  const waitid = fn('int waitid(int, int, _Out_ uint8_t *info, int)');
  for (;;) {
    if ((waitid(WAITID.P_ALL, 0, info, WAITID.WEXITED | WNOHANG | WAITID.WNOWAIT) as number) === 0) return info.readInt32LE(WAITID.SI_PID_OFFSET);
    const e = errno();
    if (e === EINTR) continue;
    if (e === ECHILD) return 0;
    throw new SysError('waitid', e, 'P_ALL');
  }
}
