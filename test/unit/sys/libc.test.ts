import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { SysError } from '../../../src/sys/libc';
import { unmount } from '../../../src/sys/unmount';

test('importing every src/sys module loads no koffi; the first Linux call does', () => {
  const sys = path.resolve(__dirname, '../../../src/sys');
  const script = `
    const loaded = () => Object.keys(require.cache).some((k) => k.includes('koffi'));
    const mods = ['libc', 'mount-options', 'console', 'eventfd', 'pipe', 'peercred', 'proc', 'wait', 'children', 'subreaper', 'mount', 'unmount', 'mountinfo'].map((m) => require(${JSON.stringify(sys)} + '/' + m));
    const before = loaded();
    mods[1].parseMountOptions(['ro', 'x=y']);
    const afterPure = loaded();
    mods[4].pipe();
    console.log(JSON.stringify([before, afterPure, loaded()]));
  `;
  assert.deepEqual(JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })), [false, false, true]);
});

test('a failing call throws a SysError with the syscall, errno read right after it, and its name', () => {
  assert.throws(
    () => unmount('/nonexistent/rx-unit'),
    (e: unknown) => e instanceof SysError && e.syscall === 'umount2' && e.errno === 2 && e.code === 'ENOENT' && /umount2 \/nonexistent\/rx-unit: ENOENT/.test(e.message),
  );
});
