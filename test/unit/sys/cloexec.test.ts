import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { cloexecFrom, dupCloexec, isCloexec, setCloexec } from '../../../src/sys/cloexec';
import { dup as consoleDup } from '../../../src/sys/console';
import { eventfd } from '../../../src/sys/eventfd';
import { fn } from '../../../src/sys/libc';
import { pipe } from '../../../src/sys/pipe';

/** A plain dup(2): the one way to get an fd without close-on-exec here. */
const plainDup = (fd: number): number => fn('int dup(int)')(fd);

/** The fds a child spawned now holds beyond its stdio (0-2) and the one ls itself opens. */
const inheritedByChild = (): number[] =>
  execFileSync('/bin/sh', ['-c', 'ls /proc/$$/fd'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((fd) => fd > 2);

test('an fd from fs.openSync is close-on-exec (libuv adds O_CLOEXEC): checked, not assumed', () => {
  const fd = openSync('/dev/null', 'r');
  assert.equal(isCloexec(fd), true);
  closeSync(fd);
});

test('setCloexec sets FD_CLOEXEC on an fd that lacked it, and a child no longer inherits it', () => {
  const base = openSync('/dev/null', 'r');
  const fd = plainDup(base);
  assert.equal(isCloexec(fd), false, 'a plain dup has no FD_CLOEXEC');
  assert.ok(inheritedByChild().includes(fd), 'so a child inherits it');
  setCloexec(fd);
  assert.equal(isCloexec(fd), true);
  assert.ok(!inheritedByChild().includes(fd), 'not any more');
  setCloexec(fd); // idempotent
  assert.equal(isCloexec(fd), true);
  closeSync(fd);
  closeSync(base);
});

test('dupCloexec: a second fd for the same file, close-on-exec from birth', () => {
  const base = openSync('/dev/null', 'r');
  const fd = dupCloexec(base);
  assert.notEqual(fd, base);
  assert.equal(isCloexec(fd), true);
  assert.equal(fstatSync(fd).ino, fstatSync(base).ino);
  closeSync(fd);
  closeSync(base);
});

test('console dup (the pty master\'s second fd) is close-on-exec', () => {
  const base = openSync('/dev/null', 'r');
  const fd = consoleDup(base);
  assert.equal(isCloexec(fd), true);
  assert.ok(!inheritedByChild().includes(fd));
  closeSync(fd);
  closeSync(base);
});

test('cloexecFrom(3) marks every fd from 3 up, inherited ones included', () => {
  const base = openSync('/dev/null', 'r');
  const leaky = [plainDup(base), plainDup(base)];
  assert.ok(leaky.every((fd) => !isCloexec(fd)));
  cloexecFrom(3);
  assert.ok(leaky.every((fd) => isCloexec(fd)));
  assert.deepEqual(inheritedByChild().filter((fd) => leaky.includes(fd)), []);
  [...leaky, base].forEach((fd) => closeSync(fd));
});

test('bad fds are errors naming the call and the fd', () => {
  assert.throws(() => isCloexec(100000), /fcntl\(F_GETFD\) fd 100000: EBADF/);
  assert.throws(() => dupCloexec(100000), /fcntl\(F_DUPFD_CLOEXEC\) fd 100000: EBADF/);
});

test('the other fds src/sys makes are close-on-exec: both pipe ends, an eventfd', () => {
  const [r, w] = pipe();
  const efd = eventfd();
  assert.deepEqual([r, w, efd].map(isCloexec), [true, true, true]);
  [r, w, efd].forEach((fd) => closeSync(fd));
});
