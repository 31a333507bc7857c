import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../../src/proto';
import { metricsAny } from '../../../src/task/metrics';

const sample = {
  cpu: { usage: { total: 7266690, percpu: [5282511, 1984179], kernel: 10, user: 20 }, throttling: { periods: 3, throttledPeriods: 1, throttledTime: 5000 } },
  memory: { usage: { limit: 67108864, usage: 811008, max: 2510848, failcnt: 2 }, raw: { cache: 4096, rss: 53248, pgfault: 736, total_rss: 53248 } },
  pids: { current: 3, limit: 0 },
};

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

test('on cgroup v2 they become io.containerd.cgroups.v2.Metrics, cpu in microseconds', () => {
  const any = metricsAny(sample, true);
  assert.equal(any.type_url, 'io.containerd.cgroups.v2.Metrics');
  const m = decode(any.type_url, any.value);
  assert.equal(m.cpu.usage_usec, 7266);
  assert.equal(m.memory.usage, 811008);
  assert.equal(m.memory.usage_limit, 67108864);
  assert.equal(m.pids.current, 3);
});
