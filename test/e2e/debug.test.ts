/**
 * `containerd-shim-rx-v2 debug` against real serving processes of a private containerd: tap
 * sees a container's exec lifecycle live and in order, state matches `ctr task ls`, metrics
 * parse as Prometheus text and count real calls and exits, a recorded lifecycle becomes a
 * marble test that compiles and passes, and a gone process is one line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { run } from '../helpers/run';
import { uniqueId, ctrTasks, listTasks } from '../helpers/tasks';
import { runtimeArgs } from '../helpers/shim';
import { debugSocketPath, readAddress } from '../../src/cli/address';

const REPO = path.resolve(__dirname, '../../..');
const BIN = path.join(REPO, 'bin', 'containerd-shim-rx-v2');
const [TAP, REC, MET] = ['dbg-tap', 'dbg-rec', 'dbg-met'].map(uniqueId);

let ctd: Containerd;
let rootfs: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'rx-debug-test-'));
before(async () => {
  ctd = await startContainerd({ name: 'debug' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => {
  await ctd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const { runDetached, remove } = ctrTasks(() => ctd, () => rootfs);
const bundleOf = (id: string) => path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id);
const where = (id: string) => ['-address', ctd.address, '-namespace', 'default', '-id', id];
const debug = (args: string[]) => run(BIN, ['debug', ...args], { timeoutMs: 20000 });

/** A `debug tap` left running: its stdout lines so far, and a wait for a line that matches. */
function tapClient(args: string[]) {
  const child: ChildProcess = spawn(BIN, ['debug', 'tap', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    waiters.splice(0).forEach((w) => w());
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d;
    waiters.splice(0).forEach((w) => w());
  });
  const until = async (what: string, ok: () => boolean, ms = 15000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end || child.exitCode !== null) assert.fail(`tap: no ${what} in ${ms} ms; stdout:\n${lines.join('\n')}\nstderr:\n${err}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return {
    child,
    lines,
    stderr: () => err,
    attached: () => until('ack', () => /tapping /.test(err)),
    waitForErr: (re: RegExp) => until(`stderr ${re}`, () => re.test(err)),
    waitFor: (what: string, re: RegExp) => until(what, () => lines.some((l) => re.test(l))),
    send: (line: string) => child.stdin!.write(line + '\n'),
    stop: () => child.kill('SIGINT'),
  };
}

test('the debug socket sits beside the ttrpc socket, 0600', async () => {
  await runDetached(TAP);
  const file = debugSocketPath(readAddress(bundleOf(TAP))!);
  const st = statSync(file);
  assert.ok(st.isSocket(), `${file} is a socket`);
  assert.equal(st.mode & 0o777, 0o600);
});

test('debug tap shows an exec\'s lifecycle live and in order, as JSON and for people; a stream switched off live goes quiet', async () => {
  const json = tapClient([...where(TAP), '--json']);
  const human = tapClient(['-bundle', bundleOf(TAP)]);
  await json.attached();
  await human.attached();
  const r = await ctd.ctr(['task', 'exec', '--exec-id', 'e1', TAP, '/bin/sh', '-c', 'exit 3']);
  assert.equal(r.code, 3, r.stderr);
  await json.waitFor('TaskExit of e1', /"stream":"events".*"topic":"\/tasks\/exit".*"id":"e1"/);
  const seen = json.lines.map((l) => JSON.parse(l) as { stream: string; id: string; value: any });
  assert.ok(seen.every((e) => e.id === TAP || e.id === ''), 'only this container\'s values (and the process\'s own)');
  const at = (pred: (e: (typeof seen)[number]) => boolean, what: string) => {
    const i = seen.findIndex(pred);
    assert.ok(i >= 0, `${what} seen in ${JSON.stringify(seen.map((e) => e.stream + ' ' + JSON.stringify(e.value)))}`);
    return i;
  };
  const exec = at((e) => e.stream === 'calls' && e.value.method === 'Exec' && e.value.code === 0, 'the Exec call');
  const added = at((e) => e.stream === 'events' && e.value.topic === '/tasks/exec-added', 'TaskExecAdded');
  const started = at((e) => e.stream === 'events' && e.value.topic === '/tasks/exec-started' && e.value.event.exec_id === 'e1', 'TaskExecStarted');
  const reaped = at((e) => e.stream === 'exits' && e.value.status === 3, 'the reaped exit, status 3');
  const exit = at((e) => e.stream === 'events' && e.value.topic === '/tasks/exit' && e.value.event.id === 'e1' && e.value.event.exit_status === 3, 'TaskExit of e1, status 3');
  // A call's line comes at its answer: TaskExecAdded is published while the Exec call runs.
  assert.ok(added < exec && added < started && started < exit && reaped < exit, `order: added ${added} < Exec ${exec}, added < started ${started} < exit ${exit}, reaped ${reaped} < exit`);
  // An exit reaped before its Start returned has no known container yet: shown as '-'.
  await human.waitFor('the exit, for people', /exits\s+\S+\s+pid \d+ exited, status 3$/);
  assert.ok(human.lines.some((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} calls\\s+${TAP}\\s+Exec OK \\d+\\.\\d ms$`).test(l)), human.lines.join('\n'));
  assert.ok(human.lines.some((l) => /events\s+\S+\s+\/tasks\/exec-started exec_id=e1 pid=\d+/.test(l)), human.lines.join('\n'));

  // Live: switch calls off on the same connection; the next exec shows events but no call.
  json.send('-calls');
  await json.waitForErr(/tapping signals,exits,lifecycle,events\n/);
  await new Promise((r) => setTimeout(r, 300));
  const before = json.lines.length;
  assert.equal((await ctd.ctr(['task', 'exec', '--exec-id', 'e2', TAP, '/bin/true'])).code, 0);
  await json.waitFor('TaskExit of e2', /"stream":"events".*"topic":"\/tasks\/exit".*"id":"e2"/);
  const later = json.lines.slice(before).map((l) => JSON.parse(l) as { stream: string });
  assert.ok(later.length > 0 && later.every((e) => e.stream !== 'calls'), `no calls after -calls: ${json.lines.slice(before).join('\n')}`);
  json.stop();
  human.stop();
});

