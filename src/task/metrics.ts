import { packAny, type Any } from '../proto';

/** What `runc events --stats` reports (runc's types.Stats, JSON), as far as we map it. */
export interface RuncStats {
  cpu?: { usage?: { total?: number; percpu?: number[]; kernel?: number; user?: number }; throttling?: { periods?: number; throttledPeriods?: number; throttledTime?: number } };
  memory?: {
    cache?: number;
    usage?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    swap?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    kernel?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    raw?: Record<string, number>;
  };
  pids?: { current?: number; limit?: number };
}

const entry = (e?: { limit?: number; usage?: number; max?: number; failcnt?: number }) =>
  e ? { limit: e.limit ?? 0, usage: e.usage ?? 0, max: e.max ?? 0, failcnt: e.failcnt ?? 0 } : undefined;

/**
 * The Metrics containerd expects in StatsResponse (what `ctr task metrics` decodes):
 * io.containerd.cgroups.v1.Metrics on cgroup v1, io.containerd.cgroups.v2.Metrics on v2.
 */
export function metricsAny(stats: RuncStats, v2: boolean): Any {
  const raw = stats.memory?.raw ?? {};
  const cpu = stats.cpu?.usage ?? {};
  const thr = stats.cpu?.throttling ?? {};
  const pids = { current: stats.pids?.current ?? 0, limit: stats.pids?.limit ?? 0 };
  if (v2) {
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
        anon: raw.anon ?? 0,
        file: raw.file ?? 0,
        usage: stats.memory?.usage?.usage ?? 0,
        usage_limit: stats.memory?.usage?.limit ?? 0,
        swap_usage: stats.memory?.swap?.usage ?? 0,
        swap_limit: stats.memory?.swap?.limit ?? 0,
      },
    });
  }
  return packAny('io.containerd.cgroups.v1.Metrics', {
    pids,
    cpu: {
      usage: { total: cpu.total ?? 0, kernel: cpu.kernel ?? 0, user: cpu.user ?? 0, per_cpu: cpu.percpu ?? [] },
      throttling: { periods: thr.periods ?? 0, throttled_periods: thr.throttledPeriods ?? 0, throttled_time: thr.throttledTime ?? 0 },
    },
    memory: {
      cache: raw.cache ?? stats.memory?.cache ?? 0,
      rss: raw.rss ?? 0,
      rss_huge: raw.rss_huge ?? 0,
      mapped_file: raw.mapped_file ?? 0,
      dirty: raw.dirty ?? 0,
      writeback: raw.writeback ?? 0,
      pg_pg_in: raw.pgpgin ?? 0,
      pg_pg_out: raw.pgpgout ?? 0,
      pg_fault: raw.pgfault ?? 0,
      pg_maj_fault: raw.pgmajfault ?? 0,
      inactive_anon: raw.inactive_anon ?? 0,
      active_anon: raw.active_anon ?? 0,
      inactive_file: raw.inactive_file ?? 0,
      active_file: raw.active_file ?? 0,
      unevictable: raw.unevictable ?? 0,
      hierarchical_memory_limit: raw.hierarchical_memory_limit ?? 0,
      total_cache: raw.total_cache ?? 0,
      total_rss: raw.total_rss ?? 0,
      usage: entry(stats.memory?.usage),
      swap: entry(stats.memory?.swap),
      kernel: entry(stats.memory?.kernel),
    },
  });
}
