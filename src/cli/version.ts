import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Version facts printed by -v and -info and returned by Connect: the version is package.json's,
 * the revision the git commit built from. The bundles (scripts/bundle.mjs) and the single
 * executable carry both as constants (esbuild `define`: no file to read, none to lose); the tsc
 * output reads package.json and dist/REVISION (`npm run build` writes it).
 */
declare const RX_BUILD: { version: string; revision: string } | undefined;
const built = typeof RX_BUILD !== 'undefined' ? RX_BUILD : undefined;

export const NAME = 'containerd-shim-rx-v2';

/** dist/src/cli (tsc output) -> the package root. */
const root = () => path.join(__dirname, '../../..');

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(root(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const VERSION: string = built?.version ?? packageVersion();

export function revision(): string {
  if (built) return built.revision;
  try {
    return readFileSync(path.join(root(), 'dist', 'REVISION'), 'utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The JavaScript runtime this process runs on: `node v26.10.0` or `bun 1.4.4` (the launcher picks it). */
export function runtimeName(): string {
  const bun = (process.versions as Record<string, string | undefined>).bun;
  return bun ? `bun ${bun}` : `node ${process.version}`;
}

export function versionText(argv0: string): string {
  return `${argv0}:\n  Version:  ${VERSION}\n  Revision: ${revision()}\n  Runtime:  ${runtimeName()}\n\n`;
}
