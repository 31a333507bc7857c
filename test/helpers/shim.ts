import path from 'node:path';

/** The runtime under test: our launcher by absolute path, unless SHIM_RUNTIME names another (e.g. io.containerd.runc.v2). */
export const SHIM_RUNTIME = process.env.SHIM_RUNTIME || path.resolve(__dirname, '../../../bin/containerd-shim-rx-v2');
export const runtimeArgs = (): string[] => ['--runtime', SHIM_RUNTIME];
/** What to look for in /proc/<pid>/cmdline to find our shim processes. */
export const SHIM_MARK = process.env.SHIM_RUNTIME ? 'containerd-shim-runc-v2' : 'containerd-shim-rx-v2';
