import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { peerCred, refuseOtherUser } from '../../../src/sys/peercred';

/** A listening abstract socket named after the test, and the next connection it accepts. */
async function listen(name: string) {
  let accepted!: (s: net.Socket) => void;
  const connection = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const server = net.createServer((s) => accepted(s));
  const where = `\0rx-test-${name}-${process.pid}`;
  await new Promise<void>((resolve) => server.listen(where, resolve));
  return { where, connection, server };
}

test('peerCred of a connection to ourselves is our own pid, uid and gid, from either end', async () => {
  const { where, connection, server } = await listen('peercred-self');
  const client = net.connect(where);
  await new Promise((resolve) => client.once('connect', resolve));
  const accepted = await connection;
  const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
  assert.deepEqual(peerCred(accepted), me);
  assert.deepEqual(peerCred(client), me);
  client.destroy();
  accepted.destroy();
  server.close();
});

// Node 20's libuv binds an abstract name padded with NULs to all 108 bytes of sun_path, so a
// non-libuv client must pad it the same way to reach it.
test('peerCred names the connecting process, not us: a child\'s connection has the child\'s pid', { timeout: 10000 }, async () => {
  const { where, connection, server } = await listen('peercred-child');
  const child = spawn('python3', ['-c', 'import socket,sys,time; c=socket.socket(socket.AF_UNIX); c.connect(("\\0" + sys.argv[1]).ljust(108, "\\0")); time.sleep(5)', where.slice(1)], { stdio: 'ignore' });
  const accepted = await connection;
  assert.equal(peerCred(accepted).pid, child.pid);
  child.kill();
  accepted.destroy();
  server.close();
});

test('peerCred of a socket without a file descriptor fails clearly', async () => {
  const s = new net.Socket();
  assert.throws(() => peerCred(s), /peerCred: the socket has no file descriptor/);
});

test('refuseOtherUser lets our own uid:gid in and names any other', () => {
  assert.equal(refuseOtherUser({ pid: 1, uid: 0, gid: 0 }, 0, 0), null);
  assert.match(refuseOtherUser({ pid: 42, uid: 1000, gid: 0 }, 0, 0)!, /peer pid 42 runs as uid 1000 gid 0, not 0:0/);
  assert.match(refuseOtherUser({ pid: 42, uid: 0, gid: 1000 }, 0, 0)!, /gid 1000/);
});
