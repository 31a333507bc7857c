import { packAny, type Any } from '../proto';

type Entry = { limit?: number; usage?: number; max?: number; failcnt?: number };
type BlkioEntry = { major?: number; minor?: number; op?: string; value?: number };

/**
 * What `runc events --stats` reports: runc's types.Stats as JSON (go-runc events.go: Stats,
 * Memory, Blkio, Hugetlb). `memory.raw` is the cgroup's memory.stat, every key as the kernel
 * names it (runc libcontainer/cgroups fs/memory.go and fs2/memory.go copy the whole file).
 */
export interface RuncStats {
  cpu?: { usage?: { total?: number; percpu?: number[]; kernel?: number; user?: number }; throttling?: { periods?: number; throttledPeriods?: number; throttledTime?: number } };
  memory?: { cache?: number; usage?: Entry; swap?: Entry; kernel?: Entry; kernelTCP?: Entry; raw?: Record<string, number> };
  pids?: { current?: number; limit?: number };
  blkio?: Partial<Record<(typeof blkioTables)[number][0], BlkioEntry[]>>;
  /** Keyed by page size as runc names it ("2MB", "1GB"), the name containerd's cgroups uses too. */
  hugetlb?: Record<string, { usage?: number; max?: number; failcnt?: number }>;
}

const entry = (e?: Entry) => (e ? { limit: e.limit ?? 0, usage: e.usage ?? 0, max: e.max ?? 0, failcnt: e.failcnt ?? 0 } : undefined);

/**
 * runc's Blkio JSON key -> io.containerd.cgroups.v1.BlkIOStat field. The keys are go-runc's json
 * tags (note "ioQueueRecursive"); containerd's cgroup1 blkio.go reads the same eight files.
 */
const blkioTables = [
  ['ioServiceBytesRecursive', 'io_service_bytes_recursive'],
  ['ioServicedRecursive', 'io_serviced_recursive'],
  ['ioQueueRecursive', 'io_queued_recursive'],
  ['ioServiceTimeRecursive', 'io_service_time_recursive'],
  ['ioWaitTimeRecursive', 'io_wait_time_recursive'],
  ['ioMergedRecursive', 'io_merged_recursive'],
  ['ioTimeRecursive', 'io_time_recursive'],
  ['sectorsRecursive', 'sectors_recursive'],
] as const;

/**
 * v1 MemoryStat field -> memory.stat key where the two differ (containerd cgroups v3
 * cgroup1/memory.go parseStats); every other field has its key's name, total_* included.
 */
const v1MemoryKeys: Record<string, string> = {
  pg_pg_in: 'pgpgin', pg_pg_out: 'pgpgout', pg_fault: 'pgfault', pg_maj_fault: 'pgmajfault',
  hierarchical_swap_limit: 'hierarchical_memsw_limit',
  total_pg_pg_in: 'total_pgpgin', total_pg_pg_out: 'total_pgpgout', total_pg_fault: 'total_pgfault', total_pg_maj_fault: 'total_pgmajfault',
};
const v1MemoryFields = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pg_pg_in', 'pg_pg_out', 'pg_fault', 'pg_maj_fault',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'hierarchical_memory_limit', 'hierarchical_swap_limit',
  'total_cache', 'total_rss', 'total_rss_huge', 'total_mapped_file', 'total_dirty', 'total_writeback', 'total_pg_pg_in', 'total_pg_pg_out',
  'total_pg_fault', 'total_pg_maj_fault', 'total_inactive_anon', 'total_active_anon', 'total_inactive_file', 'total_active_file', 'total_unevictable',
];

/** v2 MemoryStat fields read from memory.stat under their own names (cgroups v3 cgroup2/manager.go readMemoryStats). */
const v2MemoryFields = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable',
  'pgfault', 'pgmajfault', 'workingset_refault', 'workingset_activate', 'workingset_nodereclaim', 'pgrefill', 'pgscan', 'pgsteal',
  'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc', 'thp_collapse_alloc',
];

const pick = (raw: Record<string, number>, fields: string[], keys: Record<string, string> = {}) =>
  Object.fromEntries(fields.map((f) => [f, raw[keys[f] ?? f] ?? 0]));

/** 2^64: where a uint64 read as a JS number lands for "max" (18446744073709551615). */
const UNLIMITED = 2 ** 64;

/**
 * The block devices /proc/partitions names, "major:minor" -> /dev/<name>: containerd's cgroup1
 * blkio.go getDevices fills BlkIOEntry.device the same way.
 */
export function blockDevices(partitions: string): Map<string, string> {
  const devices = new Map<string, string>();
  for (const line of partitions.split('\n').slice(2)) {
    const [major, minor, , name] = line.trim().split(/\s+/);
    if (name && !devices.has(`${major}:${minor}`)) devices.set(`${major}:${minor}`, `/dev/${name}`);
  }
  return devices;
}

/**
 * runc's v2 io stats are io.stat folded into v1 tables (runc fs2/io.go statIo: rbytes/wbytes as
 * Read/Write in ioServiceBytesRecursive, rios/wios in ioServicedRecursive); unfold them into one
 * io.containerd.cgroups.v2.IOEntry per device, as cgroups v3 cgroup2/utils.go readIoStats gives.
 */
