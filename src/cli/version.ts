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

/** The JavaScript runtime this process runs on: `node v26.10.0` or `bun 1.4.4` (the launcher picks it). */
export function runtimeName(): string {
  const bun = (process.versions as Record<string, string | undefined>).bun;
  return bun ? `bun ${bun}` : `node ${process.version}`;
}

export function versionText(argv0: string): string {
  return `${argv0}:\n  Version:  ${VERSION}\n  Revision: ${revision()}\n  Runtime:  ${runtimeName()}\n\n`;
}
