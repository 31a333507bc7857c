import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RuncStats } from '../runc/metrics';
import { rmdirRetrying } from '../sys/rmdir';

/** One cgroup hierarchy of this host: where it is mounted, and cgroup v2 or v1 (with its controllers). */
export interface Hierarchy {
  dir: string;
  v2: boolean;
  controllers: string[];
}

/** The kernel's cgroup v1 controllers (Documentation/admin-guide/cgroup-v1); other super options (xattr, name=…) are not. */
const V1_CONTROLLERS = ['cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc'];

/**
 * The hierarchies a container joins, read from mountinfo: on cgroup v2 the one unified mount; on
 * v1 each mount of a real controller (named ones such as name=systemd, and a hybrid host's
 * unified mount beside v1, hold no controller: runc's cgroupfs manager leaves them too).
 */
export function hierarchies(mountinfo: string = readFileSync('/proc/self/mountinfo', 'utf8')): Hierarchy[] {
  const all = mountinfo
    .split('\n')
    .map((line) => {
      const [pre, post] = line.split(' - ');
      if (!post) return undefined;
      const [fstype, , superOptions = ''] = post.split(' ');
      const dir = pre.split(' ')[4];
      if (fstype === 'cgroup2') return { dir, v2: true, controllers: [] };
      if (fstype !== 'cgroup') return undefined;
      const controllers = superOptions.split(',').filter((o) => V1_CONTROLLERS.includes(o));
      return controllers.length ? { dir, v2: false, controllers } : undefined;
    })
    .filter((h): h is Hierarchy => !!h);
  const v1 = all.filter((h) => !h.v2);
  return v1.length ? v1 : all.filter((h) => h.v2 && h.dir === '/sys/fs/cgroup');
}

/**
 * The pause container's cgroupsPath under `cgroupParent`, as containerd's podsandbox controller
 * names it (v2.3.7 internal/cri/server/podsandbox/helpers_linux.go getCgroupsPath): <parent>/<id>,
 * or runc's systemd form "<slice>:cri-containerd:<id>" under a systemd slice parent.
 */
export function podCgroupsPath(cgroupParent: string, id: string): string {
  if (!cgroupParent) return '';
  const base = path.basename(cgroupParent);
  return base.endsWith('.slice') ? `${base}:cri-containerd:${id}` : path.posix.join(cgroupParent, id);
}

/**
 * The holder's cgroupfs cgroup: podCgroupsPath's cgroupfs form. Under a systemd slice that is a
 * transient scope only systemd may create (runc asks it over D-Bus): undefined, and the holder
 * stays in the serving process's cgroup.
 */
export function holderCgroup(cgroupParent: string, id: string): string | undefined {
  const p = podCgroupsPath(cgroupParent, id);
  return p && !p.includes(':') ? p : undefined;
}

/**
 * The cgroupfs path of a cgroup: a systemd slice name expanded as runc's systemd driver does
 * (libcontainer/cgroups/systemd ExpandSlice: a-b-c.slice is a.slice/a-b.slice/a-b-c.slice).
 */
export function cgroupfsPath(cgroup: string): string {
  const base = path.basename(cgroup);
  if (!base.endsWith('.slice') || cgroup.includes('/')) return path.posix.join('/', cgroup);
  const parts = base.slice(0, -'.slice'.length).split('-');
  const slices = parts.map((_, i) => `${parts.slice(0, i + 1).join('-')}.slice`);
  return path.posix.join('/', ...slices);
}

/**
 * Create `rel` in every hierarchy (parents too, as runc does) and return the cgroup.procs files
 * a process writes its pid to to join. A new cpuset cgroup starts with no cpus and no mems, and
 * joining it fails (ENOSPC): each level made here copies its parent's, as runc's cpuset.go does.
 */
