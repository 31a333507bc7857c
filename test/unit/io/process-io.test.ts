import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, fstatSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isKind } from '../../../src/errors';
import { openProcessIO } from '../../../src/task/io/process-io';
import { makeFifos, newFds, openFds, readFifo, readFifoThenLeave, settle, spawnContainer, writeAllAndClose, writeFifo } from './fifo-peer';

const MB = 1024 * 1024;

test('five MB through stdin come out of stdout byte for byte, with stderr apart', async () => {
  const f = makeFifos('cat5mb');
  const io = await openProcessIO({ ...f, terminal: false });
  const container = spawnContainer('cat; echo err >&2', io.runcStdio);
  io.afterSpawn();
  const out = readFifo(f.stdout);
  const err = readFifo(f.stderr);
  const data = randomBytes(5 * MB);
  await writeAllAndClose(writeFifo(f.stdin), data);
  io.closeStdin(); // ctr's CloseIO once its stdin copy is done
  assert.equal(await container.exit, 0);
  await io.wait();
  io.close();
  const got = await out;
  assert.equal(got.length, data.length);
  assert.ok(got.equals(data), 'stdout differs from stdin');
  assert.equal((await err).toString(), 'err\n');
});

test('stdin reaches EOF only when containerd\'s writer is gone and CloseIO was called (as the Go shim\'s own stdin writer)', async () => {
  const f = makeFifos('eof');
  const io = await openProcessIO({ ...f, terminal: false });
  const container = spawnContainer('cat; echo done', io.runcStdio);
  io.afterSpawn();
  const out = readFifo(f.stdout);
  let ended = false;
  const exit = container.exit.then((code) => ((ended = true), code));
  await writeAllAndClose(writeFifo(f.stdin), Buffer.from('hello\n'));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(ended, false, 'cat ended before CloseIO: a reattaching client would lose stdin');
  io.closeStdin();
  assert.equal(await exit, 0);
  await io.wait();
  io.close();
  assert.equal((await out).toString(), 'hello\ndone\n');
});

test('CloseIO while containerd is still writing cuts nothing off', async () => {
  const f = makeFifos('closeio');
  const io = await openProcessIO({ ...f, terminal: false });
  const container = spawnContainer('cat', io.runcStdio);
  io.afterSpawn();
  const out = readFifo(f.stdout);
  const writer = writeFifo(f.stdin);
  io.closeStdin();
  const data = randomBytes(MB);
  await writeAllAndClose(writer, data);
  assert.equal(await container.exit, 0);
  await io.wait();
  io.close();
  assert.ok((await out).equals(data));
});

test('a stdout reader that opens late still gets everything, and wait() holds until it has', async () => {
  const f = makeFifos('late');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-io-late-'));
  const data = randomBytes(2 * MB);
  writeFileSync(path.join(dir, 'data'), data);
  const io = await openProcessIO({ stdin: '', stdout: f.stdout, stderr: '', terminal: false });
  const container = spawnContainer(`cat ${dir}/data`, io.runcStdio);
  io.afterSpawn();
  let drained = false;
  void io.wait().then(() => (drained = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(drained, false, 'wait() resolved with 2 MB still unread');
  const got = await readFifo(f.stdout);
  assert.equal(await container.exit, 0);
  await io.wait();
  io.close();
  assert.ok(got.equals(data));
});

test('a stdout reader that goes away and comes back misses nothing, and the copy survives it (no EPIPE)', async () => {
  const f = makeFifos('reattach');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-io-re-'));
  const data = randomBytes(3 * MB);
  writeFileSync(path.join(dir, 'data'), data);
  const io = await openProcessIO({ stdin: '', stdout: f.stdout, stderr: '', terminal: false });
  const container = spawnContainer(`cat ${dir}/data`, io.runcStdio);
  io.afterSpawn();
  // The first reader takes what it gets for a moment, then leaves (containerd restarting).
  const first = await readFifoThenLeave(f.stdout, 256 * 1024);
  await new Promise((r) => setTimeout(r, 200));
  const rest = await readFifo(f.stdout);
  assert.equal(await container.exit, 0);
  await io.wait();
  io.close();
  assert.equal(first.length + rest.length, data.length);
  assert.ok(Buffer.concat([first, rest]).equals(data));
});

test('wait() resolves only once every holder of the container\'s stdout has closed it', async () => {
  const f = makeFifos('holders');
  const io = await openProcessIO({ stdin: '', stdout: f.stdout, stderr: '', terminal: false });
  const out = readFifo(f.stdout);
  // The shell exits at once; its background child keeps the pipe and writes later.
  const container = spawnContainer('(sleep 0.3; echo late) & echo early', io.runcStdio);
  io.afterSpawn();
  assert.equal(await container.exit, 0);
  await io.wait();
  io.close();
  assert.equal((await out).toString(), 'early\nlate\n');
});

test('no stdin: the container reads /dev/null and ends at once', async () => {
  const f = makeFifos('nostdin');
  const io = await openProcessIO({ stdin: '', stdout: f.stdout, stderr: '', terminal: false });
  assert.equal(io.runcStdio[0], null);
  assert.equal(io.runcStdio[2], null);
  const out = readFifo(f.stdout);
  const container = spawnContainer('cat; echo end', io.runcStdio);
  io.afterSpawn();
  assert.equal(await container.exit, 0);
  await io.wait();
  io.close();
  assert.equal((await out).toString(), 'end\n');
});

test('close() after a full run leaves no fd open, and a second close() is harmless', async () => {
  const f = makeFifos('fds');
  const before = openFds();
  const io = await openProcessIO({ ...f, terminal: false });
  const container = spawnContainer('cat; echo err >&2', io.runcStdio);
  io.afterSpawn();
  const out = readFifo(f.stdout);
  const err = readFifo(f.stderr);
  await writeAllAndClose(writeFifo(f.stdin), Buffer.from('x'));
  io.closeStdin();
  await container.exit;
  await io.wait();
  await Promise.all([out, err]);
  io.close();
  io.close();
  await settle();
  assert.deepEqual(newFds(before), []);
});

test('close() of a process that never ran (runc create failed) leaves no fd open and never throws', async () => {
  const f = makeFifos('neverran');
  const before = openFds();
  const io = await openProcessIO({ ...f, terminal: false });
  io.close();
  io.afterSpawn();
  io.closeStdin();
  io.close();
  await settle();
  assert.deepEqual(newFds(before), []);
});

test('io_uid/io_gid: the container\'s pipe ends belong to that user', async () => {
  const f = makeFifos('owner');
  const io = await openProcessIO({ ...f, terminal: false }, { uid: 1234, gid: 5678 });
  try {
    for (const fd of io.runcStdio) {
      const st = fstatSync(fd!);
      assert.deepEqual([st.uid, st.gid], [1234, 5678]);
    }
  } finally {
    io.close();
  }
});

test('file:// stdout and stderr are appended to, each to its own file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-io-file-'));
  writeFileSync(path.join(dir, 'out'), 'before\n');
  const io = await openProcessIO({ stdin: '', stdout: `file://${dir}/out`, stderr: `file://${dir}/err`, terminal: false });
  const container = spawnContainer('echo o; echo e >&2', io.runcStdio);
  io.afterSpawn();
  await container.exit;
  await io.wait();
  io.close();
  assert.equal(readFileSync(path.join(dir, 'out'), 'utf8'), 'before\no\n');
  assert.equal(readFileSync(path.join(dir, 'err'), 'utf8'), 'e\n');
});

