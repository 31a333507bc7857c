import path from 'node:path';

/** Where runc keeps container state when no root is configured (containerd pkg/process RuncRoot). */
export const RUNC_ROOT = '/run/containerd/runc';

/** runc's --root for a namespace: the configured root (Options.Root) or the default, per namespace. */
export const runcRoot = (configured: string | undefined, namespace: string): string =>
  path.join(configured || RUNC_ROOT, namespace);
