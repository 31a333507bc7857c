/**
 * The credentials of the process at the other end of a unix socket: getsockopt(SO_PEERCRED),
 * taken by the kernel at connect(2), so a client cannot forge them (socket(7)).
 */
import type net from 'node:net';
import { check, fn } from './libc';

/** <asm-generic/socket.h>; x86-64 and arm64 share these values. */
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
/** struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields. */
const UCRED_SIZE = 12;

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** The peer of a connected unix socket (an accepted connection, or our own client end). */
export function peerCred(socket: net.Socket): PeerCred {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('peerCred: the socket has no file descriptor');
  const cred = Buffer.alloc(UCRED_SIZE);
  const len = [UCRED_SIZE];
  check('getsockopt(SO_PEERCRED)', fn('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)')(fd, SOL_SOCKET, SO_PEERCRED, cred, len));
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) };
}

/**
 * containerd's ttrpc same-user handshake (ttrpc unixcreds_linux.go UnixSocketRequireSameUser,
 * which the Go shim's server uses: runtime/v2/shim/shim_unix.go): the peer's uid and gid must be
 * our effective ones. Returns why not, or null when the peer may talk to us.
 */
export function refuseOtherUser(cred: PeerCred, uid = process.geteuid?.() ?? 0, gid = process.getegid?.() ?? 0): string | null {
  if (cred.uid === uid && cred.gid === gid) return null;
  return `ttrpc: peer pid ${cred.pid} runs as uid ${cred.uid} gid ${cred.gid}, not ${uid}:${gid}`;
}
