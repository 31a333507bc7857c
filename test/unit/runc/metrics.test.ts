import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../../src/proto';
import { blockDevices, metricsAny, type RuncStats } from '../../../src/runc/metrics';

const sample = {
  cpu: { usage: { total: 7266690, percpu: [5282511, 1984179], kernel: 10, user: 20 }, throttling: { periods: 3, throttledPeriods: 1, throttledTime: 5000 } },
  memory: { usage: { limit: 67108864, usage: 811008, max: 2510848, failcnt: 2 }, raw: { cache: 4096, rss: 53248, pgfault: 736, total_rss: 53248 } },
  pids: { current: 3, limit: 0 },
};

/**
 * `runc events --stats` (runc 1.1.5, cgroup v1) of a busybox container that wrote 8 MiB to a file
 * and read it back, on this machine; cpuset dropped. memory.raw is its memory.stat, every key.
 */
const realV1: RuncStats = {"cpu": {"usage": {"total": 21121364, "percpu": [20720113, 401251], "kernel": 10000000, "user": 0}, "throttling": {}}, "memory": {"cache": 8392704, "usage": {"limit": 67108864, "usage": 8925184, "max": 10674176, "failcnt": 0}, "swap": {"limit": 9223372036854771712, "usage": 8925184, "max": 10674176, "failcnt": 0}, "kernel": {"limit": 9223372036854771712, "usage": 479232, "max": 761856, "failcnt": 0}, "kernelTCP": {"limit": 9223372036854771712, "failcnt": 0}, "raw": {"active_anon": 4096, "active_file": 8392704, "cache": 8392704, "dirty": 0, "hierarchical_memory_limit": 67108864, "hierarchical_memsw_limit": 9223372036854771712, "inactive_anon": 49152, "inactive_file": 0, "mapped_file": 0, "pgfault": 1288, "pgmajfault": 0, "pgpgin": 851, "pgpgout": 829, "rss": 53248, "rss_huge": 0, "shmem": 0, "swap": 0, "swapcached": 0, "total_active_anon": 4096, "total_active_file": 8392704, "total_cache": 8392704, "total_dirty": 0, "total_inactive_anon": 49152, "total_inactive_file": 0, "total_mapped_file": 0, "total_pgfault": 1288, "total_pgmajfault": 0, "total_pgpgin": 851, "total_pgpgout": 829, "total_rss": 53248, "total_rss_huge": 0, "total_shmem": 0, "total_swap": 0, "total_swapcached": 0, "total_unevictable": 0, "total_workingset_refault_anon": 0, "total_workingset_refault_file": 0, "total_writeback": 0, "unevictable": 0, "workingset_refault_anon": 0, "workingset_refault_file": 0, "writeback": 0}}, "pids": {"current": 1, "limit": 100}, "blkio": {}, "hugetlb": {}};

/**
 * This VM accounts no block IO and mounts no hugetlb cgroup, so runc gives `"blkio": {}` and
 * `"hugetlb": {}` above; these entries are in runc's JSON shape (go-runc events.go Blkio,
 * BlkioEntry, Hugetlb: omitempty drops zero fields), as a host with a disk in use gives them.
 */
const blkio = {
  ioServiceBytesRecursive: [
    { major: 254, op: 'Read', value: 1048576 }, { major: 254, op: 'Write', value: 9437184 },
    { major: 254, op: 'Sync', value: 1048576 }, { major: 254, op: 'Async', value: 9437184 }, { major: 254, op: 'Total', value: 10485760 },
  ],
  ioServicedRecursive: [{ major: 254, op: 'Read', value: 16 }, { major: 254, op: 'Write', value: 80 }, { major: 8, minor: 16, op: 'Read', value: 3 }],
  ioQueueRecursive: [{ major: 254, op: 'Read' }],
  sectorsRecursive: [{ major: 254, value: 20480 }],
};
const hugetlb = { '1GB': { failcnt: 0 }, '2MB': { usage: 4194304, max: 6291456, failcnt: 1 } };

