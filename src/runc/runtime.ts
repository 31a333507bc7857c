import { ShimError } from '../errors';
import type { Logger } from '../log';
import { encode, type Any } from '../proto';
import { mountAll } from '../sys/mount';
import { unmountAllAsync } from '../sys/unmount';
import { watchOOM } from '../sys/eventfd';
import type { ContainerRuntime } from '../task/runtime';
import { RuncContainerDriver } from './driver';
import { runcOptions } from './options';
import type { Spawner } from './spawner';

/**
 * The container runtime over the runc binary: one driver per container, configured by its
 * Create's runtime options. `spawner` runs runc (tests pass a fake; the default is setpriv's).
 */
export function runcRuntime(deps: { namespace: string; log: Logger; spawner?: Spawner }): ContainerRuntime {
  return {
    driver: (bundle, options) => new RuncContainerDriver(bundle, runcOptions(options), deps),
    mountAll: (mounts, target) => mountAll(mounts, target),
    unmountAll: (target) => unmountAllAsync(target).catch((err) => Promise.reject(rootfsUnmountError(err))),
    watchOOM: (pid, onOOM) => watchOOM(pid, onOOM),
    packProcessDetails: (execId): Any => ({
      type_url: 'containerd.runc.v1.ProcessDetails',
      value: encode('containerd.runc.v1.ProcessDetails', { exec_id: execId }),
    }),
  };
}

/**
 * As Go's Init.delete (cmd/containerd-shim-runc-v2/process/init.go): "failed rootfs umount"
 * wrapping the cause, a plain error there, so Unknown on the wire; ours names the path and errno.
 */
function rootfsUnmountError(err: unknown): ShimError {
  // sys/mount's errors name the path they unmounted and the errno (EBUSY after the retries).
  return new ShimError('Unknown', `failed rootfs umount: ${err instanceof Error ? err.message : String(err)}`, err);
}
