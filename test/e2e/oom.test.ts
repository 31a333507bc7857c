/** TaskOOM when a container's memory cgroup hits its limit (cgroup v1 eventfd here, v2 memory.events elsewhere). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'oom' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

test('a container limited to 16 MiB that allocates 64 MiB gets /tasks/oom before its exit, and only one', async () => {
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  await new Promise((r) => setTimeout(r, 300));
  const r = await ctd.ctr([
    'run', ...runtimeArgs(), '--memory-limit', String(16 << 20), '--rm', '--rootfs', rootfs, 'oom1',
    '/bin/sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1; echo survived',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'survived\n', 'dd was OOM-killed, the shell went on');
  assert.match(r.stderr, /Killed/);
  for (let i = 0; i < 30 && !text.includes('/tasks/delete'); i++) await new Promise((res) => setTimeout(res, 100));
  events.kill();
  const topics = text.split('\n').filter((l) => l.includes('"oom1"') && l.includes('/tasks/')).map((l) => /\/tasks\/[a-z-]+/.exec(l)![0]);
  assert.deepEqual(topics.filter((t) => t === '/tasks/oom'), ['/tasks/oom'], topics.join(' '));
  assert.ok(topics.indexOf('/tasks/oom') < topics.indexOf('/tasks/exit'), topics.join(' '));
});

test('a container that stays within its limit gets no /tasks/oom, also not when its cgroup is removed', async () => {
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  await new Promise((r) => setTimeout(r, 300));
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--memory-limit', String(64 << 20), '--rm', '--rootfs', rootfs, 'oom2', '/bin/true']);
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