test('debug state shows the container and its init in the state and with the pid ctr task ls shows', async () => {
  const row = (await listTasks(ctd)).get(TAP)!;
  const r = await debug(['state', '--json', ...where(TAP)]);
  assert.equal(r.code, 0, r.stderr);
  const state = JSON.parse(r.stdout.toString());
  const c = state.containers.find((x: { id: string }) => x.id === TAP);
  assert.ok(c, `container ${TAP} in ${r.stdout}`);
  const init = c.processes.find((p: { exec: string }) => p.exec === '');
  assert.equal(init.state, row.status.toLowerCase());
  assert.equal(init.pid, row.pid);
  assert.equal(init.startPublished, true);
  assert.ok(state.rssBytes > 0 && state.fds > 0, 'the process\'s RSS and fds');
  const people = await debug(['state', '-bundle', bundleOf(TAP)]);
  assert.equal(people.code, 0, people.stderr);
  assert.match(people.stdout.toString(), new RegExp(`container ${TAP}`));
  assert.match(people.stdout.toString(), new RegExp(`init\\s+running\\s+pid ${row.pid}`));
});

test('debug metrics is Prometheus text with the calls, events and exits counted', async () => {
  const r = await debug(['metrics', ...where(TAP)]);
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout.toString();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    assert.ok(m, `not an exposition line: ${JSON.stringify(line)}`);
    samples.set(m[1], Number(m[2]));
  }
  const value = (re: RegExp) => [...samples].filter(([k]) => re.test(k)).reduce((n, [, v]) => n + v, 0);
  assert.ok(value(/^shim_rx_ttrpc_calls_total\{.*method="Create",code="OK"\}$/) >= 1, 'a Create counted');
  assert.ok(value(/^shim_rx_ttrpc_calls_total\{.*method="Exec",code="OK"\}$/) >= 2, 'both Execs counted');
  assert.ok(value(/^shim_rx_ttrpc_call_duration_seconds_count\{.*method="Start"\}$/) >= 3, 'Start latencies');
  assert.ok(value(/^shim_rx_exits_reaped_total$/) >= 2, 'the execs\' exits reaped');
  assert.ok(value(/^shim_rx_events_delivered_total$/) >= 4, 'events delivered');
  assert.equal(value(/^shim_rx_events_lost_total$/), 0);
  assert.ok(value(/^process_resident_memory_bytes$/) > 0);
  assert.ok(value(/^process_open_fds$/) > 0);
});

