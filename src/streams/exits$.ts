import { asyncScheduler, from, merge, mergeMap, Observable, share, timer, type SchedulerLike } from 'rxjs';
import { isNodeChild } from '../sys/children';
import { childrenOf } from '../sys/proc';
import { exitedChild, exitStatus, waitNoHang } from '../sys/wait';

/** A reaped process: its pid, its status as containerd reports it (128+signal if killed), when. */
export interface Exit {
  pid: number;
  status: number;
  time: Date;
}

export interface ReaperDeps {
  /** The safety sweep: SIGCHLDs coalesce and one may arrive before we listen. */
  sweepIntervalMs?: number;
  /** The pid of a child that has exited and is not reaped yet, 0 for none (a waitid peek). */
  exitedChild?: () => number;
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
 * waited on by name). Each exited child is found by a waitid peek, so a sweep costs a few calls
 * whatever the number of children (500 sleeping containers cost nothing on an idle tick). The
 * peek cannot see past a libuv child libuv has not reaped yet: then the sweep reads the whole
 * child list instead. Lazy: a pid is reaped only when the next exit is pulled, so a subscriber
 * that leaves mid-sweep leaves the rest as zombies for the next sweep instead of losing them.
 */
export function* sweep(deps: SweepDeps): Generator<Exit> {
  for (;;) {
    const pid = deps.exitedChild();
    if (!pid) return;
    if (deps.isNodeChild(pid)) return yield* sweepAll(deps);
    const r = deps.waitNoHang(pid);
    if (!r) return; // reaped by someone else meanwhile: the next tick looks again
    yield { pid: r.pid, status: exitStatus(r.status), time: deps.now() };
  }
}

/** Every child in /proc's list, by name: what the peek cannot see behind a libuv zombie. */
function* sweepAll(deps: SweepDeps): Generator<Exit> {
  for (const pid of deps.childrenOf()) {
    if (deps.isNodeChild(pid)) continue;
    const r = deps.waitNoHang(pid);
    if (r) yield { pid: r.pid, status: exitStatus(r.status), time: deps.now() };
  }
}

/**
 * exits$: emits each reaped exit of a child that is not node's own (container inits and exec'd
 * processes, re-parented to us as subreaper, and their orphans), swept on every SIGCHLD and on
 * a ~1 s timer (one waitid peek when nothing has exited); never completes; hot and multicast
 * (the timer stops when the last subscriber leaves). Subscribe before spawning runc and keep
 * the subscription: an init can exit and be reaped before runc's --pid-file is even read, so its
 * exit may arrive before anyone knows its pid — whoever routes exits must keep unclaimed ones
 * while a start that could own them is in flight (ordering/exit-to-process.ts does, and drops
 * them otherwise).
 */
export function createExits$(sigchld$: Observable<unknown>, deps: ReaperDeps = {}): Observable<Exit> {
  const d: SweepDeps = {
    exitedChild: deps.exitedChild ?? exitedChild,
    childrenOf: deps.childrenOf ?? (() => childrenOf()),
    waitNoHang: deps.waitNoHang ?? waitNoHang,
    isNodeChild: deps.isNodeChild ?? isNodeChild,
    now: deps.now ?? (() => new Date()),
  };
  const tick$ = merge(sigchld$, timer(0, deps.sweepIntervalMs ?? 1000, deps.scheduler ?? asyncScheduler));
  // A sweep runs synchronously to its end (or to the last subscriber leaving): sweeps never overlap.
  return tick$.pipe(
    mergeMap(() => from(sweep(d))),
    share(),
  );
}
