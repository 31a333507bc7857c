/**
 * The shim under containerd 2.3.7 (built by scripts/install-deps.sh; CONTAINERD2_BIN names another
 * 2.x build dir): the 2.3 bootstrap (BootstrapParams in, BootstrapResult out; 2.0-2.2: JSON),
 * task API v3 (`ctr shim`), -info (`ctr plugins inspect-runtime`) and CRI's direct use of a
 * version-3 sandbox shim. Skipped, saying so, where the build is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { SHIM_RUNTIME } from '../helpers/shim';
import { uniqueId, waitForTask } from '../helpers/tasks';
import { appContainer, hostNetworkPod, K8S_NAMESPACE, servingShims, startCriContainerd } from '../helpers/cri/containerd-cri';
import { settleLeaks } from '../helpers/leaks';

const BIN = process.env.CONTAINERD2_BIN || '/var/cache/containerd-shim-rx/containerd-v2.3.7';
const missing = !existsSync(path.join(BIN, 'containerd')) || !existsSync(path.join(BIN, 'ctr'));
const skip = missing ? `containerd 2.3.7 is not built in ${BIN} (scripts/install-deps.sh)` : false;
/** The containerd these tests ran against, for their names ("containerd 2.3.7"). */
const LABEL = missing ? 'containerd 2.x' : `containerd ${execFileSync(path.join(BIN, 'containerd'), ['--version']).toString().split(/\s+/)[2]?.replace(/^v/, '').replace(/\+.*$/, '')}`;
// The CRI helper runs `containerd` and `ctr` from PATH: put 2.3.7 first for this file's process.
if (!missing) process.env.PATH = `${BIN}:${process.env.PATH}`;

let ctd: Containerd;
let rootfs: string;

before(async () => {
  if (missing) return;
  ctd = await startContainerd({ name: 'ctd23', bin: BIN });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});

after(async () => {
  await ctd?.stop();
});

/** containerd 2.3's "connecting to shim <id>" line (core/runtime/v2/shim.go makeConnection) names the version it took. */
const connectLine = (id: string) => ctd.log().split('\n').find((l) => l.includes(`connecting to shim ${id}`)) ?? '';

test(`${LABEL}: ctr run --rm through the shim prints the output; containerd took version 3 over ttrpc from our start`, { skip }, async () => {
  const id = uniqueId('c23run');
  const r = await ctd.ctr(['run', '--runtime', SHIM_RUNTIME, '--rm', '--rootfs', rootfs, id, '/bin/echo', 'hello from 2.3']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'hello from 2.3\n');
  const line = connectLine(id);
  assert.match(line, /protocol=ttrpc/, line);
  assert.match(line, /version=3/, line);
});

