import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
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

/** The bundle's `address` file, which containerd reads to reconnect to a running shim. */
export const writeAddress = (bundle: string, address: string) => writeFileSync(path.join(bundle, 'address'), address);
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
