import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from '../../../src/proto';
import { cgroupfsPath, cgroupStats, hierarchies, holderCgroup, makeCgroup, podCgroupsPath, removeCgroup } from '../../../src/sandbox/cgroup';
import { holderCommand, startHolder } from '../../../src/sandbox/holder';
import { metricsAny } from '../../../src/runc/metrics';

const HYBRID = [
  '25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
  '27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd',
  '28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
  '29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '30 24 0:27 / /proc rw - proc proc rw',
].join('\n');

test('hierarchies: v1 controller mounts only (no name=systemd, no hybrid unified); on v2 the one unified mount', () => {
  assert.deepEqual(hierarchies(HYBRID), [
    { dir: '/sys/fs/cgroup/cpu,cpuacct', v2: false, controllers: ['cpu', 'cpuacct'] },
    { dir: '/sys/fs/cgroup/memory', v2: false, controllers: ['memory'] },
  ]);
  assert.deepEqual(hierarchies('35 24 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate'), [{ dir: '/sys/fs/cgroup', v2: true, controllers: [] }]);
});

test('the holder\'s cgroup is the pause container\'s: <parent>/<id>; none under a systemd slice, whose path is runc\'s systemd form', () => {
  assert.equal(podCgroupsPath('/kubepods/besteffort/pod1', 'sb1'), '/kubepods/besteffort/pod1/sb1');
  assert.equal(holderCgroup('/kubepods/besteffort/pod1', 'sb1'), '/kubepods/besteffort/pod1/sb1');
  assert.equal(podCgroupsPath('kubepods-besteffort-pod1.slice', 'sb1'), 'kubepods-besteffort-pod1.slice:cri-containerd:sb1');
  assert.equal(holderCgroup('kubepods-besteffort-pod1.slice', 'sb1'), undefined);
  assert.equal(holderCgroup('', 'sb1'), undefined);
  assert.equal(cgroupfsPath('kubepods-besteffort-pod1.slice'), '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice');
  assert.equal(cgroupfsPath('/kubepods/pod1'), '/kubepods/pod1');
});

/** A fake v1 host: a cpuset and a memory hierarchy in a temp dir. */
function fakeV1() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rx-cg-'));
  const hs = [
    { dir: path.join(root, 'cpuset'), v2: false, controllers: ['cpuset'] },
    { dir: path.join(root, 'memory'), v2: false, controllers: ['memory'] },
  ];
  for (const h of hs) mkdirSync(h.dir);
  writeFileSync(path.join(root, 'cpuset/cpuset.cpus'), '0-1\n');
  writeFileSync(path.join(root, 'cpuset/cpuset.mems'), '0\n');
  return { root, hs };
}

