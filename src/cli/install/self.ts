/**
 * The file `install` puts on the node as containerd-shim-rx-v2: the running executable itself
 * when it is the packaged single file (`npm run package`), else a symbolic link to the
 * package's launcher (bin/containerd-shim-rx-v2), which needs its dist/ and node_modules beside
 * it and a `node` on containerd's PATH, as after `npm install -g`.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { isSingleExecutable } from '../sea';

export type Self = { kind: 'copy'; path: string } | { kind: 'symlink'; target: string };


export function self(): Self {
  if (isSingleExecutable()) return { kind: 'copy', path: process.execPath };
  // From this file (dist/install.js, or dist/src/cli/install/self.js) up to the package root.
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'containerd-shim-rx') {
      return { kind: 'symlink', target: realpathSync(path.join(dir, 'bin', 'containerd-shim-rx-v2')) };
    }
  }
  throw new Error(`cannot find the containerd-shim-rx package above ${__dirname}`);
}
