import { asyncScheduler, EMPTY, from, merge, mergeMap, Observable, share, timer, type SchedulerLike } from 'rxjs';
import { isNodeChild } from '../sys/children';
import { childrenOf } from '../sys/proc';
import { anyExited, exitStatus, waitNoHang } from '../sys/wait';

/** A reaped process: its pid, its status as containerd reports it (128+signal if killed), when. */
export interface Exit {
  pid: number;
  status: number;
  time: Date;
}

export interface ReaperDeps {
  /** The safety sweep: SIGCHLDs coalesce and one may arrive before we listen. */
  sweepIntervalMs?: number;
  /** The gate before a sweep: has any child exited at all (one waitid peek, not one per child)? */
  anyExited?: () => boolean;
  childrenOf?: () => number[];
  waitNoHang?: (pid: number) => { pid: number; status: number } | null;
  isNodeChild?: (pid: number) => boolean;
  now?: () => Date;
  scheduler?: SchedulerLike;
}

type SweepDeps = Required<Omit<ReaperDeps, 'sweepIntervalMs' | 'scheduler'>>;

/**
 * One sweep: reap every exited child that is not one of node's own child_process children
 * (libuv reaps those and fires their 'exit'; waitpid(-1) would steal them, so each pid is
 * waited on by name). Lazy: a pid is reaped only when the next exit is pulled, so a subscriber
 * that leaves mid-sweep leaves the rest as zombies for the next sweep instead of losing them.
 */
export function* sweep(deps: SweepDeps): Generator<Exit> {
  for (const pid of deps.childrenOf()) {
    if (deps.isNodeChild(pid)) continue;
    const r = deps.waitNoHang(pid);
    if (r) yield { pid: r.pid, status: exitStatus(r.status), time: deps.now() };
  }
}

/**
 * exits$: emits each reaped exit of a child that is not node's own (container inits and exec'd
 * processes, re-parented to us as subreaper, and their orphans), swept on every SIGCHLD and on
 * a ~1 s timer (each only when a waitid peek finds an exited child); never completes; hot and multicast (the timer stops when the last subscriber
 * leaves). Subscribe before spawning runc and keep the subscription: an init can exit and be
 * reaped before runc's --pid-file is even read, so its exit may arrive before anyone knows its
 * pid — whoever routes exits must keep unclaimed ones while a start that could own them is in
 * flight (ordering/exit-to-process.ts does, and drops them otherwise).
 */
export function createExits$(sigchld$: Observable<unknown>, deps: ReaperDeps = {}): Observable<Exit> {
  const d: SweepDeps = {
    anyExited: deps.anyExited ?? anyExited,
    childrenOf: deps.childrenOf ?? (() => childrenOf()),
    waitNoHang: deps.waitNoHang ?? waitNoHang,
    isNodeChild: deps.isNodeChild ?? isNodeChild,
    now: deps.now ?? (() => new Date()),
  };
  const tick$ = merge(sigchld$, timer(0, deps.sweepIntervalMs ?? 1000, deps.scheduler ?? asyncScheduler));
  // A sweep runs synchronously to its end (or to the last subscriber leaving): sweeps never overlap.
  // Most ticks find nothing (the timer while idle; a SIGCHLD of runc, which libuv reaps): the gate
  // keeps those from costing a read and a waitpid per container.
  return tick$.pipe(
    mergeMap(() => (d.anyExited() ? from(sweep(d)) : EMPTY)),
    share(),
  );
}
