import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShimError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { decode, encode, fromTimestamp } from '../../../src/proto';
import { SANDBOX_SERVICE, sandboxHandlers } from '../../../src/sandbox/ttrpc-binding';
import { SandboxService } from '../../../src/sandbox/service';
import type { Holder } from '../../../src/sandbox/holder';
import { createShutdown } from '../../../src/streams/shutdown$';
import type { Hierarchy } from '../../../src/sandbox/cgroup';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A holder the test ends: kill() records the signal; the test calls exit(). */
function fakeHolder(pid = 4242) {
  const signals: string[] = [];
  let exit!: (e: { status: number; time: Date }) => void;
  let alive = true;
  const exited = new Promise<{ status: number; time: Date }>((r) => (exit = r));
  const holder: Holder = {
    pid,
    exited,
    get alive() {
      return alive;
    },
    kill: (s) => {
      if (!alive) return; // as the real holder: nothing is signalled once it has exited
      signals.push(s);
      if (s === 'SIGKILL') end(137);
    },
  };
  const end = (status: number) => {
    alive = false;
    exit({ status, time: new Date(5000) });
  };
  return { holder, signals, end };
}

function setup(o: { containers?: number; holder?: ReturnType<typeof fakeHolder>; openConnections?: () => number; closeGraceMs?: number; hierarchies?: Hierarchy[] } = {}) {
  const h = o.holder ?? fakeHolder();
  const cmds: Array<{ file: string; args: string[] }> = [];
  const shutdown = createShutdown();
  const svc = new SandboxService({
    id: 'sb1',
    containers: () => o.containers ?? 0,
    shutdown,
    log: silentLogger(),
    startHolder: async (cmd) => (cmds.push(cmd), h.holder),
    now: () => new Date(1000),
    openConnections: o.openConnections,
    closeGraceMs: o.closeGraceMs,
    hierarchies: () => o.hierarchies ?? [],
  });
  return { svc, h, cmds, shutdown };
}

const kind = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e instanceof ShimError ? e.kind : String(e)));
const cri = (value: object) => ({ type_url: 'runtime.v1.PodSandboxConfig', value: encode('runtime.v1.PodSandboxConfig', value) });

test('Create then Start: the holder\'s pid and created_at come back; Status says SANDBOX_READY with that pid', async () => {
  const { svc, cmds } = setup();
  await svc.createSandbox({ sandbox_id: 'sb1', netns_path: '', options: cri({ linux: { security_context: { namespace_options: { network: 'NODE' } } } }) });
  const started = await svc.startSandbox({ sandbox_id: 'sb1' });
  assert.equal(started.pid, 4242);
  assert.equal(fromTimestamp(started.created_at).getTime(), 1000);
  assert.ok(!cmds[0].args.includes('--uts'), 'host network: no uts namespace of its own');
  // The sandbox spec CRI stores (and NRI reads): typeurl's OCI Spec, JSON, naming the holder's namespaces.
  assert.equal(started.spec.type_url, 'types.containerd.io/opencontainers/runtime-spec/1/Spec');
  const spec = JSON.parse(started.spec.value.toString());
  assert.deepEqual(spec.linux.namespaces, [{ type: 'pid', path: '/proc/4242/ns/pid' }, { type: 'ipc', path: '/proc/4242/ns/ipc' }]);
  assert.equal(spec.hostname, undefined, 'no hostname for a host-network pod');
  const st = await svc.sandboxStatus({ sandbox_id: 'sb1', verbose: true });
  assert.deepEqual([st.sandbox_id, st.pid, st.state], ['sb1', 4242, 'SANDBOX_READY']);
  assert.equal(JSON.parse(st.info.info).pid, 4242);
  assert.equal(st.exited_at, undefined);
});

test('another sandbox id is NotFound naming both ids', async () => {
  const { svc } = setup();
  await assert.rejects(svc.pingSandbox({ sandbox_id: 'other' }), (e: unknown) => e instanceof ShimError && e.kind === 'NotFound' && /other/.test(e.message) && /sb1/.test(e.message));
});

