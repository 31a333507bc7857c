/**
 * Under load no call is dropped: `ctr run -d` + kill/delete cycles, a few at a time, beside a
 * CPU hog (one `yes > /dev/null` per core), once with a serving process per container and once
 * with grouping = "namespace" — first with the group's process kept up by a keeper container
 * (its fds and RSS stay flat), then with nothing keeping it, so the process ends whenever the
 * group empties while new `start`s keep arriving. Every failed cycle's stderr is collected;
 * afterwards no shim process, mount, runc state, bundle or socket is left.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { mountsUnder, settleLeaks, snapshotLeaks } from '../helpers/leaks';
import { busyboxRootfs } from '../helpers/rootfs';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId } from '../helpers/tasks';
import { RUNC_ROOT } from '../../src/runc/root';
import { socketAddress, socketPath } from '../../src/cli/address';

/**
 * Cycles per mode: the 500 with a serving process per container and grouped (where fds and
 * RSS are watched); the no-keeper churn 100, since it only adds Shutdowns racing starts. 500 per
 * container costs ~11 min per containerd on 2 cores beside the hog (~1.3 s a cycle, 4 in flight).
 * RX_STRESS_CYCLES sets every mode (a quick local look, or a longer soak).
 */
const override = Number(process.env.RX_STRESS_CYCLES) || 0;
const CYCLES = { own: override || 500, grouped: override || 500, churn: override || 100 };
/** Cycles in flight at once: more stressful than one, and what fits the file's time on 2 cores. */
const PARALLEL = Number(process.env.RX_STRESS_PARALLEL || 4);
/** fds and RSS are read with only the keeper left, after every SAMPLE_EVERY cycles. */
const SAMPLE_EVERY = 25;
/** A leak of one fd per cycle would be hundreds; this is a few fds of noise (an idle connection). */
const FD_MARGIN = 3;
/** RSS growth allowed from the first 50 cycles to the last 50: a leak of 40 KB a cycle fails it. */
const RSS_MARGIN_MB = 16;
const NS = { own: 'stress-own', grouped: 'stress-grouped', churn: 'stress-churn' } as const;
const skipGrouped = !!process.env.SHIM_RUNTIME && 'grouping is ours';

let ctd: Containerd;
let rootfs: string;
let config: string;
const hog: ChildProcess[] = [];

