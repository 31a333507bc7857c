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
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!line) return null;
  const want = Number(recorded);
  const now = line[1] === 'unlimited' ? Infinity : Number(line[1]);
  return want < now ? want : null;
}

let restore: number | null | undefined;
let prlimit: string | null | undefined;

/** util-linux's prlimit, found once per process; null when the machine has none. */
export function prlimitPath(): string | null {
  if (prlimit === undefined) prlimit = lookPath('prlimit') ?? lookPath('/usr/bin/prlimit');
  return prlimit;
}


/** nofileSoftToRestore for this process, worked out once. */
export function processNofileSoftToRestore(): number | null {
  if (restore === undefined) {
    try {
      restore = nofileSoftToRestore(process.env[NOFILE_ENV], readFileSync('/proc/self/limits', 'utf8'));
    } catch {
      restore = null;
    }
  }
  return restore;
}

/**
 * `file args` run through util-linux's prlimit with the soft limit given back (prlimit sets it on
 * itself and execs the command: the pid stays the one spawned), or unchanged when nothing is to
 * be given back or there is no prlimit (`prlimit`: its path, found by the caller).
 */
export function withNofileRestored(prlimit: string | null, soft: number | null, file: string, args: string[]): [string, string[]] {
  if (soft === null || !prlimit) return [file, args];
  return [prlimit, [`--nofile=${soft}:`, '--', file, ...args]];
}