test('WaitSandbox blocks until the holder exits, then answers its status and time; Status shows NOTREADY and exited_at', async () => {
  const { svc, h } = setup();
  await svc.createSandbox({ sandbox_id: 'sb1' });
  await svc.startSandbox({ sandbox_id: 'sb1' });
  let answered = false;
  const wait = svc.waitSandbox({ sandbox_id: 'sb1' }).then((r) => ((answered = true), r));
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, false, 'Wait is still blocked while the pod runs');
  h.end(0);
  const r = await wait;
  assert.equal(r.exit_status, 0);
  assert.equal(fromTimestamp(r.exited_at).getTime(), 5000);
  const st = await svc.sandboxStatus({ sandbox_id: 'sb1' });
  assert.equal(st.state, 'SANDBOX_NOTREADY');
  assert.equal(fromTimestamp(st.exited_at).getTime(), 5000);
});

test('StopSandbox without a timeout SIGKILLs at once; with one it SIGTERMs first and needs no SIGKILL if the holder goes', async () => {
  const a = setup();
  await a.svc.createSandbox({ sandbox_id: 'sb1' });
  await a.svc.startSandbox({ sandbox_id: 'sb1' });
  await a.svc.stopSandbox({ sandbox_id: 'sb1', timeout_secs: 0 });
  assert.deepEqual(a.h.signals, ['SIGKILL']);
  assert.equal((await a.svc.waitSandbox({ sandbox_id: 'sb1' })).exit_status, 137);
  // Stop is idempotent (controller.go Stop on an already stopped pod).
  await a.svc.stopSandbox({ sandbox_id: 'sb1' });
  assert.deepEqual(a.h.signals, ['SIGKILL']);

  const b = setup();
  await b.svc.createSandbox({ sandbox_id: 'sb1' });
  await b.svc.startSandbox({ sandbox_id: 'sb1' });
  const origKill = b.h.holder.kill;
  (b.h.holder as { kill: Holder['kill'] }).kill = (s) => {
    origKill(s);
    if (s === 'SIGTERM') b.h.end(0);
  };
  await b.svc.stopSandbox({ sandbox_id: 'sb1', timeout_secs: 30 });
  assert.deepEqual(b.h.signals, ['SIGTERM']);
});

test('StopSandbox on a created, never started pod releases WaitSandbox', async () => {
  const { svc } = setup();
  await svc.createSandbox({ sandbox_id: 'sb1' });
  const wait = svc.waitSandbox({ sandbox_id: 'sb1' });
  await svc.stopSandbox({ sandbox_id: 'sb1' });
  assert.equal((await wait).exit_status, 0);
  assert.equal(await kind(svc.startSandbox({ sandbox_id: 'sb1' })), 'FailedPrecondition');
});

test('ShutdownSandbox with containers left is FailedPrecondition and shuts nothing down', async () => {
  const { svc, shutdown, h } = setup({ containers: 2 });
  await svc.createSandbox({ sandbox_id: 'sb1' });
  await svc.startSandbox({ sandbox_id: 'sb1' });
  await assert.rejects(svc.shutdownSandbox({ sandbox_id: 'sb1' }), /2 container/);
  assert.equal(shutdown.requested, false);
  assert.deepEqual(h.signals, []);
});

test('ShutdownSandbox kills a running holder, then asks the shutdown service', async () => {
  const { svc, shutdown, h } = setup();
  await svc.createSandbox({ sandbox_id: 'sb1' });
  await svc.startSandbox({ sandbox_id: 'sb1' });
  await svc.shutdownSandbox({ sandbox_id: 'sb1' });
  assert.deepEqual(h.signals, ['SIGKILL']);
  await shutdown.done();
});

test('ShutdownSandbox answers first and ends the process only once containerd has closed its connections', async () => {
  let open = 2;
  const { svc, shutdown } = setup({ openConnections: () => open, closeGraceMs: 60000 });
  await svc.createSandbox({ sandbox_id: 'sb1' });
  await svc.shutdownSandbox({ sandbox_id: 'sb1' });
  assert.equal(shutdown.requested, false, 'not while the response may still be unread');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(shutdown.requested, false, 'not while containerd keeps a connection');
  open = 0;
  await shutdown.done();
});

test('ShutdownSandbox ends the process after the grace even if a connection stays open', async () => {
  const { svc, shutdown } = setup({ openConnections: () => 1, closeGraceMs: 50 });
  await svc.createSandbox({ sandbox_id: 'sb1' });
  await svc.shutdownSandbox({ sandbox_id: 'sb1' });
  await shutdown.done();
});

