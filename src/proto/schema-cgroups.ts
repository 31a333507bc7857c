/**
 * github.com/containerd/cgroups/v3 cgroup1/stats/metrics.proto (package io.containerd.cgroups.v1)
 * and cgroup2/stats/metrics.proto (io.containerd.cgroups.v2): the fields runc's stats can fill.
 */
import type { INamespace } from 'protobufjs';
import { msg, s, u64 } from './fields';

const blk = (id: number) => ({ type: 'BlkIOEntry', id, rule: 'repeated' as const });

/** The io.containerd.cgroups namespace: v1 and v2 Metrics. */
export function cgroupsMetrics(): INamespace {
  return {
    nested: {
      v1: {
        nested: {
          Metrics: msg({
            hugetlb: { type: 'HugetlbStat', id: 1, rule: 'repeated' }, pids: { type: 'PidsStat', id: 2 },
            cpu: { type: 'CPUStat', id: 3 }, memory: { type: 'MemoryStat', id: 4 }, blkio: { type: 'BlkIOStat', id: 5 },
          }),
          HugetlbStat: msg({ usage: u64(1), max: u64(2), failcnt: u64(3), pagesize: s(4) }),
          PidsStat: msg({ current: u64(1), limit: u64(2) }),
          CPUStat: msg({ usage: { type: 'CPUUsage', id: 1 }, throttling: { type: 'Throttle', id: 2 } }),
          CPUUsage: msg({ total: u64(1), kernel: u64(2), user: u64(3), per_cpu: { type: 'uint64', id: 4, rule: 'repeated' } }),
          Throttle: msg({ periods: u64(1), throttled_periods: u64(2), throttled_time: u64(3) }),
          MemoryStat: msg({
            cache: u64(1), rss: u64(2), rss_huge: u64(3), mapped_file: u64(4), dirty: u64(5), writeback: u64(6),
            pg_pg_in: u64(7), pg_pg_out: u64(8), pg_fault: u64(9), pg_maj_fault: u64(10),
            inactive_anon: u64(11), active_anon: u64(12), inactive_file: u64(13), active_file: u64(14), unevictable: u64(15),
            hierarchical_memory_limit: u64(16), hierarchical_swap_limit: u64(17),
            total_cache: u64(18), total_rss: u64(19), total_rss_huge: u64(20), total_mapped_file: u64(21), total_dirty: u64(22),
            total_writeback: u64(23), total_pg_pg_in: u64(24), total_pg_pg_out: u64(25), total_pg_fault: u64(26),
            total_pg_maj_fault: u64(27), total_inactive_anon: u64(28), total_active_anon: u64(29), total_inactive_file: u64(30),
            total_active_file: u64(31), total_unevictable: u64(32),
            usage: { type: 'MemoryEntry', id: 33 }, swap: { type: 'MemoryEntry', id: 34 }, kernel: { type: 'MemoryEntry', id: 35 },
            kernel_tcp: { type: 'MemoryEntry', id: 36 },
          }),
          MemoryEntry: msg({ limit: u64(1), usage: u64(2), max: u64(3), failcnt: u64(4) }),
          BlkIOStat: msg({
            io_service_bytes_recursive: blk(1), io_serviced_recursive: blk(2), io_queued_recursive: blk(3),
            io_service_time_recursive: blk(4), io_wait_time_recursive: blk(5), io_merged_recursive: blk(6),
            io_time_recursive: blk(7), sectors_recursive: blk(8),
          }),
          BlkIOEntry: msg({ op: s(1), device: s(2), major: u64(3), minor: u64(4), value: u64(5) }),
        },
      },
      v2: {
        nested: {
          Metrics: msg({
            pids: { type: 'PidsStat', id: 1 }, cpu: { type: 'CPUStat', id: 2 }, memory: { type: 'MemoryStat', id: 4 },
            io: { type: 'IOStat', id: 6 }, hugetlb: { type: 'HugeTlbStat', id: 7, rule: 'repeated' },
          }),
          PidsStat: msg({ current: u64(1), limit: u64(2) }),
          CPUStat: msg({ usage_usec: u64(1), user_usec: u64(2), system_usec: u64(3), nr_periods: u64(4), nr_throttled: u64(5), throttled_usec: u64(6) }),
          MemoryStat: msg({
            anon: u64(1), file: u64(2), kernel_stack: u64(3), slab: u64(4), sock: u64(5), shmem: u64(6),
            file_mapped: u64(7), file_dirty: u64(8), file_writeback: u64(9), anon_thp: u64(10),
            inactive_anon: u64(11), active_anon: u64(12), inactive_file: u64(13), active_file: u64(14), unevictable: u64(15),
            slab_reclaimable: u64(16), slab_unreclaimable: u64(17), pgfault: u64(18), pgmajfault: u64(19),
            workingset_refault: u64(20), workingset_activate: u64(21), workingset_nodereclaim: u64(22),
            pgrefill: u64(23), pgscan: u64(24), pgsteal: u64(25), pgactivate: u64(26), pgdeactivate: u64(27),
            pglazyfree: u64(28), pglazyfreed: u64(29), thp_fault_alloc: u64(30), thp_collapse_alloc: u64(31),
            usage: u64(32), usage_limit: u64(33), swap_usage: u64(34), swap_limit: u64(35), max_usage: u64(36), swap_max_usage: u64(37),
          }),
          IOStat: msg({ usage: { type: 'IOEntry', id: 1, rule: 'repeated' } }),
          IOEntry: msg({ major: u64(1), minor: u64(2), rbytes: u64(3), wbytes: u64(4), rios: u64(5), wios: u64(6) }),
          HugeTlbStat: msg({ current: u64(1), max: u64(2), pagesize: s(3), failcnt: u64(4) }),
        },
      },
    },
  };
}
