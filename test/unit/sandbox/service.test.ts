import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShimError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { decode, encode, fromTimestamp } from '../../../src/proto';
import { SANDBOX_SERVICE, sandboxHandlers } from '../../../src/sandbox/ttrpc-binding';
import { SandboxService } from '../../../src/sandbox/service';
import type { Holder } from '../../../src/sandbox/holder';
import { createShutdown } from '../../../src/streams/shutdown$';

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

function setup(o: { containers?: number; holder?: ReturnType<typeof fakeHolder>; openConnections?: () => number; closeGraceMs?: number } = {}) {
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

test('SandboxMetrics is Unimplemented, saying why', async () => {
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
