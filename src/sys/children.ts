import { ChildProcess } from 'node:child_process';

/**
 * The pids of node's own child_process children. libuv reaps those itself (and fires their
 * 'exit'); the reaper must never waitpid them. Every spawn/exec/execFile/fork goes through
 * ChildProcess.prototype.spawn, so one patch sees them all.
 */
const own = new Set<number>();
let patched = false;

export function trackNodeChildren(): void {
  if (patched) return;
  patched = true;
  // spawn is on the prototype at run time but not in @types/node.
  const proto = ChildProcess.prototype as unknown as { spawn: (...args: unknown[]) => unknown };
  const original = proto.spawn;
  proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
    const result = original.apply(this, args);
    const pid = this.pid;
    if (typeof pid === 'number') {
      own.add(pid);
      this.once('exit', () => own.delete(pid));
    }
    return result;
  };
}

export const isNodeChild = (pid: number): boolean => own.has(pid);