test('debug record of an exec lifecycle to the TaskDelete, and marbles: diagrams and a marble test that compiles and passes', { timeout: 120000 }, async () => {
  await runDetached(REC);
  const out = path.join(tmp, 'rec.jsonl');
  const rec = spawn(BIN, ['debug', 'record', ...where(REC), '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  rec.stderr!.on('data', (d) => (err += d));
  const ended = new Promise<number | null>((resolve) => rec.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 100 && !/recording /.test(err); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(err, /recording /);
  assert.equal((await ctd.ctr(['task', 'exec', '--exec-id', 'x1', REC, '/bin/sh', '-c', 'exit 7'])).code, 7);
  await remove(REC);
  assert.equal(await ended, 0, err);
  assert.match(err, /recorded \d+ values/);

  // Beside the repository's node_modules, so the test resolves rxjs as the repository's do.
  const dir = path.join(REPO, 'dist', 'test', `recorded-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const file = path.join(dir, 'recorded.marbles.test.ts');
    const m = await debug(['marbles', out, '--out', file, '--src', '../../../src']);
    assert.equal(m.code, 0, m.stderr);
    const diagrams = m.stdout.toString();
    assert.match(diagrams, /^lifecycle\s+[-a-zA-Z()]+$/m);
    assert.match(diagrams, /^events\s+[-a-zA-Z()]+$/m);
    assert.match(diagrams, /\/tasks\/exec-started exec_id=x1/);
    assert.ok(existsSync(file));
    const tsc = await run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--esModuleInterop', '--skipLibCheck', '--target', 'ES2022', '--module', 'commonjs', '--moduleResolution', 'node', '--types', 'node', file], { timeoutMs: 90000 });
    assert.equal(tsc.code, 0, `the skeleton compiles: ${tsc.stdout}${tsc.stderr}`);
    const js = path.join(dir, 'recorded.marbles.test.js');
    const esb = await run(path.join(REPO, 'node_modules', '.bin', 'esbuild'), [file, '--bundle', '--platform=node', '--format=cjs', '--external:koffi', `--outfile=${js}`, '--log-level=warning']);
    assert.equal(esb.code, 0, esb.stderr);
    // Not as a subtest of this run: without NODE_TEST_CONTEXT it reports TAP on its stdout.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const t = await run(process.execPath, ['--test', js], { timeoutMs: 60000, env });
    assert.equal(t.code, 0, `the recorded marble test passes:\n${t.stdout}${t.stderr}`);
    assert.match(t.stdout.toString(), /# pass 1/);
  } finally {
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  }
});

test('metrics_address in our TOML config: the serving process also serves /metrics over HTTP there', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const config = path.join(tmp, 'metrics.toml');
  writeFileSync(config, `metrics_address = "127.0.0.1:${port}"\n`);
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '-d', '--rootfs', rootfs, MET, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^shim_rx_ttrpc_calls_total\{service="[^"]+",method="Create",code="OK"\} 1$/m);
  } finally {
    await remove(MET);
  }
});

test('debug against a gone serving process says so in one line', async () => {
  const saved = path.join(tmp, 'gone-bundle');
  mkdirSync(saved);
  copyFileSync(path.join(bundleOf(TAP), 'address'), path.join(saved, 'address'));
  const watching = tapClient([...where(TAP), '--stream', 'events']);
  await watching.attached();
  await remove(TAP);
  // A tap open while the container goes sees its TaskDelete, then the process go.
  await watching.waitFor('TaskDelete', /events\s+\S+\s+\/tasks\/delete /);
  await watching.waitForErr(/the serving process closed the debug connection/);
  for (let i = 0; i < 50 && existsSync(debugSocketPath(readAddress(saved)!)); i++) await new Promise((r) => setTimeout(r, 100));
  const r = await debug(['state', '-bundle', saved]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^containerd-shim-rx-v2: bundle .*: its serving process is gone \(.*\.debug: (ENOENT|ECONNREFUSED)\)\n$/);
  const byId = await debug(['state', ...where(TAP)]);
  assert.equal(byId.code, 1);
  assert.match(byId.stderr, new RegExp(`^containerd-shim-rx-v2: no serving process of container ${TAP} in namespace default of containerd .*\\n$`));
});
