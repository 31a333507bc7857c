import { readFileSync } from 'node:fs';
import { lookPath } from './look-path';

/**
 * RLIMIT_NOFILE for the processes we start, as Go gives them. Node.js and Bun both raise their
 * own soft limit to the hard one at start-up, and their children inherit the raised limit; Go
 * raises it too but gives every child it starts the original soft limit back (syscall's
 * origRlimitNofile, golang/go#46279). So under containerd-shim-runc-v2 runc and binary://
 * loggers start with containerd's own soft limit (1024 under containerd 2.x's systemd unit,
 * which sets no LimitNOFILE), and a current runc hands that to a container whose spec sets no
 * rlimits (CRI removes them: internal/cri/opts/spec_opts.go). The launcher
 * (bin/containerd-shim-rx-v2) records the soft limit in SHIM_RX_NOFILE_SOFT before any engine
 * starts; here it is given back to children. test/e2e/rlimits.test compares with the Go shim.
 */
export const NOFILE_ENV = 'SHIM_RX_NOFILE_SOFT';

/**
 * The soft limit a child should get back: the recorded one when it is lower than ours now, else
 * null (nothing recorded, or nothing was raised: containerd's soft limit was already its hard one).
 */
export function nofileSoftToRestore(recorded: string | undefined, limits: string): number | null {
  if (!recorded || !/^\d+$/.test(recorded)) return null;
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  if (!soft) return null;
  const want = Number(recorded);
  return want < (soft === 'unlimited' ? Infinity : Number(soft)) ? want : null;
}

/** What giving the limit back takes: the soft limit (null: none to give back) and prlimit's path. */
export interface NofileRestore {
  soft: number | null;
  prlimit: string | null;
}

export const NO_RESTORE: NofileRestore = { soft: null, prlimit: null };

let here: NofileRestore | undefined;

/** NofileRestore for this process, worked out once (its environment, /proc/self/limits, PATH). */
export function processNofileRestore(): NofileRestore {
  if (!here) {
    let soft: number | null = null;
    try {
      soft = nofileSoftToRestore(process.env[NOFILE_ENV], readFileSync('/proc/self/limits', 'utf8'));
    } catch {
      // no /proc: nothing to compare with, nothing given back
    }
    here = { soft, prlimit: soft === null ? null : (lookPath('prlimit') ?? lookPath('/usr/bin/prlimit')) };
  }
  return here;
}

/**
 * `file args` run through util-linux's prlimit with the soft limit given back (prlimit sets it on
 * itself and execs the command: the pid stays the one spawned), or unchanged when nothing is to
 * be given back or there is no prlimit.
 */
export function withNofileRestored(r: NofileRestore, file: string, args: string[]): [string, string[]] {
  if (r.soft === null || !r.prlimit) return [file, args];
  return [r.prlimit, [`--nofile=${r.soft}:`, '--', file, ...args]];
}
