/**
 * Density: how the cost grows with the containers one grouped serving process holds (issue #13's
 * scale and idle rows), beside as many Go shims on the same containerd. Containers (busybox
 * `sleep`) are added in steps to each count; at each count, with every container idle: the RSS and
 * fds of the serving processes, their CPU over an idle window, and the latency of Tasks/Get
 * (State) and of one exec (Exec, Start, Wait, DeleteProcess of `/bin/true`) through containerd's
 * Tasks API on one connection, as kubelet's calls arrive. At the end every init is SIGKILLed at
 * once and the time to the last /tasks/exit at `ctr events` gives the event throughput.
 * Figures are reported, never asserted.
 */
import type { Containerd } from '../test/helpers/containerd';
import { servingPids } from '../test/helpers/cri/containerd-cri';
import { execRequest, openTasks, processRequest } from '../test/helpers/tasks-grpc';
import { quantile } from './stats';
import { cpuSeconds, openFds, rssMB, taskPids, watchTaskExits } from './watch';

export interface DensityRuntime {
  name: string;
  args: string[];
  /** cmdline mark of its serving processes */
  mark: string;
}

export interface DensityPoint {
  rt: string;
  count: number;
  processes: number;
  rssMB: number;
  fds: number;
  /** CPU of all serving processes over the idle window, in % of one core */
  idleCpuPct: number;
  state: { p50: number; p99: number };
  exec: { p50: number; p99: number };
}

export interface DensityResult {
  points: DensityPoint[];
  /** /tasks/exit events per second when every init of the largest count is killed at once */
  exitsPerSecond: Record<string, number>;
  idleSeconds: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
};

/** Runs `f` over `items`, `width` at a time. */
async function batched<T>(items: T[], width: number, f: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(f));
}

export async function densityBench(o: {
  ctd: Containerd;
  rootfs: string;
  runtimes: DensityRuntime[];
  counts: number[];
  stateCalls: number;
  execCalls: number;
  idleSeconds: number;
  log: (s: string) => void;
}): Promise<DensityResult> {
  const { ctd } = o;
  const points: DensityPoint[] = [];
  const exitsPerSecond: Record<string, number> = {};
  const ctr = async (args: string[]) => {
    const r = await ctd.ctr(args, { timeoutMs: 300000 });
    if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  let seq = 0;
  for (const rt of o.runtimes) {
    const ids: string[] = [];
    const tasks = openTasks(ctd.address, 'default'); // ctr's namespace in Containerd.ctr
    try {
      for (const count of o.counts) {
        const more = Array.from({ length: count - ids.length }, () => `dens${++seq}`);
        await batched(more, 10, (c) => ctr(['run', ...rt.args, '-d', '--rootfs', o.rootfs, c, '/bin/sleep', '3600']));
        ids.push(...more);
        await sleep(2000);
        const pids = servingPids(rt.mark, ctd.dir);
        // Idle: nothing asked of them, every container asleep.
        const cpu0 = pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
        const t0 = now();
        await sleep(o.idleSeconds * 1000);
        const idleCpuPct = ((pids.reduce((a, pid) => a + cpuSeconds(pid), 0) - cpu0) / ((now() - t0) / 1000)) * 100;
        const rss = pids.reduce((a, pid) => a + rssMB(pid), 0);
        const fdCount = pids.reduce((a, pid) => a + openFds(pid), 0);
        // Calls, sequential, each to a container picked round the whole set; a few first, untimed
        // (the connection, containerd's caches).
        for (let i = 0; i < 5; i++) await tasks.call('Get', processRequest(ids[i % ids.length]));
        const state: number[] = [];
        for (let i = 0; i < o.stateCalls; i++) {
          const t = now();
          await tasks.call('Get', processRequest(ids[(i * 7919) % ids.length]));
          state.push(now() - t);
        }
        const exec: number[] = [];
        for (let i = -2; i < o.execCalls; i++) {
          const c = ids[((i + ids.length) * 7919) % ids.length];
          const e = `probe${i + 2}`;
          const t = now();
          await tasks.call('Exec', execRequest(c, e, ['/bin/true']));
          await tasks.call('Start', processRequest(c, e));
          await tasks.call('Wait', processRequest(c, e));
          await tasks.call('DeleteProcess', processRequest(c, e));
          if (i >= 0) exec.push(now() - t);
        }
        const point: DensityPoint = { rt: rt.name, count, processes: pids.length, rssMB: rss, fds: fdCount, idleCpuPct, state: p(state), exec: p(exec) };
        points.push(point);
        o.log(`${rt.name} x${count}: ${point.processes} processes, ${rss.toFixed(1)} MB, ${fdCount} fds, idle ${idleCpuPct.toFixed(2)}% of a core; State p50 ${point.state.p50.toFixed(2)} p99 ${point.state.p99.toFixed(2)} ms; exec p50 ${point.exec.p50.toFixed(1)} p99 ${point.exec.p99.toFixed(1)} ms`);
      }
      exitsPerSecond[rt.name] = await killAll(ctd, ids);
      o.log(`${rt.name}: ${ids.length} exits at ${exitsPerSecond[rt.name].toFixed(0)}/s`);
    } finally {
      tasks.close();
      await batched(ids, 10, async (c) => {
        await ctd.ctr(['task', 'delete', '-f', c]);
        await ctd.ctr(['container', 'delete', c]);
      });
    }
  }
  return { points, exitsPerSecond, idleSeconds: o.idleSeconds };
}

/** SIGKILLs every init at once; /tasks/exit events per second until the last one is seen. */
async function killAll(ctd: Containerd, ids: string[]): Promise<number> {
  const waiting = new Set(ids);
  let last = 0;
  let allSeen = () => {};
  const done = new Promise<void>((resolve) => (allSeen = resolve));
  const events = watchTaskExits(ctd, (id, t) => {
    if (waiting.delete(id)) last = t;
    if (waiting.size === 0) allSeen();
  });
  await sleep(500);
  const pids = await taskPids(ctd, ids);
  const t = now();
  for (const pid of pids) if (pid > 0) process.kill(pid, 'SIGKILL');
  await Promise.race([done, sleep(120000)]);
  events.kill();
  return waiting.size ? NaN : ids.length / ((last - t) / 1000);
}
