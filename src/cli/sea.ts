/**
 * Whether this process is the packaged single executable (`npm run package`: Node's single
 * executable applications). There the executable is process.execPath and takes no Node flags
 * on its command line (its V8 flags are baked in: scripts/package.mjs), so `start` spawns the
 * serving process as `<executable> <shim flags>`, and `install` copies process.execPath.
 */
let cached: boolean | undefined;

export function isSingleExecutable(): boolean {
  if (cached === undefined) {
    try {
      cached = (require('node:sea') as { isSea(): boolean }).isSea();
    } catch {
      cached = false; // a Node without node:sea is never one
    }
  }
  return cached;
}
