/**
 * The per-container paths never wait on a hung binary: `-info`'s runc features child is
 * SIGKILLed at its bound, and `start` runs no child for containerd's version at all (it reads
 * the executable, go-buildinfo.ts).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('a containerd that would hang if run: start answers the plain form at once and never runs it', { timeout: 20000 }, () => {
  const bin = hanging('containerd');
  assert.equal(legacyResponseForm(bin), 'plain');
  assert.equal(existsSync(`${bin}.pid`), false, 'the publish binary was run');
});

test('a runc features that hangs: -info answers without features at the bound, and the child is killed', { timeout: 20000 }, async () => {
  const bin = hanging('runc');
  assert.equal(await runtimeFeatures(bin, 300), null);
  const pid = Number(readFileSync(`${bin}.pid`, 'utf8'));
  for (let i = 0; i < 100 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(gone(pid), `runc features (pid ${pid}) still runs`);
});
