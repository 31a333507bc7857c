/**
 * Pods through containerd 2.x's sandbox API (issue 15): a private containerd 2.3.7 with CRI, the
 * runtime handler `rxsb` with `sandboxer = "shim"`, so CRI drives the pod through our serving
 * process's containerd.runtime.sandbox.v1.Sandbox service (plugins/sandbox/controller.go) and
 * connects its containers to that same process without `start` (core/runtime/v2/shim_manager.go
 * Start). No pause container: the pod's namespaces are held by the shim's holder (src/sandbox/
 * holder.ts). Beside it, handler `rx` keeps the default podsandbox path (a pause container).
 * containerd 1.6 has no sandbox API: there the file is skipped, saying so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { CriClient, type Msg } from '../helpers/cri/client';
import { APP_IMAGE, criConfig, K8S_NAMESPACE, PAUSE_IMAGE, REPO_BIN, servingShims } from '../helpers/cri/containerd-cri';
import { buildBusyboxImage, importImage } from '../helpers/image';
import { settleLeaks } from '../helpers/leaks';
import { childrenOf } from '../../src/sys/proc';
import * as grpc from '@grpc/grpc-js';
import { Writer } from 'protobufjs/minimal';
import { decode } from '../../src/proto';
import { dial } from '../../src/ttrpc/client';

const BIN = process.env.CONTAINERD2_BIN || '/var/cache/containerd-shim-rx/containerd-v2.3.7';
const missing = !existsSync(path.join(BIN, 'containerd')) || !existsSync(path.join(BIN, 'ctr'));
const skip =
  process.env.RX_CONTAINERD === '1.6'
    ? 'containerd 1.6 has no sandbox API (no sandboxer setting, no containerd.runtime.sandbox.v1): this file runs on containerd 2.3 only'
    : missing
      ? `containerd 2.3.7 is not built in ${BIN} (scripts/install-deps.sh)`
      : false;
const LABEL = missing ? 'containerd 2.x' : `containerd ${execFileSync(path.join(BIN, 'containerd'), ['--version']).toString().split(/\s+/)[2]?.replace(/^v/, '').replace(/\+.*$/, '')}`;
const HANDLER = 'rxsb';
/** The same with our config's grouping = "namespace". */
const HANDLER_NS = 'rxsbns';
// containerd and ctr from PATH, 2.3.7 first (as containerd2.test.ts): with `bin`, containerd's own
// command line would name the cache dir, whose "containerd-shim-rx" the leak check takes for a shim.
if (!skip) process.env.PATH = `${BIN}:${process.env.PATH}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctd: Containerd;
let cri: CriClient;
let tmp: string;
let logDir: string;
let pod: Msg;
let podId = '';
let sleeperId = '';
let shortId = '';
let restartId = '';
let holderPid = 0;
let shimPid = 0;

/** Our extra handler: the same shim, with CRI's sandbox-API path (the one line docs/kubernetes.md gives). */
const sandboxerRuntime = [
  `[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.${HANDLER}]`, // config version 3 (the harness writes 3 for 2.x)
  '  runtime_type = "io.containerd.rx.v2"',
  '  sandboxer = "shim"',
  '',
].join('\n');

/** A host-network pod whose containers share its pid namespace (so they see the holder as pid 1). */
const nsOptions = { network: 'NODE', pid: 'POD', ipc: 'POD' };
const container = (name: string, attempt: number, command: string[]): Msg => ({
  metadata: { name, attempt },
  image: { image: APP_IMAGE },
  command,
  log_path: `${name}/${attempt}.log`,
  linux: { security_context: { namespace_options: nsOptions } },
});

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rx-crisb-tmp-'));
  mkdirSync(path.join(tmp, 'cni/bin'), { recursive: true });
  mkdirSync(path.join(tmp, 'cni/conf'), { recursive: true });
  writeFileSync(path.join(tmp, 'rx-ns.toml'), 'grouping = "namespace"\n');
  const namespaceGrouped = [
    `[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.${HANDLER_NS}]`,
    '  runtime_type = "io.containerd.rx.v2"',
    '  sandboxer = "shim"',
    `[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.${HANDLER_NS}.options]`,
    '  TypeUrl = "runtimeoptions.v1.Options"',
    `  ConfigPath = "${path.join(tmp, 'rx-ns.toml')}"`,
    '',
  ].join('\n');
  ctd = await startContainerd({ name: 'crisb', cri: true, configExtra: criConfig({ tmp }) + sandboxerRuntime + namespaceGrouped, env: { PATH: `${REPO_BIN}:${process.env.PATH}` } });
  cri = new CriClient(ctd.address);
  // CRI pulls (here: finds) the pause image even on the sandbox-API path (sandbox_run.go ensurePauseImageExists).
  await importImage(ctd, buildBusyboxImage(path.join(tmp, 'images/pause'), PAUSE_IMAGE, ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 1; done']), K8S_NAMESPACE);
  await importImage(ctd, buildBusyboxImage(path.join(tmp, 'images/app'), APP_IMAGE), K8S_NAMESPACE);
  for (let i = 0; ; i++) {
    try {
      await cri.version();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await sleep(100);
    }
  }
  logDir = path.join(tmp, 'pod-logs');
  mkdirSync(logDir, { recursive: true });
  pod = {
    metadata: { name: 'pod-sb', uid: 'uid-pod-sb', namespace: 'default', attempt: 0 },
    log_directory: logDir,
    linux: { security_context: { namespace_options: nsOptions } },
  };
});

after(async () => {
  cri?.close();
  await ctd?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const bundle = (id: string) => path.join(ctd.state, 'io.containerd.runtime.v2.task', K8S_NAMESPACE, id);
/** The shim sandbox controller keeps the sandbox's bundle under its own plugin state dir (controller.go init: PropertyStateDir). */
const sandboxBundle = (id: string) => path.join(ctd.state, 'io.containerd.sandbox.controller.v1.shim', K8S_NAMESPACE, id);
const ns = (pid: number, kind: string) => readlinkSync(`/proc/${pid}/ns/${kind}`);
const ctdErrors = () => ctd.log().split('\n').filter((l) => /level=(error|warning)/.test(l)).slice(-15).join('\n');
const alive = (pid: number) => existsSync(`/proc/${pid}`);
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The task's init pid, from the pid file runc wrote in its bundle. */
const initPid = (id: string) => Number(readFileSync(path.join(bundle(id), 'init.pid'), 'utf8'));

/** A container of the pod joined our serving process directly: containerd wrote `sandbox` and the pod's bootstrap, ran no `start`. */
function assertJoinedWithoutStart(id: string) {
  assert.equal(existsSync(path.join(bundle(id), 'shim-binary-path')), false, `no start for ${id}`);
  assert.equal(readFileSync(path.join(bundle(id), 'sandbox'), 'utf8'), podId);
  assert.deepEqual(JSON.parse(readFileSync(path.join(bundle(id), 'bootstrap.json'), 'utf8')), JSON.parse(readFileSync(path.join(sandboxBundle(podId), 'bootstrap.json'), 'utf8')));
}

test(`${LABEL} sandboxer=shim: RunPodSandbox is READY through our Sandbox service; no pause container, one serving process holding the pod's namespaces`, { skip }, async () => {
  try {
    podId = await cri.runPodSandbox(pod, HANDLER);
  } catch (err) {
    throw new Error(`${String(err)}\ncontainerd's log:\n${ctdErrors()}`);
  }
  const status = await cri.podSandboxStatus(podId);
  assert.equal(status.state, 'SANDBOX_READY');
  assert.equal(status.runtime_handler, HANDLER);
  // containerd started the sandbox's shim with `start` (it keeps the binary path and our BootstrapResult).
  assert.ok(existsSync(path.join(sandboxBundle(podId), 'shim-binary-path')), 'start ran for the sandbox');
  assert.equal(JSON.parse(readFileSync(path.join(sandboxBundle(podId), 'bootstrap.json'), 'utf8')).version, 3);
  // No task for the sandbox: nothing ran the pause image (the podsandbox path would show one).
  const tasks = (await ctd.ctr(['task', 'ls', '-q'], { namespace: K8S_NAMESPACE })).stdout.toString().split('\n').filter(Boolean);
  assert.deepEqual(tasks, [], 'no pause task');
  const shims = servingShims(ctd);
  assert.equal(shims.length, 1, `serving processes: ${shims.join(' ')}`);
  shimPid = shims[0];
  // The holder: unshare, a child of the serving process, whose child is the pod's pid 1.
  const unshare = childrenOf(shimPid).find((p) => cmdline(p).includes('unshare'));
  assert.ok(unshare, `an unshare child of the serving process ${shimPid}`);
  holderPid = childrenOf(unshare)[0];
  assert.ok(holderPid > 0);
  assert.notEqual(ns(holderPid, 'pid'), ns(process.pid, 'pid'), 'the pod has its own pid namespace');
  assert.notEqual(ns(holderPid, 'ipc'), ns(process.pid, 'ipc'), 'and its own ipc namespace');
  assert.equal(ns(holderPid, 'net'), ns(process.pid, 'net'), 'host network');
});

