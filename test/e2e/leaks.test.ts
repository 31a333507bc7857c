/**
 * Leaks in a long-lived serving process: 200 container lifecycles through one namespace-grouped
 * shim, 200 execs in one container, 50 concurrent execs. The serving process's open fds and RSS
 * come back to their baseline (fds ±2, RSS +20 MB after a warm-up); no zombie, fifo or mount is left.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, encode } from '../../src/proto';
import { dial } from '../../src/ttrpc/client';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { shimAddressOf } from '../helpers/bundle';
import { busyboxRootfs } from '../helpers/rootfs';
import { assertNoLeaks, mountsUnder, settleLeaks, snapshotLeaks, type LeakSnapshot } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId, waitForTask } from '../helpers/tasks';

const NS = 'leaks';
const FD_MARGIN = 2;
const RSS_MARGIN_MB = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ctd: Containerd;
let rootfs: string;
let config: string;
let leaksBefore: LeakSnapshot;
const keep = uniqueId('leak-keep');
let shim: number;

before(async () => {
  ctd = await startContainerd({ name: 'leaks', logLevel: 'info' });
  leaksBefore = snapshotLeaks(ctd.dir);
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  config = path.join(ctd.dir, 'rx.toml');
  writeFileSync(config, 'grouping = "namespace"\n');
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '-d', '--rootfs', rootfs, keep, '/bin/sleep', '3600'], { namespace: NS });
  assert.equal(r.code, 0, r.stderr);
  const bundle = path.join(ctd.state, 'io.containerd.runtime.v2.task', NS, keep);
  const c = await dial(shimAddressOf(bundle).socket);
  shim = decode('containerd.task.v2.ConnectResponse', await c.call('containerd.task.v2.Task', 'Connect', encode('containerd.task.v2.ConnectRequest', { id: keep }))).shim_pid;
  c.close();
});
after(async () => ctd?.stop());

const fds = () => readdirSync(`/proc/${shim}/fd`).length;
const rssMB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${shim}/status`, 'utf8'))![1]) / 1024;
const zombieChildren = () =>
  readdirSync(`/proc/${shim}/task`)
    .flatMap((t) => readFileSync(`/proc/${shim}/task/${t}/children`, 'utf8').trim().split(/\s+/))
    .filter(Boolean)
    .filter((pid) => {
      try {
        return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    });
const fifosLeft = () => {
  try {
    return readdirSync('/run/containerd/fifo').filter((d) => readdirSync(path.join('/run/containerd/fifo', d)).some((f) => f.includes(`-${process.pid}-`) && !f.startsWith(keep)));
  } catch {
    return [];
  }
};

/** fds settle a little after the last call: poll until within the margin or 5 s. */
async function settledFds(base: number): Promise<number> {
  const until = Date.now() + 5000;
  let n = fds();
  while (n > base + FD_MARGIN && Date.now() < until) {
    await sleep(100);
    n = fds();
  }
  return n;
}

async function lifecycle(i: number) {
  const id = uniqueId(`lc${i}`);
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '--rm', '--rootfs', rootfs, id, '/bin/echo', `lc${i}`], { namespace: NS });
  assert.equal(r.code, 0, `${id}: ${r.stderr}`);
  assert.equal(r.stdout.toString(), `lc${i}\n`);
}

async function exec(i: number, code = 0) {
  const r = await ctd.ctr(['task', 'exec', '--exec-id', `x${i}`, keep, '/bin/sh', '-c', `echo ex${i}; exit ${code}`], { namespace: NS });
  assert.equal(r.code, code, `exec ${i}: ${r.stderr}`);
  assert.equal(r.stdout.toString(), `ex${i}\n`);
}

