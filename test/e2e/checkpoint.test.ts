/**
 * Checkpoint and restore through runc and criu. criu's dump fails in some virtual machines
 * (these among them): then criu's own error must reach ctr intact and the task be unharmed;
 * where criu works, checkpoint then restore resumes the process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { buildBusyboxImage, importImage } from '../helpers/image';
import { settleLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId } from '../helpers/tasks';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [CP1] = ['cp1'].map(uniqueId);

let ctd: Containerd;
const IMAGE = 'docker.io/library/rxtest:latest';
before(async () => {
  ctd = await startContainerd({ name: 'checkpoint' });
  await importImage(ctd, buildBusyboxImage(path.join(ctd.dir, 'image'), IMAGE));
});
after(async () => ctd?.stop());

const counter = ['/bin/sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'];
const count = async (id: string) => Number((await ctd.ctr(['task', 'exec', '--exec-id', `c${Date.now()}`, id, '/bin/cat', '/tmp/count'])).stdout.toString());

test('checkpoint: criu\'s own words reach ctr when it fails, and the task runs on unharmed; where criu works, restore resumes the count', async () => {
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', IMAGE, CP1, ...counter]);
  assert.equal(r.code, 0, r.stderr);
  await new Promise((res) => setTimeout(res, 500));
  r = await ctd.ctr(['task', 'checkpoint', CP1], { timeoutMs: 120000 });
  if (r.code !== 0) {
    console.log(`# criu cannot dump here: ${r.stderr.trim().split('\n')[0]}`);
    assert.match(r.stderr, /runc checkpoint failed: criu failed: type DUMP/, 'runc\'s words');
    assert.match(r.stderr, /criu: .*Error \(criu\//, 'criu\'s own error lines');
    assert.match(r.stderr, /path= \S+criu-dump\.log/, 'where criu\'s log was kept');
    const before = await count(CP1);
    // It counts every 0.1 s: on a loaded machine give it (and criu's thaw) up to 5 s to move on.
    let after = before;
    for (let i = 0; i < 25 && after <= before; i++) {
      await new Promise((res) => setTimeout(res, 200));
      after = await count(CP1);
    }
    assert.ok(after > before, `the task still runs after the failed checkpoint (count ${before} -> ${after})`);
    r = await ctd.ctr(['task', 'ls']);
    assert.match(r.stdout.toString(), new RegExp(`^${CP1}\\s+\\d+\\s+RUNNING$`, 'm'));
  } else {
    const ref = r.stdout.toString().trim();
    const before = await count(CP1);
    await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', CP1]);
    await new Promise((res) => setTimeout(res, 500));
    await ctd.ctr(['task', 'delete', CP1]);
    await ctd.ctr(['container', 'delete', CP1]);
    r = await ctd.ctr(['container', 'restore', '--live', CP1, ref], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 400));
    assert.ok((await count(CP1)) > before, 'the restored process counts on from where it was');
  }
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', CP1]);
  await new Promise((res) => setTimeout(res, 500));
  await ctd.ctr(['task', 'delete', CP1]);
  await ctd.ctr(['container', 'delete', CP1]);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