test('makeCgroup makes every level in each hierarchy, a new cpuset level with its parent\'s cpus and mems; removeCgroup takes the leaf only', async () => {
  const { root, hs } = fakeV1();
  try {
    const procs = makeCgroup(hs, '/kubepods/pod1/sb1');
    assert.deepEqual(procs, [path.join(root, 'cpuset/kubepods/pod1/sb1/cgroup.procs'), path.join(root, 'memory/kubepods/pod1/sb1/cgroup.procs')]);
    assert.equal(readFileSync(path.join(root, 'cpuset/kubepods/pod1/sb1/cpuset.cpus'), 'utf8'), '0-1\n');
    assert.equal(readFileSync(path.join(root, 'cpuset/kubepods/cpuset.mems'), 'utf8'), '0\n');
    assert.equal(existsSync(path.join(root, 'memory/kubepods/cpuset.cpus')), false, 'cpuset files only in cpuset');
    // (a real cgroup dir is removable with its control files in it; a temp dir only when empty)
    for (const f of ['cpuset.cpus', 'cpuset.mems']) rmSync(path.join(root, 'cpuset/kubepods/pod1/sb1', f));
    await removeCgroup(hs, '/kubepods/pod1/sb1');
    assert.equal(existsSync(path.join(root, 'memory/kubepods/pod1/sb1')), false);
    assert.equal(existsSync(path.join(root, 'memory/kubepods/pod1')), true, 'the parent is the kubelet\'s');
    await removeCgroup(hs, '/kubepods/pod1/sb1'); // gone already: fine
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cgroupStats (v1) reads memory, cpuacct and pids as runc does; metricsAny packs usage and total_inactive_file for CRI', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rx-cg-'));
  try {
    const hs = ['memory', 'cpuacct', 'pids'].map((c) => ({ dir: path.join(root, c), v2: false, controllers: [c] }));
    const put = (c: string, f: string, v: string) => {
      mkdirSync(path.join(root, c, 'pod1'), { recursive: true });
      writeFileSync(path.join(root, c, 'pod1', f), v);
    };
    put('memory', 'memory.usage_in_bytes', '1048576\n');
    put('memory', 'memory.limit_in_bytes', '9223372036854771712\n');
    put('memory', 'memory.max_usage_in_bytes', '2097152\n');
    put('memory', 'memory.failcnt', '0\n');
    put('memory', 'memory.stat', 'cache 4096\ntotal_inactive_file 8192\ntotal_rss 12288\n');
    put('cpuacct', 'cpuacct.usage', '5000000\n');
    put('cpuacct', 'cpuacct.usage_percpu', '3000000 2000000 \n');
    put('cpuacct', 'cpuacct.stat', 'user 2\nsystem 1\n');
    put('pids', 'pids.current', '3\n');
    put('pids', 'pids.max', 'max\n');
    const stats = cgroupStats(hs, '/pod1');
    assert.deepEqual(stats.pids, { current: 3, limit: 0 });
    assert.deepEqual(stats.cpu?.usage, { total: 5000000, percpu: [3000000, 2000000], user: 2e7, kernel: 1e7 });
    const m = decode('io.containerd.cgroups.v1.Metrics', metricsAny(stats, false).value) as any;
    assert.equal(Number(m.memory.usage.usage), 1048576);
    assert.equal(Number(m.memory.usage.max), 2097152);
    assert.equal(Number(m.memory.total_inactive_file), 8192);
    assert.equal(Number(m.memory.cache), 4096);
    assert.equal(Number(m.pids.current), 3);
    assert.equal(Number(m.cpu.usage.total), 5000000);
    assert.deepEqual(cgroupStats(hs, '/nonexistent'), {}, 'nothing readable: nothing reported');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cgroupStats (v2) reads memory.current/max/stat, cpu.stat in µs and pids', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rx-cg-'));
  try {
    const hs = [{ dir: root, v2: true, controllers: [] }];
    mkdirSync(path.join(root, 'pod1'));
    const put = (f: string, v: string) => writeFileSync(path.join(root, 'pod1', f), v);
    put('memory.current', '4096\n');
    put('memory.max', 'max\n');
    put('memory.stat', 'anon 1024\ninactive_file 2048\n');
    put('memory.swap.current', '0\n');
    put('memory.swap.max', 'max\n');
    put('cpu.stat', 'usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n');
    put('pids.current', '2\n');
    put('pids.max', '100\n');
    const m = decode('io.containerd.cgroups.v2.Metrics', metricsAny(cgroupStats(hs, '/pod1'), true).value) as any;
    assert.equal(Number(m.memory.usage), 4096);
    assert.equal(Number(m.memory.inactive_file), 2048);
    assert.equal(Number(m.memory.swap_usage), 0);
    assert.equal(Number(m.cpu.usage_usec), 7);
    assert.equal(Number(m.cpu.system_usec), 2);
    assert.deepEqual([Number(m.pids.current), Number(m.pids.limit)], [2, 100]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const cgroupOf = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, 'utf8');
const realV1 = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/memory/cgroup.procs');

test('a real holder given the cgroup.procs files starts inside that cgroup, unshare and pid 1 alike; the cgroup goes once it has exited', { skip: realV1 ? false : 'root on a cgroup v1 host only' }, async () => {
  const hs = hierarchies();
  const rel = `/rx-unit-${process.pid}/sb1`;
  const procs = makeCgroup(hs, rel);
  try {
    const h = await startHolder(holderCommand({ hostname: '', ownNetwork: false, ownPid: true, ownIpc: false, cgroupParent: `/rx-unit-${process.pid}` }, '', procs));
    assert.match(cgroupOf(h.pid), new RegExp(`:memory:${rel}\\n`));
    assert.match(cgroupOf(h.pid), new RegExp(`:pids:${rel}\\n`));
    const members = readFileSync(path.join('/sys/fs/cgroup/memory', rel, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
    assert.ok(members.includes(h.pid) && members.length >= 2, `unshare and pid 1 in the cgroup: ${members}`);
    h.kill('SIGTERM');
    await h.exited;
    await removeCgroup(hs, rel);
    assert.equal(existsSync(path.join('/sys/fs/cgroup/memory', rel)), false);
  } finally {
    await removeCgroup(hs, rel).catch(() => {});
    await removeCgroup(hs, `/rx-unit-${process.pid}`).catch(() => {});
  }
});

test('a holder whose cgroup cannot be joined fails before it is ready, naming the file', async () => {
  await assert.rejects(
    startHolder(holderCommand({ hostname: '', ownNetwork: false, ownPid: true, ownIpc: false, cgroupParent: '/x' }, '', ['/nonexistent/rx/cgroup.procs'])),
    /status 1.*nonexistent\/rx\/cgroup\.procs/s,
  );
});
