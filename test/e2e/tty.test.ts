/** Terminals: ctr run -t and ctr task exec -t through runc's console socket, driven from a real pty. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks } from '../helpers/leaks';
import { runInPty } from '../helpers/pty';
import { runtimeArgs } from '../helpers/shim';
import { HOST } from '../helpers/host';
import { uniqueId } from '../helpers/tasks';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [TTY1, TTY2, TTY3, TTY4] = ['tty1', 'tty2', 'tty3', 'tty4'].map(uniqueId);

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'tty' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

const ctr = (args: string[]) => [HOST.ctr, '-a', ctd.address, ...args];

test('ctr run -t: the container gets a terminal of its own and its exit status comes back', async () => {
  const r = await runInPty(ctr(['run', ...runtimeArgs(), '-t', '--rm', '--rootfs', rootfs, TTY1, '/bin/sh', '-c', 'tty; test -t 0 && echo stdin-is-a-tty; exit 4']));
  assert.equal(r.code, 4, r.output);
  assert.match(r.output, /^\/dev\/pts\/0\r?$/m);
  assert.match(r.output, /stdin-is-a-tty/);
  assert.doesNotMatch(r.output, /resize pty|error/i);
});

test('ctr run -t: what is typed reaches the shell in the container and its answer comes back', async () => {
  const r = await runInPty(ctr(['run', ...runtimeArgs(), '-t', '--rm', '--rootfs', rootfs, TTY2, '/bin/sh']), {
    input: 'echo typed-$((6*7))\nexit 3\n',
    delayMs: 1500,
  });
  assert.equal(r.code, 3, r.output);
  assert.match(r.output, /typed-42/);
});

test('ctr run -t: ResizePty gives the container the size of ctr\'s terminal', async () => {
  // ctr resizes right after Start (HandleConsoleResize), so the shell waits a moment before asking.
  const r = await runInPty(ctr(['run', ...runtimeArgs(), '-t', '--rm', '--rootfs', rootfs, TTY4, '/bin/sh', '-c', 'sleep 0.5; stty size']), { rows: 43, cols: 132 });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /^43 132\r?$/m);
});

test('ctr task exec -t: an exec gets its own terminal', async () => {
  let r0 = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, TTY3, '/bin/sleep', '600']);
  assert.equal(r0.code, 0, r0.stderr);
  const r = await runInPty(ctr(['task', 'exec', '-t', '--exec-id', 'tx', TTY3, '/bin/sh', '-c', 'tty; echo exec-tty']));
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /^\/dev\/pts\/\d+\r?$/m);
  assert.match(r.output, /exec-tty/);
  assert.doesNotMatch(r.output, /resize pty|error/i);
  r0 = await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', TTY3]);
  await new Promise((res) => setTimeout(res, 500));
  await ctd.ctr(['task', 'delete', TTY3]);
  await ctd.ctr(['container', 'delete', TTY3]);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
