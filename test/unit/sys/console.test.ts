import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import tty from 'node:tty';
import { listenConsoleSocket, setWinsize } from '../../../src/sys/console';

/** Plays runc's part: makes a pty, sends its master over the socket, writes to the slave, reports the size it then sees. */
const sender = `
import socket, os, sys, time, fcntl, termios, struct
m, s = os.openpty()
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
socket.send_fds(c, [b'pty'], [m])
os.write(s, b'from-the-slave')
time.sleep(0.5)
rows, cols, _, _ = struct.unpack('HHHH', fcntl.ioctl(s, termios.TIOCGWINSZ, b'\\0' * 8))
print(f'{rows}x{cols}')
`;

test('the pty master arrives over SCM_RIGHTS, reads what the slave writes, and setWinsize sets the size the slave sees', async () => {
  const sock = await listenConsoleSocket();
  const done = new Promise<string>((resolve, reject) => execFile('python3', ['-c', sender, sock.path], (err, out) => (err ? reject(err) : resolve(out.trim()))));
  const master = await sock.receive(5000);
  assert.ok(master > 2);
  const reader = new tty.ReadStream(master);
  reader.on('error', () => undefined); // EIO once the slave is gone
  const first = await new Promise<string>((resolve) => reader.once('data', (d) => resolve(d.toString())));
  assert.equal(first, 'from-the-slave');
  setWinsize(master, 132, 43);
  assert.equal(await done, '43x132');
  reader.destroy();
  sock.close();
});

test('receive gives up with a clear error when nothing connects', async () => {
  const sock = await listenConsoleSocket();
  await assert.rejects(sock.receive(100), /console socket: runc sent no terminal/);
  sock.close();
});
