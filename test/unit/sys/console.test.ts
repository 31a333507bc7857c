import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { isKind } from '../../../src/errors';
import { close, dup, listenConsoleSocket, setWinsize } from '../../../src/sys/console';

/**
 * Plays runc's part (python3's socket.send_fds is SCM_RIGHTS): makes a pty, connects, waits
 * `delay` seconds, sends the master, writes to the slave, then reports the size the slave sees
 * and what it read from the slave within 2 s.
 */
const sender = `
import socket, os, sys, time, fcntl, termios, struct, tty, select
m, s = os.openpty()
tty.setraw(s)
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
time.sleep(float(sys.argv[2]))
socket.send_fds(c, [b'pty'], [m])
os.close(m)
os.write(s, b'from-the-slave')
got = os.read(s, 100).decode() if select.select([s], [], [], 2)[0] else ''
time.sleep(0.3)
rows, cols, _, _ = struct.unpack('HHHH', fcntl.ioctl(s, termios.TIOCGWINSZ, b'\\0' * 8))
print(f'{rows}x{cols} {got}')
`;

function runSender(sockPath: string, delay = 0): Promise<string> {
  return new Promise((resolve, reject) => execFile('python3', ['-c', sender, sockPath, String(delay)], { timeout: 10000 }, (err, out) => (err ? reject(err) : resolve(out.trim()))));
}

test('the pty master arrives over SCM_RIGHTS: it reads what the slave writes, a dup writes to the slave, setWinsize sets the size the slave sees', async () => {
  const sock = await listenConsoleSocket();
  const done = runSender(sock.path);
  const master = await sock.receive(5000);
  assert.ok(master > 2);
  const reader = new tty.ReadStream(master);
  reader.on('error', () => undefined); // EIO once the slave is gone
  const first = await new Promise<string>((resolve) => reader.once('data', (d) => resolve(d.toString())));
  assert.equal(first, 'from-the-slave');
  const writer = new tty.WriteStream(dup(master));
  writer.write('to-the-slave');
  setWinsize(master, { width: 132, height: 43 });
  assert.equal(await done, '43x132 to-the-slave');
  reader.destroy();
  writer.destroy();
  sock.close();
});

test('receive waits for a message that comes after the connection, without blocking the event loop', async () => {
  const sock = await listenConsoleSocket();
  const done = runSender(sock.path, 0.4);
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 20);
  const started = Date.now();
  const master = await sock.receive(5000);
  const waited = Date.now() - started;
  clearInterval(ticker);
  assert.ok(waited >= 300, `waited ${waited} ms for the late message`);
  assert.ok(ticks >= 10, `the event loop ran timers meanwhile (${ticks} ticks)`);
  setWinsize(master, 80, 24); // the (width, height) form
  const reader = new tty.ReadStream(master);
  reader.on('error', () => undefined);
  await new Promise((resolve) => reader.once('data', resolve));
  assert.match(await done, /^24x80/);
  reader.destroy();
  sock.close();
});

test('a socket at a given path is made there and removed on close', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-console-test-'));
  const where = path.join(dir, 'console.sock');
  const sock = await listenConsoleSocket(where);
  assert.equal(sock.path, where);
  assert.ok(existsSync(where));
  sock.close();
  assert.ok(!existsSync(where));
  rmSync(dir, { recursive: true });
});

test('a connection that closes without sending a terminal is refused clearly', async () => {
  const sock = await listenConsoleSocket();
  const closer = new Promise<void>((resolve) => execFile('python3', ['-c', 'import socket,sys; c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.close()', sock.path], { timeout: 10000 }, () => resolve()));
  await assert.rejects(sock.receive(2000), /console socket: the message carried no file descriptor/);
  await closer;
  sock.close();
});

test('receive gives up with DeadlineExceeded when nothing connects', async () => {
  const sock = await listenConsoleSocket();
  await assert.rejects(sock.receive(100), (e: unknown) => isKind(e, 'DeadlineExceeded') && /runc sent no terminal/.test((e as Error).message));
  sock.close();
});

test('close releases an fd: using it afterwards fails with EBADF', () => {
  const fd = dup(1);
  close(fd);
  assert.throws(() => close(fd), /EBADF/);
});