test(`${LABEL}: ctr shim state and shutdown answer over task API v3 (ctr 2.x default)`, { skip }, async () => {
  const id = uniqueId('c23shim');
  const run = await ctd.ctr(['run', '--runtime', SHIM_RUNTIME, '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(run.code, 0, run.stderr);
  await waitForTask(ctd, id);
  const state = await ctd.ctr(['shim', '--id', id, 'state']);
  assert.equal(state.code, 0, state.stderr);
  const s = JSON.parse(state.stdout.toString());
  assert.equal(s.id, id);
  assert.ok(s.pid > 0, state.stdout.toString());
  // v2 is still served beside v3.
  const v2 = await ctd.ctr(['shim', '--id', id, 'state', '--api-version', '2']);
  assert.equal(v2.code, 0, v2.stderr);
  assert.equal(JSON.parse(v2.stdout.toString()).pid, s.pid);
  // With a live task, Shutdown is a no-op that succeeds (as the Go shim's): the task still answers.
  const shutdown = await ctd.ctr(['shim', '--id', id, 'shutdown']);
  assert.equal(shutdown.code, 0, shutdown.stderr);
  const again = await ctd.ctr(['shim', '--id', id, 'state']);
  assert.equal(again.code, 0, again.stderr);
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  for (let i = 0; i < 50; i++) {
    const d = await ctd.ctr(['task', 'delete', id]);
    if (d.code === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await ctd.ctr(['containers', 'delete', id])).code, 0);
});

test(`${LABEL}: ctr plugins inspect-runtime shows our -info: name, version and runc's features`, { skip }, async () => {
  const r = await ctd.ctr(['plugins', 'inspect-runtime', '--runtime', SHIM_RUNTIME]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.toString();
  assert.match(out, /"Name": "io\.containerd\.rx\.v2"/, out);
  // containerd decoded Features as the OCI features document (typeurl JSON), not an opaque Any.
  assert.match(out, /"ociVersionMax": "/, out);
  // Options from ctr reach -info: our TOML (runtimeoptions, --runtime-config-path) names a runc
  // stand-in whose features document containerd then shows.
  const fake = path.join(ctd.dir, 'features-runc');
  writeFileSync(fake, '#!/bin/sh\nprintf \'{"ociVersionMin":"1.0.0","ociVersionMax":"9.9.9-rx"}\'\n');
  chmodSync(fake, 0o755);
  const toml = path.join(ctd.dir, 'rx-info.toml');
  writeFileSync(toml, `[runc]\nbinary_name = "${fake}"\n`);
  const withOpts = await ctd.ctr(['plugins', 'inspect-runtime', '--runtime', SHIM_RUNTIME, '--runtime-config-path', toml]);
  assert.equal(withOpts.code, 0, withOpts.stderr);
  assert.match(withOpts.stdout.toString(), /"ociVersionMax": "9\.9\.9-rx"/, withOpts.stdout.toString());
});

test(`${LABEL} CRI: the pod's containers join the sandbox's serving process without \`start\` (task API v3, bootstrap.json), and all ends clean`, { skip }, async () => {
  const env = await startCriContainerd({ name: 'cri23' });
  try {
    const pod = hostNetworkPod('pod-23', path.join(env.tmp, 'pod-logs'));
    const podId = await env.cri.runPodSandbox(pod, 'rx');
    const cid = await env.cri.createContainer(podId, appContainer('sleeper', ['/bin/sleep', '600'], 'sleeper/0.log'), pod);
    await env.cri.startContainer(cid);
    assert.equal((await env.cri.containerStatus(cid)).state, 'CONTAINER_RUNNING');
    const bundle = (id: string) => path.join(env.ctd.state, 'io.containerd.runtime.v2.task', K8S_NAMESPACE, id);
    // The sandbox's shim came from `start` (containerd saved the binary path and our BootstrapResult)...
    assert.ok(existsSync(path.join(bundle(podId), 'shim-binary-path')), 'start ran for the sandbox');
    const sandboxBoot = JSON.parse(readFileSync(path.join(bundle(podId), 'bootstrap.json'), 'utf8'));
    assert.equal(sandboxBoot.version, 3);
    // ...the container's did not (core/runtime/v2/shim_manager.go Start: a version-3 sandbox shim is reused
    // directly): containerd wrote `sandbox` and the sandbox's bootstrap into its bundle instead.
    assert.equal(existsSync(path.join(bundle(cid), 'shim-binary-path')), false, 'no start for the container');
    assert.equal(readFileSync(path.join(bundle(cid), 'sandbox'), 'utf8'), podId);
    assert.deepEqual(JSON.parse(readFileSync(path.join(bundle(cid), 'bootstrap.json'), 'utf8')), sandboxBoot);
    assert.equal(servingShims(env.ctd).length, 1, 'one serving process for the pod');
    const exec = await env.cri.execSync(cid, ['/bin/sh', '-c', 'echo in-23'], 10);
    assert.equal(exec.stdout.toString(), 'in-23\n');
    await env.cri.stopPodSandbox(podId);
    assert.equal((await env.cri.containerStatus(cid)).exit_code, 137);
    await env.cri.removePodSandbox(podId);
    const left = await settleLeaks([env.ctd.dir, env.tmp]);
    assert.deepEqual(servingShims(env.ctd), [], 'no serving shim');
    assert.deepEqual([left.shims, left.mounts, left.zombies], [[], [], []], 'no shim, mount or zombie left');
  } finally {
    await env.stop();
  }
});
