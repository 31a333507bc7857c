import path from 'node:path';

/**
 * The runtime under test, chosen in this one place: SHIM_RUNTIME (a runtime name such as
 * io.containerd.runc.v2, or a path), else our launcher by absolute path (dist/test/helpers -> repo).
 */
export const SHIM_RUNTIME = process.env.SHIM_RUNTIME || path.resolve(__dirname, '../../../bin/containerd-shim-rx-v2');

/** ctr's flags to run with the runtime under test (ctr 1.6: they must precede --rootfs). */
export const runtimeArgs = (): string[] => ['--runtime', SHIM_RUNTIME];

/**
 * The binary containerd execs for a runtime: a path as given; a name `<prefix>.<name>.<version>`
 * as `containerd-shim-<name>-<version>` (containerd 1.6 runtime/v2/shim/util.go BinaryName).
 */
export function shimBinaryName(runtime: string = SHIM_RUNTIME): string {
  if (runtime.includes('/')) return path.basename(runtime);
  const parts = runtime.split('.');
  return parts.length < 2 ? runtime : `containerd-shim-${parts[parts.length - 2]}-${parts[parts.length - 1]}`;
}

/** What marks a shim process in /proc/<pid>/cmdline: ours always, and the runtime under test. */
export const SHIM_MARKS: readonly string[] = [...new Set(['containerd-shim-rx', shimBinaryName()])];