function ioEntries(blkio: RuncStats['blkio'] = {}) {
  const byDevice = new Map<string, { major: number; minor: number; rbytes: number; wbytes: number; rios: number; wios: number }>();
  const add = (list: BlkioEntry[] | undefined, read: 'rbytes' | 'rios', write: 'wbytes' | 'wios') => {
    for (const e of list ?? []) {
      const op = (e.op ?? '').toLowerCase();
      if (op !== 'read' && op !== 'write') continue;
      const key = `${e.major ?? 0}:${e.minor ?? 0}`;
      let d = byDevice.get(key);
      if (!d) byDevice.set(key, (d = { major: e.major ?? 0, minor: e.minor ?? 0, rbytes: 0, wbytes: 0, rios: 0, wios: 0 }));
      d[op === 'read' ? read : write] += e.value ?? 0;
    }
  };
  add(blkio.ioServiceBytesRecursive, 'rbytes', 'wbytes');
  add(blkio.ioServicedRecursive, 'rios', 'wios');
  return [...byDevice.values()];
}

/**
 * The Metrics containerd expects in StatsResponse (what `ctr task metrics` and CRI decode):
 * io.containerd.cgroups.v1.Metrics on cgroup v1, io.containerd.cgroups.v2.Metrics on v2, the
 * fields the Go shim fills from the cgroup files (containerd-shim-runc-v2 task/service.go Stats)
 * as far as runc reports them. CRI's working set is usage - total_inactive_file (v1) or
 * usage - inactive_file (v2), so those must be there.
 */
export function metricsAny(stats: RuncStats, v2: boolean, devices: Map<string, string> = new Map()): Any {
  const raw = stats.memory?.raw ?? {};
  const cpu = stats.cpu?.usage ?? {};
  const thr = stats.cpu?.throttling ?? {};
  const pids = { current: stats.pids?.current ?? 0, limit: stats.pids?.limit ?? 0 };
  const hugetlb = Object.entries(stats.hugetlb ?? {});
  if (v2) {
    const usage = stats.memory?.usage ?? {};
    const swap = stats.memory?.swap ?? {};
    // runc (fs2/memory.go statMemory, since 1.0) reports swap as memory+swap for v1's sake;
    // containerd's v2 fields are memory.swap.current and memory.swap.max alone.
    const swapUsage = Math.max(0, (swap.usage ?? 0) - (usage.usage ?? 0));
    const swapLimit = (swap.limit ?? 0) >= UNLIMITED ? swap.limit! : Math.max(0, (swap.limit ?? 0) - (usage.limit ?? 0));
    return packAny('io.containerd.cgroups.v2.Metrics', {
      pids,
      cpu: {
        usage_usec: Math.floor((cpu.total ?? 0) / 1000),
        user_usec: Math.floor((cpu.user ?? 0) / 1000),
        system_usec: Math.floor((cpu.kernel ?? 0) / 1000),
        nr_periods: thr.periods ?? 0,
        nr_throttled: thr.throttledPeriods ?? 0,
        throttled_usec: Math.floor((thr.throttledTime ?? 0) / 1000),
      },
      memory: {
        ...pick(raw, v2MemoryFields),
        usage: usage.usage ?? 0,
        usage_limit: usage.limit ?? 0,
        max_usage: usage.max ?? 0,
        swap_usage: swapUsage,
        swap_limit: swapLimit,
      },
      io: { usage: ioEntries(stats.blkio) },
      // runc's v2 hugetlb gives usage (hugetlb.<size>.current) and failcnt (the events file's max).
      hugetlb: hugetlb.map(([pagesize, h]) => ({ current: h.usage ?? 0, max: h.max ?? 0, pagesize, failcnt: h.failcnt ?? 0 })),
    });
  }
  const blkio = (list: BlkioEntry[] | undefined) =>
    (list ?? []).map((e) => ({
      op: e.op ?? '', device: devices.get(`${e.major ?? 0}:${e.minor ?? 0}`) ?? '', major: e.major ?? 0, minor: e.minor ?? 0, value: e.value ?? 0,
    }));
  return packAny('io.containerd.cgroups.v1.Metrics', {
    hugetlb: hugetlb.map(([pagesize, h]) => ({ usage: h.usage ?? 0, max: h.max ?? 0, failcnt: h.failcnt ?? 0, pagesize })),
    pids,
    cpu: {
      usage: { total: cpu.total ?? 0, kernel: cpu.kernel ?? 0, user: cpu.user ?? 0, per_cpu: cpu.percpu ?? [] },
      throttling: { periods: thr.periods ?? 0, throttled_periods: thr.throttledPeriods ?? 0, throttled_time: thr.throttledTime ?? 0 },
    },
    memory: {
      ...pick(raw, v1MemoryFields, v1MemoryKeys),
      cache: raw.cache ?? stats.memory?.cache ?? 0,
      usage: entry(stats.memory?.usage),
      swap: entry(stats.memory?.swap),
      kernel: entry(stats.memory?.kernel),
      kernel_tcp: entry(stats.memory?.kernelTCP),
    },
    blkio: Object.fromEntries(blkioTables.map(([key, field]) => [field, blkio(stats.blkio?.[key])])),
  });
}
