import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Containerd } from './containerd';

/** A task's bundle dir under containerd's state (runtime v2: <state>/io.containerd.runtime.v2.task/<ns>/<id>). */
export const bundleOf = (ctd: Containerd, id: string, ns = 'default'): string => path.join(ctd.state, 'io.containerd.runtime.v2.task', ns, id);

export interface ShimAddress {
  /** the unix socket path, without unix:// */
  socket: string;
  /** the Task service containerd talks on it: v3 once the shim answered start with version 3 */
  service: 'containerd.task.v2.Task' | 'containerd.task.v3.Task';
}

/**
 * Where containerd finds a task's shim: 2.x keeps start's answer in bundle/bootstrap.json
 * ({version, address, protocol}; v2.3.7 core/runtime/v2/binary.go Start, writeBootstrapParams),
 * 1.6 the shim's own bundle/address file (runtime/v2/shim/util.go WriteAddress).
 */
export function shimAddressOf(bundle: string): ShimAddress {
  const bootstrap = path.join(bundle, 'bootstrap.json');
  if (existsSync(bootstrap)) {
    const b = JSON.parse(readFileSync(bootstrap, 'utf8')) as { version?: number; address: string };
    return { socket: b.address.replace(/^unix:\/\//, ''), service: b.version === 3 ? 'containerd.task.v3.Task' : 'containerd.task.v2.Task' };
  }
  return { socket: readFileSync(path.join(bundle, 'address'), 'utf8').trim().replace(/^unix:\/\//, ''), service: 'containerd.task.v2.Task' };
}
