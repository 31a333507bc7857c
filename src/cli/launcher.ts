import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * bin/containerd-shim-rx-v2, the launcher that picks the runtime for each role (its header says
 * which, and why): the serving process is started through it. From the bundle (dist/containerd-shim-rx-v2.js) or
 * the tsc output (dist/src/cli/start.js).
 */
export function launcherPath(): string {
  const bundled = path.resolve(__dirname, '..', 'bin', 'containerd-shim-rx-v2');
  return existsSync(bundled) ? bundled : path.resolve(__dirname, '..', '..', '..', 'bin', 'containerd-shim-rx-v2');
}
