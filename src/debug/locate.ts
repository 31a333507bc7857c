/**
 * Finding the serving process of a container: its debug socket is its ttrpc socket's path with
 * `.debug`, and that address is known three ways. With -bundle, the bundle's `address` file
 * (our `start` writes it; containerd reads it back: runtime/v2 shim.go loadShim, 1.6 and 2.x).
 * With -address/-namespace/-id, the address `start` derives (cli/address.ts socketAddress,
 * containerd's shim.SocketAddress) for the container's own id and for namespace grouping, then
 * containerd's default bundle; a container grouped into a pod has its sandbox's address, which
 * only containerd knows, so last each debug socket in the socket directory is asked whom it serves.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { debugSocketPath, readAddress, socketAddress, SOCKET_ROOT } from '../cli/address';
import { connectDebug } from './client';
import type { Hello } from './protocol';

export interface Target {
  /** containerd's grpc address (what containerd passes a shim as -address) */
  address: string;
  namespace: string;
  id: string;
  bundle: string;
}

/** containerd's default state dir for runtime v2 bundles (core/runtime/v2 manager: <state>/io.containerd.runtime.v2.task/<ns>/<id>). */
export const DEFAULT_TASK_STATE = '/run/containerd/io.containerd.runtime.v2.task';
export const DEFAULT_CONTAINERD_ADDRESS = '/run/containerd/containerd.sock';

export interface Located {
  /** the debug socket */
  path: string;
  hello: Hello;
}

/** One line saying why not: the socket's error named for people. */
export class NotFound extends Error {}

async function ask(file: string): Promise<Hello | NodeJS.ErrnoException> {
  try {
    const c = await connectDebug(file);
    try {
      const r = await c.request({ op: 'hello' });
      if (r.op !== 'hello') throw new Error(`unexpected answer ${r.op}`);
      return r;
    } finally {
      c.close();
    }
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

const gone = (file: string, err: NodeJS.ErrnoException) =>
  err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
    ? `its serving process is gone (${file}: ${err.code})`
    : `${file}: ${err.code ?? err.message}`;

export async function locate(t: Target, socketRoot = SOCKET_ROOT): Promise<Located> {
  if (t.bundle) {
    const address = readAddress(t.bundle);
    if (!address) throw new NotFound(`bundle ${t.bundle} has no address file: no shim was started for it`);
    const file = debugSocketPath(address);
    const hello = await ask(file);
    if (hello instanceof Error) throw new NotFound(`bundle ${t.bundle}: ${gone(file, hello)}`);
    return { path: file, hello };
  }
  if (!t.id) throw new NotFound('debug: pass -id <container> (with -address and -namespace), or -bundle <path>');
  const address = t.address || DEFAULT_CONTAINERD_ADDRESS;
  const serves = (h: Hello) => h.namespace === t.namespace && h.containers.includes(t.id);
  const tried: string[] = [];
  const candidates = [
    debugSocketPath(socketAddress(address, t.namespace, t.id, socketRoot)),
    debugSocketPath(socketAddress(address, t.namespace, `rx-namespace-${t.namespace}`, socketRoot)),
  ];
  const defaultBundle = path.join(DEFAULT_TASK_STATE, t.namespace, t.id);
  const fromBundle = readAddress(defaultBundle);
  if (fromBundle) candidates.push(debugSocketPath(fromBundle));
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const hello = await ask(file);
    if (!(hello instanceof Error) && serves(hello)) return { path: file, hello };
    tried.push(hello instanceof Error ? gone(file, hello) : `${file} serves other containers`);
  }
  const dir = path.join(socketRoot, 's');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.debug'));
  } catch {
    // no socket dir: no shim on this machine
  }
  for (const n of names) {
    const file = path.join(dir, n);
    if (candidates.includes(file)) continue;
    const hello = await ask(file);
    if (!(hello instanceof Error) && serves(hello) && (!hello.address || hello.address === address)) return { path: file, hello };
  }
  const seen = tried.length ? ` (${tried.join('; ')})` : '';
  throw new NotFound(`no serving process of container ${t.id} in namespace ${t.namespace} of containerd ${address}${seen}`);
}
