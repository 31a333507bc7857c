/**
 * The Kubernetes path: kubelet's calls (CRI runtime.v1) to a real containerd 1.6, runtime
 * handler `rx` (our shim). One host-network pod with two containers, as kubelet would run it.
 * CRI_HANDLER=runc runs the same calls against the Go shim for comparison.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { settleLeaks } from '../helpers/leaks';
import { shimAddressOf } from '../helpers/bundle';
import { appContainer, hostNetworkPod, K8S_NAMESPACE, servingShims, startCriContainerd, type CriContainerd } from '../helpers/cri/containerd-cri';
import type { Msg } from '../helpers/cri/client';

const HANDLER = process.env.CRI_HANDLER || 'rx';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let env: CriContainerd;
let logDir: string;
let podConfig: Msg;
let podId = '';
let sleeperId = '';
let shortId = '';
/** each task's shim address, read right after its start (CRI deletes an exited task's bundle) */
const addresses = new Map<string, string>();

before(async () => {
  env = await startCriContainerd({ name: 'cri' });
  logDir = path.join(env.tmp, 'pod-logs');
  podConfig = hostNetworkPod('pod-a', logDir);
});

after(async () => {
  await env?.stop();
});

/** containerd's log, for a failure message: the last lines that mention an error. */
const ctdErrors = () =>
  env.ctd
    .log()
    .split('\n')
    .filter((l) => /level=(error|warning)/.test(l))
    .slice(-15)
    .join('\n');

/** The shim address containerd keeps for a task (runtime/v2 bundle file `address`). */
const taskAddress = (id: string) => shimAddressOf(path.join(env.ctd.state, 'io.containerd.runtime.v2.task', K8S_NAMESPACE, id)).socket;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('CRI runtime.v1 answers Version on the private containerd', async () => {
  const v = await env.cri.version();
  assert.equal(v.runtime_name, 'containerd');
  assert.equal(v.runtime_api_version, 'v1');
});

test(`RunPodSandbox with handler ${HANDLER}: a host-network pod is READY`, async () => {
  try {
    podId = await env.cri.runPodSandbox(podConfig, HANDLER);
  } catch (err) {
    throw new Error(`${String(err)}\ncontainerd's log:\n${ctdErrors()}`);
  }
  const status = await env.cri.podSandboxStatus(podId);
  assert.equal(status.state, 'SANDBOX_READY');
  assert.equal(status.runtime_handler, HANDLER);
  assert.equal(status.metadata.name, 'pod-a');
});

test('CreateContainer and StartContainer: two containers of the pod run', async () => {
  assert.ok(podId, 'needs the pod');
  addresses.set('sandbox', taskAddress(podId));
  sleeperId = await env.cri.createContainer(podId, appContainer('sleeper', ['/bin/sleep', '600'], 'sleeper/0.log'), podConfig);
  await env.cri.startContainer(sleeperId);
  addresses.set('sleeper', taskAddress(sleeperId));
  shortId = await env.cri.createContainer(podId, appContainer('short', ['/bin/sh', '-c', 'sleep 1; echo hello-cri; echo err-cri >&2; exit 3'], 'short/0.log'), podConfig);
  await env.cri.startContainer(shortId);
  // The sleep leaves time to read its address before it exits and CRI deletes its task.
  addresses.set('short', taskAddress(shortId));
  const listed = await env.cri.listContainers({ pod_sandbox_id: podId });
  assert.deepEqual(listed.map((c) => c.metadata.name).sort(), ['short', 'sleeper']);
  assert.equal((await env.cri.containerStatus(sleeperId)).state, 'CONTAINER_RUNNING');
});

test('ExecSync in the running container returns its stdout, stderr and exit code', async () => {
  assert.ok(sleeperId, 'needs the sleeper');
  const r = await env.cri.execSync(sleeperId, ['/bin/sh', '-c', 'echo exec-out; echo exec-err >&2; exit 2'], 10);
  assert.equal(r.stdout.toString(), 'exec-out\n');
  assert.equal(r.stderr.toString(), 'exec-err\n');
  assert.equal(r.exit_code, 2);
});

test('ContainerStatus shows CONTAINER_EXITED with exit code 3 once the short container ends', async () => {
  assert.ok(shortId, 'needs the short container');
  const status = await until('the short container to exit', async () => {
    const s = await env.cri.containerStatus(shortId);
    return s.state === 'CONTAINER_EXITED' ? s : undefined;
  });
  assert.equal(status.exit_code, 3);
  assert.ok(status.finished_at >= status.started_at && status.started_at > 0, 'started and finished times are set');
  assert.equal(status.log_path, path.join(logDir, 'short/0.log'));
});

test('the CRI log file holds both streams in CRI log format (<RFC3339Nano> <stream> F <line>)', async () => {
  assert.ok(shortId, 'needs the short container');
  const file = path.join(logDir, 'short/0.log');
  const text = await until('both log lines', async () => {
    const t = readFileSync(file, 'utf8');
    return /hello-cri/.test(t) && /err-cri/.test(t) ? t : undefined;
  });
  const ts = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)';
  assert.match(text, new RegExp(`^${ts} stdout F hello-cri$`, 'm'));
  assert.match(text, new RegExp(`^${ts} stderr F err-cri$`, 'm'));
  assert.equal(text.trim().split('\n').length, 2, `exactly two lines:\n${text}`);
});

test('while the pod lives, exactly one shim process serves it: the sandbox and both containers', async () => {
  assert.ok(podId && sleeperId && shortId, 'needs the pod and its containers');
  const distinct = new Set(addresses.values());
  assert.equal(addresses.size, 3, 'an address for each of sandbox, sleeper, short');
  assert.equal(distinct.size, 1, `one shim address for sandbox and containers: ${JSON.stringify(Object.fromEntries(addresses))}`);
  assert.deepEqual(servingShims(env.ctd, HANDLER).length, 1, `serving processes: ${servingShims(env.ctd, HANDLER).join(', ')}`);
});

test('StopPodSandbox stops the running container and the sandbox; RemovePodSandbox removes all', async () => {
  assert.ok(podId, 'needs the pod');
  await env.cri.stopPodSandbox(podId);
  assert.equal((await env.cri.podSandboxStatus(podId)).state, 'SANDBOX_NOTREADY');
  const sleeper = await env.cri.containerStatus(sleeperId);
  assert.equal(sleeper.state, 'CONTAINER_EXITED');
  assert.equal(sleeper.exit_code, 137, 'the sleeper was killed (SIGKILL, grace 0)');
  await env.cri.removePodSandbox(podId);
  assert.deepEqual(await env.cri.listContainers({ pod_sandbox_id: podId }), []);
  await assert.rejects(env.cri.podSandboxStatus(podId), /NotFound|not found/i);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  const left = await settleLeaks([env.ctd.dir, env.tmp]);
  assert.deepEqual(servingShims(env.ctd, HANDLER), [], 'no serving shim');
  assert.deepEqual(left.shims, [], 'no shim process');
  assert.deepEqual(left.mounts, [], 'no mount');
  assert.deepEqual(left.zombies, [], 'no zombie');
});
