import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { lookPath } from '../sys/look-path';
import { NO_RESTORE, processNofileRestore, withNofileRestored, type NofileRestore } from '../sys/nofile';

/** How the driver starts a command; injected so tests can run /bin/true or a fake runc. */
export type Spawner = (file: string, args: string[], opts: { stdio: StdioOptions; env?: NodeJS.ProcessEnv; cwd?: string }) => ChildProcess;

let setpriv: string | null | undefined;

/** util-linux's setpriv, found once per process; null when the machine has none. */
export function setprivPath(): string | null {
  if (setpriv === undefined) setpriv = lookPath('setpriv') ?? lookPath('/usr/bin/setpriv');
  return setpriv;
}

/**
 * Every runc child gets SIGKILL when the serving process dies, as containerd's NewRunc sets
 * (cmd/containerd-shim-runc-v2/process/init.go: PdeathSignal: unix.SIGKILL). Node cannot call
 * prctl(PR_SET_PDEATHSIG) between fork and exec, so `setpriv --pdeathsig KILL -- runc ...` sets it
 * and execs runc: the pid stays the one we spawned, and the setting holds across that exec (runc
 * is not set-uid). The kernel fires it when the parent *thread* ends; libuv spawns from the main
 * thread, which lives as long as the process. Without setpriv, runc runs without one.
 * And runc gets containerd's RLIMIT_NOFILE soft limit back, as Go's children do (sys/nofile.ts):
 * `prlimit --nofile=SOFT: -- setpriv ...`, only when Node's raise changed it.
 */
export const defaultSpawner: Spawner = (file, args, opts) => spawnerWith(setprivPath(), processNofileRestore())(file, args, opts);

/** The spawner through a given setpriv (null runs the command directly: the fallback), and prlimit. */
export function spawnerWith(setpriv: string | null, nofile: NofileRestore = NO_RESTORE): Spawner {
  return (file, args, opts) => {
    const [f, a] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, args];
    const [pf, pa] = withNofileRestored(nofile, f, a);
    return spawn(pf, pa, opts);
  };
}
