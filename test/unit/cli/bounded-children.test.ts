/**
 * The children `start` and `-info` run for a fact (containerd's version, runc's features) are
 * SIGKILLed at their bound, and the answer is the fallback: the per-container paths never wait
 * on a hung binary.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { legacyResponseForm } from '../../../src/cli/bootstrap';
import { runtimeFeatures } from '../../../src/cli/info';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-bounded-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A binary that says its pid, then hangs for ten minutes. */
function hanging(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\necho $$ > "${file}.pid"\nexec sleep 600\n`);
  chmodSync(file, 0o755);
  return file;
}

function gone(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

test('a containerd --version that hangs: start answers the plain form at the bound, and the child is killed', { timeout: 20000 }, async () => {
  const bin = hanging('containerd');
  assert.equal(await legacyResponseForm(bin, 300), 'plain');
  const pid = Number(readFileSync(`${bin}.pid`, 'utf8'));
  for (let i = 0; i < 100 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(gone(pid), `containerd --version (pid ${pid}) still runs`);
});

test('a runc features that hangs: -info answers without features at the bound, and the child is killed', { timeout: 20000 }, async () => {
  const bin = hanging('runc');
  assert.equal(await runtimeFeatures(bin, 300), null);
  const pid = Number(readFileSync(`${bin}.pid`, 'utf8'));
  for (let i = 0; i < 100 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(gone(pid), `runc features (pid ${pid}) still runs`);
});
