import { map, merge, mergeMap, Observable, share, timer, from, type SchedulerLike, asyncScheduler } from 'rxjs';
import { isNodeChild } from '../sys/children';
import { childrenOf } from '../sys/proc';
import { exitStatus, waitNoHang } from '../sys/wait';

/** A reaped process: its pid, its status as containerd reports it (128+signal if killed), when. */
export interface Exit {
  pid: number;
  status: number;
  time: Date;
}

export interface ReaperDeps {
  sweepIntervalMs?: number;
  childrenOf?: () => number[];
  waitNoHang?: (pid: number) => { pid: number; status: number } | null;
  isNodeChild?: (pid: number) => boolean;
  now?: () => Date;
  scheduler?: SchedulerLike;
}

/**
 * One sweep: reap every exited child that is not one of node's own child_process children
 * (libuv reaps those and fires their 'exit'). waitpid(-1) would steal them, so each pid is
 * waited on by name.
 */
export function sweep(deps: Required<Omit<ReaperDeps, 'sweepIntervalMs' | 'scheduler'>>): Exit[] {
  const out: Exit[] = [];
  for (const pid of deps.childrenOf()) {
    if (deps.isNodeChild(pid)) continue;
    const r = deps.waitNoHang(pid);
    if (r) out.push({ pid: r.pid, status: exitStatus(r.status), time: deps.now() });
  }
  return out;
}

/**
 * exits$: every exit of a child that is not node's own — container inits and exec'd
 * processes re-parented to us as subreaper, and their orphans. Sweeps on each SIGCHLD and on a
 * ~1 s safety timer (signals coalesce). Hot and multicast: subscribe before spawning runc, so
 * no exit is missed; never completes (the timer stops when the last subscriber leaves).
 */
export function createExits$(sigchld$: Observable<unknown>, deps: ReaperDeps = {}): Observable<Exit> {
  const d = {
    childrenOf: deps.childrenOf ?? childrenOf,
    waitNoHang: deps.waitNoHang ?? waitNoHang,
    isNodeChild: deps.isNodeChild ?? isNodeChild,
    now: deps.now ?? (() => new Date()),
  };
  const tick$ = merge(sigchld$, timer(0, deps.sweepIntervalMs ?? 1000, deps.scheduler ?? asyncScheduler));
  return tick$.pipe(
    map(() => sweep(d)),
    mergeMap((exits) => from(exits)),
    share(),
  );
}
