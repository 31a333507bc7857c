import { readdirSync, readFileSync } from 'node:fs';

/**
 * The direct children of `pid`, from /proc/<pid>/task/<tid>/children: one file per thread, and
 * libuv's threads own children too (a child belongs to the thread that forked it).
 */
export function childrenOf(pid: number = process.pid): number[] {
  const base = pid === process.pid ? '/proc/self/task' : `/proc/${pid}/task`;
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(base);
  } catch {
    return out; // the process is gone
  }
  for (const tid of tasks) {
    try {
      for (const p of readFileSync(`${base}/${tid}/children`, 'utf8').split(' ')) {
        const child = parseInt(p, 10);
        if (child > 0) out.push(child);
      }
    } catch {
      // thread gone
    }
  }
  return out;
}
