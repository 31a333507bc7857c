import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADDRESS_MODE, writeAddress } from '../../../src/cli/address';
import { listen } from '../../../src/cli/start';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rx-files-'));
const mode = (p: string) => statSync(p).mode & 0o777;

test('the shim socket: its new directory is 0700 and the socket is 0600 from bind on, whatever the umask; the umask is restored', async () => {
  const dir = tmp();
  const file = path.join(dir, 's', 'sock');
  const before = process.umask(0o000); // the widest umask: bind alone would make the socket 0777
  const seen: number[] = [];
  const chmod = fs.chmodSync;
  // Any chmod after bind comes too late for a peer racing the bind: see the mode before it.
  fs.chmodSync = ((p: fs.PathLike, m: fs.Mode) => {
    if (String(p) === file) seen.push(mode(file));
    return chmod(p, m);
  }) as typeof fs.chmodSync;
  try {
    const server = await listen(`unix://${file}`);
    try {
      assert.equal(process.umask(0o000), 0o000, 'umask restored after the bind');
      for (const m of seen) assert.equal(m, 0o600, `socket was ${m.toString(8)} between bind and chmod`);
      assert.equal(mode(path.dirname(file)), 0o700);
      assert.equal(mode(file), 0o600);
    } finally {
      server.close();
    }
  } finally {
    fs.chmodSync = chmod;
    process.umask(before);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the address file: written whole by rename with mode 0644 whatever the umask, no temp file left', () => {
  const bundle = tmp();
  const before = process.umask(0o077);
  try {
    writeFileSync(path.join(bundle, 'address'), 'unix:///old');
    const oldIno = statSync(path.join(bundle, 'address')).ino;
    writeAddress(bundle, 'unix:///run/containerd/s/abc');
    assert.equal(readFileSync(path.join(bundle, 'address'), 'utf8'), 'unix:///run/containerd/s/abc');
    assert.equal(mode(path.join(bundle, 'address')), ADDRESS_MODE);
    assert.equal(ADDRESS_MODE, 0o644);
    assert.notEqual(statSync(path.join(bundle, 'address')).ino, oldIno, 'a new file renamed over, not the old one rewritten in place');
    assert.deepEqual(readdirSync(bundle), ['address']);
  } finally {
    process.umask(before);
  }
  rmSync(bundle, { recursive: true });
});

test('the address file: a symlink planted at address is replaced, never written through', () => {
  const dir = tmp();
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'precious');
  symlinkSync(victim, path.join(bundle, 'address'));
  writeAddress(bundle, 'unix:///x');
  assert.equal(readFileSync(victim, 'utf8'), 'precious');
  assert.ok(lstatSync(path.join(bundle, 'address')).isFile());
  assert.ok(existsSync(path.join(bundle, 'address')));
  rmSync(dir, { recursive: true });
});
