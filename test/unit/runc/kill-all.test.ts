import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharesPidNamespace } from '../../../src/runc/facts';

const bundle = (namespaces: object[] | null) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-killall-'));
  if (namespaces) writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ linux: { namespaces } }));
  return dir;
};

test('an init with a pid namespace of its own takes its children with it: no kill --all needed', async () => {
  assert.equal(await sharesPidNamespace(bundle([{ type: 'pid' }, { type: 'mount' }])), false);
});

test('a joined pid namespace (with a path), no pid namespace, or an unreadable spec: kill --all on init exit', async () => {
  assert.equal(await sharesPidNamespace(bundle([{ type: 'pid', path: '/proc/1/ns/pid' }])), true);
  assert.equal(await sharesPidNamespace(bundle([{ type: 'mount' }])), true);
  assert.equal(await sharesPidNamespace(bundle(null)), true);
});
