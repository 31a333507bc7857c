import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Where containerd's Go shims put their sockets (runtime/v2/shim/util_unix.go socketRoot). */
export const SOCKET_ROOT = '/run/containerd';

/**
 * The shim socket address for a grouping key, computed as containerd's runc shim does
 * (shim.SocketAddress): unix://<root>/s/<sha256(containerd address/namespace/key)>.
 */
export function socketAddress(containerdAddress: string, namespace: string, key: string, root = SOCKET_ROOT): string {
  return socketAddressIn(path.join(root, 's'), containerdAddress, namespace, key);
}

/** The same in a socket directory containerd 2.3+ names (BootstrapParams.socket_dir; pkg/shim CreateSocketAddress). */
export function socketAddressIn(dir: string, containerdAddress: string, namespace: string, key: string): string {
  const digest = createHash('sha256').update(path.join(containerdAddress, namespace, key)).digest('hex');
  return `unix://${path.join(dir, digest)}`;
}

/** The filesystem path of a unix:// address. */
export function socketPath(address: string): string {
  return address.replace(/^unix:\/\//, '');
}

/** The debug socket of a shim socket address: beside it, the same path with `.debug` (debug/server.ts). */
export const debugSocketPath = (address: string): string => `${socketPath(address)}.debug`;

/** Mode of the `address` file, as Go's (pkg/shim WriteAddress: atomicfile.New(path, 0o644)). */
export const ADDRESS_MODE = 0o644;

/**
 * The bundle's `address` file, which containerd reads to reconnect to a running shim. Written
 * as Go's WriteAddress: a new temp file beside it (O_EXCL, an unguessable name), given its final
 * mode whatever the umask, synced, then renamed over: a reader sees the old address or the
 * whole new one, never a partial file, and a file planted at the temp name is never written.
 */
export function writeAddress(bundle: string, address: string): void {
  const file = path.join(bundle, 'address');
  const temp = path.join(bundle, `.address.${randomBytes(8).toString('hex')}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      fchmodSync(fd, ADDRESS_MODE);
      writeSync(fd, address);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // renamed already, or never there
    }
    throw err;
  }
}
export function readAddress(bundle: string): string | null {
  try {
    return readFileSync(path.join(bundle, 'address'), 'utf8').trim();
  } catch {
    return null;
  }
}

export function removeSocket(address: string): void {
  try {
    unlinkSync(socketPath(address));
  } catch {
    // already gone
  }
}