test('runc\'s stats become io.containerd.cgroups.v1.Metrics with the fields ctr reads', () => {
  const any = metricsAny(sample, false);
  assert.equal(any.type_url, 'io.containerd.cgroups.v1.Metrics');
  const m = decode(any.type_url, any.value);
  assert.equal(m.pids.current, 3);
  assert.equal(m.cpu.usage.total, 7266690);
  assert.deepEqual(m.cpu.usage.per_cpu, [5282511, 1984179]);
  assert.equal(m.cpu.throttling.throttled_time, 5000);
  assert.deepEqual(m.memory.usage, { limit: 67108864, usage: 811008, max: 2510848, failcnt: 2 });
  assert.equal(m.memory.rss, 53248);
  assert.equal(m.memory.pg_fault, 736);
});

test('v1 memory carries every memory.stat field runc copies, total_inactive_file and the other total_* included (CRI\'s working set)', () => {
  const stats: RuncStats = { ...realV1, memory: { ...realV1.memory, raw: { ...realV1.memory!.raw, total_inactive_file: 4096, inactive_file: 4096 } } };
  const m = decode('io.containerd.cgroups.v1.Metrics', metricsAny(stats, false).value).memory;
  assert.equal(m.total_inactive_file, 4096);
  assert.equal(m.inactive_file, 4096);
  assert.equal(m.total_active_file, 8392704);
  assert.equal(m.total_cache, 8392704);
  assert.equal(m.total_rss, 53248);
  assert.equal(m.total_inactive_anon, 49152);
  assert.equal(m.total_active_anon, 4096);
  assert.equal(m.total_pg_pg_in, 851);
  assert.equal(m.total_pg_pg_out, 829);
  assert.equal(m.total_pg_fault, 1288);
  assert.equal(m.total_pg_maj_fault, 0);
  assert.equal(m.pg_pg_in, 851);
  assert.equal(m.hierarchical_memory_limit, 67108864);
  assert.equal(m.hierarchical_swap_limit, 9223372036854771712);
  assert.deepEqual(m.kernel, { limit: 9223372036854771712, usage: 479232, max: 761856, failcnt: 0 });
  assert.deepEqual(m.kernel_tcp, { limit: 9223372036854771712, usage: 0, max: 0, failcnt: 0 });
  // What CRI computes (containerd internal/cri server container_stats_list.go): usage - total_inactive_file.
  assert.equal(m.usage.usage - m.total_inactive_file, 8925184 - 4096);
});

test('v1 blkio keeps runc\'s entries per table (major, minor, op, value) with the device /proc/partitions names', () => {
  const devices = blockDevices('major minor  #blocks  name\n\n 254        0  268435456 vda\n   8       16   1000000 sdb\n');
  assert.deepEqual([...devices], [['254:0', '/dev/vda'], ['8:16', '/dev/sdb']]);
  const m = decode('io.containerd.cgroups.v1.Metrics', metricsAny({ ...realV1, blkio }, false, devices).value);
  assert.deepEqual(m.blkio.io_service_bytes_recursive.map((e: any) => [e.device, e.major, e.minor, e.op, e.value]), [
    ['/dev/vda', 254, 0, 'Read', 1048576], ['/dev/vda', 254, 0, 'Write', 9437184], ['/dev/vda', 254, 0, 'Sync', 1048576],
    ['/dev/vda', 254, 0, 'Async', 9437184], ['/dev/vda', 254, 0, 'Total', 10485760],
  ]);
  assert.deepEqual(m.blkio.io_serviced_recursive.map((e: any) => [e.device, e.op, e.value]), [['/dev/vda', 'Read', 16], ['/dev/vda', 'Write', 80], ['/dev/sdb', 'Read', 3]]);
  assert.deepEqual(m.blkio.io_queued_recursive, [{ op: 'Read', device: '/dev/vda', major: 254, minor: 0, value: 0 }]);
  assert.deepEqual(m.blkio.sectors_recursive, [{ op: '', device: '/dev/vda', major: 254, minor: 0, value: 20480 }]);
  assert.deepEqual(m.blkio.io_time_recursive, []);
});

test('v1 hugetlb is one HugetlbStat per page size: usage, max, failcnt, pagesize', () => {
  const m = decode('io.containerd.cgroups.v1.Metrics', metricsAny({ ...realV1, hugetlb }, false).value);
  assert.deepEqual(m.hugetlb, [
    { usage: 0, max: 0, failcnt: 0, pagesize: '1GB' },
    { usage: 4194304, max: 6291456, failcnt: 1, pagesize: '2MB' },
  ]);
  assert.deepEqual(decode('io.containerd.cgroups.v1.Metrics', metricsAny(realV1, false).value).hugetlb, []);
});