test('binary:// starts the logging binary with stdout on fd 3, stderr on fd 4, and waits for it to close fd 5', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-io-bin-'));
  const logger = path.join(dir, 'logger');
  writeFileSync(
    logger,
    `#!/bin/sh
sleep 0.2
echo "$CONTAINER_NAMESPACE/$CONTAINER_ID $*" > ${dir}/env
exec 5>&-
cat <&3 > ${dir}/out & cat <&4 > ${dir}/err; wait
`,
  );
  chmodSync(logger, 0o755);
  const started = Date.now();
  const io = await openProcessIO({ stdin: '', stdout: `binary://${logger}?tag=x`, stderr: `binary://${logger}?tag=x`, terminal: false }, { id: 'c1', namespace: 'ns' });
  assert.ok(Date.now() - started >= 200, 'returned before the logger closed its ready fd');
  const container = spawnContainer('echo o; echo e >&2', io.runcStdio);
  io.afterSpawn();
  await container.exit;
  await io.wait();
  io.close();
  assert.equal(readFileSync(path.join(dir, 'env'), 'utf8'), 'ns/c1 tag x\n');
  assert.equal(readFileSync(path.join(dir, 'out'), 'utf8'), 'o\n');
  assert.equal(readFileSync(path.join(dir, 'err'), 'utf8'), 'e\n');
});

test('stdin from anything but a FIFO is Unimplemented, and nothing opened is left', async () => {
  const f = makeFifos('badstdin');
  const before = openFds();
  await assert.rejects(openProcessIO({ stdin: 'file:///etc/hostname', stdout: f.stdout, stderr: f.stderr, terminal: false }), (e: unknown) => isKind(e, 'Unimplemented'));
  await settle();
  assert.deepEqual(newFds(before), []);
});

test('a stdio path that does not exist is NotFound naming the stream and path, and every fd opened so far is closed', async () => {
  const f = makeFifos('missing');
  const before = openFds();
  await assert.rejects(
    openProcessIO({ stdin: f.stdin, stdout: f.stdout, stderr: path.join(f.dir, 'gone'), terminal: false }),
    (e: unknown) => isKind(e, 'NotFound') && (e as Error).message === `opening stderr ${path.join(f.dir, 'gone')}: ENOENT`,
  );
  await settle();
  assert.deepEqual(newFds(before), []);
});

test('a plain stdout path that is a regular file, not a FIFO, is appended to (copyPipes\' IsFifo check)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-io-plain-'));
  writeFileSync(path.join(dir, 'out'), 'before\n');
  const io = await openProcessIO({ stdin: '', stdout: path.join(dir, 'out'), stderr: '', terminal: false });
  const container = spawnContainer('echo after', io.runcStdio);
  io.afterSpawn();
  await container.exit;
  await io.wait();
  io.close();
  assert.equal(readFileSync(path.join(dir, 'out'), 'utf8'), 'before\nafter\n');
});
