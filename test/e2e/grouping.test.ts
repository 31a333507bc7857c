/** grouping = "namespace": one serving process carries every container of a containerd namespace. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks, snapshotLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId } from '../helpers/tasks';
import { socketAddress, socketPath } from '../../src/cli/address';

let ctd: Containerd;
let rootfs: string;
let config: string;
before(async () => {
  ctd = await startContainerd({ name: 'grouping' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  config = path.join(ctd.dir, 'rx.toml');
  writeFileSync(config, 'grouping = "namespace"\n');
});
after(async () => ctd?.stop());

test('three containers in one namespace are served by exactly one shim process, which leaves with the last', { skip: !!process.env.SHIM_RUNTIME && 'grouping is ours' }, async () => {
  // Ids of this run only: runc's state root is shared by every containerd on the machine.
  const ids = ['ns1', 'ns2', 'ns3'].map(uniqueId);
  for (const id of ids) {
    const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
  }
  const serving = snapshotLeaks(ctd.dir).shims;
  assert.equal(serving.length, 1, `one serving process for the namespace, saw ${serving.length}`);
  const sock = socketPath(socketAddress(ctd.address, 'default', 'rx-namespace-default'));
  assert.ok(existsSync(sock), 'the namespace socket');
  // Exec in each works through the shared process.
  for (const id of ids) {
    const r = await ctd.ctr(['task', 'exec', '--exec-id', 'e', id, '/bin/echo', id]);
    assert.equal(r.stdout.toString(), `${id}\n`);
  }
  for (const id of ids) await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  await new Promise((r) => setTimeout(r, 500));
  for (const [i, id] of ids.entries()) {
    await ctd.ctr(['task', 'delete', id]);
    await ctd.ctr(['container', 'delete', id]);
    if (i < ids.length - 1) assert.deepEqual(snapshotLeaks(ctd.dir).shims, serving, 'still serving the others');
  }
  const left = await settleLeaks([ctd.dir]);
  assert.deepEqual(left.shims, []);
  assert.equal(existsSync(sock), false, 'socket removed by the last shutdown');
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
