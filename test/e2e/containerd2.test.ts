/**
 * The shim under containerd 2.3.7 (built by scripts/install-deps.sh): the 2.3 bootstrap
 * (BootstrapParams in, BootstrapResult out), task API v3 (`ctr shim`), and -info
 * (`ctr plugins inspect-runtime`). Skipped, saying so, where 2.3.7 is not built.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { SHIM_RUNTIME } from '../helpers/shim';
import { uniqueId, waitForTask } from '../helpers/tasks';

const BIN = process.env.CONTAINERD2_BIN || '/var/cache/containerd-shim-rx/containerd-v2.3.7';
const missing = !existsSync(path.join(BIN, 'containerd')) || !existsSync(path.join(BIN, 'ctr'));
const skip = missing ? `containerd 2.3.7 is not built in ${BIN} (scripts/install-deps.sh)` : false;

let ctd: Containerd;
let rootfs: string;

before(async () => {
  if (missing) return;
  ctd = await startContainerd({ name: 'ctd23', bin: BIN });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});

after(async () => {
  await ctd?.stop();
});

/** containerd 2.3's "connecting to shim <id>" line (core/runtime/v2/shim.go makeConnection) names the version it took. */
const connectLine = (id: string) => ctd.log().split('\n').find((l) => l.includes(`connecting to shim ${id}`)) ?? '';

test('containerd 2.3.7: ctr run --rm through the shim prints the output; containerd took a version 3 ttrpc BootstrapResult', { skip }, async () => {
  const id = uniqueId('c23run');
  const r = await ctd.ctr(['run', '--runtime', SHIM_RUNTIME, '--rm', '--rootfs', rootfs, id, '/bin/echo', 'hello from 2.3']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'hello from 2.3\n');
  const line = connectLine(id);
  assert.match(line, /protocol=ttrpc/, line);
  assert.match(line, /version=3/, line);
});

test('containerd 2.3.7: ctr shim state and shutdown answer over task API v3 (ctr 2.x default)', { skip }, async () => {
  const id = uniqueId('c23shim');
  const run = await ctd.ctr(['run', '--runtime', SHIM_RUNTIME, '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(run.code, 0, run.stderr);
  await waitForTask(ctd, id);
  const state = await ctd.ctr(['shim', '--id', id, 'state']);
  assert.equal(state.code, 0, state.stderr);
  const s = JSON.parse(state.stdout.toString());
  assert.equal(s.id, id);
  assert.ok(s.pid > 0, state.stdout.toString());
  // v2 is still served beside v3.
  const v2 = await ctd.ctr(['shim', '--id', id, 'state', '--api-version', '2']);
  assert.equal(v2.code, 0, v2.stderr);
  assert.equal(JSON.parse(v2.stdout.toString()).pid, s.pid);
  // With a live task, Shutdown is a no-op that succeeds (as the Go shim's): the task still answers.
  const shutdown = await ctd.ctr(['shim', '--id', id, 'shutdown']);
  assert.equal(shutdown.code, 0, shutdown.stderr);
  const again = await ctd.ctr(['shim', '--id', id, 'state']);
  assert.equal(again.code, 0, again.stderr);
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  for (let i = 0; i < 50; i++) {
    const d = await ctd.ctr(['task', 'delete', id]);
    if (d.code === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await ctd.ctr(['containers', 'delete', id])).code, 0);
});
