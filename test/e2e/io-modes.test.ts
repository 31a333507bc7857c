/** stdio URIs as containerd sends them: FIFOs (lifecycle.test), file://, binary://, and none. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks } from '../helpers/leaks';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId } from '../helpers/tasks';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [FILE1, BIN1, BIN2, NULL1] = ['file1', 'bin1', 'bin2', 'null1'].map(uniqueId);

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'iomodes' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

const waitFor = async (cond: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
};

test('file:// appends the container\'s stdout and stderr to the file', async () => {
  const log = path.join(ctd.dir, 'container.log');
  writeFileSync(log, 'before\n');
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--log-uri', `file://${log}`, '--rm', '--rootfs', rootfs, FILE1, '/bin/sh', '-c', 'echo to-out; echo to-err >&2']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => readFileSync(log, 'utf8').includes('to-err'));
  const text = readFileSync(log, 'utf8');
  assert.ok(text.startsWith('before\n'), 'appended, not truncated');
  assert.match(text, /to-out\n/);
  assert.match(text, /to-err\n/);
});

test('binary:// starts the logging binary with stdout on fd 3, stderr on fd 4, the ready pipe on fd 5 and the container id in its env', async () => {
  const dir = path.join(ctd.dir, 'logger-out');
  const logger = path.join(ctd.dir, 'logger.sh');
  writeFileSync(
    logger,
    [
      '#!/bin/sh',
      '# args come from the URI query: dir <path>',
      'out="$2"; mkdir -p "$out"',
      'echo "$CONTAINER_ID $CONTAINER_NAMESPACE" > "$out/env"',
      'exec 5>&- # ready',
      'cat <&3 > "$out/stdout" & cat <&4 > "$out/stderr"; wait',
      'touch "$out/done"',
    ].join('\n'),
  );
  chmodSync(logger, 0o755);
  const r = await ctd.ctr([
    'run', ...runtimeArgs(), '--log-uri', `binary://${logger}?dir=${encodeURIComponent(dir)}`, '--rm', '--rootfs', rootfs, BIN1,
    '/bin/sh', '-c', 'echo logged-out; echo logged-err >&2',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => existsSync(path.join(dir, 'done')));
  assert.equal(readFileSync(path.join(dir, 'env'), 'utf8'), `${BIN1} default\n`);
  assert.equal(readFileSync(path.join(dir, 'stdout'), 'utf8'), 'logged-out\n');
  assert.equal(readFileSync(path.join(dir, 'stderr'), 'utf8'), 'logged-err\n');
});

test('a logging binary that cannot start fails Create with its path in the error', async () => {
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--log-uri', 'binary:///nonexistent/logger', '--rm', '--rootfs', rootfs, BIN2, '/bin/true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /logging binary \/nonexistent\/logger/);
  await ctd.ctr(['container', 'delete', BIN2]);
});

test('no IO (ctr run -d with --null-io): the container runs with nothing attached', async () => {
  let r = await ctd.ctr(['run', ...runtimeArgs(), '--null-io', '-d', '--rootfs', rootfs, NULL1, '/bin/sh', '-c', 'echo nowhere; sleep 600']);
  assert.equal(r.code, 0, r.stderr);
  r = await ctd.ctr(['task', 'ls']);
  assert.match(r.stdout.toString(), new RegExp(`^${NULL1}\\s+\\d+\\s+RUNNING$`, 'm'));
  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', NULL1]);
  await waitFor(() => false, 500);
  r = await ctd.ctr(['task', 'delete', NULL1]);
  assert.match(r.stderr, /137/);
  await ctd.ctr(['container', 'delete', NULL1]);
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
