import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * The path `file` runs from, looked up in `env`'s PATH when it has no slash (Go's exec.Command
 * does the same LookPath before it starts anything); null when there is no such executable.
 */
export function lookPath(file: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = file.includes('/') ? [file] : (env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, file));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return path.resolve(c);
    } catch {
      // not here
    }
  }
  return null;
}
