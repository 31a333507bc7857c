import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Version facts printed by -v and returned by Connect. */
export const NAME = 'containerd-shim-rx-v2';
export const VERSION = '0.1.0';

/** The git commit the build was made from: `npm run build` writes it to dist/REVISION. */
export function revision(): string {
  for (const dir of [__dirname, path.join(__dirname, '../..')]) {
    try {
      return readFileSync(path.join(dir, 'REVISION'), 'utf8').trim() || 'unknown';
    } catch {
      // try the next layout (bundle in dist/, or tsc output in dist/src/cli)
    }
  }
  return 'unknown';
}

export function versionText(argv0: string): string {
  return `${argv0}:\n  Version:  ${VERSION}\n  Revision: ${revision()}\n  Node.js:  ${process.version}\n\n`;
}
