/**
 * RLIMIT_NOFILE, beside the Go shim. containerd 2.x's systemd unit sets no LimitNOFILE, so
 * containerd starts with 1024 soft. Go raises its own soft limit and gives every child the
 * original back (golang/go#46279), so under containerd-shim-runc-v2 runc and binary:// loggers
 * start with 1024, and with a current runc so does a container whose spec sets no rlimits (CRI
 * removes them). Node.js raises it too but hands the raised one to its children
 * (src/sys/nofile.ts).
 * Here containerd starts under `prlimit --nofile=1024:<hard>` and each shim runs the same
 * containers; what the processes got is compared. (Before the fix: runc and the logger got the
 * hard limit from us, 1024 from Go.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { HOST } from '../helpers/host';
import { SHIM_RUNTIME } from '../helpers/shim';
import { listTasks, uniqueId, waitForTask } from '../helpers/tasks';

const GO_SHIM = 'io.containerd.runc.v2';
const SOFT = 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "soft hard" of a /proc/<pid>/limits text's open-files line. */
const openFiles = (limits: string): string => {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  assert.ok(m, `no open-files line in:\n${limits}`);
  return `${m[1]} ${m[2]}`;
};
const HARD = openFiles(readFileSync('/proc/self/limits', 'utf8')).split(' ')[1];

let ctd: Containerd;
let rootfs: string;
let baseSpec: Record<string, any>;

before(async () => {
  ctd = await startContainerd({ name: 'rlimits', logLevel: 'info', nofile: `${SOFT}:${HARD}` });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  const r = await ctd.ctr(['oci', 'spec']);
  assert.equal(r.code, 0, r.stderr);
  baseSpec = JSON.parse(r.stdout.toString());
});

after(async () => {
  await ctd?.stop();
});

/** ctr's default spec on our rootfs, with `rlimits` in place of its RLIMIT_NOFILE 1024:1024. */
function specFile(id: string, args: string[], rlimits: object[] | undefined): string {
  const spec = structuredClone(baseSpec);
  spec.root = { path: rootfs, readonly: false };
  spec.process.args = args;
  if (rlimits) spec.process.rlimits = rlimits;
  else delete spec.process.rlimits;
  spec.linux.cgroupsPath = `/rx-rlimits/${id}`;
  const file = path.join(ctd.dir, `${id}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** What runc, a container without spec rlimits, an exec in it, its binary:// logger and one with rlimits got. */
async function observe(runtime: string, tag: string): Promise<Record<string, string>> {
  const dir = path.join(ctd.dir, tag);
  mkdirSync(dir, { recursive: true });
  const logger = path.join(dir, 'logger');
  writeFileSync(logger, `#!/bin/sh\ncat /proc/self/limits > "${dir}/logger-limits"\nexec 5>&-\ncat <&3 >/dev/null & cat <&4 >/dev/null; wait\n`);
  chmodSync(logger, 0o755);

  // A runc that writes down the soft limit it was started with, then is the real runc.
  const runc = path.join(dir, 'runc');
  writeFileSync(runc, `#!/bin/sh\nulimit -Sn >> "${dir}/runc-soft"\nexec runc "$@"\n`);
  chmodSync(runc, 0o755);
  const config = path.join(dir, 'rx.toml');
  writeFileSync(config, `[runc]\nbinary_name = "${runc}"\n`);
  // ctr hands --runc-binary to the Go shim alone; ours reads it from its config file.
  const runcFlags = runtime === GO_SHIM ? ['--runc-binary', runc] : ['--runtime-config-path', config];

  const id = uniqueId(`rlimits-${tag}`);
  const spec = specFile(id, ['/bin/sleep', '600'], undefined);
  const r = await ctd.ctr(['run', '--runtime', runtime, ...runcFlags, '-d', '--log-uri', `binary://${logger}`, '--config', spec, id], { timeoutMs: 20000 });
  assert.equal(r.code, 0, r.stderr);
  const out: Record<string, string> = {};
  try {
    await waitForTask(ctd, id, 'RUNNING', 10000);
    const pid = (await listTasks(ctd)).get(id)!.pid;
    out.init = openFiles(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    const e = await ctd.ctr(['task', 'exec', '--exec-id', 'limits', id, '/bin/cat', '/proc/self/limits'], { timeoutMs: 20000 });
    assert.equal(e.code, 0, e.stderr);
    out.exec = openFiles(e.stdout.toString());
    for (let i = 0; i < 100 && !existsSync(path.join(dir, 'logger-limits')); i++) await sleep(50);
    out.logger = openFiles(readFileSync(path.join(dir, 'logger-limits'), 'utf8'));
  } finally {
    await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    await waitForTask(ctd, id, 'STOPPED', 10000).catch(() => undefined);
    await ctd.ctr(['task', 'delete', id]);
    await ctd.ctr(['container', 'delete', id]);
  }
  out.runc = [...new Set(readFileSync(path.join(dir, 'runc-soft'), 'utf8').split('\n').filter(Boolean))].join(' ');

  const set = uniqueId(`rlimits-set-${tag}`);
  const withLimits = specFile(set, ['/bin/cat', '/proc/self/limits'], [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 4096 }]);
  const s = await ctd.ctr(['run', '--runtime', runtime, '--rm', '--config', withLimits, set], { timeoutMs: 20000 });
  assert.equal(s.code, 0, s.stderr);
  out.specRlimits = openFiles(s.stdout.toString());
  return out;
}

test('RLIMIT_NOFILE: runc, a container without spec rlimits, its exec and its logger start with what the Go shim gives them (containerd\'s 1024 for runc and the logger on 2.3); spec rlimits win', async () => {
  const go = await observe(GO_SHIM, 'go');
  // What the comparison rests on, measured here: the containerd 2.3.7 and Go shim built here
  // (go1.26) start runc and the logger at 1024. Debian's 1.6.20 (go1.19.8) starts shims with its
  // raised limit, so there both shims hand that on. A container without spec rlimits then gets
  // whatever its runc hands on (runc 1.1.5 here: its own raised limit).
  if (HOST.name === '2.3') {
    assert.equal(go.runc, String(SOFT), 'every runc call the Go shim made started at 1024');
    assert.equal(go.logger, `${SOFT} ${HARD}`);
  }
  assert.equal(go.specRlimits, '2048 4096');
  const ours = await observe(SHIM_RUNTIME, 'rx');
  assert.deepEqual(ours, go);
});
