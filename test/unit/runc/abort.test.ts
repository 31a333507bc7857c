/**
 * runc never outlives its call: an aborted call (client gone) or a passed deadline SIGKILLs the
 * runc child, as Go's exec.CommandContext; and a runc child dies with the process that ran it,
 * as containerd's NewRunc sets (PdeathSignal: SIGKILL), here through setpriv.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runc } from '../../../src/runc/runc';
import { RuncError } from '../../../src/runc/errors';
import { Code } from '../../../src/errors';
import { ServiceRegistry } from '../../../src/ttrpc/services';

let dir: string;
let slow: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-runc-abort-'));
  slow = path.join(dir, 'slow-runc');
  // A runc whose every command takes ten minutes; it says its pid (the one we spawned) first.
  writeFileSync(slow, `#!/bin/sh\necho $$ > "${dir}/pid.$1"\nexec sleep 600\n`);
  chmodSync(slow, 0o755);
});

after(() => {
  // Whatever a failing test left running, then the dir.
  for (const f of readdirSync(dir).filter((n) => n.startsWith('pid.'))) {
    const pid = Number(readFileSync(path.join(dir, f), 'utf8'));
    try {
      if (pid && /sleep/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Each test is bounded: before the fix a call on the fake runc took its full ten minutes. */
const BOUND = { timeout: 15000 };

/** The state letter of `pid` in /proc, or null once it is gone (a zombie is 'Z'). */
function procState(pid: number): string | null {
  try {
    return /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

async function pidOf(command: string): Promise<number> {
  const file = path.join(dir, `pid.${command}`);
  for (let i = 0; i < 200 && !existsSync(file); i++) await sleep(10);
  for (let i = 0; i < 200; i++) {
    const text = readFileSync(file, 'utf8').trim();
    if (text) return Number(text);
    await sleep(10);
  }
  throw new Error(`${command}: the fake runc never wrote its pid`);
}

test('an aborted call (its client gone) SIGKILLs its runc and rejects Canceled; no process is left', BOUND, async () => {
  const controller = new AbortController();
  const call = new Runc({ binary: slow }).start('c1', controller.signal);
  const pid = await pidOf('start');
  assert.equal(procState(pid) !== null, true, 'the fake runc runs');
  controller.abort(new Error('ttrpc: connection closed'));
  await assert.rejects(call, (e: unknown) => {
    assert.ok(e instanceof RuncError);
    assert.equal(e.kind, 'Canceled');
    assert.equal(e.message, 'runc start failed: ttrpc: connection closed: exit status 137');
    return true;
  });
  assert.equal(procState(pid), null, `runc (pid ${pid}) is gone, not even a zombie`);
});

test('a call whose ttrpc deadline passes SIGKILLs its runc and answers DeadlineExceeded; no process is left', BOUND, async () => {
  // The real dispatch: services.ts aborts the call's signal at timeout_nano, the handler hands it to runc.
  const registry = new ServiceRegistry();
  let settled: Promise<unknown> = Promise.resolve();
  registry.register('probe', {
    Pause: async (_payload, ctx) => {
      const call = new Runc({ binary: slow }).pause('c1', ctx.signal);
      settled = call.catch((e) => e);
      await call;
      return Buffer.alloc(0);
    },
  });
  const started = Date.now();
  const result = await registry.dispatch({ service: 'probe', method: 'Pause', payload: Buffer.alloc(0), timeoutNano: 300e6, metadata: [] });
  assert.equal(result.status.code, Code.DeadlineExceeded);
  const err = await settled;
  assert.ok(err instanceof RuncError, String(err));
  assert.equal(err.kind, 'DeadlineExceeded');
  assert.match(err.message, /^runc pause failed: probe\/Pause: context deadline exceeded: exit status 137$/);
  const pid = Number(readFileSync(path.join(dir, 'pid.pause'), 'utf8'));
  assert.equal(procState(pid), null, `runc (pid ${pid}) is gone`);
  assert.ok(Date.now() - started < 60000, 'the call ended, not the fake runc\'s ten minutes');
});

test('a call aborted before it starts runs no runc at all', BOUND, async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(new Runc({ binary: slow }).kill('c1', 9, {}, controller.signal), (e: unknown) => e instanceof RuncError && e.kind === 'Canceled');
  assert.equal(existsSync(path.join(dir, 'pid.kill')), false, 'runc was not spawned');
});

test('a runc child dies with the process that ran it (parent-death signal), even when that process is SIGKILLed', BOUND, async () => {
  // A separate node process runs `runc ps` through the driver, then is SIGKILLed mid-call.
  const script = `
    const { Runc } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/runc/runc.js'))});
    new Runc({ binary: ${JSON.stringify(slow)} }).ps('c1').catch(() => {});
  `;
  const runner = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const pid = await pidOf('ps');
  assert.notEqual(procState(pid), null, 'the fake runc runs');
  runner.kill('SIGKILL');
  let state = procState(pid);
  for (let i = 0; i < 40 && state !== null && state !== 'Z'; i++) {
    await sleep(50);
    state = procState(pid);
  }
  // Re-parented to whichever reaper; killed is enough (a zombie waits for that reaper).
  if (state !== null && state !== 'Z') process.kill(pid, 'SIGKILL');
  assert.ok(state === null || state === 'Z', `runc (pid ${pid}) still ${state} 2 s after its parent was SIGKILLed`);
});
