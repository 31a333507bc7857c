import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { nofileSoftToRestore, withNofileRestored } from '../../../src/sys/nofile';
import { lookPath } from '../../../src/sys/look-path';
import { setprivPath, spawnerWith } from '../../../src/runc/spawner';

const limits = (soft: string, hard: string) =>
  `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             94000                94000                processes \nMax open files            ${soft}                ${hard}                files     \n`;

test('the recorded soft limit is given back only when it is lower than ours now', () => {
  assert.equal(nofileSoftToRestore('1024', limits('524288', '524288')), 1024);
  assert.equal(nofileSoftToRestore('1024', limits('unlimited', 'unlimited')), 1024);
  assert.equal(nofileSoftToRestore('1024', limits('1024', '524288')), null, 'nothing was raised');
  assert.equal(nofileSoftToRestore('524288', limits('524288', '524288')), null, 'containerd ran at its hard limit already');
});

test('nothing recorded, or not a number (`unlimited` from ulimit, junk), gives nothing back', () => {
  assert.equal(nofileSoftToRestore(undefined, limits('524288', '524288')), null);
  assert.equal(nofileSoftToRestore('', limits('524288', '524288')), null);
  assert.equal(nofileSoftToRestore('unlimited', limits('unlimited', 'unlimited')), null);
  assert.equal(nofileSoftToRestore('10 24', limits('524288', '524288')), null);
  assert.equal(nofileSoftToRestore('1024', 'Max processes 1 1 processes\n'), null, 'no open-files line');
});

test('withNofileRestored puts prlimit in front only when there is a limit to give back and a prlimit', () => {
  assert.deepEqual(withNofileRestored({ prlimit: '/usr/bin/prlimit', soft: 1024 }, 'runc', ['state', 'c1']), ['/usr/bin/prlimit', ['--nofile=1024:', '--', 'runc', 'state', 'c1']]);
  assert.deepEqual(withNofileRestored({ prlimit: '/usr/bin/prlimit', soft: null }, 'runc', ['state']), ['runc', ['state']]);
  assert.deepEqual(withNofileRestored({ prlimit: null, soft: 1024 }, 'runc', ['state']), ['runc', ['state']]);
});

test('a spawned command starts with the given-back soft limit, our hard limit and, through setpriv, its parent-death signal', async () => {
  const prlimit = lookPath('prlimit');
  assert.ok(prlimit, 'prlimit is on this machine (util-linux)');
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim();
  const child = spawnerWith(setprivPath(), { prlimit, soft: 777 })(
    'python3',
    ['-c', 'import ctypes,resource; s=ctypes.c_int(0); ctypes.CDLL(None).prctl(2, ctypes.byref(s), 0, 0, 0); print(*resource.getrlimit(resource.RLIMIT_NOFILE), s.value)'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  await new Promise((r) => child.once('exit', r));
  assert.equal(out.trim(), `777 ${hard} 9`);
});