test(`${LABEL} sandboxer=shim: two containers join the serving process without \`start\` and the pod's pid and ipc namespaces`, { skip }, async () => {
  assert.ok(podId, 'needs the pod');
  sleeperId = await cri.createContainer(podId, container('sleeper', 0, ['/bin/sleep', '600']), pod);
  await cri.startContainer(sleeperId);
  assertJoinedWithoutStart(sleeperId);
  shortId = await cri.createContainer(podId, container('short', 0, ['/bin/sh', '-c', 'sleep 1; echo hello-sb; echo err-sb >&2; exit 3']), pod);
  await cri.startContainer(shortId);
  assertJoinedWithoutStart(shortId);
  assert.equal((await cri.containerStatus(sleeperId)).state, 'CONTAINER_RUNNING');
  const pid = initPid(sleeperId);
  assert.equal(ns(pid, 'pid'), ns(holderPid, 'pid'));
  assert.equal(ns(pid, 'ipc'), ns(holderPid, 'ipc'));
  assert.deepEqual(servingShims(ctd), [shimPid], 'still the one serving process');
  // CRI stored the spec StartSandbox answered, and NRI read it for each container without an
  // error (an empty spec is logged as "failed to unmarshal sandbox spec" on every call).
  assert.doesNotMatch(ctd.log(), new RegExp(`failed to unmarshal sandbox spec for pod ${podId}`));
});

