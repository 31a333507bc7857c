/**
 * grouping = "namespace" through CRI: containerd passes our TOML's path as
 * runtimeoptions.v1.Options ConfigPath, and every pod of namespace k8s.io shares one shim process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { settleLeaks } from '../helpers/leaks';
import { shimAddressOf } from '../helpers/bundle';
import { appContainer, hostNetworkPod, K8S_NAMESPACE, servingShims, startCriContainerd, type CriContainerd } from '../helpers/cri/containerd-cri';
import type { Msg } from '../helpers/cri/client';

let env: CriContainerd;
const pods: { name: string; config: Msg; id: string; containerId: string }[] = [];

before(async () => {
  env = await startCriContainerd({ name: 'cri-ns', rxConfigToml: 'grouping = "namespace"\n' });
});

after(async () => {
  await env?.stop();
});

const taskAddress = (id: string) => shimAddressOf(path.join(env.ctd.state, 'io.containerd.runtime.v2.task', K8S_NAMESPACE, id)).socket;

test('two pods, each with a running container, start under handler rx with grouping = "namespace"', async () => {
  for (const name of ['pod-ns-a', 'pod-ns-b']) {
    const config = hostNetworkPod(name, path.join(env.tmp, 'logs', name));
    const id = await env.cri.runPodSandbox(config, 'rx');
    const containerId = await env.cri.createContainer(id, appContainer('sleeper', ['/bin/sleep', '600'], 'sleeper/0.log'), config);
    await env.cri.startContainer(containerId);
    pods.push({ name, config, id, containerId });
  }
  for (const p of pods) assert.equal((await env.cri.containerStatus(p.containerId)).state, 'CONTAINER_RUNNING', p.name);
});

test('exactly one shim process serves both pods: every sandbox and container has the same address', async () => {
  assert.equal(pods.length, 2, 'needs both pods');
  const addresses = new Set(pods.flatMap((p) => [taskAddress(p.id), taskAddress(p.containerId)]));
  assert.equal(addresses.size, 1, `one address: ${[...addresses].join(', ')}`);
  const shims = servingShims(env.ctd, 'rx');
  assert.equal(shims.length, 1, `serving processes: ${shims.join(', ')}`);
});

test('the shared shim keeps containers apart: ExecSync in each pod answers from its own container', async () => {
  assert.equal(pods.length, 2, 'needs both pods');
  for (const p of pods) {
    const r = await env.cri.execSync(p.containerId, ['/bin/sh', '-c', `echo ${p.name}; exit 4`], 10);
    assert.equal(r.stdout.toString(), `${p.name}\n`);
    assert.equal(r.exit_code, 4);
  }
});

test('stopping and removing the first pod leaves the shim serving the second', async () => {
  assert.equal(pods.length, 2, 'needs both pods');
  const [a, b] = pods;
  await env.cri.stopPodSandbox(a.id);
  await env.cri.removePodSandbox(a.id);
  assert.equal((await env.cri.containerStatus(b.containerId)).state, 'CONTAINER_RUNNING');
  const r = await env.cri.execSync(b.containerId, ['/bin/echo', 'still-here'], 10);
  assert.equal(r.stdout.toString(), 'still-here\n');
  assert.equal(servingShims(env.ctd, 'rx').length, 1);
});

test('after the last pod is removed no shim process, no mount and no zombie is left', async () => {
  assert.equal(pods.length, 2, 'needs both pods');
  await env.cri.stopPodSandbox(pods[1].id);
  await env.cri.removePodSandbox(pods[1].id);
  const left = await settleLeaks([env.ctd.dir, env.tmp]);
  assert.deepEqual(servingShims(env.ctd, 'rx'), [], 'no serving shim');
  assert.deepEqual(left.shims, [], 'no shim process');
  assert.deepEqual(left.mounts, [], 'no mount');
  assert.deepEqual(left.zombies, [], 'no zombie');
});
