/**
 * The state dump: what a serving process holds, as one plain object for one log line. SIGUSR1
 * writes it into the shim's log, as the Go shim writes its goroutine stacks on SIGUSR1
 * (containerd pkg/shim: shim_unix.go setupDumpStacks, shim.go dumpStacks); a `debug state` command can
 * return the same object.
 */
import { readdirSync } from 'node:fs';
import type { StartOrder } from '../ordering/exit-after-start';
import type { PublisherStats } from '../publisher/publisher';
import { isCloexec } from '../sys/cloexec';
import type { Container } from './container';
import type { Process } from './process';
import type { TaskServiceSnapshot } from './service';

export interface ProcessDump {
  /** exec id; '' for init */
  exec: string;
  state: string;
  pid: number;
  /** exit status and time once reaped */
  exitStatus?: number;
  exitedAt?: string;
  /** its TaskStart / TaskExecStarted was handed to the publisher */
  startPublished: boolean;
}

export interface ContainerDump {
  id: string;
  bundle: string;
  processes: ProcessDump[];
}

export interface StateDump {
  pid: number;
  uptimeS: number;
  rssBytes: number;
  /** open fds of this process (/proc/self/fd), or -1 when /proc cannot be read */
  fds: number;
  /** fds beyond stdio without close-on-exec, that every child we spawn would inherit: [] */
  inheritableFds: number[];
  containers: ContainerDump[];
  creating: readonly string[];
  /** pids whose exit is awaited */
  exitClaims: number;
  /** exits reaped before their process's start was published: held back until it is (exitAfterStart$) */
  heldExits: number;
  /** publisher counts; `pending` is its queue depth */
  publisher: PublisherStats;
}

export interface DumpSources {
  service: { snapshot(): TaskServiceSnapshot };
  publisher: { snapshot(): PublisherStats };
  /** The exit-after-start rule's state: which starts were published, which exits wait. */
  starts: Pick<StartOrder, 'published' | 'held'>;
}

function processDump(p: Process, starts: DumpSources['starts']): ProcessDump {
  const d: ProcessDump = { exec: p.execId, state: p.state, pid: p.pid, startPublished: starts.published(p) };
  if (p.exit) {
    d.exitStatus = p.exit.status;
    d.exitedAt = p.exit.at.toISOString();
  }
  return d;
}

const containerDump = (c: Container, starts: DumpSources['starts']): ContainerDump => ({
  id: c.id,
  bundle: c.bundle,
  processes: c.all().map((p) => processDump(p, starts)),
});

/** How many fds are open, and those from 3 up without close-on-exec; -1 and [] without /proc. */
function fdFacts(): { fds: number; inheritableFds: number[] } {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return { fds: -1, inheritableFds: [] };
  }
  const inheritableFds: number[] = [];
  for (const fd of names.map(Number).filter((n) => n > 2).sort((a, b) => a - b)) {
    try {
      if (!isCloexec(fd)) inheritableFds.push(fd);
    } catch {
      // readdir's own fd, closed by now
    }
  }
  // readdir's own fd is in the listing: one more than the process holds between calls.
  return { fds: names.length - 1, inheritableFds };
}

/** The state of this serving process now; reads only. */
export function stateDump(src: DumpSources): StateDump {
  const tasks = src.service.snapshot();
  return {
    pid: process.pid,
    uptimeS: Math.round(process.uptime()),
    rssBytes: process.memoryUsage.rss(),
    ...fdFacts(),
    containers: tasks.containers.map((c) => containerDump(c, src.starts)),
    creating: tasks.creating,
    exitClaims: tasks.exitClaims,
    heldExits: src.starts.held,
    publisher: src.publisher.snapshot(),
  };
}