test(`${LABEL} sandboxer=shim: ExecSync in a container sees the pod's holder as pid 1`, { skip }, async () => {
  assert.ok(sleeperId, 'needs the sleeper');
  const r = await cri.execSync(sleeperId, ['/bin/sh', '-c', 'tr "\\0" " " </proc/1/cmdline; echo; echo exec-err >&2; exit 2'], 10);
  assert.match(r.stdout.toString(), /^\/bin\/sh -c .* rx-pod/, r.stdout.toString());
  assert.equal(r.stderr.toString(), 'exec-err\n');
  assert.equal(r.exit_code, 2);
});

test(`${LABEL} sandboxer=shim: a container that crashes is EXITED with its code and its log holds both streams in CRI format`, { skip }, async () => {
  assert.ok(shortId, 'needs the short container');
  const status = await until('the short container to exit', async () => {
    const s = await cri.containerStatus(shortId);
    return s.state === 'CONTAINER_EXITED' ? s : undefined;
  });
  assert.equal(status.exit_code, 3);
  const file = path.join(logDir, 'short/0.log');
  const text = await until('both log lines', () => {
    const t = readFileSync(file, 'utf8');
    return /hello-sb/.test(t) && /err-sb/.test(t) ? t : undefined;
  });
  const ts = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)';
  assert.match(text, new RegExp(`^${ts} stdout F hello-sb$`, 'm'));
  assert.match(text, new RegExp(`^${ts} stderr F err-sb$`, 'm'));
  // The pod lives on: its holder and serving process are untouched by a container's exit.
  assert.ok(alive(holderPid), 'the holder still runs');
  assert.equal((await cri.podSandboxStatus(podId)).state, 'SANDBOX_READY');
});

test(`${LABEL} sandboxer=shim: the crashed container restarts as attempt 1 in the same serving process (kubelet's restart)`, { skip }, async () => {
  assert.ok(shortId, 'needs the short container');
  await cri.removeContainer(shortId);
  restartId = await cri.createContainer(podId, container('short', 1, ['/bin/sh', '-c', 'echo restarted-sb; exec sleep 600']), pod);
  await cri.startContainer(restartId);
  assertJoinedWithoutStart(restartId);
  assert.equal((await cri.containerStatus(restartId)).state, 'CONTAINER_RUNNING');
  const text = await until('the restarted log line', () => {
    const t = readFileSync(path.join(logDir, 'short/1.log'), 'utf8');
    return /restarted-sb/.test(t) ? t : undefined;
  });
  assert.match(text, / stdout F restarted-sb$/m);
  assert.deepEqual(servingShims(ctd), [shimPid], 'the same serving process');
});

