/**
 * Kubernetes behaviour through CRI (issue 11 item 3), on the containerd under test
 * (RX_CONTAINERD): a host-network pod per runtime handler, `rx` (our shim) and `runc` (the Go
 * shim, the reference). Where a difference is plausible (a stop racing an exit, an ExecSync
 * timeout) the same calls run through both handlers and the test asserts they match.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { mountsUnder, settleLeaks } from '../helpers/leaks';
import { appContainer, hostNetworkPod, K8S_NAMESPACE, servingShims, startCriContainerd, type CriContainerd } from '../helpers/cri/containerd-cri';
import { CriError, type Msg } from '../helpers/cri/client';

const HOST_IS_16 = (process.env.RX_CONTAINERD ?? '2.3') === '1.6';

const HANDLERS = ['rx', 'runc'] as const;
type Handler = (typeof HANDLERS)[number];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TS = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)';

let env: CriContainerd;
const pods = new Map<Handler, { id: string; config: Msg; logDir: string }>();

before(async () => {
  env = await startCriContainerd({ name: 'cri-behaviour' });
  for (const h of HANDLERS) {
    const logDir = path.join(env.tmp, `logs-${h}`);
    const config = hostNetworkPod(`pod-${h}`, logDir);
    pods.set(h, { id: await env.cri.runPodSandbox(config, h), config, logDir });
  }
});

after(async () => {
  await env?.stop();
});

/** The task's bundle, containerd's runtime v2 state dir (core/runtime/v2 bundle.go). */
const bundleOf = (id: string) => path.join(env.ctd.state, 'io.containerd.runtime.v2.task', K8S_NAMESPACE, id);
const mountsOf = (id: string) => mountsUnder(env.ctd.dir, env.tmp).filter((m) => m.includes(id));

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Creates and starts a container in the handler's pod; `name` is also its log file's dir. */
async function run(h: Handler, name: string, command: string[]): Promise<string> {
  const pod = pods.get(h)!;
  const id = await env.cri.createContainer(pod.id, appContainer(name, command, `${name}/0.log`), pod.config);
  await env.cri.startContainer(id);
  return id;
}

/** The pids of processes whose whole command line is `cmdline`. */
function pidsRunning(cmdline: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === cmdline) out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

/** Files and dirs under `dir`, symlinks counted and not followed; `skip`: top-level names left out. */
function countFiles(dir: string, skip: string[] = []): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (skip.includes(name)) continue;
    n++;
    const p = path.join(dir, name);
    if (lstatSync(p).isDirectory()) n += countFiles(p);
  }
  return n;
}

