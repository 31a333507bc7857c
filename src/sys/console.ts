import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { check, errno, fn, koffi, SysError } from './libc';

const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const EAGAIN = 11;
const TIOCSWINSZ = 0x5414;

let types: { recvmsg: (...a: any[]) => number } | undefined;
function recvmsgFn() {
  if (!types) {
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
    types = { recvmsg: fn('long recvmsg(int, _Inout_ rx_msghdr *, int)') as (...a: any[]) => number };
  }
  return types.recvmsg;
}

/** One non-blocking recvmsg: the fd passed with SCM_RIGHTS, null on EAGAIN. */
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
  const n = recvmsgFn()(sockFd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) {
    const e = errno();
    if (e === EAGAIN) return null;
    throw new SysError('recvmsg', e);
  }
  // struct cmsghdr { size_t len; int level; int type; } then the fds.
  if (msg.msg_controllen < 20 || control.readInt32LE(8) !== SOL_SOCKET || control.readInt32LE(12) !== SCM_RIGHTS) {
    throw new Error('console socket: the message carried no file descriptor');
  }
  return control.readInt32LE(16);
}

export interface ConsoleSocket {
  path: string;
  /** The pty master runc sends once it has made the container's terminal. */
  receive(timeoutMs?: number): Promise<number>;
  close(): void;
}

/**
 * A socket for runc --console-socket. Connections are accepted paused, so libuv reads nothing
 * and the fd in the message is ours to take with recvmsg (SCM_RIGHTS).
 */
export async function listenConsoleSocket(): Promise<ConsoleSocket> {
  // Short path: unix socket paths are limited to 108 bytes, bundles can be deep.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-pty-'));
  const sockPath = path.join(dir, 'pty.sock');
  let accepted: (s: net.Socket) => void;
  const connection = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const server = net.createServer({ pauseOnConnect: true }, (s) => accepted(s));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, () => resolve());
  });
  let sock: net.Socket | undefined;
  const close = () => {
    sock?.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    path: sockPath,
    async receive(timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      sock = await Promise.race([
        connection,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('console socket: runc sent no terminal')), timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
      for (;;) {
        const got = receiveFd(fd);
        if (got !== null) return got;
        if (Date.now() > deadline) throw new Error('console socket: runc sent no terminal');
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    close,
  };
}

export function setWinsize(fd: number, width: number, height: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(height, 0);
  ws.writeUInt16LE(width, 2);
  check('ioctl(TIOCSWINSZ)', fn('int ioctl(int, unsigned long, void *)')(fd, TIOCSWINSZ, ws));
}

export const dup = (fd: number): number => check('dup', fn('int dup(int)')(fd));
