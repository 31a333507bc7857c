import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, fstatSync, mkdirSync, readFile, rmdirSync, writeFileSync } from 'node:fs';
import { fn } from '../../../src/sys/libc';
import { eventfd, isCgroupV2, oomWatchV1, watchEventfd } from '../../../src/sys/eventfd';

/** write(2) of an 8-byte counter increment, as the kernel's cgroup code signals an eventfd. */
function signal(efd: number, n = 1n): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  assert.equal(fn('long write(int, const void *, size_t)')(efd, b, 8), 8);
}

const wakeup = (setCb: (cb: () => void) => void, ms = 2000) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no wakeup')), ms);
    setCb(() => {
      clearTimeout(t);
      resolve();
    });
  });

for (const mode of ['pipe', 'poll'] as const) {
  test(`an eventfd written with write(2) wakes its watch on the event loop, once per write (${mode})`, async () => {
    const efd = eventfd();
    let cb: () => void = () => undefined;
    let count = 0;
    const w = watchEventfd(efd, () => (count++, cb()), { mode, pollMs: 20 });
    const first = wakeup((c) => (cb = c));
    signal(efd);
    await first;
    const second = wakeup((c) => (cb = c));
    signal(efd, 5n);
    await second;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(count, 2, 'the counter is read (reset) on each wakeup');
    w.close();
  });
}

test('closing the watch closes the eventfd', async () => {
  const efd = eventfd();
  const w = watchEventfd(efd, () => undefined);
  assert.ok(fstatSync(efd));
  w.close();
  await new Promise((r) => setImmediate(r));
  assert.throws(() => fstatSync(efd), /EBADF/);
});

test('watching eventfds holds no thread-pool thread: fs work still runs with more watches than threads', async () => {
  const watches = Array.from({ length: 8 }, () => watchEventfd(eventfd(), () => undefined, { mode: 'pipe' }));
  const started = Date.now();
  await new Promise<void>((resolve, reject) => readFile('/proc/self/status', (err) => (err ? reject(err) : resolve())));
  assert.ok(Date.now() - started < 200, `a readFile took ${Date.now() - started} ms`);
  for (const w of watches) w.close();
});

test('oomWatchV1 reports an OOM kill in the memory cgroup, and not the cgroup\'s removal', { skip: isCgroupV2() && 'cgroup v2 here' }, async () => {
  const dir = `/sys/fs/cgroup/memory/rx-unit-oom-${process.pid}`;
  mkdirSync(dir);
  try {
    writeFileSync(`${dir}/memory.limit_in_bytes`, String(32 << 20));
    const w = oomWatchV1(dir);
    let ooms = 0;
    const oom = wakeup((cb) => w.onOOM(() => (ooms++, cb())), 10000);
    // The child moves itself into the cgroup, then allocates (and touches) 256 MiB.
    const hog = spawn('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec python3 -c "x = b'a' * (256 << 20)"`], { stdio: 'ignore' });
    const exited = new Promise<string | null>((resolve) => hog.once('exit', (_, sig) => resolve(sig)));
    await oom;
    assert.equal(await exited, 'SIGKILL', 'the kernel OOM killer ended the hog');
    rmdirSync(dir);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ooms, 1, 'removing the cgroup is not reported as an OOM');
    w.close(); // already closed by the removal: a no-op
  } finally {
    if (existsSync(dir)) rmdirSync(dir);
  }
});