test('SandboxMetrics of a pod without cgroup_parent is Unimplemented, saying why', async () => {
  const { svc } = setup();
  await svc.createSandbox({ sandbox_id: 'sb1' });
  await svc.startSandbox({ sandbox_id: 'sb1' });
  await assert.rejects(svc.sandboxMetrics({ sandbox_id: 'sb1' }), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented' && /cgroup/.test(e.message));
});

test('the ttrpc binding decodes sandbox.proto bytes, answers in them, and refuses garbage as InvalidArgument', async () => {
  const { svc } = setup();
  const handlers = sandboxHandlers(svc);
  const ctx = { service: SANDBOX_SERVICE, method: '', metadata: new Map(), signal: new AbortController().signal };
  assert.equal(SANDBOX_SERVICE, 'containerd.runtime.sandbox.v1.Sandbox');
  assert.deepEqual(Object.keys(handlers).sort(), ['CreateSandbox', 'PingSandbox', 'Platform', 'SandboxMetrics', 'SandboxStatus', 'ShutdownSandbox', 'StartSandbox', 'StopSandbox', 'WaitSandbox']);
  const P = 'containerd.runtime.sandbox.v1.';
  await handlers.CreateSandbox(encode(P + 'CreateSandboxRequest', { sandbox_id: 'sb1', netns_path: '' }), ctx);
  const started = decode(P + 'StartSandboxResponse', await handlers.StartSandbox(encode(P + 'StartSandboxRequest', { sandbox_id: 'sb1' }), ctx));
  assert.equal(started.pid, 4242);
  const plat = decode(P + 'PlatformResponse', await handlers.Platform(encode(P + 'PlatformRequest', { sandbox_id: 'sb1' }), ctx));
  assert.equal(plat.platform.os, 'linux');
  await assert.rejects(handlers.PingSandbox(Buffer.from([0x0a, 0xff]), ctx), (e: unknown) => e instanceof ShimError && e.kind === 'InvalidArgument' && /PingRequest/.test(e.message));
});

test('CreateSandbox with rootfs mounts is Unimplemented, and the sandbox stays new', async () => {
  const { svc } = setup();
  await assert.rejects(svc.createSandbox({ sandbox_id: 'sb1', rootfs: [{ type: 'overlay', source: 'overlay', target: '', options: [] }] }), (e: unknown) => e instanceof ShimError && e.kind === 'Unimplemented' && /rootfs/.test(e.message));
  assert.equal((await svc.sandboxStatus({ sandbox_id: 'sb1' })).state, 'SANDBOX_NOTREADY');
  await svc.createSandbox({ sandbox_id: 'sb1' });
});

/** A fake v1 memory hierarchy in a temp dir. */
function fakeMemoryHierarchy() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rx-sbcg-'));
  const hs: Hierarchy[] = [{ dir: root, v2: false, controllers: ['memory'] }];
  return { root, hs, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('a cgroup_parent: the holder starts joined to <parent>/<id> (made for it, removed once it exits), and the spec names that cgroupsPath', async () => {
  const { root, hs, done } = fakeMemoryHierarchy();
  try {
    const { svc, cmds, h } = setup({ hierarchies: hs });
    const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-sbbundle-'));
    await svc.createSandbox({ sandbox_id: 'sb1', bundle_path: bundle, options: cri({ linux: { cgroup_parent: '/kubepods/pod1' } }) });
    const started = await svc.startSandbox({ sandbox_id: 'sb1' });
    const procs = path.join(root, 'kubepods/pod1/sb1/cgroup.procs');
    // For the delete action, should the serving process be SIGKILLed (cli/delete.ts).
    assert.deepEqual(JSON.parse(readFileSync(path.join(bundle, 'rx-pod-cgroups.json'), 'utf8')), { dirs: [path.dirname(procs)] });
    rmSync(bundle, { recursive: true });
    assert.deepEqual(cmds[0].args.slice(0, 5), ['-c', cmds[0].args[1], 'rx-cgroup', procs, '--'], cmds[0].args.join(' '));
    assert.equal(cmds[0].file, '/bin/sh');
    assert.ok(existsSync(path.dirname(procs)), 'the cgroup is made before the holder starts');
    assert.equal(JSON.parse(started.spec.value.toString()).linux.cgroupsPath, '/kubepods/pod1/sb1');
    await svc.stopSandbox({ sandbox_id: 'sb1' });
    assert.deepEqual(h.signals, ['SIGKILL']);
    assert.equal(existsSync(path.dirname(procs)), false, 'StopSandbox answers once the cgroup is gone');
    assert.equal(existsSync(path.join(root, 'kubepods/pod1')), true, 'the parent is left (the kubelet\'s)');
  } finally {
    done();
  }
});

test('SandboxMetrics reads the pod\'s cgroup (cgroup_parent) and answers a types.Metric with the sandbox id and cgroups Metrics', async () => {
  const { root, hs, done } = fakeMemoryHierarchy();
  try {
    mkdirSync(path.join(root, 'kubepods/pod1'), { recursive: true });
    writeFileSync(path.join(root, 'kubepods/pod1/memory.usage_in_bytes'), '65536\n');
    writeFileSync(path.join(root, 'kubepods/pod1/memory.stat'), 'total_inactive_file 4096\n');
    const { svc } = setup({ hierarchies: hs });
    await svc.createSandbox({ sandbox_id: 'sb1', options: cri({ linux: { cgroup_parent: '/kubepods/pod1' } }) });
    await svc.startSandbox({ sandbox_id: 'sb1' });
    const res = await svc.sandboxMetrics({ sandbox_id: 'sb1' });
    assert.equal(res.metrics.id, 'sb1');
    assert.equal(res.metrics.data.type_url, 'io.containerd.cgroups.v1.Metrics');
    const m = decode('io.containerd.cgroups.v1.Metrics', res.metrics.data.value) as any;
    assert.equal(Number(m.memory.usage.usage), 65536);
    assert.equal(Number(m.memory.total_inactive_file), 4096);
    // Through the ttrpc binding: the response encodes.
    const ctx = { service: SANDBOX_SERVICE, method: 'SandboxMetrics', metadata: new Map(), signal: new AbortController().signal };
    const bytes = await sandboxHandlers(svc).SandboxMetrics(encode('containerd.runtime.sandbox.v1.SandboxMetricsRequest', { sandbox_id: 'sb1' }), ctx);
    assert.equal(decode('containerd.runtime.sandbox.v1.SandboxMetricsResponse', bytes).metrics.id, 'sb1');
    rmSync(path.join(root, 'kubepods/pod1'), { recursive: true });
    assert.equal(await kind(svc.sandboxMetrics({ sandbox_id: 'sb1' })), 'Unimplemented', 'a cgroup that cannot be read');
  } finally {
    done();
  }
});

test('holdsPod: not before CreateSandbox, from then on (stopped too), no longer once ShutdownSandbox came', async () => {
  const { svc } = setup();
  assert.equal(svc.holdsPod(), false);
  await svc.createSandbox({ sandbox_id: 'sb1' });
  assert.equal(svc.holdsPod(), true);
  await svc.startSandbox({ sandbox_id: 'sb1' });
  await svc.stopSandbox({ sandbox_id: 'sb1' });
  assert.equal(svc.holdsPod(), true, 'a stopped pod still waits for ShutdownSandbox (CRI calls Status and Shutdown on it)');
  await svc.shutdownSandbox({ sandbox_id: 'sb1' });
  assert.equal(svc.holdsPod(), false);
});

test('a pod cgroup that cannot be made fails StartSandbox as Internal naming it, with no holder started', async () => {
  const { svc, cmds } = setup({ hierarchies: [{ dir: '/nonexistent/rx-cgroup-root', v2: false, controllers: ['memory'] }] });
  await svc.createSandbox({ sandbox_id: 'sb1', options: cri({ linux: { cgroup_parent: '/kubepods/pod1' } }) });
  await assert.rejects(svc.startSandbox({ sandbox_id: 'sb1' }), (e: unknown) => e instanceof ShimError && e.kind === 'Internal' && /\/kubepods\/pod1\/sb1/.test(e.message));
  assert.deepEqual(cmds, [], 'no holder started');
});
