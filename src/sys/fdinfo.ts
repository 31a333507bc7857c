/**
 * Close-on-exec read from /proc, without koffi: the `delete` action checks its inherited fds
 * this way and loads koffi (~10 ms) only when one needs fixing, which containerd's own
 * (exec.Cmd: stdio alone, FD_CLOEXEC on the rest) never leaves.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** O_CLOEXEC as /proc/<pid>/fdinfo's octal `flags:` line shows it (fs/proc/fd.c seq_show). */
const O_CLOEXEC = 0o2000000;

/** The open fds from `lowest` up that a spawned child would inherit (no close-on-exec). */
export function inheritableFrom(lowest: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd < lowest) continue;
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
    } catch {
      continue; // readdir's own fd, closed by now
    }
    const m = /^flags:\s*([0-7]+)$/m.exec(info);
    if (m && (parseInt(m[1], 8) & O_CLOEXEC) === 0) out.push(fd);
  }
  return out.sort((a, b) => a - b);
}
