import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import net from 'node:net';
import { pipe } from '../../../src/sys/pipe';

const readAll = (s: net.Socket) =>
  new Promise<string>((resolve, reject) => {
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });

test('a child given the write end in its stdio writes into the pipe; net.Socket({ fd }) reads it to EOF on the event loop', async () => {
  const [r, w] = pipe();
  const child = spawn('/bin/sh', ['-c', 'echo hello; echo err >&2'], { stdio: ['ignore', w, w] });
  closeSync(w); // the child holds its own copy; EOF comes when it exits
  const out = await readAll(new net.Socket({ fd: r, readable: true, writable: false }));
  assert.equal(out, 'hello\nerr\n');
  await new Promise((resolve) => child.once('exit', resolve));
});

test('net.Socket({ fd }) writes into the write end, and ending it gives the reader EOF', async () => {
  const [r, w] = pipe();
  const reading = readAll(new net.Socket({ fd: r, readable: true, writable: false }));
  const writer = new net.Socket({ fd: w, readable: false, writable: true });
  writer.end('to-the-container');
  assert.equal(await reading, 'to-the-container');
});

test('both ends are close-on-exec: a child not given them does not inherit them', async () => {
  const [r, w] = pipe();
  const fds = await new Promise<string[]>((resolve, reject) =>
    execFile('/bin/ls', ['/proc/self/fd'], (err, out) => (err ? reject(err) : resolve(out.split(/\s+/).filter(Boolean)))),
  );
  assert.ok(!fds.includes(String(r)) && !fds.includes(String(w)), `child fds: ${fds.join(' ')}; ours: ${r} ${w}`);
  closeSync(r);
  closeSync(w);
});