before(async () => {
  ctd = await startContainerd({ name: 'stress', logLevel: 'info' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  config = path.join(ctd.dir, 'rx.toml');
  writeFileSync(config, 'grouping = "namespace"\n');
  // The CPU hog: every core busy beside containerd, ctr, runc and the shims.
  const devnull = openSync('/dev/null', 'w');
  for (let i = 0; i < os.cpus().length; i++) hog.push(spawn('yes', [], { stdio: ['ignore', devnull, 'ignore'] }));
  closeSync(devnull);
});
after(async () => {
  for (const p of hog) p.kill('SIGKILL');
  await ctd?.stop();
});

interface Failure {
  cycle: number;
  step: string;
  code: number;
  stderr: string;
}

/** One cycle: `ctr run -d`, then `ctr task delete -f` (SIGKILL, wait for the exit, delete), then the container. */
async function cycle(ns: string, extra: string[], i: number, failures: Failure[]): Promise<void> {
  const id = uniqueId(`s${i}`);
  const step = async (name: string, args: string[]) => {
    const r = await ctd.ctr(args, { namespace: ns, timeoutMs: 120000 });
    if (r.code !== 0) failures.push({ cycle: i, step: name, code: r.code, stderr: r.stderr.trim() });
    return r.code === 0;
  };
  if (await step('run -d', ['run', ...runtimeArgs(), ...extra, '-d', '--rootfs', rootfs, id, '/bin/sleep', '600'])) {
    (await step('task delete -f', ['task', 'delete', '-f', id])) && (await step('container delete', ['container', 'delete', id]));
    return;
  }
  // After a failed run, quietly: a task or container it left must not outlive the cycle.
  await ctd.ctr(['task', 'delete', '-f', id], { namespace: ns });
  await ctd.ctr(['container', 'delete', id], { namespace: ns });
}

/** Runs cycles [from, to) with PARALLEL in flight. */
async function pool(from: number, to: number, run: (i: number) => Promise<void>): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) await run(next++);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

const report = (failures: Failure[]) =>
  failures.map((f) => `  cycle ${f.cycle} ${f.step} (exit ${f.code}): ${f.stderr}`).join('\n');

const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssMBOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** What a namespace left behind: runc state under the default root, bundles, tasks, containers. */
async function leftIn(ns: string): Promise<{ runc: string[]; bundles: string[]; tasks: string[]; containers: string[] }> {
  const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  const q = async (what: string) => (await ctd.ctr([what, 'ls', '-q'], { namespace: ns })).stdout.toString().split('\n').filter(Boolean);
  return {
    runc: ls(path.join(RUNC_ROOT, ns)).filter((id) => id.endsWith(`-${process.pid}`)),
    bundles: ls(path.join(ctd.state, 'io.containerd.runtime.v2.task', ns)),
    tasks: await q('task'),
    containers: await q('container'),
  };
}
const NOTHING = { runc: [], bundles: [], tasks: [], containers: [] };

test(`${CYCLES.own} cycles with a serving process per container, beside a CPU hog: none fails, containerd's fds stay flat`, async () => {
  // Each cycle's serving process is gone after it, so what could leak is on containerd's side of
  // each connection (and in what is left on disk, below): its fds are sampled like the group's.
  const failures: Failure[] = [];
  const samples: Array<{ after: number; fds: number }> = [];
  const t0 = Date.now();
  for (let from = 0; from < CYCLES.own; from += SAMPLE_EVERY) {
    const to = Math.min(from + SAMPLE_EVERY, CYCLES.own);
    await pool(from, to, (i) => cycle(NS.own, [], i, failures));
    samples.push({ after: to, fds: fdsOf(ctd.pid()) });
  }
  const fds = (ss: typeof samples) => ss.map((s) => s.fds);
  const first = fds(samples.filter((s) => s.after <= 50));
  const last = fds(samples.filter((s) => s.after > CYCLES.own - 50));
  console.log(`# per container: ${CYCLES.own} cycles, ${PARALLEL} in flight, in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${failures.length} failed; containerd fds first 50: ${first.join(', ')}; last 50: ${last.join(', ')}`);
  assert.equal(failures.length, 0, `failed cycles:\n${report(failures)}`);
  assert.ok(Math.max(...last) - Math.max(...first) <= FD_MARGIN, `containerd's fds grew: first 50 ${first.join(', ')}; last 50 ${last.join(', ')}`);
  assert.deepEqual(await leftIn(NS.own), NOTHING);
});

test(`${CYCLES.grouped} cycles through one namespace-grouped serving process, beside a CPU hog: none fails, its fds and RSS stay flat`, { skip: skipGrouped }, async () => {
  const extra = ['--runtime-config-path', config];
  const keeper = uniqueId('keeper');
  const r = await ctd.ctr(['run', ...runtimeArgs(), ...extra, '-d', '--rootfs', rootfs, keeper, '/bin/sleep', '3600'], { namespace: NS.grouped });
  assert.equal(r.code, 0, r.stderr);
  const [shim] = snapshotLeaks(ctd.dir).shims;
  const failures: Failure[] = [];
  const samples: Array<{ after: number; fds: number; rss: number; secs: number }> = [];
  const t0 = Date.now();
  for (let from = 0; from < CYCLES.grouped; from += SAMPLE_EVERY) {
    const to = Math.min(from + SAMPLE_EVERY, CYCLES.grouped);
    const t = Date.now();
    await pool(from, to, (i) => cycle(NS.grouped, extra, i, failures));
    samples.push({ after: to, fds: fdsOf(shim), rss: rssMBOf(shim), secs: (Date.now() - t) / 1000 });
  }
  const secs = (Date.now() - t0) / 1000;
  assert.deepEqual(snapshotLeaks(ctd.dir).shims, [shim], 'the same one serving process throughout');
  // First 50 cycles against the last 50: the samples taken after each of them.
  const first = samples.filter((s) => s.after <= 50);
  const last = samples.filter((s) => s.after > CYCLES.grouped - 50);
  const max = (xs: number[]) => Math.max(...xs);
  const fmt = (ss: typeof samples) => ss.map((s) => `${s.fds} fds/${s.rss.toFixed(1)} MB`).join(', ');
  console.log(`# grouped: ${CYCLES.grouped} cycles, ${PARALLEL} in flight, in ${secs.toFixed(1)} s; ${failures.length} failed; shim ${shim} first 50: ${fmt(first)}; last 50: ${fmt(last)}`);
  console.log(`# grouped: seconds per ${SAMPLE_EVERY} cycles: ${samples.map((s) => s.secs.toFixed(1)).join(' ')}`);
  assert.equal(failures.length, 0, `failed cycles:\n${report(failures)}`);
  assert.ok(max(last.map((s) => s.fds)) - max(first.map((s) => s.fds)) <= FD_MARGIN, `fds grew: first 50 ${fmt(first)}; last 50 ${fmt(last)}`);
  assert.ok(max(last.map((s) => s.rss)) - max(first.map((s) => s.rss)) <= RSS_MARGIN_MB, `RSS grew: first 50 ${fmt(first)}; last 50 ${fmt(last)}`);
  await ctd.ctr(['task', 'delete', '-f', keeper], { namespace: NS.grouped });
  await ctd.ctr(['container', 'delete', keeper], { namespace: NS.grouped });
  assert.deepEqual(await leftIn(NS.grouped), NOTHING);
});

test(`${CYCLES.churn} cycles through a namespace-grouped serving process that nothing keeps up, beside a CPU hog: none fails`, { skip: skipGrouped }, async () => {
  // The group empties now and then: its process gets a Shutdown while other starts are on their way.
  const extra = ['--runtime-config-path', config];
  const failures: Failure[] = [];
  const t0 = Date.now();
  await pool(0, CYCLES.churn, (i) => cycle(NS.churn, extra, i, failures));
  console.log(`# grouped, no keeper: ${CYCLES.churn} cycles, ${PARALLEL} in flight, in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${failures.length} failed`);
  assert.equal(failures.length, 0, `failed cycles:\n${report(failures)}`);
  assert.deepEqual(await leftIn(NS.churn), NOTHING);
});

test('afterwards no shim process, mount, zombie or group socket is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.dir], 15000), { shims: [], mounts: [], zombies: [] });
  assert.deepEqual(mountsUnder(ctd.dir), []);
  for (const ns of Object.values(NS)) {
    assert.equal(existsSync(socketPath(socketAddress(ctd.address, ns, `rx-namespace-${ns}`))), false, `${ns}: group socket left`);
  }
});
