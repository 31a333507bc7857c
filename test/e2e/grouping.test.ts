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
import { join } from '../../src/cli/join';

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

test("a start that joined the group's process keeps it through the last container's Shutdown, for its own Create", { skip: !!process.env.SHIM_RUNTIME && 'grouping is ours' }, async () => {
  const [a, b] = ['jn1', 'jn2'].map(uniqueId);
  const run = (id: string) => ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', config, '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  const remove = async (id: string) => {
    assert.equal((await ctd.ctr(['task', 'delete', '-f', id])).code, 0);
    assert.equal((await ctd.ctr(['container', 'delete', id])).code, 0);
  };
  const r = await run(a);
  assert.equal(r.code, 0, r.stderr);
  const serving = snapshotLeaks(ctd.dir).shims;
  assert.equal(serving.length, 1);
  const address = socketAddress(ctd.address, 'default', 'rx-namespace-default');
  // What b's `start` does when it finds the group's process: the process promises to wait for b.
  assert.equal(await join(address, b), 'joined');
  // a's delete brings containerd's Shutdown while no container is left: the crossing that ended
  // the process under b's Create ("ttrpc: closed") before Join.
  await remove(a);
  await new Promise((res) => setTimeout(res, 500));
  assert.deepEqual(snapshotLeaks(ctd.dir).shims, serving, 'still serving: b is awaited');
  assert.ok(existsSync(socketPath(address)), 'its socket still there');
  const rb = await run(b);
  assert.equal(rb.code, 0, rb.stderr);
  assert.deepEqual(snapshotLeaks(ctd.dir).shims, serving, 'b in the same process');
  await remove(b);
  assert.deepEqual((await settleLeaks([ctd.dir])).shims, [], 'the process leaves with b');
  assert.equal(existsSync(socketPath(address)), false);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