// 1. A container whose sh traps TERM and exits on its own while StopContainer waits.
const stopOutcome = new Map<Handler, { exit: number; error: string }>();
for (const h of HANDLERS) {
  test(`[${h}] a container that exits while StopContainer runs: Stop succeeds, EXITED with its code, Remove leaves no mount`, async () => {
    const id = await run(h, 'trapper', ['/bin/sh', '-c', 'trap "sleep 0.3; exit 7" TERM; while :; do sleep 0.1; done']);
    await sleep(300); // the trap is set once sh runs
    let error = '';
    try {
      await env.cri.stopContainer(id, 5);
    } catch (err) {
      error = String(err);
    }
    const s = await env.cri.containerStatus(id);
    stopOutcome.set(h, { exit: s.exit_code, error });
    assert.equal(error, '', 'StopContainer succeeds');
    assert.equal(s.state, 'CONTAINER_EXITED');
    assert.equal(s.exit_code, 7);
    await env.cri.removeContainer(id);
    assert.deepEqual(await until('its mounts to go', () => (mountsOf(id).length ? undefined : mountsOf(id)), 5000), []);
  });

  // On 1.6 CRI's SIGKILL after the grace races the exit, and containerd deletes the task on the
  // TaskExit and closes its connection: a Kill still in the shim then failed `ttrpc: closed`. Kill
  // answers at once for a recorded exit (NotFound) and at the exit when it comes while runc kill
  // runs (a3b9eb1); 40 runs on 1.6 and 30 on 2.3 of this test alone passed after that.
  // The Go shim itself loses this race on 1.6: its Kill waits for runc kill while containerd
  // deletes the task and closes the connection (a fresh-clone CI run of 2026-12-02: "failed to
  // kill container ...: ttrpc: closed"). Beyond Go, ours answers that Kill at the exit; the Go
  // shim's run is still made and reported, as todo.
  const goLoses = h === 'runc' && HOST_IS_16 ? 'containerd-shim-runc-v2 loses this race on containerd 1.6 (ttrpc: closed under its Kill)' : false;
  test(`[${h}] containers that exit as StopContainer's 1 s grace ends: Stop succeeds, EXITED, Remove leaves no mount`, { todo: goLoses }, async () => {
    // TERM makes each exit about when the grace ends: the SIGKILL that follows the grace races
    // its exit, at a few offsets, so that some kill finds the container just gone.
    const ids = await Promise.all(
      [0.9, 0.94, 0.97, 0.99, 1.0, 1.01, 1.03, 1.06].map((d, i) => run(h, `racer-${i}`, ['/bin/sh', '-c', `trap "sleep ${d}; exit 0" TERM; while :; do sleep 0.01; done`])),
    );
    await sleep(300);
    const errors: string[] = [];
    await Promise.all(ids.map((id) => env.cri.stopContainer(id, 1).catch((err) => errors.push(String(err)))));
    const failed = ids.filter((id) => errors.some((e) => e.includes(id)));
    const logOf = (id: string) => env.ctd.log().split('\n').filter((l) => l.includes(id.slice(0, 12)) || l.includes(id)).slice(-30).join('\n');
    assert.deepEqual(errors, [], `every StopContainer succeeds; containerd's log:\n${failed.map(logOf).join('\n')}`);
    for (const id of ids) {
      const s = await env.cri.containerStatus(id);
      assert.equal(s.state, 'CONTAINER_EXITED');
      assert.ok([0, 137].includes(s.exit_code), `exit code 0 (its own) or 137 (the kill): ${s.exit_code}`);
      await env.cri.removeContainer(id);
    }
    for (const id of ids) assert.deepEqual(await until('its mounts to go', () => (mountsOf(id).length ? undefined : mountsOf(id)), 5000), []);
  });
}

test('a container exiting while StopContainer runs: rx and runc answer alike', () => {
  assert.equal(stopOutcome.size, 2, 'both handlers ran');
  assert.deepEqual(stopOutcome.get('rx'), stopOutcome.get('runc'));
});

// 3. ExecSync with a timeout, through both handlers.
const execTimeout = new Map<Handler, { code?: number; details?: string; exit?: number; lingering: number[] }>();
for (const h of HANDLERS) {
  test(`[${h}] ExecSync of a sleep past its 1 s timeout: CRI's answer, and the sleep does not linger`, async () => {
    const id = await run(h, 'exec-timeout', ['/bin/sleep', '600']);
    const cmd = h === 'rx' ? '/bin/sleep 17' : '/bin/sleep 19';
    const out: { code?: number; details?: string; exit?: number; lingering: number[] } = { lingering: [] };
    try {
      const r = await env.cri.execSync(id, cmd.split(' '), 1);
      out.exit = r.exit_code;
    } catch (err) {
      assert.ok(err instanceof CriError, String(err));
      out.code = err.code;
      // The details name the command's timeout; the rest is containerd's wording.
      out.details = err.details;
    }
    // Checked as soon as ExecSync answers: CRI kills the exec and waits for its exit before it
    // returns the timeout (v2.3.7 internal/cri/server/container_execsync.go execInternal; 1.6
    // pkg/cri/server).
    out.lingering = pidsRunning(cmd);
    execTimeout.set(h, out);
    assert.deepEqual(out.lingering, [], `no ${cmd} left`);
    await env.cri.stopContainer(id, 0);
    await env.cri.removeContainer(id);
  });
}