test(`${LABEL} sandboxer=shim: after a containerd restart CRI finds the pod READY in the same serving process and can exec in it`, { skip }, async () => {
  assert.ok(podId && restartId, 'needs the pod and a running container');
  await ctd.restart();
  // CRI recovers a shim-sandboxer pod by asking its controller (internal/cri/server/restart.go): SandboxStatus, then WaitSandbox.
  const status = await until('CRI to answer after the restart', async () => (await cri.podSandboxStatus(podId).catch(() => undefined)));
  assert.equal(status.state, 'SANDBOX_READY');
  assert.deepEqual(servingShims(ctd), [shimPid], 'the same serving process');
  assert.ok(alive(holderPid), 'the same holder');
  const r = await cri.execSync(restartId, ['/bin/echo', 'after-restart'], 10);
  assert.equal(r.stdout.toString(), 'after-restart\n');
});

test(`${LABEL} sandboxer=shim: StopPodSandbox kills the containers and the holder; RemovePodSandbox ends the serving process`, { skip }, async () => {
  assert.ok(podId && holderPid, 'needs the pod');
  await cri.stopPodSandbox(podId);
  assert.equal((await cri.podSandboxStatus(podId)).state, 'SANDBOX_NOTREADY');
  assert.equal((await cri.containerStatus(sleeperId)).exit_code, 137);
  assert.equal((await cri.containerStatus(restartId)).exit_code, 137);
  await until('the holder to exit', () => (alive(holderPid) ? undefined : true), 5000);
  await cri.removePodSandbox(podId);
  assert.deepEqual(await cri.listContainers({ pod_sandbox_id: podId }), []);
  await assert.rejects(cri.podSandboxStatus(podId), /NotFound|not found/i);
  await until('the serving process to exit', () => (alive(shimPid) ? undefined : true), 10000);
});

test(`${LABEL} sandboxer=shim: afterwards no process, mount, zombie or bundle is left`, { skip }, async () => {
  const left = await settleLeaks([ctd.dir, tmp]);
  assert.deepEqual(servingShims(ctd), [], 'no serving shim');
  assert.deepEqual([left.shims, left.mounts, left.zombies], [[], [], []], 'no shim, mount or zombie left');
  const holders = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && existsSync(`/proc/${p}/cmdline`) && (() => { try { return cmdline(Number(p)).includes('rx-pod'); } catch { return false; } })());
  assert.deepEqual(holders, [], 'no namespace holder left');
  for (const dir of [bundle(''), sandboxBundle('')]) assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], `no bundle left in ${dir}`);
});

test(`${LABEL} sandboxer=shim: a serving process killed by SIGKILL takes its pod with it; CRI sees NOTREADY, and stop/remove end clean`, { skip }, async (t) => {
  // With a cgroup_parent (on v1 hosts): the holder's cgroup is the `delete` action's to remove then.
  const parent = `/rx-crisb-kill-${process.pid}`;
  const p = { ...pod, metadata: { ...pod.metadata, name: 'pod-kill', uid: 'uid-pod-kill' }, linux: { ...pod.linux, ...(V1 ? { cgroup_parent: parent } : {}) } };
  const id = await cri.runPodSandbox(p, HANDLER);
  const cid = await cri.createContainer(id, container('victim', 0, ['/bin/sleep', '600']), p);
  await cri.startContainer(cid);
  const [shim] = servingShims(ctd);
  const unshare = childrenOf(shim).find((c) => cmdline(c).includes('unshare'))!;
  const pid1 = childrenOf(unshare)[0];
  process.kill(shim, 'SIGKILL');
  // The holder has a parent-death signal; with pid 1 gone the kernel kills the pod's pid namespace.
  await until('the holder to die', () => (alive(pid1) ? undefined : true), 5000);
  await until('CRI to see the pod NOTREADY', async () => ((await cri.podSandboxStatus(id)).state === 'SANDBOX_NOTREADY' ? true : undefined));
  await cri.stopPodSandbox(id);
  await cri.removePodSandbox(id);
  await assert.rejects(cri.podSandboxStatus(id), /NotFound|not found/i);
  // The container joined without `start`, so containerd ran no `delete` for it: the pod's removed its runc state.
  assert.equal(existsSync(path.join('/run/containerd/runc', K8S_NAMESPACE, cid)), false, 'no runc state left for the pod\'s container');
  if (V1) {
    assert.equal(existsSync(path.join('/sys/fs/cgroup/memory', parent, id)), false, 'the holder\'s cgroup is removed (by `delete`)');
    assert.equal(existsSync(path.join('/sys/fs/cgroup/memory', parent, cid)), false, 'and the container\'s (runc delete)');
    t.diagnostic(`left under the parent after RemovePodSandbox: ${JSON.stringify(removeCgroupParent(parent))}`);
  }
  const left = await settleLeaks([ctd.dir, tmp]);
  assert.deepEqual([left.shims, left.mounts, left.zombies], [[], [], []], 'no shim, mount or zombie left');
  for (const dir of [bundle(''), sandboxBundle('')]) assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], `no bundle left in ${dir}`);
});