test('on cgroup v2 they become io.containerd.cgroups.v2.Metrics, cpu in microseconds', () => {
  const any = metricsAny(sample, true);
  assert.equal(any.type_url, 'io.containerd.cgroups.v2.Metrics');
  const m = decode(any.type_url, any.value);
  assert.equal(m.cpu.usage_usec, 7266);
  assert.equal(m.memory.usage, 811008);
  assert.equal(m.memory.usage_limit, 67108864);
  assert.equal(m.pids.current, 3);
});

/** runc's shape on cgroup v2 (fs2/memory.go: raw is memory.stat; swap is memory+swap; no kernel entries). */
const v2: RuncStats = {
  cpu: { usage: { total: 50000000, kernel: 20000000, user: 30000000 }, throttling: {} },
  memory: {
    cache: 8388608,
    usage: { limit: 67108864, usage: 9437184, failcnt: 0 },
    swap: { limit: 67108864 + 33554432, usage: 9437184 + 4096, failcnt: 0 },
    raw: {
      anon: 1048576, file: 8388608, kernel_stack: 16384, slab: 90000, sock: 0, shmem: 0, file_mapped: 0, file_dirty: 4096, file_writeback: 0,
      anon_thp: 0, inactive_anon: 1044480, active_anon: 4096, inactive_file: 8384512, active_file: 4096, unevictable: 0,
      slab_reclaimable: 60000, slab_unreclaimable: 30000, pgfault: 1500, pgmajfault: 2, workingset_refault: 5, workingset_activate: 6,
      workingset_nodereclaim: 7, pgrefill: 8, pgscan: 9, pgsteal: 10, pgactivate: 11, pgdeactivate: 12, pglazyfree: 13, pglazyfreed: 14,
      thp_fault_alloc: 15, thp_collapse_alloc: 16, workingset_refault_file: 99,
    },
  },
  pids: { current: 2, limit: 100 },
  blkio: {
    ioServiceBytesRecursive: [{ major: 254, op: 'Read', value: 1048576 }, { major: 254, op: 'Write', value: 9437184 }, { major: 8, minor: 16, op: 'Write', value: 512 }],
    ioServicedRecursive: [{ major: 254, op: 'Read', value: 16 }, { major: 254, op: 'Write', value: 80 }, { major: 8, minor: 16, op: 'Write', value: 1 }],
  },
  hugetlb: { '2MB': { usage: 2097152, failcnt: 3 } },
};

test('v2 memory carries inactive_file and the rest of memory.stat under containerd\'s names, swap without memory', () => {
  const m = decode('io.containerd.cgroups.v2.Metrics', metricsAny(v2, true).value).memory;
  for (const [k, v] of Object.entries(v2.memory!.raw!)) if (k !== 'workingset_refault_file') assert.equal(m[k], v, k);
  assert.equal(m.inactive_file, 8384512);
  assert.equal(m.usage, 9437184);
  assert.equal(m.usage_limit, 67108864);
  assert.equal(m.swap_usage, 4096);
  assert.equal(m.swap_limit, 33554432);
  // CRI's working set on v2: usage - inactive_file.
  assert.equal(m.usage - m.inactive_file, 9437184 - 8384512);
});

test('v2 swap limit "max" stays unlimited (2^64-1), not wrapped to 0', () => {
  const stats: RuncStats = { ...v2, memory: { ...v2.memory, swap: { limit: 18446744073709551615, usage: 9437184 } } };
  const m = decode('io.containerd.cgroups.v2.Metrics', metricsAny(stats, true).value).memory;
  assert.equal(m.swap_limit, 2 ** 64);
  assert.equal(m.swap_usage, 0);
});

test('v2 io is one IOEntry per device (rbytes, wbytes, rios, wios) and hugetlb one HugeTlbStat per page size', () => {
  const m = decode('io.containerd.cgroups.v2.Metrics', metricsAny(v2, true).value);
  assert.deepEqual(m.io.usage, [
    { major: 254, minor: 0, rbytes: 1048576, wbytes: 9437184, rios: 16, wios: 80 },
    { major: 8, minor: 16, rbytes: 0, wbytes: 512, rios: 0, wios: 1 },
  ]);
  assert.deepEqual(m.hugetlb, [{ current: 2097152, max: 0, pagesize: '2MB', failcnt: 3 }]);
});