test('ExecSync past its timeout: rx answers as runc does', (t) => {
  assert.equal(execTimeout.size, 2, 'both handlers ran');
  const rx = execTimeout.get('rx')!;
  const runc = execTimeout.get('runc')!;
  t.diagnostic(`runc's answer: ${JSON.stringify(runc)}`);
  assert.ok(runc.code !== undefined || runc.exit !== undefined, 'runc answered');
  assert.deepEqual({ code: rx.code, exit: rx.exit, details: rx.details }, { code: runc.code, exit: runc.exit, details: runc.details });
});

// 4. Exec probes.
test('[rx] an exec probe every 100 ms for 60 s answers exit 0 and leaves the bundle file count flat', async () => {
  const id = await run('rx', 'probed', ['/bin/sleep', '600']);
  const bundle = bundleOf(id);
  // The rootfs is the container's own filesystem, mounted in the bundle: not the shim's files.
  const before = readdirSync(bundle).sort();
  assert.equal((await env.cri.execSync(id, ['/bin/true'], 5)).exit_code, 0, 'the first probe exits 0');
  // Our shim keeps an exec's spec and pid file in <bundle>/execs for the call only; the dir
  // itself, made by the first exec, stays (removing it could race a concurrent exec's files).
  // Go keeps its <exec>.pid in the bundle itself (cmd/containerd-shim-runc-v2/process/exec.go).
  const added = readdirSync(bundle).filter((n) => !before.includes(n));
  assert.ok(added.length === 0 || (added.length === 1 && added[0] === 'execs' && readdirSync(path.join(bundle, 'execs')).length === 0), `the first probe leaves at most an empty execs dir: ${added.join(' ')}`);
  const startCount = countFiles(bundle, ['rootfs']);
  const startList = readdirSync(bundle).sort();
  const end = Date.now() + 60000; // issue 11 item 3: a probe every 100 ms for 60 s
  let probes = 1;
  while (Date.now() < end) {
    const r = await env.cri.execSync(id, ['/bin/true'], 5);
    assert.equal(r.exit_code, 0, `probe ${probes} exits 0`);
    probes++;
    await sleep(100);
  }
  assert.ok(probes > 60, `probes ran: ${probes}`);
  assert.equal(countFiles(bundle, ['rootfs']), startCount, `bundle files before: ${startList.join(' ')}; after: ${readdirSync(bundle).sort().join(' ')}`);
  await env.cri.stopContainer(id, 0);
  await env.cri.removeContainer(id);
});

// 5. ContainerStats' working set.
/** The memory cgroup (v1) of a pid, as /proc/<pid>/cgroup names it. */
function memoryCgroup(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes('memory'));
  assert.ok(line, `a memory cgroup for ${pid}`);
  return path.join('/sys/fs/cgroup/memory', line.split(':').slice(2).join(':'));
}

/** usage - total_inactive_file, read directly: what CRI computes as the working set (cgroup v1). */
function cgroupMemory(dir: string): { usage: number; inactive: number } {
  const usage = Number(readFileSync(path.join(dir, 'memory.usage_in_bytes'), 'utf8'));
  const stat = readFileSync(path.join(dir, 'memory.stat'), 'utf8');
  const inactive = Number(/^total_inactive_file (\d+)$/m.exec(stat)?.[1]);
  return { usage, inactive };
}

/** One CRI reading between two equal direct readings (the cgroup moves between reads). */
async function stableStats(id: string, dir: string): Promise<{ cri: Msg; usage: number; inactive: number }> {
  for (let i = 0; i < 50; i++) {
    const a = cgroupMemory(dir);
    const cri = (await env.cri.containerStats(id)).memory;
    const b = cgroupMemory(dir);
    if (a.usage === b.usage && a.inactive === b.inactive && Number(cri.usage_bytes?.value) === a.usage) return { cri, ...a };
    await sleep(100);
  }
  throw new Error('the cgroup never held still across a ContainerStats call');
}

