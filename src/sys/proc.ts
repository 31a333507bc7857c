import { readdirSync, readFileSync } from 'node:fs';

/** Our direct children, from /proc/self/task/<tid>/children (every thread's, libuv's included). */
export function childrenOf(): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const p of readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ')) {
        const pid = parseInt(p, 10);
        if (pid > 0) out.push(pid);
      }
    } catch {
      // thread gone
    }
  }
  return out;
}
