/**
 * The terminal of a container: runc --console-socket connects to our unix socket and sends the
 * pty master it made as SCM_RIGHTS (runc utils.go SendFd, one fd, its path as the data).
 */
import { closeSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { within } from '../deadline';
import { internal, ShimError } from '../errors';
import { dupCloexec } from './cloexec';
import { check, errno, fn, koffi, SysError } from './libc';

const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const EAGAIN = 11;
const EINTR = 4;
const POLLIN = 1;
const TIOCSWINSZ = 0x5414;
/** struct cmsghdr on 64-bit Linux: size_t cmsg_len; int cmsg_level; int cmsg_type; then data. */
const CMSG_HDR = 16;

let recvmsg: ((fd: number, msg: object, flags: number) => number) | undefined;
function recvmsgFn() {
  if (!recvmsg) {
    const k = koffi();
    k.struct('rx_iovec', { iov_base: 'void *', iov_len: 'size_t' });
    k.struct('rx_msghdr', {
      msg_name: 'void *',
      msg_namelen: 'uint32_t',
      msg_iov: 'rx_iovec *',
      msg_iovlen: 'size_t',
      msg_control: 'void *',
      msg_controllen: 'size_t',
      msg_flags: 'int',
    });
    recvmsg = fn('long recvmsg(int, _Inout_ rx_msghdr *, int)');
  }
  return recvmsg;
}

/** One non-blocking recvmsg: the fd passed with SCM_RIGHTS, or null when nothing has come yet. */
function receiveFd(sockFd: number): number | null {
  const data = Buffer.alloc(4096);
  const control = Buffer.alloc(64);
  const msg = {
    msg_name: null,
    msg_namelen: 0,
    msg_iov: [{ iov_base: data, iov_len: data.length }],
    msg_iovlen: 1,
    msg_control: control,
    msg_controllen: control.length,
    msg_flags: 0,
  };
  for (;;) {
    const n = recvmsgFn()(sockFd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n >= 0) break;
    const e = errno();
    if (e === EAGAIN) return null;
    if (e !== EINTR) throw new SysError('recvmsg', e, 'console socket');
  }
  const len = Number(control.readBigUInt64LE(0));
  if (msg.msg_controllen < CMSG_HDR + 4 || control.readInt32LE(8) !== SOL_SOCKET || control.readInt32LE(12) !== SCM_RIGHTS) {
    throw internal('console socket: the message carried no file descriptor');
  }
  // runc sends one; close any extra rather than leak it.
  for (let off = CMSG_HDR + 4; off + 4 <= Math.min(len, control.length); off += 4) closeSync(control.readInt32LE(off));
  return control.readInt32LE(CMSG_HDR);
}

/**
 * Wait until fd is readable or timeoutMs passes: poll(2) run by koffi on a worker thread, so the
 * event loop is free. Node has no uv_poll for a foreign fd; runc sends right after connecting,
 * so the thread is held for microseconds, and at most timeoutMs per call.
 */
function readable(fd: number, timeoutMs: number): Promise<void> {
  const pollfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLIN, 4);
  const poll = fn('int poll(void *, unsigned long, int)') as unknown as { async: (...a: unknown[]) => void };
  return new Promise((resolve) => poll.async(pollfd, 1, Math.max(0, Math.ceil(timeoutMs)), () => resolve()));
}

export interface ConsoleSocket {
  path: string;
  /** The pty master runc sends once it has made the container's terminal (close-on-exec). */
  receive(timeoutMs?: number): Promise<number>;
  /** Stop listening and remove the socket; the received fd is the caller's to close. */
  close(): void;
}

const noTerminal = () => new ShimError('DeadlineExceeded', 'console socket: runc sent no terminal');

/** How long receive waits for runc's pty master (Go's socket.ReceiveMaster waits unbounded; a runc that never sends is an error here). */
const RECEIVE_MS = 10000;

/**
 * A socket for runc --console-socket, at sockPath or in a fresh temp dir (unix socket paths
 * are limited to 108 bytes, and bundles can be deep). Connections are accepted paused, so libuv
 * reads nothing and the fd in the message is ours to take with recvmsg; unpaused, libuv would
 * read the message and the kernel would drop the fd with it.
 */
export async function listenConsoleSocket(sockPath?: string): Promise<ConsoleSocket> {
  const dir = sockPath ? null : mkdtempSync(path.join(os.tmpdir(), 'rx-pty-'));
  const where = sockPath ?? path.join(dir!, 'pty.sock');
  let accepted: (s: net.Socket) => void;
  const connection = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const server = net.createServer({ pauseOnConnect: true }, (s) => accepted(s));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => resolve());
  });
  let sock: net.Socket | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    sock?.destroy();
    server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    else if (!where.startsWith('\0')) {
      try {
        unlinkSync(where);
      } catch {
        // already gone
      }
    }
  };
  return {
    path: where,
    async receive(timeoutMs = RECEIVE_MS) {
      const deadline = Date.now() + timeoutMs;
      if ((await within(connection, timeoutMs)) === 'missed') throw noTerminal();
      sock = await connection;
      const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
      for (;;) {
        const got = receiveFd(fd);
        if (got !== null) return got;
        const left = deadline - Date.now();
        if (left <= 0 || closed) throw noTerminal();
        await readable(fd, Math.min(left, 100));
      }
    },
    close,
  };
}

export interface WinSize {
  width: number;
  height: number;
}

/** Set a terminal's size (ioctl TIOCSWINSZ, struct winsize { rows, cols, xpixel, ypixel }). */
export function setWinsize(fd: number, size: WinSize): void;
export function setWinsize(fd: number, width: number, height: number): void;
export function setWinsize(fd: number, size: WinSize | number, height?: number): void {
  const { width, height: rows } = typeof size === 'number' ? { width: size, height: height ?? 0 } : size;
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(width, 2);
  check('ioctl(TIOCSWINSZ)', fn('int ioctl(int, unsigned long, void *)')(fd, TIOCSWINSZ, ws));
}

/**
 * A second fd for the same file: tty.ReadStream and tty.WriteStream must not share one.
 * Close-on-exec, as the master it copies: a plain dup(2) would hand this terminal to every later
 * runc and logging binary of a grouped serving process (and the terminal would never hang up).
 */
export const dup = (fd: number): number => dupCloexec(fd);

/** Close an fd we received (not one a Node stream owns: the stream closes that itself). */
export const close = (fd: number): void => closeSync(fd);
