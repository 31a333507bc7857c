/** Stats and Update through ctr: cgroup metrics containerd can read, new limits applied by runc update. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { shimAddressOf } from '../helpers/bundle';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { isCgroupV2, memoryCgroupV1, cgroupV2 } from '../../src/sys/eventfd';
import { updateTask } from '../helpers/tasks-grpc';
import { dial } from '../../src/ttrpc/client';
import { encode } from '../../src/proto';
import { ShimError } from '../../src/errors';
import { uniqueId } from '../helpers/tasks';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [CTL1] = ['ctl1'].map(uniqueId);

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'control' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  const r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--memory-limit', String(64 << 20), '--rootfs', rootfs, CTL1, '/bin/sh', '-c', 'sleep 600 & sleep 600']);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => ctd?.stop());

const pidOf = async (id: string) => Number((await ctd.ctr(['task', 'ls'])).stdout.toString().match(new RegExp(`^${id}\\s+(\\d+)`, 'm'))![1]);
const memoryLimit = (pid: number) =>
  isCgroupV2()
    ? readFileSync(path.join(cgroupV2(pid)!, 'memory.max'), 'utf8').trim()
    : readFileSync(path.join(memoryCgroupV1(pid)!, 'memory.limit_in_bytes'), 'utf8').trim();

test('ctr task metrics shows memory (with its limit), cpu and pids from the shim\'s Stats', async () => {
  const r = await ctd.ctr(['task', 'metrics', '--format', 'json', CTL1]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout.toString());
  // ctr prints the decoded io.containerd.cgroups.v1 (or v2) Metrics.
  if (isCgroupV2()) {
    assert.equal(m.memory.usage_limit, 64 << 20);
    assert.ok(m.pids.current >= 2);
  } else {
    assert.equal(m.memory.usage.limit, 64 << 20);
    assert.ok(m.memory.usage.usage > 0, 'memory in use');
    assert.ok(m.cpu.usage.total > 0, 'cpu time used');
    assert.ok(m.pids.current >= 2, `sh and a sleep: ${m.pids.current}`);
  }
  // The table ctr 1.6 prints (cmd/ctr/commands/tasks/metrics.go): v1 rows are named after cgroup v1 files.
  const table = (await ctd.ctr(['task', 'metrics', CTL1])).stdout.toString();
  if (isCgroupV2()) {
    assert.match(table, /memory\.usage/);
  } else {
    assert.match(table, new RegExp(`^memory\\.limit_in_bytes\\s+${64 << 20}\\s*$`, 'm'), table);
    assert.match(table, /^cpuacct\.usage\s+[1-9]\d*\s*$/m, table);
    assert.ok(Number(table.match(/^pids\.current\s+(\d+)/m)?.[1]) >= 1, table);
  }
});

/** The container's memory.stat, read from its cgroup directly (the cgroup /proc/<pid>/cgroup names). */
const memoryStat = (pid: number): Record<string, number> => {
  const dir = isCgroupV2() ? cgroupV2(pid)! : memoryCgroupV1(pid)!;
  return Object.fromEntries(readFileSync(path.join(dir, 'memory.stat'), 'utf8').trim().split('\n').map((l) => {
    const [k, v] = l.split(' ');
    return [k, Number(v)];
  }));
};

test('Stats carries the inactive file pages CRI subtracts for the working set, as the cgroup\'s memory.stat has them', async () => {
  // 4 MiB written once sit in the page cache as inactive file pages of the container's cgroup.
  const rootfs2 = busyboxRootfs(path.join(ctd.dir, 'rootfs2'));
  const run = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--memory-limit', String(64 << 20), '--rootfs', rootfs2, 'ctl2', '/bin/sh', '-c',
    'dd if=/dev/zero of=/tmp/written bs=1M count=4 2>/dev/null && touch /tmp/done; exec sleep 600']);
  assert.equal(run.code, 0, run.stderr);
  for (let i = 0; i < 100 && !existsSync(path.join(rootfs2, 'tmp/done')); i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(existsSync(path.join(rootfs2, 'tmp/done')), 'the container wrote its file');
  const key = isCgroupV2() ? 'inactive_file' : 'total_inactive_file';
  const pid = await pidOf('ctl2');
  // The kernel may move pages between its lists at any time: compare a sample taken between two
  // equal reads of memory.stat (a few tries).
  const seen: string[] = [];
  let checked = false;
  for (let i = 0; i < 5 && !checked; i++) {
    const before = memoryStat(pid)[key];
    const r = await ctd.ctr(['task', 'metrics', '--format', 'json', 'ctl2']);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout.toString()).memory;
    const after = memoryStat(pid)[key];
    seen.push(`${before} ${m[key]} ${after}`);
    if (before !== after) continue;
    assert.ok(before >= 1 << 20, `memory.stat ${key} counts the written file: ${before}`);
    assert.equal(m[key], before, `metrics ${key} equals memory.stat's`);
    // The rest of memory.stat comes along, under containerd's names.
    assert.ok(m[isCgroupV2() ? 'file' : 'total_cache'] >= before, JSON.stringify(m));
    checked = true;
  }
  assert.ok(checked, `memory.stat never held still: ${seen.join(', ')}`);
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', 'ctl2']);
  for (let i = 0; i < 50 && !/^ctl2\s+\d+\s+STOPPED/m.test((await ctd.ctr(['task', 'ls'])).stdout.toString()); i++) await new Promise((res) => setTimeout(res, 100));
  await ctd.ctr(['task', 'delete', 'ctl2']);
  await ctd.ctr(['container', 'delete', 'ctl2']);
});

test('Update through containerd (Tasks/Update; ctr 1.6 has no command for it) changes the limit in the container\'s cgroup', async () => {
  const pid = await pidOf(CTL1);
  assert.equal(memoryLimit(pid), String(64 << 20));
  await updateTask(ctd.address, 'default', CTL1, { memory: { limit: 32 << 20 } });
  assert.equal(memoryLimit(pid), String(32 << 20));
  await assert.rejects(updateTask(ctd.address, 'default', CTL1, { memory: { limit: 'lots' } }), /runc update failed/);
});

test('stats and update of a stopped task are refused with its state named', async () => {
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', CTL1]);
  await new Promise((res) => setTimeout(res, 500));
  // containerd swallows a metrics error ("no metrics received"), so ask the shim on its socket.
  const client = await dial(shimAddressOf(path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', CTL1)).socket);
  await assert.rejects(client.call('containerd.task.v2.Task', 'Stats', encode('containerd.task.v2.StatsRequest', { id: CTL1 })), (e: unknown) =>
    e instanceof ShimError && e.kind === 'FailedPrecondition' && new RegExp(`cannot read the stats of init process ${CTL1}: it is stopped`).test(e.message));
  client.close();
  await assert.rejects(updateTask(ctd.address, 'default', CTL1, { memory: { limit: 16 << 20 } }), new RegExp(`cannot update init process ${CTL1}: it is stopped`));
  await ctd.ctr(['task', 'delete', CTL1]);
  await ctd.ctr(['container', 'delete', CTL1]);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
