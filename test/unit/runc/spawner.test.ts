import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runc } from '../../../src/runc/runc';
import { setprivPath, spawnerWith } from '../../../src/runc/spawner';
import { lookPath } from '../../../src/sys/look-path';

let dir: string;
let fake: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-spawner-'));
  fake = path.join(dir, 'pdeathsig-runc');
  // A runc whose `ps` answers with its own parent-death signal (prctl PR_GET_PDEATHSIG = 2).
  writeFileSync(
    fake,
    '#!/usr/bin/env python3\nimport ctypes\nsig = ctypes.c_int(0)\nctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)\nprint("[%d]" % sig.value)\n',
  );
  chmodSync(fake, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('runc runs with SIGKILL as its parent-death signal (setpriv execs it: the setting survives the exec)', async () => {
  assert.ok(setprivPath(), 'setpriv is on this machine (util-linux)');
  assert.deepEqual(await new Runc({ binary: fake }).ps('c1'), [9]);
});

test('without setpriv runc still runs, only without a parent-death signal', async () => {
  assert.deepEqual(await new Runc({ binary: fake, spawner: spawnerWith(null) }).ps('c1'), [0]);
});

test('lookPath finds a bare name on PATH, takes a path as it is, and says null for neither', () => {
  assert.equal(lookPath('pdeathsig-runc', { PATH: `/nonexistent:${dir}` }), fake);
  assert.equal(lookPath(fake, { PATH: '' }), fake);
  assert.equal(lookPath('pdeathsig-runc', { PATH: '/nonexistent' }), null);
  assert.equal(lookPath(path.join(dir, 'missing'), {}), null);
});
