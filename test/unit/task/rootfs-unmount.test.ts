/**
 * The serving process's rootfs unmount (runcRuntime's unmountAll, awaited by Delete and by
 * Create's undo): its EBUSY retries wait on timers, so a grouped serving process goes on
 * answering its other containers while one rootfs stays busy (up to 2.5 s, containerd's 50 x 50 ms).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { isKind, ShimError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { createShutdown } from '../../../src/streams/shutdown$';
import { mountAll } from '../../../src/sys/mount';
import { mountPoints } from '../../../src/sys/mountinfo';
import { unmountAll } from '../../../src/sys/unmount';
import { runcRuntime } from '../../../src/runc/runtime';
import type { ContainerDriver } from '../../../src/task/runtime';
import { TaskService } from '../../../src/task/service';

const runtime = runcRuntime({ namespace: 'rx-unit', log: silentLogger() });

function mountedTmpfs(): { dir: string; rootfs: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-rootfs-unmount-'));
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(rootfs);
  mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], rootfs);
  return { dir, rootfs };
}

test('a rootfs that stays busy: timers fire during the retries, then a ShimError naming the path and EBUSY; still mounted', async () => {
  const { dir, rootfs } = mountedTmpfs();
  const cwd = process.cwd();
  process.chdir(rootfs); // our own cwd there: busy for all 50 tries
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  let err: unknown;
  try {
    await runtime.unmountAll(rootfs);
  } catch (e) {
    err = e;
  } finally {
    clearInterval(ticker);
    process.chdir(cwd);
  }
  assert.ok(ticks > 0, 'the event loop ran while the unmount retried');
  assert.ok(err instanceof ShimError && isKind(err, 'Unknown'), `a ShimError of kind Unknown (as Go's plain error), got ${String(err)}`);
  assert.match((err as Error).message, /^failed rootfs umount: umount2 .*\/rootfs: still busy after 50 tries 50 ms apart.*: EBUSY$/);
  assert.ok((err as Error).message.includes(rootfs));
  assert.deepEqual(mountPoints().filter((m) => m.startsWith(dir + '/')), [rootfs], 'left mounted, not detached');
  unmountAll(rootfs);
  rmSync(dir, { recursive: true });
});

test('a rootfs busy for a while: what makes it busy goes away on a timer during the retries, and it is unmounted', async () => {
  const { dir, rootfs } = mountedTmpfs();
  const cwd = process.cwd();
  process.chdir(rootfs);
  // Only a timer frees it: with synchronous retries this never runs before they give up.
  const leave = setTimeout(() => process.chdir(cwd), 200);
  try {
    await runtime.unmountAll(rootfs);
  } finally {
    clearTimeout(leave);
    process.chdir(cwd);
  }
  assert.deepEqual(mountPoints().filter((m) => m.startsWith(dir + '/')), []);
  rmSync(dir, { recursive: true });
});

test('Create whose runc fails while its rootfs stays busy: the runc error is the answer, the failed unmount is a warning', async () => {
  const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-rootfs-unmount-'));
  const rootfs = path.join(bundle, 'rootfs');
  const runcError = new ShimError('Unknown', 'runc create failed: unable to start container process: exec: "nope": not found');
  const cwd = process.cwd();
  // runc "fails" with our cwd inside the freshly mounted rootfs: Create's undo meets EBUSY.
  const driver = { create: async () => (process.chdir(rootfs), Promise.reject(runcError)) } as unknown as ContainerDriver;
  const logged: Array<{ level: number; msg: string; err?: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const service = new TaskService({
    namespace: 'rx-unit',
    runtime: { ...runcRuntime({ namespace: 'rx-unit', log }), driver: () => driver },
    shutdown: createShutdown(),
    log,
    version: '0',
  });
  const req = { id: 'c1', bundle, rootfs: [{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], stdin: '', stdout: '', stderr: '', terminal: false };
  try {
    await assert.rejects(service.create(req), (e) => e === runcError);
  } finally {
    process.chdir(cwd);
  }
  const warn = logged.find((l) => l.msg === 'failed to cleanup rootfs mount');
  assert.ok(warn && warn.level === 40, 'a warning, as Go\'s newContainer defer');
  assert.match(warn.err!, /failed rootfs umount: umount2 .*\/rootfs: still busy after 50 tries.*EBUSY/);
  unmountAll(rootfs);
  rmSync(bundle, { recursive: true });
});
