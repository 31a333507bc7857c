import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** How the driver starts a command; injected so tests can run /bin/true or a fake runc. */
export type Spawner = (file: string, args: string[], opts: { stdio: StdioOptions; env?: NodeJS.ProcessEnv; cwd?: string }) => ChildProcess;

/**
 * The path `file` runs from, looked up in `env`'s PATH when it has no slash (Go's exec.Command
 * does the same LookPath before it starts anything); null when there is no such executable.
 */
export function lookPath(file: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = file.includes('/') ? [file] : (env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, file));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return path.resolve(c);
    } catch {
      // not here
    }
  }
  return null;
}

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
 */
export const defaultSpawner: Spawner = (file, args, opts) => spawnerWith(setprivPath())(file, args, opts);

/** The spawner through a given setpriv; null runs the command directly (the fallback). */
export function spawnerWith(setpriv: string | null): Spawner {
  return (file, args, opts) => (setpriv ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', file, ...args], opts) : spawn(file, args, opts));
}