/** containerd's sandbox Controller/Metrics {sandbox_id=1, sandboxer=10} (api services/sandbox/v1/sandbox.proto), as a client of containerd asks it. */
async function controllerMetrics(id: string): Promise<Msg> {
  const client = new grpc.Client(`unix://${ctd.address}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('containerd-namespace', K8S_NAMESPACE);
  const req = Buffer.from(Writer.create().uint32(0x0a).string(id).uint32(0x52).string('shim').finish());
  try {
    const res = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest('/containerd.services.sandbox.v1.Controller/Metrics', (b: Buffer) => b, (b: Buffer) => b, req, metadata, (err, r) => (err ? reject(err) : resolve(r ?? Buffer.alloc(0)))),
    );
    // ControllerMetricsResponse and the shim's SandboxMetricsResponse are the same message: {metrics=1 types.Metric}.
    return decode('containerd.runtime.sandbox.v1.SandboxMetricsResponse', res);
  } finally {
    client.close();
  }
}

/**
 * Remove a test's cgroup parent (the kubelet's job on a node) in every hierarchy, and the empty
 * cgroups left under it; returns what was under it, per hierarchy, before.
 */
function removeCgroupParent(parent: string): Record<string, string[]> {
  const left: Record<string, string[]> = {};
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', h, parent);
    if (!existsSync(dir)) continue;
    const children = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    if (children.length) left[h] = children;
    for (const c of children) rmdirSync(path.join(dir, c));
    rmdirSync(dir);
  }
  return left;
}

/** The memory cgroup (v1) of a pid, relative to the hierarchy. */
const memoryCgroupOf = (pid: number) => /^\d+:memory:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
const V1 = existsSync('/sys/fs/cgroup/memory/cgroup.procs');

test(`${LABEL} sandboxer=shim: a pod with a cgroup_parent: its holder in <parent>/<pod id> as pause would be, SandboxMetrics from the pod's cgroup, a task-API Shutdown leaves the pod, its cgroup goes with it`, { skip: skip || (V1 ? false : 'cgroup v1 hosts only (this test reads the memory hierarchy)') }, async (t) => {
  const parent = `/rx-crisb-${process.pid}`;
  const p = { ...pod, metadata: { ...pod.metadata, name: 'pod-cg', uid: 'uid-pod-cg' }, linux: { ...pod.linux, cgroup_parent: parent } };
  const id = await cri.runPodSandbox(p, HANDLER);
  let shim = 0;
  try {
    shim = servingShims(ctd).find((pid) => cmdline(pid).includes(id))!;
    assert.ok(shim, 'the pod\'s serving process');
    const unshare = childrenOf(shim).find((c) => cmdline(c).includes('unshare'))!;
    const pid1 = childrenOf(unshare)[0];
    assert.equal(memoryCgroupOf(pid1), `${parent}/${id}`, 'the pod\'s pid 1 is in <cgroup_parent>/<sandbox id>');
    assert.equal(memoryCgroupOf(unshare), `${parent}/${id}`, 'unshare as well');
    assert.notEqual(memoryCgroupOf(shim), `${parent}/${id}`, 'the serving process is not');
    const cid = await cri.createContainer(id, container('cg-app', 0, ['/bin/sh', '-c', 'dd if=/dev/zero of=/tmp/f bs=1M count=4 2>/dev/null; exec sleep 600']), p);
    await cri.startContainer(cid);
    assert.equal(memoryCgroupOf(initPid(cid)), `${parent}/${cid}`, 'CRI puts the container beside it, under the same parent');
    const m = await controllerMetrics(id);
    assert.equal(m.metrics.id, id);
    assert.equal(m.metrics.data.type_url, 'io.containerd.cgroups.v1.Metrics');
    const data = decode('io.containerd.cgroups.v1.Metrics', m.metrics.data.value) as Msg;
    assert.ok(Number(data.memory.usage.usage) > 0, `memory usage of the pod's cgroup: ${data.memory.usage.usage}`);
    assert.ok(Number(data.pids.current) >= 3, `the holder's and the container's processes are counted: ${data.pids.current}`);
    // No container left, then the task API's Shutdown (what `ctr shim shutdown` or a 1.x-minded caller sends): the pod stays.
    await cri.stopContainer(cid, 0);
    await cri.removeContainer(cid);
    const address = JSON.parse(readFileSync(path.join(sandboxBundle(id), 'bootstrap.json'), 'utf8')).address;
    const client = await dial(address);
    try {
      await client.call('containerd.task.v3.Task', 'Shutdown', Buffer.from(Writer.create().uint32(0x0a).string(id).finish()));
    } finally {
      client.close();
    }
    await sleep(500);
    assert.ok(alive(shim), 'the serving process still runs');
    assert.ok(alive(pid1), 'and the holder');
    assert.equal((await cri.podSandboxStatus(id)).state, 'SANDBOX_READY');
  } finally {
    await cri.stopPodSandbox(id);
    await cri.removePodSandbox(id);
  }
  await until('the serving process to exit', () => (alive(shim) ? undefined : true), 10000);
  assert.equal(existsSync(path.join('/sys/fs/cgroup/memory', parent, id)), false, 'the holder\'s cgroup is removed');
  // The parent is the kubelet's to remove; here the test's.
  t.diagnostic(`left under the parent after RemovePodSandbox: ${JSON.stringify(removeCgroupParent(parent))}`);
});