test('[rx] ContainerStats working set is usage minus total_inactive_file, below usage once the container wrote files', { skip: existsSync('/sys/fs/cgroup/memory') ? false : 'cgroup v1 only' }, async () => {
  const id = await run('rx', 'stats', ['/bin/sleep', '600']);
  const pid = Number(readFileSync(path.join(bundleOf(id), 'init.pid'), 'utf8'));
  const dir = memoryCgroup(pid);
  const first = await stableStats(id, dir);
  assert.equal(Number(first.cri.working_set_bytes.value), Math.max(0, first.usage - first.inactive), 'working set = usage - inactive file');
  await env.cri.execSync(id, ['/bin/sh', '-c', 'dd if=/dev/zero of=/tmp/f1 bs=1M count=8 2>/dev/null; sync'], 20);
  const second = await stableStats(id, dir);
  assert.equal(Number(second.cri.working_set_bytes.value), Math.max(0, second.usage - second.inactive), 'working set = usage - inactive file');
  assert.ok(second.inactive > 4 << 20, `the files are inactive page cache: ${second.inactive}`);
  assert.ok(Number(second.cri.working_set_bytes.value) < second.usage - (4 << 20), `working set ${second.cri.working_set_bytes.value} clearly below usage ${second.usage}`);
  await env.cri.stopContainer(id, 0);
  await env.cri.removeContainer(id);
});

// 6. Log rotation as the kubelet does it: rename, then ReopenContainerLog.
test('[rx] CRI logs survive a rename and ReopenContainerLog: old lines in the old file, new in the new, CRI format', async () => {
  // It prints what an exec drops in /tmp/say, one message at a time.
  const id = await run('rx', 'logger', ['/bin/sh', '-c', 'while :; do if [ -e /tmp/say ]; then cat /tmp/say; rm /tmp/say; fi; sleep 0.05; done']);
  const file = path.join(pods.get('rx')!.logDir, 'logger/0.log');
  const say = async (line: string) => {
    await env.cri.execSync(id, ['/bin/sh', '-c', `echo ${line} > /tmp/say.new && mv /tmp/say.new /tmp/say`], 5);
    await until(`${line} in the log`, () => (existsSync(file) && readFileSync(file, 'utf8').includes(line) ? true : undefined));
  };
  await say('old-1');
  await say('old-2');
  renameSync(file, `${file}.1`);
  await env.cri.reopenContainerLog(id);
  await say('new-1');
  await say('new-2');
  const line = (l: string) => new RegExp(`^${TS} stdout F ${l}$`);
  const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n');
  const old = lines(`${file}.1`);
  const now = lines(file);
  assert.equal(old.length, 2, old.join('\n'));
  assert.match(old[0], line('old-1'));
  assert.match(old[1], line('old-2'));
  assert.equal(now.length, 2, now.join('\n'));
  assert.match(now[0], line('new-1'));
  assert.match(now[1], line('new-2'));
  await env.cri.stopContainer(id, 0);
  await env.cri.removeContainer(id);
});

// 2. StopPodSandbox twice, then RemovePodSandbox.
for (const h of HANDLERS) {
  test(`[${h}] StopPodSandbox twice: both succeed, the second a no-op; RemovePodSandbox removes the pod`, async () => {
    const pod = pods.get(h)!;
    await env.cri.stopPodSandbox(pod.id);
    assert.equal((await env.cri.podSandboxStatus(pod.id)).state, 'SANDBOX_NOTREADY');
    await env.cri.stopPodSandbox(pod.id);
    assert.equal((await env.cri.podSandboxStatus(pod.id)).state, 'SANDBOX_NOTREADY');
    await env.cri.removePodSandbox(pod.id);
    await assert.rejects(env.cri.podSandboxStatus(pod.id), /NotFound|not found/i);
    assert.deepEqual(await env.cri.listContainers({ pod_sandbox_id: pod.id }), []);
  });
}

test('afterwards no shim process, no mount and no zombie is left', async () => {
  const left = await settleLeaks([env.ctd.dir, env.tmp]);
  for (const h of HANDLERS) assert.deepEqual(servingShims(env.ctd, h), [], `no serving ${h} shim`);
  assert.deepEqual(left.shims, [], 'no shim process');
  assert.deepEqual(left.mounts, [], 'no mount');
  assert.deepEqual(left.zombies, [], 'no zombie');
});
