/** Runtime options as containerd sends them: runc Options from ctr's flags, our TOML via --runtime-config-path. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks, snapshotLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId } from '../helpers/tasks';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [CFG1, CFG2, NP1, CG1] = ['cfg1', 'cfg2', 'np1', 'cg1'].map(uniqueId);

let ctd: Containerd;
let rootfs: string;
let wrapper: string;
let calls: string;
before(async () => {
  ctd = await startContainerd({ name: 'options' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  calls = path.join(ctd.dir, 'runc-calls');
  wrapper = path.join(ctd.dir, 'runc-wrapper');
  // A runc that records how it was called, then is runc.
  writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> ${calls}\nexec runc "$@"\n`);
  chmodSync(wrapper, 0o755);
});
after(async () => ctd?.stop());

test('--runtime-config-path: our TOML config chooses the runc binary (and the root) the shim uses', async () => {
  const config = path.join(ctd.dir, 'rx.toml');
  const root = path.join(ctd.dir, 'runc-root');
  writeFileSync(config, `[runc]\nbinary_name = "${wrapper}"\nroot = "${root}"\n`);
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '--rm', '--rootfs', rootfs, CFG1, '/bin/echo', 'configured']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'configured\n');
  const log = readFileSync(calls, 'utf8');
  assert.match(log, new RegExp(`--root ${root}/default .*create --bundle \\S+ --pid-file \\S+ ${CFG1}`));
  assert.match(log, new RegExp(`start ${CFG1}`));
  assert.match(log, new RegExp(`delete --force ${CFG1}`));
});

test('a config with keys the shim does not read: the task runs, and its serving process warns of each key once, naming the file', async () => {
  const config = path.join(ctd.dir, 'extra.toml');
  writeFileSync(config, 'PodAnnotations = ["a"]\nSandboxer = "podsandbox"\n[runc]\nsystemd_cgroup = false\n');
  const from = ctd.log().length;
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '--rm', '--rootfs', rootfs, 'cfg-extra', '/bin/true']);
  assert.equal(r.code, 0, r.stderr);
  const warned = ctd
    .log()
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('config key ignored'))
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    warned.map((w) => [w.level, w.key, w.source]),
    [[40, 'PodAnnotations', config], [40, 'Sandboxer', config]],
  );
});

test('a config with a bad value fails the task with a message naming the key and what was expected', async () => {
  const config = path.join(ctd.dir, 'bad.toml');
  writeFileSync(config, 'grouping = "everything"\n');
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '--rm', '--rootfs', rootfs, CFG2, '/bin/true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /grouping = "everything": expected "pod" or "namespace"/);
  await ctd.ctr(['container', 'delete', CFG2]);
});

test('--no-pivot (ctr sends the legacy containerd.linux.runc.CreateOptions) becomes runc create --no-pivot', async () => {
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--no-pivot', '-d', '--rootfs', rootfs, NP1, '/bin/sleep', '60']);
  assert.equal(r.code, 0, r.stderr);
  // The options the shim created the container with (also what `delete` reads back).
  const opts = JSON.parse(readFileSync(path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', NP1, 'options.json'), 'utf8'));
  assert.equal(opts.no_pivot_root, true);
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', NP1]);
  await new Promise((res) => setTimeout(res, 300));
  await ctd.ctr(['task', 'delete', NP1]);
  await ctd.ctr(['container', 'delete', NP1]);
});

test('shim_cgroup in our config puts the serving process in that cgroup', async () => {
  const name = `rx-shim-test-${process.pid}`;
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dirs = v2 ? [`/sys/fs/cgroup/${name}`] : ['memory', 'pids'].map((h) => `/sys/fs/cgroup/${h}/${name}`);
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  try {
    const config = path.join(ctd.dir, 'cg.toml');
    writeFileSync(config, `[runc]\nshim_cgroup = "/${name}"\n`);
    const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '-d', '--rootfs', rootfs, CG1, '/bin/sleep', '60']);
    assert.equal(r.code, 0, r.stderr);
    const [shim] = snapshotLeaks(ctd.dir).shims;
    assert.ok(shim, 'a serving process');
    assert.match(readFileSync(`/proc/${shim}/cgroup`, 'utf8'), new RegExp(`:/${name}$`, 'm'));
    await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', CG1]);
    await new Promise((res) => setTimeout(res, 500));
    await ctd.ctr(['task', 'delete', CG1]);
    await ctd.ctr(['container', 'delete', CG1]);
    await settleLeaks([ctd.dir]);
  } finally {
    dirs.forEach((d) => rmdirSync(d));
  }
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
