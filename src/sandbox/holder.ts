import { constants } from 'node:os';
import { internal } from '../errors';
import { defaultSpawner, type Spawner } from '../runc/spawner';
import { childrenOf } from '../sys/proc';
import type { PodConfig } from './pod-config';

/**
 * The pod's namespace holder: what the pause container is under containerd's podsandbox
 * controller, without an image, a rootfs or runc. util-linux's unshare(1) forks a shell into the
 * pod's new pid, ipc and uts namespaces (nsenter(1) first joins the network namespace CRI made);
 * that shell is the pod's pid 1. CRI points each container's spec at /proc/<pid>/ns/{net,ipc,uts,
 * pid} of the pid StartSandbox answers (v2.3.7 internal/cri/opts/spec_opts.go WithPodNamespaces),
 * so the pid we report is the shell's. As pause does, it reaps the orphans re-parented to it
 * (dash's `wait` takes any child) and exits 0 on SIGTERM or SIGINT.
 */
export interface Holder {
  /** the pod's pid 1, as the host sees it */
  readonly pid: number;
  /** settles once the holder has exited: its status as containerd reports it (128+signal if killed) */
  readonly exited: Promise<{ status: number; time: Date }>;
  readonly alive: boolean;
  kill(signal: NodeJS.Signals): void;
}

/** The script pid 1 runs: the hostname only in a uts namespace of its own (never the node's). */
const SCRIPT = 'if [ -n "$1" ]; then hostname "$1" || exit 1; fi; trap "exit 0" TERM INT; echo ready; while :; do sleep 2147483647 & wait $!; done';

/** Writes its own pid into each cgroup.procs file before `--`, then execs the rest: the whole holder starts in the pod's cgroup. */
const JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 1; shift; done; shift; exec "$@"';

/**
 * The command line that starts a holder for `c`; netnsPath is CRI's netns_path ("" for host
 * network); cgroupProcs the cgroup.procs files of the holder's cgroup (src/sandbox/cgroup.ts),
 * joined before unshare forks, so no process of the pod starts outside it.
 */
export function holderCommand(c: PodConfig, netnsPath: string, cgroupProcs: string[] = []): { file: string; args: string[] } {
  const ownUts = c.ownNetwork; // podsandbox: a host-network pod shares the node's uts namespace too
  const unshare = ['unshare', '--fork', '--kill-child', ...(c.ownPid ? ['--pid'] : []), ...(c.ownIpc ? ['--ipc'] : []), ...(ownUts ? ['--uts'] : []), '--', '/bin/sh', '-c', SCRIPT, 'rx-pod', ownUts ? c.hostname : ''];
  const cmd = netnsPath ? ['nsenter', `--net=${netnsPath}`, '--', ...unshare] : unshare;
  if (cgroupProcs.length) cmd.unshift('/bin/sh', '-c', JOIN, 'rx-cgroup', ...cgroupProcs, '--');
  return { file: cmd[0], args: cmd.slice(1) };
}

/** Start the holder; resolves once its pid 1 runs in the pod's namespaces. */
export function startHolder(cmd: { file: string; args: string[] }, spawner: Spawner = defaultSpawner): Promise<Holder> {
  return new Promise((resolve, reject) => {
    const child = spawner(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let alive = true;
    let out = '';
    let err = '';
    let ready = false;
    const exited = new Promise<{ status: number; time: Date }>((res) => {
      child.once('exit', (code, signal) => {
        alive = false;
        let status = code ?? 128 + (signal ? constants.signals[signal] : 0);
        // util-linux 2.38's unshare re-raises the signal its child died of, but unblocking SIGKILL
        // fails ("sigprocmask unblock failed") and it exits 1: that is pid 1 killed by SIGKILL.
        if (code === 1 && /sigprocmask unblock failed/.test(err)) status = 128 + constants.signals.SIGKILL;
        res({ status, time: new Date() });
        if (!ready) reject(internal(`the pod's namespace holder (${cmd.file}) exited with status ${status} before it was ready: ${err.trim().slice(0, 500) || 'no output'}`));
      });
    });
    child.once('error', (e) => reject(internal(`cannot start the pod's namespace holder ${cmd.file}: ${e.message}`, e)));
    // Kept for the whole life: before ready, why it failed; after, unshare's last words.
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4096);
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready || !out.includes('ready\n')) return;
      ready = true;
      // unshare --fork's one child is pid 1; it has printed, so it exists.
      const pid1 = childrenOf(child.pid!)[0];
      // Keep both pipes open and read: closing them would make a later write (unshare's own,
      // when its child is killed) die of SIGPIPE and hide the status pid 1 ended with.
      child.stdout?.removeAllListeners('data').resume();
      if (!pid1) {
        child.kill('SIGKILL');
        reject(internal(`the pod's namespace holder ${child.pid} is ready but has no child`));
        return;
      }
      resolve({
        pid: pid1,
        exited,
        get alive() {
          return alive;
        },
        kill(signal) {
          if (!alive) return;
          try {
            process.kill(pid1, signal);
          } catch {
            // already gone: `exited` settles
          }
        },
      });
    });
  });
}