test('200 container lifecycles through one namespace-grouped shim: its fds and RSS come back to baseline, nothing is left', async () => {
  for (let i = 0; i < 10; i++) await lifecycle(-1 - i); // warm-up
  await sleep(300);
  const fd0 = fds();
  const rss0 = rssMB();
  const t0 = Date.now();
  // Two at a time: the 2-core machine's pace, and some concurrency in the shim.
  for (let i = 0; i < 200; i += 2) await Promise.all([lifecycle(i), lifecycle(i + 1)]);
  const secs = (Date.now() - t0) / 1000;
  const fd1 = await settledFds(fd0);
  const rss1 = rssMB();
  console.log(`# lifecycles: 200 in ${secs.toFixed(1)} s; shim ${shim} fds ${fd0} -> ${fd1} (margin ±${FD_MARGIN}); RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB (margin +${RSS_MARGIN_MB})`);
  assert.ok(Math.abs(fd1 - fd0) <= FD_MARGIN, `fds ${fd0} -> ${fd1}`);
  assert.ok(rss1 - rss0 <= RSS_MARGIN_MB, `RSS ${rss0} -> ${rss1} MB`);
  assert.deepEqual(zombieChildren(), [], 'zombies');
  assert.deepEqual(mountsUnder(path.join(ctd.state, 'io.containerd.runtime.v2.task', NS)).filter((m) => !m.includes(keep)), [], 'mounts');
  assert.deepEqual(fifosLeft(), [], 'fifo dirs of these containers');
  const tasks = (await ctd.ctr(['task', 'ls', '-q'], { namespace: NS })).stdout.toString().split('\n').filter(Boolean);
  assert.deepEqual(tasks, [keep]);
});

test('200 execs in one container: fds and RSS back to baseline, no zombie', async () => {
  for (let i = 0; i < 10; i++) await exec(-1 - i);
  await sleep(300);
  const fd0 = fds();
  const rss0 = rssMB();
  const t0 = Date.now();
  for (let i = 0; i < 200; i += 2) await Promise.all([exec(i), exec(i + 1, 3)]);
  const secs = (Date.now() - t0) / 1000;
  const fd1 = await settledFds(fd0);
  const rss1 = rssMB();
  console.log(`# execs: 200 in ${secs.toFixed(1)} s; fds ${fd0} -> ${fd1}; RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB`);
  assert.ok(Math.abs(fd1 - fd0) <= FD_MARGIN, `fds ${fd0} -> ${fd1}`);
  assert.ok(rss1 - rss0 <= RSS_MARGIN_MB, `RSS ${rss0} -> ${rss1} MB`);
  assert.deepEqual(zombieChildren(), []);
});

test('50 concurrent execs in one container each return their own output and exit code', async () => {
  const fd0 = fds();
  const t0 = Date.now();
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => ctd.ctr(['task', 'exec', '--exec-id', `c${i}`, keep, '/bin/sh', '-c', `echo conc${i}; exit ${i % 7}`], { namespace: NS, timeoutMs: 120000 })),
  );
  results.forEach((r, i) => {
    assert.equal(r.code, i % 7, `exec c${i}: ${r.stderr}`);
    assert.equal(r.stdout.toString(), `conc${i}\n`);
  });
  const fd1 = await settledFds(fd0);
  console.log(`# concurrent execs: 50 in ${((Date.now() - t0) / 1000).toFixed(1)} s, all outputs and exit codes right; fds ${fd0} -> ${fd1}`);
  assert.ok(Math.abs(fd1 - fd0) <= FD_MARGIN, `fds ${fd0} -> ${fd1}`);
});

test('afterwards the shim leaves with its last container, and no shim, mount or zombie is left', async () => {
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', keep], { namespace: NS });
  await waitForTask(ctd, keep, 'STOPPED', 10000, NS);
  assert.equal((await ctd.ctr(['task', 'delete', keep], { namespace: NS })).code, 0);
  assert.equal((await ctd.ctr(['container', 'delete', keep], { namespace: NS })).code, 0);
  assertNoLeaks(leaksBefore, await settleLeaks([ctd.dir], 15000, leaksBefore));
});
