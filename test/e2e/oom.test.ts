/** TaskOOM when a container's memory cgroup hits its limit (cgroup v1 eventfd here, v2 memory.events elsewhere). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId } from '../helpers/tasks';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [OOM1, OOM2] = ['oom1', 'oom2'].map(uniqueId);

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'oom' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

test('a container limited to 16 MiB that allocates 64 MiB gets /tasks/oom, each before its exit', async () => {
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  await new Promise((r) => setTimeout(r, 300));
  const r = await ctd.ctr([
    'run', ...runtimeArgs(), '--memory-limit', String(16 << 20), '--rm', '--rootfs', rootfs, OOM1,
    // The OOM watch is in place from Create on (as the Go shim, v2.3.7 task/service.go Create).
    // The pause keeps this test on OOM -> /tasks/oom before the exit: with dd at once, the shell's
    // exit was seen once (1 of ~5 runs) before the cgroup's notification was read; neither shim
    // orders TaskOOM against TaskExit (CRI sets the reason either way).
    '/bin/sh', '-c', 'sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1; echo survived',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'survived\n', 'dd was OOM-killed, the shell went on');
  assert.match(r.stderr, /Killed/);
  for (let i = 0; i < 30 && !text.includes('/tasks/delete'); i++) await new Promise((res) => setTimeout(res, 100));
  events.kill();
  const topics = text.split('\n').filter((l) => l.includes(`"${OOM1}"`) && l.includes('/tasks/')).map((l) => /\/tasks\/[a-z-]+/.exec(l)![0]);
  // One per OOM notification of the memory cgroup: this kernel may notify twice for one dd (the
  // Go shim then publishes two as well, seen in 1 of 3 runs on 2.3 and on 1.6), so no exact count.
  const ooms = topics.flatMap((t, i) => (t === '/tasks/oom' ? [i] : []));
  console.log(`# /tasks/oom events: ${ooms.length} (${topics.join(' ')})`);
  assert.ok(ooms.length >= 1, topics.join(' '));
  assert.ok(ooms.every((i) => i < topics.indexOf('/tasks/exit')), `every /tasks/oom before /tasks/exit: ${topics.join(' ')}`);
});

test('a container that stays within its limit gets no /tasks/oom, also not when its cgroup is removed', async () => {
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  await new Promise((r) => setTimeout(r, 300));
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--memory-limit', String(64 << 20), '--rm', '--rootfs', rootfs, OOM2, '/bin/true']);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 30 && !text.includes('/tasks/delete'); i++) await new Promise((res) => setTimeout(res, 100));
  await new Promise((res) => setTimeout(res, 300));
  events.kill();
  assert.ok(text.includes('/tasks/delete'));
  assert.ok(!text.includes('/tasks/oom'), text);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