export function makeCgroup(hs: Hierarchy[], rel: string): string[] {
  const procs: string[] = [];
  for (const h of hs) {
    let dir = h.dir;
    for (const part of rel.split('/').filter(Boolean)) {
      const parent = dir;
      dir = path.join(dir, part);
      if (existsSync(dir)) continue;
      mkdirSync(dir);
      if (h.controllers.includes('cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(path.join(dir, f), readFileSync(path.join(parent, f)));
      }
    }
    procs.push(path.join(dir, 'cgroup.procs'));
  }
  return procs;
}

/** Remove the leaf `rel` made by makeCgroup in every hierarchy, once no process is left in it; the parents are the kubelet's. */
export async function removeCgroup(hs: Hierarchy[], rel: string, tries = 50, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<void> {
  for (const h of hs) {
    // EBUSY while the holder's last processes are still being reaped.
    await rmdirRetrying(path.join(h.dir, rel), tries, sleep);
  }
}

/**
 * The file in the sandbox's bundle naming the holder's cgroup dirs, for the `delete` action:
 * when the serving process is SIGKILLed nothing of it removes them, and containerd runs
 * `delete` in that bundle (src/cli/delete.ts removeRecordedCgroups).
 */
export const CGROUP_RECORD = 'rx-pod-cgroups.json';

/** Write the record of `procs`' cgroup dirs into the bundle ("" bundle: none). */
export function recordCgroups(bundle: string, procs: string[]): void {
  if (!bundle) return;
  writeFileSync(path.join(bundle, CGROUP_RECORD), JSON.stringify({ dirs: procs.map((p) => path.dirname(p)) }), { mode: 0o600 });
}

const num = (s: string) => (s.trim() === 'max' ? 2 ** 64 : Number(s.trim()));
/** A flat "key value" file (memory.stat, cpu.stat, cpuacct.stat). */
const keyed = (text: string) => Object.fromEntries(text.split('\n').filter(Boolean).map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));

/**
 * A cgroup's cpu, memory and pids figures in runc's Stats form (what `runc events --stats` gives
 * for a container), read from the files runc reads (libcontainer/cgroups fs/*.go, fs2/*.go), so
 * src/runc/metrics.ts packs them as it packs a task's. Files a hierarchy lacks are left out.
 */
export function cgroupStats(hs: Hierarchy[], cgroup: string): RuncStats {
  const rel = cgroupfsPath(cgroup);
  const v2 = hs.length === 1 && hs[0].v2;
  const read = (controller: string, file: string): string | undefined => {
    const h = v2 ? hs[0] : hs.find((x) => x.controllers.includes(controller));
    if (!h) return undefined;
    try {
      return readFileSync(path.join(h.dir, rel, file), 'utf8');
    } catch {
      return undefined;
    }
  };
  const stats: RuncStats = {};
  const pidsCurrent = read('pids', 'pids.current');
  if (pidsCurrent !== undefined) {
    const max = read('pids', 'pids.max');
    stats.pids = { current: num(pidsCurrent), limit: max === undefined || max.trim() === 'max' ? 0 : num(max) };
  }
  if (v2) {
    const cpu = keyed(read('cpu', 'cpu.stat') ?? '');
    stats.cpu = {
      usage: { total: (cpu.usage_usec ?? 0) * 1000, user: (cpu.user_usec ?? 0) * 1000, kernel: (cpu.system_usec ?? 0) * 1000 },
      throttling: { periods: cpu.nr_periods ?? 0, throttledPeriods: cpu.nr_throttled ?? 0, throttledTime: (cpu.throttled_usec ?? 0) * 1000 },
    };
    const current = read('memory', 'memory.current');
    if (current !== undefined) {
      const usage = num(current);
      const limit = num(read('memory', 'memory.max') ?? 'max');
      const swap = num(read('memory', 'memory.swap.current') ?? '0');
      const swapMax = num(read('memory', 'memory.swap.max') ?? 'max');
      // runc's fs2 reports swap as memory+swap (v1's memsw); metricsAny takes that form apart again.
      stats.memory = { usage: { usage, limit, max: num(read('memory', 'memory.peak') ?? '0') }, swap: { usage: usage + swap, limit: swapMax >= 2 ** 64 ? swapMax : limit + swapMax }, raw: keyed(read('memory', 'memory.stat') ?? '') };
    }
    return stats;
  }
  const total = read('cpuacct', 'cpuacct.usage');
  if (total !== undefined) {
    // cpuacct.stat counts USER_HZ ticks (100 a second on Linux); runc turns them into ns as here.
    const ticks = keyed(read('cpuacct', 'cpuacct.stat') ?? '');
    const thr = keyed(read('cpu', 'cpu.stat') ?? '');
    stats.cpu = {
      usage: { total: num(total), percpu: (read('cpuacct', 'cpuacct.usage_percpu') ?? '').trim().split(/\s+/).filter(Boolean).map(Number), user: (ticks.user ?? 0) * 1e7, kernel: (ticks.system ?? 0) * 1e7 },
      throttling: { periods: thr.nr_periods ?? 0, throttledPeriods: thr.nr_throttled ?? 0, throttledTime: thr.throttled_time ?? 0 },
    };
  }
  const entry = (prefix: string) => {
    const usage = read('memory', `${prefix}.usage_in_bytes`);
    if (usage === undefined) return undefined;
    return { usage: num(usage), limit: num(read('memory', `${prefix}.limit_in_bytes`) ?? '0'), max: num(read('memory', `${prefix}.max_usage_in_bytes`) ?? '0'), failcnt: num(read('memory', `${prefix}.failcnt`) ?? '0') };
  };
  const usage = entry('memory');
  if (usage) {
    const raw = keyed(read('memory', 'memory.stat') ?? '');
    stats.memory = { usage, swap: entry('memory.memsw'), kernel: entry('memory.kmem'), kernelTCP: entry('memory.kmem.tcp'), raw, cache: raw.cache };
  }
  return stats;
}
