/**
 * What the bench reads beside the calls it times: a process's figures in /proc, the /tasks/exit
 * events `ctr events` shows, and the init pids `ctr task ls` lists. Each /proc reader says 0 for a
 * process that is gone.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Containerd } from '../test/helpers/containerd';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const CLOCK_TICKS = 100; // USER_HZ on Linux, what /proc/<pid>/stat counts in

export function rssMB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return 0;
  }
}

export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** utime + stime, in seconds. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS; // fields 14 and 15 of proc(5)
  } catch {
    return 0;
  }
}

/** `ctr events` left running: `onExit(container id, when in ms)` for each /tasks/exit it prints. Kill the child to stop. */
export function watchTaskExits(ctd: Containerd, onExit: (id: string, t: number) => void): ChildProcess {
  const events = ctd.ctrSpawn(['events']);
  let buf = '';
  events.stdout!.on('data', (d) => {
    const t = now();
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const m = /\/tasks\/exit .*"container_id":"([^"]+)"/.exec(l);
      if (m) onExit(m[1], t);
    }
  });
  return events;
}

/** The init pid `ctr task ls` lists for each of `ids` (NaN for one it does not list). */
export async function taskPids(ctd: Containerd, ids: string[]): Promise<number[]> {
  const list = (await ctd.ctr(['task', 'ls'])).stdout.toString().split('\n');
  return ids.map((c) => Number(/^\S+\s+(\d+)/.exec(list.find((l) => l.startsWith(c + ' ')) ?? '')?.[1]));
}
