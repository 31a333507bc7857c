/**
 * `containerd-shim-rx-v2 install` / `uninstall` (the checkout's launcher) on the containerd under
 * test (RX_CONTAINERD): dry run, install, idempotent re-install, containerd's merged config,
 * restart, a container by the runtime name io.containerd.rx.v2, uninstall, nothing left; and the
 * drop-in as CRI reads it: a pod on the installed handler, on a containerd whose main config has
 * CRI settings of its own (on 1.6 the drop-in must carry them, or the pod fails).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { configDump, installCycle, installEnv, tree, type InstallEnv } from '../helpers/install';
import { hostNetworkPod, servingShims, startCriContainerd, type CriContainerd } from '../helpers/cri/containerd-cri';
import { HOST } from '../helpers/host';
import { run } from '../helpers/run';

const launcher = path.resolve(__dirname, '../../../bin/containerd-shim-rx-v2');
let env: InstallEnv | undefined;
let criEnv: CriContainerd | undefined;
after(async () => {
  await env?.cleanup();
  await criEnv?.stop();
});

test('install, restart, run by the runtime name io.containerd.rx.v2, uninstall: the config is byte for byte what it was', async () => {
  env = await installEnv('install', launcher);
  await installCycle(env);
});

test('CRI runs a pod on the installed handler (runtime_path: the prefix\'s executable); uninstall restores the config', async () => {
  criEnv = await startCriContainerd({ name: 'install-cri' });
  const { ctd, cri, tmp } = criEnv;
  const config = path.join(ctd.dir, 'config.toml');
  const original = readFileSync(config);
  const before = tree(ctd.dir);
  const prefix = path.join(tmp, 'prefix');
  const installer = (action: string) => run(launcher, [action, '--prefix', prefix, '--containerd-config', config, '--containerd', HOST.containerd, '--handler', 'rxinst']);
  const r = await installer('install');
  assert.equal(r.code, 0, r.stderr);
  await ctd.restart();
  const podId = (await cri.runPodSandbox(hostNetworkPod('installed', path.join(tmp, 'logs')), 'rxinst')) as unknown as string;
  const status = await cri.podSandboxStatus(podId);
  assert.equal(status.state, 'SANDBOX_READY');
  assert.equal(status.runtime_handler, 'rxinst');
  // 1.6 resolves runtime_path's symbolic link (install links the launcher) and runs its target; 2.3 runs the path.
  // The launcher (a sh script) execs a runtime with the bundle beside its real path: the serving
  // process's argv names that bundle, not the launcher.
  const launcherReal = realpathSync(path.join(prefix, 'bin', 'containerd-shim-rx-v2'));
  const installed = [path.join(prefix, 'bin', 'containerd-shim-rx-v2'), launcherReal, path.resolve(path.dirname(launcherReal), '../dist/containerd-shim-rx-v2.js')];
  const cmdlines = servingShims(ctd).map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
  assert.equal(cmdlines.filter((argv) => installed.some((p) => argv.some((a) => a.startsWith('/') && path.resolve(a) === p))).length, 1, `one serving process, started from the installed executable: ${cmdlines.map((a) => a.join(' ')).join('; ')}`);
  await cri.stopPodSandbox(podId);
  await cri.removePodSandbox(podId);
  const u = await installer('uninstall');
  assert.equal(u.code, 0, u.stderr);
  assert.deepEqual(readFileSync(config), original);
  assert.deepEqual(tree(ctd.dir), before);
});

test('a main config of version 2 with runc options of its own: containerd\'s merged config keeps them beside rx (config dump, no containerd started)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-install-v2-'));
  try {
    const config = path.join(dir, 'config.toml');
    const runc = 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc';
    writeFileSync(config, `version = 2\n\n[${runc}]\n  runtime_type = "io.containerd.runc.v2"\n  [${runc}.options]\n    SystemdCgroup = true\n`);
    const original = readFileSync(config);
    const args = ['--prefix', path.join(dir, 'p'), '--containerd-config', config, '--containerd', HOST.containerd];
    const r = await run(launcher, ['install', ...args]);
    assert.equal(r.code, 0, r.stderr);
    // 2.x migrates each file on its own (grpc.v1.cri -> cri.v1.runtime) and merges them; 1.6 reads the drop-in's copy.
    const table = HOST.name === '1.6' ? 'io.containerd.grpc.v1.cri' : 'io.containerd.cri.v1.runtime';
    const runtimes = ((parse(await configDump(config)) as any).plugins[table].containerd.runtimes) as Record<string, any>;
    assert.equal(runtimes.runc.runtime_type, 'io.containerd.runc.v2');
    assert.equal(runtimes.runc.options.SystemdCgroup, true, 'the main config\'s runc option survives');
    assert.equal(runtimes.rx.runtime_type, 'io.containerd.rx.v2');
    const u = await run(launcher, ['uninstall', ...args]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(readFileSync(config), original);
    assert.deepEqual(tree(dir), ['config.toml']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