test(`${LABEL} sandboxer=shim with grouping = "namespace": two pods are READY, each in a serving process of its own`, { skip }, async () => {
  const ids: string[] = [];
  try {
    for (const n of ['nsa', 'nsb']) ids.push(await cri.runPodSandbox({ ...pod, metadata: { ...pod.metadata, name: `pod-${n}`, uid: `uid-pod-${n}` } }, HANDLER_NS));
    for (const id of ids) assert.equal((await cri.podSandboxStatus(id)).state, 'SANDBOX_READY');
    const shims = servingShims(ctd);
    assert.equal(shims.length, 2, `serving processes: ${shims.join(' ')}`);
    for (const id of ids) assert.ok(shims.some((pid) => cmdline(pid).includes(id)), `a serving process started for ${id}`);
  } finally {
    for (const id of ids) {
      await cri.stopPodSandbox(id);
      await cri.removePodSandbox(id);
    }
  }
  await until('the serving processes to exit', () => (servingShims(ctd).length ? undefined : true), 10000);
});

test(`${LABEL}: the default podsandbox path (handler rx, a pause container) still works beside it`, { skip }, async () => {
  const p = { ...pod, metadata: { ...pod.metadata, name: 'pod-ps', uid: 'uid-pod-ps' } };
  const id = await cri.runPodSandbox(p, 'rx');
  try {
    const tasks = (await ctd.ctr(['task', 'ls', '-q'], { namespace: K8S_NAMESPACE })).stdout.toString().split('\n').filter(Boolean);
    assert.deepEqual(tasks, [id], 'the pause container is a task');
    const cid = await cri.createContainer(id, container('app', 0, ['/bin/sleep', '600']), p);
    await cri.startContainer(cid);
    const r = await cri.execSync(cid, ['/bin/echo', 'podsandbox-ok'], 10);
    assert.equal(r.stdout.toString(), 'podsandbox-ok\n');
  } finally {
    await cri.stopPodSandbox(id);
    await cri.removePodSandbox(id);
  }
  const left = await settleLeaks([ctd.dir, tmp]);
  assert.deepEqual([left.shims, left.mounts, left.zombies], [[], [], []], 'no shim, mount or zombie left');
});
